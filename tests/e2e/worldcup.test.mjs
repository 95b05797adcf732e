// A whole 16-food world cup played by clicks: double tap, undo, keyboard, resume after reload,
// the champion screen with its share link and the book's ranking.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, phone, openPage, screenshot, apiCall, assertNoErrors, imagesLoaded, waitOrAlert } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const label = (page) => page.getByTestId('round-label').textContent();

/** Waits until the round label differs from `previous` or the champion screen shows. */
async function nextState(page, previous) {
  await page.waitForFunction(
    (prev) => document.querySelector('[data-testid="champion"]')
      || (document.querySelector('[data-testid="round-label"]')?.textContent !== prev
        && !document.querySelector('.worldcup[aria-busy="true"]')),
    previous,
  );
}

async function cupState(id) {
  const { status, body } = await apiCall('GET', `/worldcups/${encodeURIComponent(id)}`);
  assert.equal(status, 200);
  return body;
}

test('a 16-food world cup is played to its champion, with undo and resume', { timeout: 180000 }, async () => {
  const books = await apiCall('GET', '/books');
  assert.equal(books.status, 200);
  const list = Array.isArray(books.body) ? books.body : books.body.items;
  const book = list.find((b) => b.food_count >= 16);
  assert.ok(book, 'the seed catalog has a book with at least 16 foods');
  const full = (await apiCall('GET', `/books/${book.id}`)).body;

  const context = await phone(browser);
  const page = await openPage(context);
  await page.goto('/');
  await page.locator(`a[href="/books/${book.id}"]`).click();
  await page.getByRole('heading', { level: 1, name: book.name }).waitFor();

  // Leave out one food when the book can spare it; it must never show up in the bracket.
  let excluded = null;
  if (full.foods.length >= 17) {
    excluded = full.foods[0];
    await page.locator('details.exclude summary').click();
    await page.locator(`.exclusions label:has-text("${excluded.name}")`).first().click();
    assert.equal(await page.locator(`.exclusions input[value="${excluded.id}"]`).isChecked(), true);
  }
  await page.locator('.chip-option', { has: page.locator('input[name="size"][value="16"]') }).locator('label').click();
  assert.equal(await page.locator('input[name="size"][value="16"]').isChecked(), true);
  await page.getByTestId('start-worldcup').click();
  await waitOrAlert(page, { url: /\/worldcup\/[^/]+$/ });
  const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  assert.equal(await page.evaluate(() => localStorage.getItem('ipmat.worldcup')), id, 'the cup id is remembered');
  assert.equal(await label(page), '16강 1/8');
  assert.equal(await page.getByTestId('undo').isDisabled(), true, 'nothing to undo before the first pick');
  const seen = new Set();

  let picks = 0;
  let undone = false;
  let resumed = false;
  let lastWinner = null;
  while (true) {
    const current = await cupState(id);
    if (current.finished) break;
    assert.equal(current.picks.length, picks, 'the server counted exactly the picks made');
    for (const side of ['left', 'right']) seen.add(current.current[side].id);
    const before = await label(page);
    assert.equal(before, current.label, 'the round label is the state label');
    const side = picks % 3 === 1 ? 'right' : 'left';
    const card = page.locator(`.food-card[data-side="${side}"]`);
    const winnerId = Number(await card.getAttribute('data-food-id'));
    const winnerName = current.current[side].name;
    // The card shows photo (alt = name), name, credit and one-line description.
    assert.equal(await card.locator('.food-card-name').textContent(), winnerName);
    assert.equal(await card.locator('.food-card-img').getAttribute(current.current[side].image_url ? 'alt' : 'aria-label'), winnerName);
    if (current.current[side].description) assert.equal(await card.locator('.food-card-desc').textContent(), current.current[side].description);

    if (picks === 0) {
      // A double tap picks once, even on a slow network (the first pick is held back 400 ms).
      let held = 0;
      await page.route('**/api/v1/worldcups/*/picks', async (route) => {
        held += 1;
        await new Promise((resolve) => setTimeout(resolve, 400));
        await route.continue();
      });
      await card.dblclick();
      await nextState(page, before);
      await page.unroute('**/api/v1/worldcups/*/picks');
      assert.equal(held, 1, 'one pick request for a double tap');
    } else if (picks === 5) {
      await page.keyboard.press(side === 'left' ? 'ArrowLeft' : 'ArrowRight');
    } else {
      await card.click();
    }
    if (picks !== 0) await nextState(page, before);
    picks += 1;
    lastWinner = { id: winnerId, name: winnerName };
    if (picks === 1) {
      await page.waitForLoadState('networkidle');
      assert.equal((await cupState(id)).picks.length, 1, 'a double tap made one pick');
      assert.equal(await label(page), '16강 2/8');
    }
    if (picks === 3 && !undone) {
      undone = true;
      // Undo goes back one match, then the match is played again.
      const afterPick = await label(page);
      await page.getByTestId('undo').click();
      await nextState(page, afterPick);
      assert.equal(await label(page), before);
      assert.equal((await cupState(id)).picks.length, 2);
      picks -= 1;
    }
    if (picks === 4 && undone) {
      await imagesLoaded(page);
      await screenshot(page, 'worldcup-match');
    }
    if (picks === 7 && !resumed) {
      resumed = true;
      // Resume after reload, and from the home page's banner.
      const was = await label(page);
      await page.reload();
      await page.getByTestId('round-label').waitFor();
      assert.equal(await label(page), was, 'a reload resumes the unfinished cup');
      await page.goto('/');
      await page.getByTestId('resume-link').click();
      await page.waitForURL(`**/worldcup/${encodeURIComponent(id)}`);
      await page.getByTestId('round-label').waitFor();
      assert.equal(await label(page), was);
    }
    if (picks < 15) await page.getByTestId('round-label').waitFor();
  }
  assert.equal(picks, 15, 'a 16-food cup takes 15 picks');
  if (excluded) assert.ok(!seen.has(excluded.id), 'the excluded food never played');

  const final = await cupState(id);
  assert.equal(final.finished, true);
  assert.equal(final.champion.id, lastWinner.id);
  await page.getByTestId('champion').waitFor();
  assert.equal(await page.getByTestId('champion-name').textContent(), lastWinner.name);
  assert.equal(await page.getByTestId('share-link').inputValue(), `${BASE}/worldcup/${encodeURIComponent(id)}`);
  await page.getByRole('button', { name: '복사' }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${BASE}/worldcup/${encodeURIComponent(id)}`);
  assert.equal(await page.evaluate(() => localStorage.getItem('ipmat.worldcup')), null, 'a finished cup is forgotten');

  // The ranking counts this cup: the champion has a championship and is highlighted.
  const ranking = page.getByTestId('ranking');
  await ranking.locator('tbody tr').first().waitFor();
  assert.ok(await ranking.locator('tbody tr').count() >= 2);
  await ranking.locator('tr.highlight', { hasText: lastWinner.name }).waitFor();
  const apiRanking = await apiCall('GET', `/books/${book.id}/ranking`);
  const items = Array.isArray(apiRanking.body) ? apiRanking.body : apiRanking.body.items;
  const entry = items.find((item) => item.food.id === lastWinner.id);
  assert.ok(entry && entry.championships >= 1, 'the champion has a championship in the ranking');
  await screenshot(page, 'worldcup-champion', { fullPage: true });

  // The share link shows the finished cup to anyone.
  const other = await phone(browser);
  const viewer = await openPage(other);
  await viewer.goto(`/worldcup/${encodeURIComponent(id)}`);
  assert.equal(await viewer.getByTestId('champion-name').textContent(), lastWinner.name);
  assertNoErrors(viewer);
  await other.close();

  // The book was played once more.
  const after = (await apiCall('GET', `/books/${book.id}`)).body;
  assert.equal(after.play_count, book.play_count + 1);
  assertNoErrors(page);
  await context.close();
});

test('an unknown world cup link says it was not found', { timeout: 60000 }, async () => {
  const context = await phone(browser);
  const page = await openPage(context);
  await page.goto('/worldcup/no-such-cup');
  await page.getByRole('heading', { level: 1, name: '찾을 수 없어요' }).waitFor();
  assert.match(await page.locator('main .alert-error').textContent(), /삭제되었거나 주소가 잘못되었을/);
  assertNoErrors(page);
  await context.close();
});
