// Screenshots of the screens issue 17's defect fixes changed, phone (360 px) and desktop
// (1280 px), Korean and English, for docs/screenshots/. Each screen is checked before it is shot.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ADMIN, BASE, SCREENSHOTS, launch, openPage, apiCall, assertNoErrors, imagesLoaded } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const SIZES = {
  phone: { viewport: { width: 360, height: 780 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
  desktop: { viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 },
};

async function contextFor(size, lang) {
  const context = await browser.newContext({ baseURL: BASE, locale: lang === 'ko' ? 'ko-KR' : 'en-US', timezoneId: 'Asia/Seoul', ...SIZES[size] });
  await context.addInitScript((l) => localStorage.setItem('ipmat.lang', l), lang);
  context.setDefaultTimeout(15000);
  return context;
}

async function settled(page) {
  await page.waitForFunction(() => {
    const main = document.getElementById('main');
    return main && !main.hasAttribute('aria-busy') && main.querySelector('h1') && !main.querySelector('.loading');
  });
}

async function shot(page, name, size, lang) {
  const suffix = `${lang === 'en' ? '-en' : ''}${size === 'desktop' ? '-desktop' : ''}`;
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await imagesLoaded(page);
  await page.evaluate(() => document.getElementById('toast')?.classList.remove('show'));
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}${suffix}.png`), animations: 'disabled', caret: 'hide' });
}

for (const size of ['phone', 'desktop']) {
  for (const lang of ['ko', 'en']) {
    test(`changed screens, ${size}, ${lang}`, { timeout: 120000 }, async () => {
      const context = await contextFor(size, lang);
      const page = await openPage(context);
      const books = (await apiCall('GET', '/books')).body;
      const book = (Array.isArray(books) ? books : books.items)[0];

      await page.goto('/quiz/ZZZZZZ');
      await settled(page);
      await page.getByTestId('not-found').waitFor();
      await shot(page, 'not-found', size, lang);

      await page.goto('/signup');
      await settled(page);
      await page.locator('input[name="username"]').fill('a@b');
      await page.locator('input[name="password"]').fill('short');
      await page.locator('input[name="password_confirm"]').fill('other');
      await page.locator('form button[type="submit"]').click();
      assert.equal(await page.locator('[aria-invalid="true"]').count(), 3);
      await shot(page, 'signup-errors', size, lang);

      await page.goto(`/books/${book.id}?size=8`);
      await settled(page);
      await page.locator('details.exclude summary').click();
      await page.evaluate(() => document.querySelectorAll('.exclusions input').forEach((box, i) => { if (i < 3) box.click(); }));
      await shot(page, 'book-setup', size, lang);
      await page.evaluate(() => document.querySelectorAll('.exclusions input:not(:checked)').forEach((box) => box.click()));
      await page.getByTestId('no-sizes').waitFor();
      await page.getByTestId('no-sizes').scrollIntoViewIfNeeded();
      await shot(page, 'book-all-excluded', size, lang);

      await page.goto('/quiz/new');
      await settled(page);
      await page.locator('fieldset.question').first().scrollIntoViewIfNeeded();
      await shot(page, 'quiz-create-questions', size, lang);

      await page.goto('/login?next=%2Fadmin%2Fpairs');
      await settled(page);
      await page.locator('input[name="username"]').fill(ADMIN.username);
      await page.locator('input[name="password"]').fill(ADMIN.password);
      await page.locator('form button[type="submit"]').click();
      await page.waitForURL('**/admin/pairs');
      await settled(page);
      await page.locator('[data-testid="pair-list"] > li[data-pair-id]').first().waitFor();
      await shot(page, 'admin-pairs', size, lang);
      await page.goto('/admin/books');
      await settled(page);
      await page.locator('.admin-list li button').first().click();
      await page.locator('.member-list .chip').first().waitFor();
      await page.locator('form.editor').scrollIntoViewIfNeeded();
      await shot(page, 'admin-book-editor', size, lang);
      assertNoErrors(page);
      await context.close();
    });
  }
}
