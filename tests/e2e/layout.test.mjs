// Layout and copy at phone width (issue 17): Korean words never cut in two at 320 px, 44 px tap
// targets everywhere (inline links too), admin tabs without sideways scrolling, spaced joins,
// and real not-found screens in both languages (HTTP 404, no pointless retry).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, ADMIN, launch, phone, openPage, screenshot, apiCall, assertNoErrors, uniqueName, signUpUI, logInUI, waitOrAlert,
} from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A phone context of `width` px (320 is the narrowest phone the app is made for). */
async function narrow(width = 320, { lang = 'ko' } = {}) {
  const context = await phone(browser, { lang });
  if (lang === 'en') await context.addInitScript(() => localStorage.setItem('ipmat.lang', 'en'));
  const page = await openPage(context);
  await page.setViewportSize({ width, height: 780 });
  return { context, page };
}

/** Waits until the router has put a page (with its h1) in <main> and nothing is loading. */
async function settled(page) {
  await page.waitForFunction(() => {
    const main = document.getElementById('main');
    return main && !main.hasAttribute('aria-busy') && main.querySelector('h1') && !main.querySelector('.loading');
  });
}

/**
 * Korean words of <main> laid out on more than one line, i.e. cut in two,
 * found with Range.getClientRects. Spaces between words may wrap; a word may not.
 */
async function brokenWords(page) {
  return page.evaluate(() => {
    const out = [];
    const walker = document.createTreeWalker(document.getElementById('main'), NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      if (parent.closest('.sr-only, [hidden], option, select')) continue;
      // Hangul words; a long Latin run (a username, a URL) may wrap where it has to.
      for (const m of node.data.matchAll(/\p{Script=Hangul}{2,}/gu)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (tops.size > 1) out.push(`${m[0]} (${parent.className || parent.tagName})`);
      }
    }
    return out;
  });
}

/** Visible controls of <main> smaller than 44×44 px (the label stands for a hidden radio). */
async function smallTargets(page) {
  return page.evaluate(() => {
    const out = [];
    const seen = new Set();
    const candidates = document.querySelectorAll(
      '#main a[href], #main button, #main summary, #main select, #main input:not([type="radio"]):not([type="checkbox"]):not([type="file"]), #main label[for], #site-header a, #site-header button',
    );
    for (const el of candidates) {
      let target = el;
      if (el.tagName === 'LABEL') {
        const input = document.getElementById(el.htmlFor);
        // A label is the target only of a radio or checkbox hidden behind it.
        if (!input || !['radio', 'checkbox'].includes(input.type) || input.getBoundingClientRect().width > 2) continue;
      }
      if (seen.has(target)) continue;
      seen.add(target);
      if (target.closest('.sr-only') || target.classList.contains('skip-link')) continue;
      const box = target.getBoundingClientRect();
      if (box.width === 0 || box.height === 0 || getComputedStyle(target).visibility === 'hidden') continue;
      if (box.height < 43.5 || box.width < 43.5) {
        out.push(`${target.tagName.toLowerCase()}.${target.className} "${target.textContent.trim().slice(0, 20)}" ${Math.round(box.width)}×${Math.round(box.height)}`);
      }
    }
    return out;
  });
}

async function firstBook() {
  const books = (await apiCall('GET', '/books')).body;
  return (Array.isArray(books) ? books : books.items)[0];
}

test('Korean food names are never cut mid-word at 320 px', { timeout: 120000 }, async () => {
  const { context, page } = await narrow(320);
  const book = await firstBook();
  const names = (await apiCall('GET', `/books/${book.id}`)).body.foods.map((f) => f.name);
  for (const name of ['해물파전', '양념치킨', '오므라이스']) assert.ok(names.includes(name), `${name} is in the first book`);

  // The setup page with every food listed (the exclusions open).
  await page.goto(`/books/${book.id}`);
  await settled(page);
  await page.locator('details.exclude summary').click();
  assert.deepEqual(await brokenWords(page), [], 'book setup');
  // The long names themselves sit on one line each.
  for (const name of ['해물파전', '양념치킨', '오므라이스']) {
    const label = page.locator('.exclusions label', { hasText: name });
    const lines = await label.locator('span').evaluate((el) => {
      const range = document.createRange();
      range.selectNodeContents(el);
      return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
    });
    assert.equal(lines, 1, `${name} on one line`);
  }

  // A quiz being made: 32 pairs side by side in the narrow halves.
  await page.goto('/quiz/new');
  await settled(page);
  await page.getByTestId('pair-count').selectOption('32');
  await page.waitForFunction(() => document.querySelectorAll('fieldset.question').length === 32);
  assert.deepEqual(await brokenWords(page), [], 'quiz questions');

  // A world-cup match and the ranking table.
  await page.goto(`/books/${book.id}/ranking`);
  await settled(page);
  assert.deepEqual(await brokenWords(page), [], 'ranking');
  await page.goto(`/books/${book.id}`);
  await settled(page);
  await page.getByTestId('start-worldcup').click();
  await page.waitForURL('**/worldcup/**');
  await page.getByTestId('round-label').waitFor();
  assert.deepEqual(await brokenWords(page), [], 'match');
  await page.goto('/');
  await settled(page);
  assert.deepEqual(await brokenWords(page), [], 'home');
  assertNoErrors(page);
  await context.close();
});

