// Friends who tap a quiz link: a guest takes it in one screen (name, questions, result) with no
// sign-up, cannot retake it, is reset by the author and takes it again; a 입맛 궁합 quiz shows
// the percentage; a finished world cup becomes a quiz that a second context takes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, phone as phoneContext, openPage, screenshot, apiCall, adminToken, uniqueName, signUpUI, assertNoErrors, waitOrAlert } from './lib.mjs';

let browser;

/** A phone context with a patient timeout: the machine running the suite may be busy. */
async function phone(b, options) {
  const context = await phoneContext(b, options);
  context.setDefaultTimeout(30000);
  return context;
}

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** `count` bank pairs, made by the admin when the bank is short. */
async function pairs(count) {
  let have = (await apiCall('GET', `/quiz/pairs?count=${count}`)).body;
  if (have.length < count) {
    const token = await adminToken();
    const foods = (await apiCall('GET', '/foods?limit=200')).body.items;
    for (let i = 0; i < count; i += 1) {
      await apiCall('POST', '/quiz/pairs', { token, body: { left_id: foods[2 * i].id, right_id: foods[2 * i + 1].id } });
    }
    have = (await apiCall('GET', `/quiz/pairs?count=${count}`)).body;
  }
  assert.ok(have.length >= count, 'enough pairs');
  return have.slice(0, count);
}

/** Signs up a member in the page's context and makes an exam there (choosing every left food). */
async function authorWithExam(page, { mode = 'guess', n = 4 } = {}) {
  const name = uniqueName('au');
  await signUpUI(page, name, 'correct horse 2');
  const list = await pairs(n);
  const exam = await page.evaluate(async ({ list, mode }) => {
    const response = await fetch('/api/v1/exams', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: '친구 퀴즈', mode, answers: list.map((p) => ({ pair_id: p.id, food_id: p.left.id })) }),
    });
    return response.json();
  }, { list, mode });
  assert.match(exam.code, /^[2-9A-Z]{6}$/);
  return { name, code: exam.code, list };
}

/** Answers every question of the open quiz: the left food for the first `agree`, else right. */
async function answerAll(page, agree) {
  const questions = page.locator('fieldset.question');
  await questions.first().waitFor();
  const n = await questions.count();
  for (let i = 0; i < n; i += 1) {
    await questions.nth(i).locator(`.choice-${i < agree ? 'left' : 'right'} label`).click();
  }
  return n;
}

test('a guest takes a quiz from a link in one screen, once, until the author resets them', { timeout: 180000  }, async () => {
  const authorContext = await phone(browser);
  const author = await openPage(authorContext);
  const { code } = await authorWithExam(author);

  // A fresh context: nobody signed in. The link shows the name field and the questions together.
  const guestContext = await phone(browser);
  const guest = await openPage(guestContext);
  await guest.goto(`/quiz/${code}`);
  await guest.getByTestId('guest-name').waitFor();
  assert.equal(await guest.locator('fieldset.question').count(), 4, 'the questions are on the same screen');
  assert.equal(new URL(guest.url()).pathname, `/quiz/${code}`, 'no detour to sign-up');
  // Submitting without a name asks for one and signs nobody in.
  await answerAll(guest, 3);
  await guest.getByTestId('submit-attempt').click();
  await guest.getByText('이름을 입력해 주세요.').waitFor();
  await guest.getByTestId('guest-name').fill('민지');
  await screenshot(guest, 'quiz-guest-take');
  await guest.getByTestId('submit-attempt').click();
  await waitOrAlert(guest, { locator: guest.getByTestId('score') });
  assert.equal(await guest.getByTestId('score').textContent(), '3/4 · 75%');
  assert.equal(await guest.getByTestId('rank').textContent(), '1명 중 1등');
  assert.equal(await guest.getByTestId('tier').textContent(), '꽤 잘 아는 사이!');
  assert.match(await guest.locator('#result-title').textContent(), /민지/);
  assert.equal(await guest.getByTestId('result-list').locator('li').count(), 4);
  assert.equal(await guest.getByTestId('share-button').count(), 1);
  assert.match(await guest.getByTestId('share-text').textContent(), /3\/4 · 75%/);
  // Without the Web Share API the button copies the link and offers the fallbacks.
  await guest.evaluate(() => { Object.defineProperty(navigator, 'share', { value: undefined, configurable: true }); });
  await guest.getByTestId('share-button').click();
  await guest.getByTestId('share-fallback').waitFor();
  const copied = await guest.evaluate(() => navigator.clipboard.readText());
  assert.match(copied, new RegExp(`/quiz/${code}$`));
  await screenshot(guest, 'quiz-guest-result', { fullPage: true });
  await guest.setViewportSize({ width: 1280, height: 900 });
  await screenshot(guest, 'quiz-guest-result-desktop', { fullPage: true });
  await guest.setViewportSize({ width: 360, height: 780 });

  // A retake is refused: the page shows the result again, and the API answers 409.
  await guest.reload();
  await guest.getByTestId('score').waitFor();
  assert.equal(await guest.getByTestId('submit-attempt').count(), 0);
  const retake = await guest.evaluate(async (c) => {
    const exam = await (await fetch(`/api/v1/exams/${c}`)).json();
    const answers = exam.questions.map((q) => ({ pair_id: q.pair_id, food_id: q.left.id }));
    const response = await fetch(`/api/v1/exams/${c}/attempt`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ answers }) });
    return response.status;
  }, code);
  assert.equal(retake, 409);

  // The author sees the guest under their display name, opens their choices, and resets them.
  await author.goto(`/quiz/${code}/scoreboard`);
  const row = author.getByTestId('scoreboard').locator('tbody tr', { hasText: '민지' });
  await row.waitFor();
  await row.getByRole('link', { name: '민지' }).click();
  await author.getByTestId('exam-title').waitFor();
  assert.equal(await author.getByTestId('exam-title').textContent(), '친구 퀴즈');
  assert.equal(await author.getByTestId('score').textContent(), '3/4 · 75%');
  assert.ok(await author.getByText('친구의 선택').first().isVisible(), "the friend's choices are called so");
  await screenshot(author, 'quiz-author-view', { fullPage: true });
  await author.goBack();
  await row.waitFor();
  author.once('dialog', (dialog) => dialog.accept());
  await row.getByRole('button').click();
  await row.waitFor({ state: 'detached' });

  // Reset: the guest may take it again.
  await guest.reload();
  await answerAll(guest, 4);
  await guest.getByTestId('submit-attempt').click();
  await guest.getByTestId('score').waitFor();
  assert.equal(await guest.getByTestId('score').textContent(), '4/4 · 100%');

  assertNoErrors(guest);
  assertNoErrors(author);
  await guestContext.close();
  await authorContext.close();
});

