// A whole 16-food world cup played by clicks: double tap, the tap guard, undo, keyboard, resume
// after reload with the play key, the champion screen with its path, runner-up, map links,
// share link and the book's ranking; a shared link that only views; resuming on another
// device of the same account; my plays and taste; today's food on the home page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, launch, phone, openPage, screenshot, apiCall, assertNoErrors, imagesLoaded, waitOrAlert,
  uniqueName, signUpUI, logInUI,
} from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const label = (page) => page.getByTestId('round-label').textContent();

/**
 * Waits until the round label differs from `previous` (and the new match takes taps) or the
 * champion screen shows.
 */
async function nextState(page, previous) {
  await page.waitForFunction(
    (prev) => document.querySelector('[data-testid="champion"]')
      || (document.querySelector('[data-testid="round-label"]')?.textContent !== prev
        && !document.querySelector('.worldcup[aria-busy="true"]')
        && document.querySelector('.wc-cards[data-ready="true"]')),
    previous,
  );
}

/** Waits until the match on screen takes taps (the guard after a new match has passed). */
async function ready(page) {
  await page.locator('.wc-cards[data-ready="true"]').waitFor();
}

/** A desktop-sized context (1280 px), in Korean or English. */
async function desktop(browser, { lang = 'ko' } = {}) {
  const context = await browser.newContext({
    baseURL: BASE,
    viewport: { width: 1280, height: 900 },
    locale: lang === 'ko' ? 'ko-KR' : 'en-US',
    timezoneId: 'Asia/Seoul',
  });
  if (lang !== 'ko') await context.addInitScript(() => localStorage.setItem('ipmat.lang', 'en'));
  context.setDefaultTimeout(15000);
  return context;
}

/** Saves a whole-page screenshot under docs/screenshots/NAME.png. */
const shot = (page, name) => screenshot(page, name, { fullPage: true });

/** A book with at least `n` foods from the seed catalog. */
async function bookWith(n) {
  const books = await apiCall('GET', '/books');
  const list = Array.isArray(books.body) ? books.body : books.body.items;
  const book = list.find((b) => b.food_count >= n);
  assert.ok(book, `the seed catalog has a book with at least ${n} foods`);
  return book;
}

/** Starts a cup from Node: answers the state with its play key. */
async function startCup(bookId, size) {
  const { status, body } = await apiCall('POST', `/books/${bookId}/worldcups`, { body: { size } });
  assert.equal(status, 201, JSON.stringify(body));
  assert.match(body.play_key, /^[0-9a-f]{64}$/);
  return body;
}

