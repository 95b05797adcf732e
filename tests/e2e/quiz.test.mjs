// The taste quiz between two people: one makes an exam, another takes it through the share link,
// the score equals the number of matching answers, then scoreboard, my exams, withdraw, delete.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, phone, openPage, screenshot, apiCall, adminToken, uniqueName, signUpUI, assertNoErrors, waitOrAlert } from './lib.mjs';

const QUESTIONS = 8;
let browser;

/** Makes sure the question bank has enough pairs (the seed may hold few or none). */
async function ensurePairs(count) {
  const have = await apiCall('GET', `/quiz/pairs?count=${count}`);
  assert.equal(have.status, 200, `GET /quiz/pairs: ${JSON.stringify(have.body)}`);
  const list = Array.isArray(have.body) ? have.body : have.body.items;
  if (list.length >= count) return;
  const token = await adminToken();
  const foods = (await apiCall('GET', '/foods?limit=200')).body.items;
  assert.ok(foods.length >= 2 * count, 'enough foods to make quiz pairs');
  for (let i = 0; i < count; i += 1) {
    const made = await apiCall('POST', '/quiz/pairs', { token, body: { left_id: foods[2 * i].id, right_id: foods[2 * i + 1].id } });
    assert.ok([201, 409].includes(made.status), `POST /quiz/pairs: ${made.status} ${JSON.stringify(made.body)}`);
  }
}

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('an exam made by one user is taken by another through the share link', { timeout: 180000 }, async () => {
  await ensurePairs(QUESTIONS);
  const password = 'correct horse 1';
  const authorName = uniqueName('a');
  const takerName = uniqueName('t');

  // The author signs up, then makes a quiz.
  const authorContext = await phone(browser);
  const author = await openPage(authorContext);
  await signUpUI(author, authorName, password);
  await author.goto('/quiz/new');
  await author.getByTestId('pair-count').selectOption(String(QUESTIONS));
  await author.waitForFunction((n) => document.querySelectorAll('fieldset.question').length === n, QUESTIONS);

  // Submitting with questions unanswered says so and creates nothing.
  await author.getByTestId('submit-exam').click();
  await author.getByText(`아직 ${QUESTIONS}문제를 고르지 않았어요.`).waitFor();

  // The author picks a side of every pair: left on even questions, right on odd ones.
  const authorAnswers = new Map();
  const questions = author.locator('fieldset.question');
  for (let i = 0; i < QUESTIONS; i += 1) {
    const side = i % 2 === 0 ? 'left' : 'right';
    const q = questions.nth(i);
    await q.locator(`.choice-${side} label`).click();
    const input = q.locator(`input[data-side="${side}"]`);
    assert.equal(await input.isChecked(), true);
    authorAnswers.set(Number(await input.getAttribute('data-pair-id')), Number(await input.getAttribute('data-food-id')));
  }
  const title = `E2E 퀴즈 ${authorName}`.slice(0, 30);
  await author.getByTestId('exam-title').fill(title);
  await author.locator('fieldset.question').first().scrollIntoViewIfNeeded();
  await screenshot(author, 'quiz-create');
  await author.getByTestId('submit-exam').click();
  await waitOrAlert(author, { locator: author.getByTestId('exam-created') });
  const code = (await author.getByTestId('exam-code').textContent()).trim();
  assert.match(code, /^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}$/);
  const link = await author.getByTestId('share-link').inputValue();
  assert.equal(link, `${BASE}/quiz/${code}`);

  // The author's own quiz page shows their answer key; a lower-case code typed in finds it.
  await author.goto('/quiz');
  await author.getByTestId('code-input').fill(code.toLowerCase());
  await author.getByRole('button', { name: '퀴즈 열기' }).click();
  await author.waitForURL(`**/quiz/${code}`);
  const key = author.getByTestId('answer-key');
  await key.waitFor();
  assert.equal(await key.locator('li').count(), QUESTIONS);
  for (const foodId of authorAnswers.values()) {
    assert.equal(await key.locator(`.result-chip.is-answer[data-food-id="${foodId}"]`).count(), 1, 'each of my answers is marked');
  }
  await screenshot(author, 'quiz-answer-key', { fullPage: true });

  // The taker is a member: signed up, they open the link and get the questions at once.
  const takerContext = await phone(browser);
  const taker = await openPage(takerContext);
  await signUpUI(taker, takerName, password);
  await taker.goto(link);
  await taker.getByRole('heading', { level: 1, name: title }).waitFor();
  assert.equal(await taker.getByTestId('guest-name').count(), 0, 'a member is not asked for a name');
  await taker.locator('fieldset.question').first().waitFor();
  const takerQuestions = taker.locator('fieldset.question');
  assert.equal(await takerQuestions.count(), QUESTIONS);

  // The taker agrees with the author on the first five questions only.
  let expected = 0;
  for (let i = 0; i < QUESTIONS; i += 1) {
    const q = takerQuestions.nth(i);
    const pairId = Number(await q.getAttribute('data-pair-id'));
    const answer = authorAnswers.get(pairId);
    assert.ok(answer, 'every question of the exam is one the author answered');
    const inputs = q.locator('input[type="radio"]');
    const ids = [Number(await inputs.nth(0).getAttribute('data-food-id')), Number(await inputs.nth(1).getAttribute('data-food-id'))];
    const guess = i < 5 ? answer : ids.find((id) => id !== answer);
    if (guess === answer) expected += 1;
    await q.locator(`label[for="${await q.locator(`input[data-food-id="${guess}"]`).getAttribute('id')}"]`).click();
  }
  assert.equal(expected, 5);
  await taker.getByTestId('submit-attempt').click();
  await waitOrAlert(taker, { locator: taker.getByTestId('score') });
  const line = `${expected}/${QUESTIONS} · ${Math.round((100 * expected) / QUESTIONS)}%`;
  assert.equal(await taker.getByTestId('score').textContent(), line);
  assert.equal(await taker.getByTestId('rank').textContent(), '1명 중 1등');
  assert.ok((await taker.getByTestId('tier').textContent()).length > 0, 'a message by tier');
  const rows = taker.getByTestId('result-list').locator('li');
  assert.equal(await rows.count(), QUESTIONS);
  assert.equal(await taker.locator('.result-chip.is-answer:not(.small)').count(), QUESTIONS, "the author's answer is highlighted on every row");
  assert.equal(await taker.locator('.result-chip.is-wrong:not(.small)').count(), QUESTIONS - expected, 'each wrong guess is highlighted');
  await screenshot(taker, 'quiz-result', { fullPage: true });

  // A reload shows the stored result again.
  await taker.reload();
  await taker.getByTestId('score').waitFor();
  assert.equal(await taker.getByTestId('score').textContent(), line);
  assert.equal(await taker.getByTestId('submit-attempt').count(), 0, 'no second attempt is offered');

  // The scoreboard lists the taker.
  await taker.getByTestId('scoreboard-link').click();
  await taker.waitForURL(`**/quiz/${code}/scoreboard`);
  const board = taker.getByTestId('scoreboard');
  await board.locator('tbody tr', { hasText: takerName }).waitFor();
  assert.match(await board.locator('tbody tr', { hasText: takerName }).textContent(), new RegExp(`1.*${takerName}.*${expected}/${QUESTIONS}`));
  await screenshot(taker, 'quiz-scoreboard');

  // The author sees one participant under "my exams"; the taker sees the exam they took.
  await author.goto('/me');
  const authored = author.locator(`.exam[data-code="${code}"]`);
  await authored.waitFor();
  assert.match(await authored.textContent(), /1명 참여/);
  await taker.goto('/me');
  const taken = taker.locator(`.exam[data-code="${code}"]`);
  await taken.waitFor();
  assert.match(await taken.textContent(), new RegExp(`${expected}/${QUESTIONS}`));

  // Withdraw, then delete.
  taker.once('dialog', (dialog) => dialog.accept());
  await taken.getByRole('button', { name: '참여 취소' }).click();
  await taken.waitFor({ state: 'detached' });
  const attempt = await taker.evaluate(async (c) => (await fetch(`/api/v1/exams/${c}/attempt`, { credentials: 'same-origin' })).status, code);
  assert.equal(attempt, 404, 'the withdrawn attempt is gone');

  author.once('dialog', (dialog) => dialog.accept());
  await authored.getByRole('button', { name: '삭제' }).click();
  await authored.waitFor({ state: 'detached' });
  assert.equal((await apiCall('GET', `/exams/${code}`)).status, 404, 'the deleted exam is gone');

  assertNoErrors(author);
  assertNoErrors(taker);
  await authorContext.close();
  await takerContext.close();
});

test('an unknown code is reported in words', { timeout: 60000 }, async () => {
  const context = await phone(browser);
  const page = await openPage(context);
  await page.goto('/quiz');
  await page.getByTestId('code-input').fill('zzzzzz');
  await page.getByRole('button', { name: '퀴즈 열기' }).click();
  await page.getByText('그런 코드의 퀴즈가 없어요.', { exact: false }).waitFor();
  await page.getByTestId('code-input').fill('abc');
  await page.getByRole('button', { name: '퀴즈 열기' }).click();
  await page.getByText('코드는 6자리 영문·숫자예요.', { exact: false }).waitFor();
  assertNoErrors(page);
  await context.close();
});
