// The share sheet (web/js/share.js) on the champion screen and a participant's quiz result:
// without the Web Share API the button copies the link and offers an X post; with it, the
// system sheet gets the specific text and link. Also the link-preview tags of the shared page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, phone, openPage, screenshot, apiCall, adminToken, uniqueName, logInUI, assertNoErrors } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Hides the Web Share API, as on desktop Chromium on Linux and in Firefox. */
const WITHOUT_WEB_SHARE = () => {
  delete Navigator.prototype.share;
  delete Navigator.prototype.canShare;
};

/** A finished two-food world cup of the first book; answers [cup, book]. */
async function finishedCup() {
  const books = (await apiCall('GET', '/books')).body;
  const book = (Array.isArray(books) ? books : books.items)[0];
  const started = await apiCall('POST', `/books/${book.id}/worldcups`, { body: { size: 2 } });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const cup = started.body;
  const picked = await apiCall('POST', `/worldcups/${cup.id}/picks`, {
    body: { winner: cup.current.left.id },
    headers: { 'X-Play-Key': cup.play_key },
  });
  assert.equal(picked.status, 200, JSON.stringify(picked.body));
  assert.equal(picked.body.finished, true);
  return [picked.body, book];
}

test('without Web Share the champion\'s share button copies the link and offers X', async () => {
  const [cup, book] = await finishedCup();
  const champion = cup.champion.name;
  const context = await phone(browser);
  await context.addInitScript(WITHOUT_WEB_SHARE);
  const page = await openPage(context);
  const response = await page.goto(`/worldcup/${cup.id}`);
  assert.equal(response.status(), 200);
  await page.getByTestId('champion').waitFor();

  const sheet = page.getByTestId('share-sheet');
  const expected = `내 ${book.name.endsWith('월드컵') ? book.name : `${book.name} 월드컵`} 우승은 ${champion}! 너는?`;
  assert.equal(await sheet.getByTestId('share-text').textContent(), expected);
  assert.equal(await page.getByTestId('share-fallback').isHidden(), true);

  const link = `${BASE}/worldcup/${cup.id}`;
  await page.evaluate(() => navigator.clipboard.writeText('nothing yet'));
  await page.getByTestId('share-button').click();
  await page.getByTestId('share-fallback').waitFor();
  assert.equal(await page.getByTestId('share-button').getAttribute('aria-expanded'), 'true');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
  await page.locator('#toast.show').waitFor();
  assert.equal(await page.locator('#toast').textContent(), '링크를 복사했어요.');

  const x = new URL(await page.getByTestId('share-x').getAttribute('href'));
  assert.equal(x.origin + x.pathname, 'https://twitter.com/intent/tweet');
  assert.equal(x.searchParams.get('text'), expected);
  assert.equal(x.searchParams.get('url'), link);
  assert.equal(await page.getByTestId('share-x').getAttribute('target'), '_blank');

  // The copy button copies again after the clipboard changed.
  await page.evaluate(() => navigator.clipboard.writeText('changed'));
  await page.getByTestId('share-copy').click();
  await page.waitForFunction((want) => navigator.clipboard.readText().then((t) => t === want), link);

  // What a crawler of this link reads.
  const head = await page.evaluate(() => ({
    title: document.querySelector('meta[property="og:title"]')?.content,
    image: document.querySelector('meta[property="og:image"]')?.content,
  }));
  assert.ok(head.title.startsWith(`${champion} 우승!`), head.title);
  assert.ok(head.image.startsWith(`${BASE}/og/worldcup/${cup.id}.png`), head.image);
  const png = await fetch(head.image);
  assert.equal(png.status, 200);
  assert.equal(png.headers.get('content-type'), 'image/png');

  await page.getByTestId('share-sheet').scrollIntoViewIfNeeded();
  await screenshot(page, 'share-champion-fallback-phone-ko');
  assertNoErrors(page);
  await context.close();
});

