// Community world cups in the browser: a member makes a cup on a phone from two photos of the
// camera roll (with upload progress) plus two catalog foods, a second visitor finds and plays
// it; comments are posted, reported, and the admin settles the report from the queue.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, phone, openPage, screenshot, apiCall, assertNoErrors, makePng, signUpUI, logInUI, uniqueName, waitOrAlert, ADMIN, BASE } from './lib.mjs';

let browser;
let bookId = null;
let bookName = null;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Clicks the left card until the champion screen shows. */
async function playToTheEnd(page) {
  for (let i = 0; i < 64; i += 1) {
    if (await page.getByTestId('champion').isVisible()) return;
    const label = await page.getByTestId('round-label').textContent();
    // Taps right after a new match appears are ignored on purpose (the double-tap guard).
    await page.waitForTimeout(350);
    await page.locator('.food-card[data-side="left"]').click();
    await page.waitForFunction(
      (prev) => document.querySelector('[data-testid="champion"]')
        || (document.querySelector('[data-testid="round-label"]')?.textContent !== prev
          && !document.querySelector('.worldcup[aria-busy="true"]')),
      label,
    );
  }
  await page.getByTestId('champion').waitFor();
}

test('a member makes a cup from two photos and a second visitor plays it', { timeout: 180000 }, async () => {
  const maker = await phone(browser);
  const page = await openPage(maker);
  await signUpUI(page, uniqueName('maker'), 'password123');
  await page.goto('/');
  await page.getByTestId('make-cup').click();
  bookName = `우리집 ${Date.now() % 100000}`;
  await page.getByLabel('월드컵 이름').fill(bookName);
  await page.getByLabel('소개 (200자까지)').fill('엄마 손맛 모음');
  await page.getByTestId('create-cup').click();
  await waitOrAlert(page, { url: /\/make\/\d+$/ });
  bookId = Number(new URL(page.url()).pathname.split('/').pop());

  // Two photos from the camera roll; each shows its own upload progress, then "uploaded".
  let progressSeen = 0;
  await page.exposeFunction('noteProgress', () => { progressSeen += 1; });
  await page.evaluate(() => {
    const open = XMLHttpRequest.prototype.open;
    XMLHttpRequest.prototype.open = function patched(...args) {
      this.upload.addEventListener('progress', () => window.noteProgress());
      return open.apply(this, args);
    };
  });
  await page.getByTestId('photo-picker').setInputFiles([
    { name: '김치찜.png', mimeType: 'image/png', buffer: makePng(640, 480) },
    { name: '된장국.png', mimeType: 'image/png', buffer: makePng(480, 640) },
  ]);
  await page.locator('.upload-row progress').first().waitFor();
  assert.equal(await page.locator('.upload-row').count(), 2);
  await page.locator('.upload-row .hint:has-text("올렸어요.")').nth(1).waitFor();
  assert.ok(progressSeen >= 2, 'upload progress events reached the page');
  assert.equal(await page.locator('.upload-row input[aria-label="음식 이름 (15자까지)"]').first().inputValue(), '김치찜');
  await page.locator('.upload-row input[aria-label="한 줄 설명"]').first().fill('푹 익은 김치');
  await screenshot(page, 'community-make');
  await page.getByTestId('save-foods').click();
  await page.locator('[data-testid="food-total"]:has-text("음식 2개")').waitFor();

  // Two catalog foods make it playable.
  for (let i = 0; i < 2; i += 1) {
    await page.getByPlaceholder('음식 이름').fill('');
    await page.getByRole('button', { name: '찾기' }).click();
    await page.locator('.catalog-results button').first().click();
    await page.locator(`[data-testid="food-total"]:has-text("음식 ${3 + i}개")`).waitFor();
  }
  await page.getByTestId('play-own').waitFor();
  assertNoErrors(page);

  const book = (await apiCall('GET', `/books/${bookId}`)).body;
  assert.equal(book.kind, 'community');
  assert.equal(book.food_count, 4);
  assert.equal(book.foods.filter((f) => f.image_url).length >= 2, true);
  const foods = (await apiCall('GET', '/foods?q=%EA%B9%80%EC%B9%98%EC%B0%9C')).body; // 김치찜
  assert.ok(!foods.items.some((f) => book.foods.some((o) => o.id === f.id && o.name === '김치찜')), 'own foods stay out of /foods');

  // A second visitor finds it in the community list and plays it.
  const visitor = await phone(browser);
  const other = await openPage(visitor);
  await other.goto('/');
  await other.getByRole('searchbox').fill(bookName);
  await other.getByRole('button', { name: '검색' }).click();
  await other.locator(`[data-testid="community-list"] a[href="/books/${bookId}"]`).click();
  await other.getByRole('heading', { level: 1, name: bookName }).waitFor();
  assert.match(await other.getByTestId('book-owner').textContent(), /만든 사람/);
  await other.getByTestId('start-worldcup').click();
  await waitOrAlert(other, { url: /\/worldcup\/[^/]+$/ });
  await playToTheEnd(other);
  const champion = await other.getByTestId('champion-name').textContent();
  assert.ok(book.foods.some((f) => f.name === champion));
  assertNoErrors(other);
  await maker.close();
  await visitor.close();
});