/** Picks from Node with a play key. */
async function pickWithKey(cup, key, side = 'left') {
  const response = await fetch(`${BASE}/api/v1/worldcups/${cup.id}/picks`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Play-Key': key },
    body: JSON.stringify({ winner: cup.current[side].id, round: cup.round, match: cup.match }),
  });
  assert.equal(response.status, 200);
  return response.json();
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
  assert.match(await page.evaluate((cup) => localStorage.getItem(`ipmat.wckey.${cup}`), id) || '', /^[0-9a-f]{64}$/,
    'and its play key with it');
  await ready(page);
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
      // Taps 80–250 ms apart: the second lands right after the next match appears and is
      // ignored, so it never decides a match the player has not seen.
      // The second tap is sent the moment the new match is on screen.
      await page.evaluate(() => new Promise((resolve) => {
        const labelEl = document.querySelector('[data-testid="round-label"]');
        const observer = new MutationObserver(() => {
          observer.disconnect();
          document.querySelector('.food-card[data-side="left"]').click();
          resolve();
        });
        observer.observe(labelEl, { childList: true, characterData: true, subtree: true });
        document.querySelector('.food-card[data-side="left"]').click();
      }));
      await page.waitForTimeout(700);
      await page.waitForLoadState('networkidle');
      assert.equal((await cupState(id)).picks.length, 2, 'the tap during the guard was ignored');
      assert.equal(await label(page), '16강 3/8');
      await ready(page);
      picks += 1;
      lastWinner = null;
      continue;
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
      assert.equal(await page.getByTestId('view-only').count(), 0, 'with the key it still plays');
      await page.goto('/');
      await page.getByTestId('resume-link').click();
      await page.waitForURL(`**/worldcup/${encodeURIComponent(id)}`);
      await page.getByTestId('round-label').waitFor();
      assert.equal(await label(page), was);
    }
    if (picks < 15) {
      await page.getByTestId('round-label').waitFor();
      await ready(page);
    }
  }
  assert.equal(picks, 15, 'a 16-food cup takes 15 picks');
  if (excluded) assert.ok(!seen.has(excluded.id), 'the excluded food never played');

  const final = await cupState(id);
  assert.equal(final.finished, true);
  assert.equal(final.champion.id, lastWinner.id);
  await page.getByTestId('champion').waitFor();
  assert.equal(await page.getByTestId('champion-name').textContent(), lastWinner.name);
  // The champion's path: the four foods it beat, round by round, and the runner-up.
  const steps = page.getByTestId('champion-path').locator('li');
  assert.equal(await steps.count(), 4);
  const opponents = await steps.evaluateAll((items) => items.map((li) => Number(li.dataset.foodId)));
  assert.deepEqual(opponents, final.champion_path.map((s) => s.opponent.id));
  const fromPicks = final.picks.filter((p) => p.winner_id === final.champion.id)
    .map((p) => (p.left_id === final.champion.id ? p.right_id : p.left_id));
  assert.deepEqual(opponents, fromPicks, 'the path is the matches the champion won');
  assert.match(await steps.first().textContent(), /^16강: .+ 이김$/);
  assert.match(await steps.last().textContent(), /^결승: .+ 이김$/);
  assert.match(await page.getByTestId('runner-up').textContent(), new RegExp(`준우승\\s*${final.runner_up.name}`));
  // 근처 맛집 찾기: map searches for the champion's name, opening in a new window.
  const maps = page.getByTestId('map-links');
  assert.equal(await maps.getByRole('heading').textContent(), '근처 맛집 찾기');
  const links = await maps.locator('a').evaluateAll((as) => as.map((a) => [a.dataset.service, a.href, a.target, a.rel]));
  const q = encodeURIComponent(final.champion.name);
  assert.deepEqual(links, [
    ['kakao', `https://map.kakao.com/?q=${q}`, '_blank', 'noopener noreferrer'],
    ['naver', `https://map.naver.com/p/search/${q}`, '_blank', 'noopener noreferrer'],
  ]);
  assert.equal(await page.getByTestId('share-link').inputValue(), `${BASE}/worldcup/${encodeURIComponent(id)}`);
  await page.getByRole('button', { name: '복사' }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${BASE}/worldcup/${encodeURIComponent(id)}`);
  assert.equal(await page.evaluate(() => localStorage.getItem('ipmat.worldcup')), null, 'a finished cup is forgotten');
  assert.equal(await page.evaluate((cup) => localStorage.getItem(`ipmat.wckey.${cup}`), id), null, 'and so is its key');

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
  assert.equal(after.finished_count, book.finished_count + 1, 'and finished once more');
  await page.goto(`/books/${book.id}`);
  assert.match(await page.locator('.book-page .lead').textContent(), new RegExp(`${after.play_count}번 플레이 · ${after.finished_count}번 완주`));
  assertNoErrors(page);
  await context.close();
});

test('an unknown world cup link says it was not found', { timeout: 60000 }, async () => {
  const context = await phone(browser);
  const page = await openPage(context);
  await page.goto('/worldcup/no-such-cup');
  await page.getByRole('heading', { level: 1, name: '찾을 수 없어요' }).waitFor();
  await page.getByText('그런 월드컵이 없어요.').waitFor();
  assert.equal(await page.getByRole('button', { name: '다시 시도' }).count(), 0, 'no retry for what does not exist');
  assertNoErrors(page);
  await context.close();
});

test('a shared link to an unfinished cup only views; its player goes on with the key', { timeout: 90000 }, async () => {
  const book = await bookWith(8);
  const cup = await startCup(book.id, 8);
  const after = await pickWithKey(cup, cup.play_key);

  // A stranger with the link (a fresh browser) sees the match but cannot pick or undo.
  const stranger = await phone(browser);
  const viewer = await openPage(stranger);
  await viewer.goto(`/worldcup/${cup.id}`);
  await viewer.getByTestId('view-only').waitFor();
  assert.equal(await viewer.getByTestId('round-label').textContent(), '8강 2/4');
  assert.equal(await viewer.locator('button.food-card').count(), 0, 'no card to tap');
  assert.equal(await viewer.getByTestId('undo').count(), 0, 'no undo');
  assert.equal(await viewer.locator('.food-card-static').count(), 2);
  await viewer.locator('.food-card-static').first().click();
  await viewer.keyboard.press('ArrowLeft');
  assert.equal(await viewer.evaluate(() => localStorage.getItem('ipmat.worldcup')), null, 'not remembered as mine');
  const { status } = await apiCall('POST', `/worldcups/${cup.id}/picks`, { body: { winner: after.current.left.id } });
  assert.equal(status, 403, 'the API refuses a pick without the key');
  assert.equal((await cupState(cup.id)).picks.length, 1, 'nothing changed');
  await shot(viewer, 'worldcup-view-only');
  assertNoErrors(viewer);
  await viewer.getByRole('link', { name: '나도 이 월드컵 하기' }).click();
  await viewer.waitForURL(`**/books/${book.id}`);
  await stranger.close();

  // The player's browser keeps the key with the id: it resumes and picks.
  const player = await phone(browser);
  await player.addInitScript(([id, key]) => {
    localStorage.setItem('ipmat.worldcup', id);
    localStorage.setItem(`ipmat.wckey.${id}`, key);
  }, [cup.id, cup.play_key]);
  const page = await openPage(player);
  await page.goto('/');
  await page.getByTestId('resume-link').click();
  await page.getByTestId('round-label').waitFor();
  await ready(page);
  assert.equal(await label(page), '8강 2/4');
  await page.locator('.food-card[data-side="right"]').click();
  await nextState(page, '8강 2/4');
  assert.equal(await label(page), '8강 3/4');
  assert.equal((await cupState(cup.id)).picks.length, 2);
  assertNoErrors(page);
  await player.close();
});

test('a cup started while signed in resumes on another device; my plays and taste list it', { timeout: 120000 }, async () => {
  const book = await bookWith(4);
  const username = uniqueName('wc');
  const password = 'password-e2e-12';
  const context = await phone(browser);
  const page = await openPage(context);
  await signUpUI(page, username, password);
  // Start and play one cup to its champion, and start another, in this browser.
  const played = await page.evaluate(async (bookId) => {
    const call = async (method, url, body, key) => {
      const headers = { 'Content-Type': 'application/json' };
      if (key) headers['X-Play-Key'] = key;
      const r = await fetch(`/api/v1${url}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
      return r.json();
    };
    let cup = await call('POST', `/books/${bookId}/worldcups`, { size: 2 });
    const key = cup.play_key;
    cup = await call('POST', `/worldcups/${cup.id}/picks`, { winner: cup.current.left.id, round: 2, match: 1 }, key);
    const open = await call('POST', `/books/${bookId}/worldcups`, { size: 4 });
    return { finished: cup, open };
  }, book.id);
  assert.equal(played.finished.finished, true);

  // Another device of the same account: no key there, but the account resumes the cup.
  const other = await phone(browser);
  const second = await openPage(other);
  await logInUI(second, username, password, '/');
  const resume = second.getByTestId('resume-link');
  await resume.waitFor();
  assert.match(await second.locator('.resume p').textContent(), /내 계정에 하던 월드컵이 있어요/);
  await resume.click();
  await second.waitForURL(`**/worldcup/${played.open.id}`);
  await ready(second);
  assert.equal(await second.getByTestId('view-only').count(), 0, 'the owner plays without the key');
  await second.locator('.food-card[data-side="left"]').click();
  await nextState(second, '4강 1/2');
  assert.equal((await cupState(played.open.id)).picks.length, 1);

  // My plays: both cups, newest first, and the taste profile of the finished one.
  await second.goto('/me/worldcups');
  const rows = second.getByTestId('plays-list').locator('li');
  await rows.first().waitFor();
  assert.deepEqual(await rows.evaluateAll((li) => li.map((x) => x.dataset.worldcupId)), [played.open.id, played.finished.id]);
  assert.match(await rows.nth(1).textContent(), new RegExp(`우승: ${played.finished.champion.name}`));
  assert.match(await rows.nth(0).textContent(), /진행 중/);
  const taste = second.getByTestId('taste');
  assert.match(await taste.textContent(), /끝까지 한 월드컵 1개/);
  assert.match(await taste.textContent(), new RegExp(`${played.finished.champion.name}: 1번 우승시켰어요`));
  await shot(second, 'my-plays');
  assertNoErrors(second);
  assertNoErrors(page);

  const wide = await desktop(browser, { lang: 'en' });
  const en = await openPage(wide);
  await en.goto('/');
  // Log in through the API from the page: the session cookie lands in this context.
  const login = await en.evaluate(async (body) => (await fetch('/api/v1/auth/login', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  })).status, { username, password });
  assert.equal(login, 200);
  await en.goto('/me/worldcups');
  await en.getByTestId('plays-list').waitFor();
  assert.match(await en.getByTestId('taste').textContent(), /You crowned/);
  await shot(en, 'my-plays-desktop-en');
  await wide.close();
  await other.close();
  await context.close();
});