test('with Web Share the button hands the text and link to the system sheet', async () => {
  const [cup] = await finishedCup();
  const context = await phone(browser);
  // Headless Chromium on Linux has no system share sheet: record what it would be given.
  await context.addInitScript(() => {
    window.__shared = [];
    Navigator.prototype.share = function share(data) {
      window.__shared.push(data);
      return Promise.resolve();
    };
  });
  const page = await openPage(context);
  await page.goto(`/worldcup/${cup.id}`);
  await page.getByTestId('champion').waitFor();
  await page.getByTestId('share-button').click();
  await page.waitForFunction(() => window.__shared.length === 1);
  const shared = await page.evaluate(() => window.__shared[0]);
  assert.equal(shared.url, `${BASE}/worldcup/${cup.id}`);
  assert.ok(shared.text.includes(`우승은 ${cup.champion.name}!`), shared.text);
  assert.equal(await page.getByTestId('share-fallback').isHidden(), true, 'no fallback needed');
  assertNoErrors(page);
  await context.close();
});

test('a participant shares their result; English and desktop layouts', async () => {
  const pairs = (await apiCall('GET', '/quiz/pairs?count=3')).body;
  const list = Array.isArray(pairs) ? pairs : pairs.items;
  if (list.length < 3) {
    const token = await adminToken();
    const foods = (await apiCall('GET', '/foods?limit=20')).body.items;
    for (let i = 0; i < 3; i += 1) {
      await apiCall('POST', '/quiz/pairs', { token, body: { left_id: foods[2 * i].id, right_id: foods[2 * i + 1].id } });
    }
  }
  const bank = (await apiCall('GET', '/quiz/pairs?count=3')).body;
  const chosen = (Array.isArray(bank) ? bank : bank.items).slice(0, 3);
  const author = uniqueName('au');
  const signup = await apiCall('POST', '/auth/signup', { body: { username: author, password: 'password123' } });
  assert.equal(signup.status, 201);
  const made = await apiCall('POST', '/exams', {
    token: signup.body.token,
    body: { title: '내 입맛 <맞혀 봐>', answers: chosen.map((p) => ({ pair_id: p.id, food_id: p.left.id })) },
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const code = made.body.code;
  const player = uniqueName('pl');
  const joined = await apiCall('POST', '/auth/signup', { body: { username: player, password: 'password123' } });
  const took = await apiCall('PUT', `/exams/${code}/attempt`, {
    token: joined.body.token,
    body: { answers: chosen.map((p, i) => ({ pair_id: p.id, food_id: i === 0 ? p.left.id : p.right.id })) },
  });
  assert.equal(took.status, 200, JSON.stringify(took.body));

  const context = await phone(browser);
  await context.addInitScript(WITHOUT_WEB_SHARE);
  const page = await openPage(context);
  await logInUI(page, player, 'password123', `/quiz/${code}`);
  await page.getByTestId('score').waitFor();
  const text = await page.getByTestId('share-text').textContent();
  assert.ok(text.includes('1/3'), `the shared text carries the score: ${text}`);
  await page.getByTestId('share-button').click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${BASE}/quiz/${code}`);
  await page.getByTestId('share-sheet').scrollIntoViewIfNeeded();
  await screenshot(page, 'share-quiz-result-phone-ko');
  assertNoErrors(page);
  await context.close();

  // English on a desktop screen: the champion's sheet.
  const [cup] = await finishedCup();
  const desktop = await browser.newContext({ baseURL: BASE, viewport: { width: 1280, height: 900 }, locale: 'en-US' });
  await desktop.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  await desktop.addInitScript(WITHOUT_WEB_SHARE);
  await desktop.addInitScript(() => localStorage.setItem('ipmat.lang', 'en'));
  const wide = await openPage(desktop);
  await wide.goto(`/worldcup/${cup.id}`);
  await wide.getByTestId('champion').waitFor();
  await wide.getByTestId('share-button').click();
  await wide.getByTestId('share-fallback').waitFor();
  await wide.getByTestId('share-sheet').scrollIntoViewIfNeeded();
  await screenshot(wide, 'share-champion-fallback-desktop-en');
  assertNoErrors(wide);
  await desktop.close();
});
