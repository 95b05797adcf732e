// Pictures as WebP where the browser takes it: a match's food cards and a book's cover are
// <picture>s whose WebP source Chromium loads (image/webp from /media, decoded), while the <img>
// keeps its JPEG, size, lazy loading and alt text; a browser that takes no WebP gets the JPEG.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, phone, openPage, apiCall, assertNoErrors, waitOrAlert } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Every picture response the page receives, by URL path. */
function recordPictures(page) {
  const seen = new Map();
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (url.pathname.startsWith('/media/')) seen.set(url.pathname, { status: response.status(), type: response.headers()['content-type'] });
  });
  return seen;
}

/** Waits until every image matching `selector` has loaded (or failed). */
async function loaded(page, selector) {
  await page.locator(selector).first().waitFor();
  await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((img) => img.complete), selector);
}

/** What the page shows of the pictures matching `selector`. */
function picturesOf(page, selector) {
  return page.locator(selector).evaluateAll((imgs) => imgs.map((img) => ({
    parent: img.parentElement.tagName,
    source: img.parentElement.querySelector('source')?.getAttribute('srcset') || null,
    sourceType: img.parentElement.querySelector('source')?.getAttribute('type') || null,
    src: img.getAttribute('src'),
    current: new URL(img.currentSrc).pathname,
    natural: img.naturalWidth,
    width: img.getAttribute('width'),
    height: img.getAttribute('height'),
    alt: img.getAttribute('alt'),
    loading: img.getAttribute('loading'),
    box: img.getBoundingClientRect().width,
  })));
}

test('a match and a book page load the WebP of each picture', { timeout: 60000 }, async () => {
  const books = (await apiCall('GET', '/books')).body;
  const list = Array.isArray(books) ? books : books.items;
  const book = list.find((b) => b.food_count >= 8 && b.cover_webp_url);
  assert.ok(book, 'a seeded book has a WebP cover');
  const full = (await apiCall('GET', `/books/${book.id}`)).body;
  assert.ok(full.foods.every((f) => !f.image_url || f.image_webp_url), 'every pictured food has its WebP');

  const context = await phone(browser);
  const page = await openPage(context);
  const seen = recordPictures(page);
  await page.goto(`/books/${book.id}`);
  await page.getByRole('heading', { level: 1, name: book.name }).waitFor();
  await loaded(page, 'img.book-hero');
  const [cover] = await picturesOf(page, 'img.book-hero');
  assert.equal(cover.parent, 'PICTURE');
  assert.deepEqual([cover.source, cover.sourceType], [book.cover_webp_url, 'image/webp']);
  assert.equal(cover.src, book.cover_url, 'the <img> keeps the JPEG');
  assert.equal(cover.current, book.cover_webp_url, 'Chromium chose the WebP');
  assert.ok(cover.natural > 0 && cover.box > 0, 'and drew it');
  assert.deepEqual([cover.width, cover.height], ['600', '140']);
  assert.deepEqual(seen.get(book.cover_webp_url), { status: 200, type: 'image/webp' });
  assert.equal(seen.has(book.cover_url), false, 'the JPEG was not fetched as well');

  await page.locator('.chip-option', { has: page.locator('input[name="size"][value="8"]') }).locator('label').click();
  await page.getByTestId('start-worldcup').click();
  await waitOrAlert(page, { url: /\/worldcup\/[^/]+$/ });
  await page.locator('.wc-cards[data-ready="true"]').waitFor();
  await loaded(page, '.food-card-img');
  const cards = await picturesOf(page, '.food-card-img');
  const pictured = cards.filter((c) => c.src);
  assert.ok(pictured.length >= 1, `the match shows pictures: ${JSON.stringify(cards)}`);
  for (const card of pictured) {
    const food = full.foods.find((f) => f.image_url === card.src);
    assert.ok(food, `a food of the book: ${card.src}`);
    assert.equal(card.parent, 'PICTURE');
    assert.equal(card.source, food.image_webp_url);
    assert.equal(card.current, food.image_webp_url, 'Chromium chose the WebP');
    assert.ok(card.natural > 0, `${card.current} decoded`);
    assert.deepEqual([card.width, card.height, card.alt, card.loading], ['600', '500', food.name, 'eager']);
    assert.deepEqual(seen.get(food.image_webp_url), { status: 200, type: 'image/webp' });
  }
  assertNoErrors(page);
  await context.close();
});

test('a browser that takes no WebP gets the JPEG from the same markup', { timeout: 30000 }, async () => {
  const books = (await apiCall('GET', '/books')).body;
  const book = (Array.isArray(books) ? books : books.items).find((b) => b.cover_webp_url);
  const context = await phone(browser);
  const page = await openPage(context);
  // Without WebP in its list, <picture> skips the source: what an old browser does.
  await page.addInitScript(() => {
    const take = HTMLSourceElement.prototype.setAttribute;
    HTMLSourceElement.prototype.setAttribute = function setAttribute(name, value) {
      return take.call(this, name, name === 'type' && value === 'image/webp' ? 'image/x-not-supported' : value);
    };
  });
  await page.goto(`/books/${book.id}`);
  await page.getByRole('heading', { level: 1, name: book.name }).waitFor();
  await loaded(page, 'img.book-hero');
  const [cover] = await picturesOf(page, 'img.book-hero');
  assert.equal(cover.current, book.cover_url, 'the JPEG is shown');
  assert.ok(cover.natural > 0);
  await context.close();
});

test('offline, the service worker answers a WebP not seen yet with its cached JPEG, else a tile', { timeout: 30000 }, async () => {
  const books = (await apiCall('GET', '/books')).body;
  const list = Array.isArray(books) ? books : books.items;
  const [book, other] = list.filter((b) => b.cover_webp_url);
  const context = await phone(browser);
  const page = await openPage(context);
  // A browser that saw the JPEG (as before WebP existed): the worker cached it.
  await page.addInitScript(() => {
    const take = HTMLSourceElement.prototype.setAttribute;
    HTMLSourceElement.prototype.setAttribute = function setAttribute(name, value) {
      return take.call(this, name, name === 'type' && value === 'image/webp' ? 'image/x-not-supported' : value);
    };
  });
  await page.goto(`/books/${book.id}`);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload();
  await page.getByRole('heading', { level: 1, name: book.name }).waitFor();
  await loaded(page, 'img.book-hero');
  assert.ok(await page.evaluate(() => Boolean(navigator.serviceWorker.controller)), 'the worker controls the page');
  assert.equal((await picturesOf(page, 'img.book-hero'))[0].current, book.cover_url);

  await context.setOffline(true);
  const typeOf = (url) => page.evaluate(async (u) => (await fetch(u)).headers.get('content-type'), url);
  assert.equal(await typeOf(book.cover_webp_url), 'image/jpeg', 'the cached JPEG of the same picture');
  assert.equal(await typeOf(other.cover_webp_url), 'image/svg+xml', 'a plain tile for a picture never seen');
  await context.setOffline(false);
  await context.close();
});
