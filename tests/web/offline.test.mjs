// CI: the service worker keeps the shell. After one visit, offline: the app still opens, the
// header says it is offline (both languages), screens never opened before still load their
// code, and no picture shows as broken. Screenshots go to docs/screenshots/offline*.png.

import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, phone, BASE } from './lib.mjs';

const shots = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
const browser = await launch();
test.after(() => browser.close());

const expected = { ko: '오프라인이에요', en: 'You are offline' };


for (const lang of ['ko', 'en']) {
  test(`offline in ${lang}: the shell opens, says so, and shows no broken picture`, async () => {
    const context = await phone(browser, { lang });
    await context.addInitScript((l) => localStorage.setItem('ipmat.lang', l), lang);
    await context.addInitScript(() => {
      window.ipmatNear = (i) => i.loading !== 'lazy' || i.getBoundingClientRect().top < window.innerHeight * 1.5;
    });
    const page = await context.newPage();
    await page.goto('/');
    await page.locator('.book-list li').first().waitFor();
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.reload();
    await page.locator('.book-list li').first().waitFor();
    assert.ok(await page.evaluate(() => Boolean(navigator.serviceWorker.controller)), 'the worker controls the page');
    // Lazy pictures far below the fold are not asked for yet (inside a <picture>, Chromium
    // reports them as not complete): only the ones on or near the screen are waited for.
    await page.waitForFunction(() => [...document.images].filter(window.ipmatNear).every((i) => i.complete));

    await context.setOffline(true);
    await page.reload();
    await page.locator('main h1').first().waitFor();
    const banner = page.getByTestId('offline');
    await banner.waitFor();
    assert.match(await banner.textContent(), new RegExp(expected[lang]));
    await page.waitForFunction(() => [...document.images].filter(window.ipmatNear).every((i) => i.complete));
    const broken = await page.evaluate(() => [...document.images].filter(window.ipmatNear).filter((i) => i.naturalWidth === 0).map((i) => i.src));
    assert.deepEqual(broken, [], 'no broken images offline');
    await page.screenshot({ path: path.join(shots, `offline${lang === 'en' ? '-en' : ''}.png`) });

    // A screen never opened online: its module came with the shell.
    await page.getByRole('link', { name: lang === 'ko' ? '입맛 퀴즈' : 'Taste quiz' }).click();
    await page.locator('main h1').first().waitFor();
    assert.equal(await page.locator('main h1').first().textContent(), lang === 'ko' ? '입맛 퀴즈' : 'Taste quiz');

    await context.setOffline(false);
    await context.close();
  });
}

test('offline on a desktop screen (screenshot)', async () => {
  const context = await browser.newContext({ baseURL: BASE, viewport: { width: 1280, height: 800 }, locale: 'ko-KR' });
  const page = await context.newPage();
  await page.goto('/');
  await page.locator('.book-list li').first().waitFor();
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload();
  await page.locator('.book-list li').first().waitFor();
  await context.setOffline(true);
  await page.reload();
  await page.getByTestId('offline').waitFor();
  await page.screenshot({ path: path.join(shots, 'offline-desktop.png') });
  await context.close();
});