test('a 입맛 궁합 quiz shows how alike two tastes are', { timeout: 120000 }, async () => {
  const authorContext = await phone(browser);
  const author = await openPage(authorContext);
  const { code } = await authorWithExam(author, { mode: 'match' });
  const friendContext = await phone(browser);
  const friend = await openPage(friendContext);
  await friend.goto(`/quiz/${code}`);
  assert.equal(await friend.getByTestId('mode-tag').textContent(), '우리 입맛 궁합');
  await friend.getByTestId('guest-name').fill('수아');
  await answerAll(friend, 2);
  await friend.getByTestId('submit-attempt').click();
  await friend.getByTestId('score').waitFor();
  assert.match(await friend.getByTestId('score').textContent(), /^우리 입맛 궁합 50%/);
  const verdicts = await friend.getByTestId('verdict').allTextContents();
  assert.deepEqual(verdicts, ['같아요', '같아요', '달라요', '달라요']);
  await screenshot(friend, 'quiz-match-result', { fullPage: true });
  await friend.getByTestId('scoreboard-link').click();
  await friend.getByTestId('scoreboard').locator('tbody tr', { hasText: '수아' }).waitFor();
  assert.match(await friend.getByTestId('scoreboard').textContent(), /50%/);
  assertNoErrors(friend);
  await friendContext.close();
  await authorContext.close();
});

test('a finished world cup becomes a quiz that a friend takes', { timeout: 180000 }, async () => {
  const playerContext = await phone(browser);
  const player = await openPage(playerContext);
  await signUpUI(player, uniqueName('wc'), 'correct horse 3');
  const books = (await apiCall('GET', '/books')).body;
  const book = (Array.isArray(books) ? books : books.items).find((b) => (b.food_count ?? 8) >= 8);
  // Start and play a 4-cup signed in (so it is the player's), always the left food.
  const id = await player.evaluate(async (bookId) => {
    const call = async (method, url, body) => (await fetch(`/api/v1${url}`, {
      method, headers: { 'Content-Type': 'application/json' }, body: body && JSON.stringify(body),
    })).json();
    let state = await call('POST', `/books/${bookId}/worldcups`, { size: 4 });
    const key = state.play_key;
    while (!state.finished) {
      state = await (await fetch(`/api/v1/worldcups/${state.id}/picks`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(key ? { 'X-Play-Key': key } : {}) },
        body: JSON.stringify({ winner: state.current.left.id }),
      })).json();
    }
    return state.id;
  }, book.id);
  await player.goto(`/worldcup/${id}`);
  await player.getByTestId('champion').waitFor();
  await player.getByTestId('worldcup-quiz').click();
  await player.getByTestId('exam-created').waitFor();
  const code = (await player.getByTestId('exam-code').textContent()).trim();
  await screenshot(player, 'quiz-from-worldcup');

  const friendContext = await phone(browser, { lang: 'en' });
  const friend = await openPage(friendContext);
  await friend.goto(`/quiz/${code}`);
  await friend.getByRole('heading', { level: 1, name: '내 월드컵 픽 맞혀봐' }).waitFor();
  // An en-US browser starts in English by itself.
  await friend.getByText('Shown on the scoreboard', { exact: false }).waitFor();
  await screenshot(friend, 'quiz-guest-take-en');
  await friend.getByTestId('guest-name').fill('Jamie');
  const n = await answerAll(friend, 3);
  assert.equal(n, 3, 'a 4-cup has three matches');
  await friend.getByTestId('submit-attempt').click();
  await friend.getByTestId('score').waitFor();
  assert.match(await friend.getByTestId('score').textContent(), /^[0-3]\/3 · \d+%$/);
  assert.match(await friend.getByTestId('rank').textContent(), /1/);
  await screenshot(friend, 'quiz-guest-result-en', { fullPage: true });
  await friend.setViewportSize({ width: 1280, height: 900 });
  await screenshot(friend, 'quiz-guest-result-en-desktop', { fullPage: true });
  assertNoErrors(player);
  assertNoErrors(friend);
  await friendContext.close();
  await playerContext.close();
});
