// CI: an axe-core scan of every screen of the app, in Korean and in English, signed out, as a
// member and as the admin: no violations allowed.

import test from 'node:test';
import assert from 'node:assert/strict';
import { AxeBuilder } from '@axe-core/playwright';
import { launch, phone, api, pages, BASE } from './lib.mjs';

const urls = await pages();
const admin = await api('POST', '/auth/login', {
  body: { username: process.env.E2E_ADMIN_USER || 'admin', password: process.env.E2E_ADMIN_PASSWORD || '' },
});
const member = await api('POST', '/auth/signup', { body: { username: `axe${Date.now().toString(36)}`, password: 'axe-check-pw-1' } });
const books = await api('GET', '/books');
const book = (Array.isArray(books) ? books : books.items)[0];
const full = await api('GET', `/books/${book.id}`);
const food = full.foods[0];
// A finished world cup (16 picks of the left side) for the champion screen.
const done = await api('POST', `/books/${book.id}/worldcups`, { body: { size: 16 }, token: member.token });
let cup = done;
while (!cup.finished) {
  cup = await api('POST', `/worldcups/${done.id}/picks`, { body: { winner: cup.current.left.id }, headers: { 'X-Play-Key': done.play_key } });
}

const screens = {
  anyone: [
    ['home', urls.home], ['book', urls.book], ['ranking', `${urls.book}/ranking`], ['match', urls.match],
    ['champion', `/worldcup/${done.id}`], ['food', `/foods/${food.id}`], ['quiz hub', '/quiz'],
    ['quiz create', '/quiz/new'], ['quiz take', urls.quiz], ['scoreboard', `${urls.quiz}/scoreboard`],
    ['login', '/login'], ['signup', '/signup'], ['not found', '/nowhere'],
  ],
  member: [['me', '/me'], ['my plays', '/me/worldcups'], ['make a cup', '/make']],
  admin: [['admin', '/admin'], ['admin foods', '/admin/foods'], ['admin books', '/admin/books'],
    ['admin categories', '/admin/categories'], ['admin pairs', '/admin/pairs']],
};
const tokens = { anyone: null, member: member.token, admin: admin.token };

const browser = await launch();
test.after(() => browser.close());

for (const lang of ['ko', 'en']) {
  for (const [who, list] of Object.entries(screens)) {
    test(`every ${who} screen in ${lang} has no axe violations`, async () => {
      const context = await phone(browser, { lang });
      if (tokens[who]) {
        await context.addCookies([{ name: 'ipmat_session', value: tokens[who], url: BASE }]);
      }
      await context.addInitScript((l) => localStorage.setItem('ipmat.lang', l), lang);
      const page = await context.newPage();
      const found = [];
      for (const [name, path] of list) {
        await page.goto(path);
        await page.locator('main h1').first().waitFor();
        await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'), null, { timeout: 10000 }).catch(() => {});
        const result = await new AxeBuilder({ page }).analyze();
        for (const v of result.violations) {
          found.push(`${name} (${path}): ${v.id} — ${v.help}\n    ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n    ')}`);
        }
      }
      await context.close();
      assert.deepEqual(found, [], `axe violations:\n${found.join('\n')}`);
    });
  }
}
