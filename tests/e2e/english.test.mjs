// Both languages all the way: an en-US browser starts in English (no choice saved yet) and
// sees English book and food names with correct plurals ("played 1 time", "1 title"), every
// API call asks for the app's language, and switching to Korean re-fetches Korean names and is
// remembered over the browser's language. Screenshots of home, a book page and a match in
// English at 360 and 1280 px.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, openPage, screenshot, apiCall, assertNoErrors } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const HANGUL = /[가-힣]/;

/** A browser context of the given size whose language is en-US and which has chosen nothing. */
async function englishBrowser(width, height) {
  const context = await browser.newContext({
    baseURL: BASE,
    viewport: { width, height },
    deviceScaleFactor: width < 600 ? 2 : 1,
    isMobile: width < 600,
    hasTouch: width < 600,
    locale: 'en-US',
    timezoneId: 'Asia/Seoul',
  });
  context.setDefaultTimeout(15000);
  return context;
}

/** Records the Accept-Language of every API request the page sends. */
function recordLanguages(page) {
  const seen = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname.startsWith('/api/v1/')) seen.push(request.headers()['accept-language']);
  });
  return seen;
}

/** A seeded book nobody has played yet, played once to its end from Node (a 2-food cup). */
async function bookPlayedOnce() {
  const { body: books } = await apiCall('GET', '/books?lang=en');
  const book = books.find((b) => b.play_count === 0 && b.food_count >= 16);
  assert.ok(book, 'an unplayed seeded book');
  const { status, body: cup } = await apiCall('POST', `/books/${book.id}/worldcups?lang=en`, { body: { size: 2 } });
  assert.equal(status, 201, JSON.stringify(cup));
  const picked = await apiCall('POST', `/worldcups/${cup.id}/picks`, {
    body: { winner: cup.current.left.id },
    headers: { 'X-Play-Key': cup.play_key },
  });
  assert.equal(picked.status, 200, JSON.stringify(picked.body));
  assert.equal(picked.body.finished, true);
  return { ...book, champion: cup.current.left };
}

test('an en-US browser starts in English with English names and plurals, and switches to Korean', { timeout: 180000 }, async () => {
  const book = await bookPlayedOnce();
  assert.ok(!HANGUL.test(book.name), `${book.name} is English`);
  const { body: korean } = await apiCall('GET', `/books/${book.id}`, { headers: { 'Accept-Language': 'ko' } });

  const context = await englishBrowser(360, 780);
  const page = await openPage(context);
  const languages = recordLanguages(page);
  await page.goto('/');
  const card = page.locator(`li.book[data-book-id="${book.id}"]`);
  await card.waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  assert.equal(await card.locator('.book-name').textContent(), book.name);
  assert.equal(
    await card.locator('.book-meta').textContent(),
    `${book.food_count} foods · played 1 time · finished 1 time`,
  );
  // The official books (community books are never translated).
  const { body: official } = await apiCall('GET', '/books');
  const names = [];
  for (const b of official) names.push(await page.locator(`li.book[data-book-id="${b.id}"] .book-name`).first().textContent());
  assert.ok(names.length >= 15 && names.every((n) => !HANGUL.test(n)), names.join(', '));
  await page.getByTestId('todays-pick').waitFor();
  // Today's pick may be a food another test made without an English name (it then falls back
  // to Korean), so compare with what the API says in English rather than looking for Hangul.
  const { body: today } = await apiCall('GET', '/foods/today', { headers: { 'Accept-Language': 'en' } });
  const { body: todayKo } = await apiCall('GET', '/foods/today', { headers: { 'Accept-Language': 'ko' } });
  assert.equal(await page.locator('.pick-name').textContent(), today.name, 'today’s pick is in English');
  if (today.name !== todayKo.name) assert.ok(!HANGUL.test(today.name));
  await screenshot(page, 'english-home');

  // The ranking counts one title for the champion.
  await page.goto(`/books/${book.id}/ranking`);
  await page.getByTestId('ranking').waitFor();
  const row = page.getByTestId('ranking').locator('tr', { hasText: book.champion.name });
  assert.equal(await row.locator('.sub').first().textContent(), '1 title');

  // The book page: its name, its foods, sizes, all in English.
  await page.goto(`/books/${book.id}`);
  await page.getByTestId('start-worldcup').waitFor();
  assert.equal(await page.locator('h1').textContent(), book.name);
  // The foods to leave out are listed once the list is opened.
  assert.equal(await page.locator('input[data-food-name]').count(), 0, 'the closed list is not built yet');
  await page.locator('details.exclude summary').click();
  const foodNames = await page.locator('input[data-food-name]').evaluateAll((inputs) => inputs.map((i) => i.dataset.foodName));
  assert.equal(foodNames.length, book.food_count);
  assert.ok(foodNames.every((n) => !HANGUL.test(n)), foodNames.join(', '));
  await screenshot(page, 'english-book', { fullPage: true });
  await page.locator('details.exclude summary').click();

  // A match: both cards in English.
  await page.getByTestId('start-worldcup').click();
  await page.locator('.wc-cards[data-ready="true"]').waitFor();
  const cards = await page.locator('.wc-cards .food-card-name').allTextContents();
  assert.equal(cards.length, 2);
  assert.ok(cards.every((n) => n && !HANGUL.test(n)), cards.join(' / '));
  await screenshot(page, 'english-match');
  assert.ok(languages.length > 5 && languages.every((l) => l === 'en'), `asked in ${[...new Set(languages)]}`);

  // Switching to Korean fetches the same match again in Korean, and the choice is kept.
  languages.length = 0;
  await page.getByTestId('lang-toggle').click();
  await page.waitForFunction(() => document.documentElement.lang === 'ko');
  await page.locator('.wc-cards[data-ready="true"]').waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('.wc-cards .food-card-name')]
    .every((el) => /[가-힣]/.test(el.textContent)));
  assert.ok(languages.length > 0 && languages.every((l) => l === 'ko'), `asked in ${[...new Set(languages)]}`);
  await page.goto('/');
  await card.waitFor();
  assert.equal(await card.locator('.book-name').textContent(), korean.name);
  assert.match(await card.locator('.book-meta').textContent(), /^음식 \d+개/);
  assertNoErrors(page);
  await context.close();
});

test('English home, book and match screens on a desktop', { timeout: 120000 }, async () => {
  const { body: books } = await apiCall('GET', '/books?lang=en');
  const book = books[0];
  const context = await englishBrowser(1280, 900);
  const page = await openPage(context);
  await page.goto('/');
  await page.locator(`li.book[data-book-id="${book.id}"] .book-name`).filter({ hasText: book.name }).waitFor();
  await page.getByTestId('todays-pick').waitFor();
  await screenshot(page, 'english-home-desktop');
  await page.goto(`/books/${book.id}`);
  await page.getByTestId('start-worldcup').waitFor();
  assert.equal(await page.locator('h1').textContent(), book.name);
  await page.locator('details.exclude summary').click();
  await screenshot(page, 'english-book-desktop', { fullPage: true });
  await page.locator('details.exclude summary').click();
  await page.getByTestId('start-worldcup').click();
  await page.locator('.wc-cards[data-ready="true"]').waitFor();
  const cards = await page.locator('.wc-cards .food-card-name').allTextContents();
  assert.ok(cards.every((n) => n && !HANGUL.test(n)), cards.join(' / '));
  await screenshot(page, 'english-match-desktop');
  assertNoErrors(page);
  await context.close();
});