test('a comment is posted with the champion, reported, and settled by the admin', { timeout: 180000 }, async () => {
  assert.ok(bookId, 'the first test made a book');
  const fan = await phone(browser);
  const page = await openPage(fan);
  await signUpUI(page, uniqueName('fan'), 'password123');
  await page.goto(`/books/${bookId}`);
  await page.getByTestId('start-worldcup').click();
  await waitOrAlert(page, { url: /\/worldcup\/[^/]+$/ });
  await playToTheEnd(page);
  const champion = await page.getByTestId('champion-name').textContent();
  // Under the ranking: the comment form, offering to show this cup's champion.
  await page.getByLabel('댓글 쓰기 (300자까지)').fill('역시 집밥이 최고');
  assert.equal(await page.getByLabel('내 우승 음식을 함께 보여주기').isChecked(), true);
  await page.getByRole('button', { name: '댓글 달기' }).click();
  const comment = page.locator('[data-testid="comments"] .comment').first();
  await comment.locator('.comment-text:has-text("역시 집밥이 최고")').waitFor();
  assert.match(await comment.locator('.comment-champion').textContent(), new RegExp(champion));
  await screenshot(page, 'community-comments', { fullPage: true });
  assertNoErrors(page);

  // Another visitor (not signed in) reports it from the book page.
  const stranger = await phone(browser, { lang: 'en' });
  const other = await openPage(stranger);
  await other.goto('/');
  await other.evaluate(() => localStorage.setItem('ipmat.lang', 'en'));
  await other.goto(`/books/${bookId}`);
  const theirs = other.locator('[data-testid="comments"] .comment').first();
  await theirs.locator('.comment-text:has-text("역시 집밥이 최고")').waitFor();
  await theirs.locator('details.report summary').click();
  await theirs.getByLabel('Reason').selectOption('spam');
  await theirs.getByRole('button', { name: 'Send report' }).click();
  await other.locator('#toast:has-text("Reported")').waitFor();
  assertNoErrors(other);

  // The admin sees it first in the queue and dismisses it.
  const admin = await phone(browser);
  const desk = await openPage(admin);
  await logInUI(desk, ADMIN.username, ADMIN.password, '/admin/reports');
  await desk.goto('/admin/reports');
  const first = desk.locator('[data-testid="reports"] .report-item').first();
  await first.locator('a:has-text("역시 집밥이 최고")').waitFor();
  assert.match(await first.textContent(), /처리 전/);
  await screenshot(desk, 'community-reports');
  await first.locator('button[data-action="dismiss"]').click();
  await desk.locator('[data-testid="reports"] .report-item').first().locator('text=기각').first().waitFor();
  assertNoErrors(desk);
  for (const c of [fan, stranger, admin]) await c.close();
  assert.ok(BASE);
});

test('the community list and a community book on a desktop, in English', { timeout: 120000 }, async () => {
  assert.ok(bookId, 'the first test made a book');
  const context = await browser.newContext({ baseURL: BASE, viewport: { width: 1280, height: 900 }, locale: 'en-US' });
  const page = await openPage(context);
  await page.goto('/');
  await page.evaluate(() => localStorage.setItem('ipmat.lang', 'en'));
  await page.goto('/');
  await page.getByRole('heading', { name: 'Community world cups' }).waitFor();
  await page.locator('select[name="sort"]').selectOption('new');
  await page.locator(`[data-testid="community-list"] a[href="/books/${bookId}"]`).waitFor();
  await page.locator('#community-title').scrollIntoViewIfNeeded();
  await screenshot(page, 'community-home-desktop-en');
  await page.locator(`[data-testid="community-list"] a[href="/books/${bookId}"]`).click();
  await page.getByTestId('book-owner').waitFor();
  assert.match(await page.getByTestId('book-owner').textContent(), /^by /);
  await screenshot(page, 'community-book-desktop-en', { fullPage: true });
  assertNoErrors(page);
  await context.close();
});