test('every control and inline link is at least 44 px in both directions', { timeout: 120000 }, async () => {
  let { context, page } = await narrow(360);
  page.on('dialog', (dialog) => dialog.accept());
  const book = await firstBook();
  const check = async (where) => assert.deepEqual(await smallTargets(page), [], where);
  for (const path of ['/', `/books/${book.id}`, '/quiz', '/login', '/signup', '/nowhere']) {
    await page.goto(path);
    await settled(page);
    await page.evaluate(() => document.querySelectorAll('details').forEach((d) => { d.open = true; }));
    await check(path);
  }
  // A member's pages: my page with a quiz of theirs, and a finished cup.
  const name = uniqueName('tap');
  await signUpUI(page, name, 'password123');
  await page.goto('/quiz/new');
  await settled(page);
  await check('/quiz/new');
  await page.getByTestId('pair-count').selectOption('8');
  await page.waitForFunction(() => document.querySelectorAll('fieldset.question').length === 8
    && !document.querySelector('[data-testid="load-pairs"][aria-busy]'));
  for (const question of await page.locator('fieldset.question').all()) await question.locator('label').first().click();
  await page.getByTestId('submit-exam').click();
  await waitOrAlert(page, { locator: page.getByTestId('exam-created') });
  await check('quiz created');
  await page.goto('/me');
  await settled(page);
  await page.evaluate(() => document.querySelectorAll('details').forEach((d) => { d.open = true; }));
  await check('/me');
  assertNoErrors(page);
  await context.close();
  // The admin's screens, in a context of their own.
  ({ context, page } = await narrow(360));
  await logInUI(page, ADMIN.username, ADMIN.password, '/admin/books');
  await page.waitForURL('**/admin/books');
  for (const tab of ['foods', 'books', 'categories', 'pairs']) {
    await page.goto(`/admin/${tab}`);
    await settled(page);
    await check(`/admin/${tab}`);
  }
  await page.goto('/admin/books');
  await settled(page);
  await page.locator('.admin-list').getByRole('button', { name: '고치기' }).first().click();
  await page.locator('.member-list .chip').first().waitFor();
  await check('book editor');
  assertNoErrors(page);
  await context.close();
});

test('the admin tabs fit a 320 px phone without sideways scrolling', async () => {
  const { context, page } = await narrow(320);
  await logInUI(page, ADMIN.username, ADMIN.password, '/admin/pairs');
  await page.waitForURL('**/admin/pairs');
  await settled(page);
  const sizes = await page.evaluate(() => {
    const tabs = document.querySelector('.tabs');
    return {
      tabs: [tabs.scrollWidth, tabs.clientWidth],
      page: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
      visible: [...tabs.querySelectorAll('a')].every((a) => {
        const box = a.getBoundingClientRect();
        return box.left >= 0 && box.right <= document.documentElement.clientWidth;
      }),
    };
  });
  assert.ok(sizes.tabs[0] <= sizes.tabs[1], `tabs scroll: ${sizes.tabs}`);
  assert.ok(sizes.page[0] <= sizes.page[1], `the page scrolls sideways: ${sizes.page}`);
  assert.ok(sizes.visible, 'every tab is on screen');
  await screenshot(page, 'admin-pairs-320');
  assertNoErrors(page);
  await context.close();
});

test('composed strings keep their spaces', async () => {
  const { context, page } = await narrow(360);
  const book = await firstBook();
  await page.goto(`/books/${book.id}`);
  await settled(page);
  await page.getByTestId('start-worldcup').click();
  await page.getByTestId('round-label').waitFor();
  const line = (await page.locator('.wc-book').textContent()).trim();
  assert.equal(line, `입맛 월드컵 · ${book.name}`);
  const text = await page.locator('main').innerText();
  assert.doesNotMatch(text, /입맛월드컵/);
  assert.match(await page.title(), / · 입맛$/, 'the title joins with spaced dots');
  await context.close();
});

test('unknown paths, codes and ids show a not-found screen with HTTP 404, in both languages', { timeout: 90000 }, async () => {
  const book = await firstBook();
  const cases = [
    ['/no/such/page', '없는 페이지예요', 'Page not found'],
    ['/quiz/ZZZZZZ', '찾을 수 없어요', 'Not found'],
    ['/quiz/ZZZZZZ/scoreboard', '찾을 수 없어요', 'Not found'],
    ['/books/999999', '찾을 수 없어요', 'Not found'],
    ['/books/999999/ranking', '찾을 수 없어요', 'Not found'],
    ['/worldcup/0123456789abcdef0123456789abcdef', '찾을 수 없어요', 'Not found'],
    ['/foods/999999', '찾을 수 없어요', 'Not found'],
  ];
  for (const lang of ['ko', 'en']) {
    const { context, page } = await narrow(360, { lang });
    for (const [path, ko, en, status = 404] of cases) {
      const response = await page.goto(path);
      assert.equal(response.status(), status, `${path} answers ${status}`);
      await settled(page);
      const title = lang === 'ko' ? ko : en;
      await page.getByTestId('not-found').waitFor();
      assert.equal((await page.locator('h1').textContent()).trim(), title, `${lang} ${path}`);
      assert.ok((await page.title()).startsWith(title), `${lang} ${path}: the tab says so too`);
      assert.equal(await page.getByRole('button', { name: lang === 'ko' ? '다시 시도' : 'Try again' }).count(), 0, `${path}: no retry`);
      assert.equal(await page.locator('.alert-error').count(), 0, `${path}: not an error`);
      await page.getByRole('link', { name: lang === 'ko' ? '홈' : 'Home' }).last().waitFor();
    }
    // The quiz's own words, with a way to type another code.
    await page.goto('/quiz/ZZZZZZ');
    await settled(page);
    await page.getByText(lang === 'ko' ? '그런 코드의 퀴즈가 없어요' : 'No quiz has this code').waitFor();
    await screenshot(page, lang === 'ko' ? 'not-found' : 'not-found-en');
    // A known book still opens (the 404 screen is not the default).
    assert.equal((await page.goto(`/books/${book.id}`)).status(), 200);
    assertNoErrors(page);
    await context.close();
  }
  assert.ok(BASE);
});