test("the home card shows today's food, opens it, and offers another", { timeout: 60000 }, async () => {
  const today = await apiCall('GET', '/foods/today');
  assert.equal(today.status, 200);
  assert.deepEqual((await apiCall('GET', '/foods/today')).body, today.body, 'the same all day');
  const context = await phone(browser);
  const page = await openPage(context);
  await page.goto('/');
  const card = page.getByTestId('todays-pick');
  await card.waitFor();
  assert.equal(Number(await card.getAttribute('data-food-id')), today.body.id);
  assert.match(await card.textContent(), new RegExp(today.body.name));
  await page.reload();
  await card.waitFor();
  assert.equal(Number(await card.getAttribute('data-food-id')), today.body.id, 'a reload shows the same food');
  await card.click();
  await page.waitForURL(`**/foods/${today.body.id}`);
  await page.getByRole('heading', { level: 1, name: today.body.name }).waitFor();
  const q = encodeURIComponent(today.body.name);
  assert.equal(await page.getByTestId('map-links').locator('a[data-service="kakao"]').getAttribute('href'), `https://map.kakao.com/?q=${q}`);
  await shot(page, 'food-detail');
  await page.goBack();
  await page.getByTestId('pick-again').click();
  await page.getByRole('heading', { name: '다른 추천' }).waitFor();
  assertNoErrors(page);
  await context.close();
});

test('the champion screen in English on a desktop', { timeout: 60000 }, async () => {
  const book = await bookWith(8);
  let cup = await startCup(book.id, 8);
  const key = cup.play_key;
  while (!cup.finished) cup = await pickWithKey(cup, key, cup.picks.length % 2 ? 'left' : 'right');
  const context = await desktop(browser, { lang: 'en' });
  const page = await openPage(context);
  await page.goto(`/worldcup/${cup.id}`);
  await page.getByTestId('champion').waitFor();
  await page.getByTestId('ranking').locator('tbody tr').first().waitFor();
  assert.equal(await page.getByTestId('map-links').getByRole('heading').textContent(), 'Find a place nearby');
  assert.match(await page.getByTestId('champion-path').locator('li').last().textContent(), /^Final: beat /);
  await shot(page, 'worldcup-champion-desktop-en');
  assertNoErrors(page);
  await context.close();
});
