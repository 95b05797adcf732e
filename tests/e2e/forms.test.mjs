// Forms and flows that used to leave people stuck (issue 17): stale messages cleared by typing,
// sign-up that flags every field at once, a created quiz keeping its code over a reload,
// "다시 하기" with the same size and exclusions, empty states, the question-bank admin and the
// one-save book editor.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADMIN, launch, phone, openPage, screenshot, apiCall, adminToken, assertNoErrors, uniqueName, signUpUI, logInUI,
  waitOrAlert,
} from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Waits until the router has put a page (with its h1) in <main> and nothing is loading. */
async function settled(page) {
  await page.waitForFunction(() => {
    const main = document.getElementById('main');
    return main && !main.hasAttribute('aria-busy') && main.querySelector('h1') && !main.querySelector('.loading');
  });
}

/** Asks the quiz maker for `n` questions and waits until exactly those are on screen. */
async function questionsOf(page, n) {
  await page.getByTestId('pair-count').selectOption(String(n));
  await page.waitForFunction((count) => document.querySelectorAll('fieldset.question').length === count
    && !document.querySelector('[data-testid="load-pairs"][aria-busy]'), n);
}

/** Picks the left food of every question but the ones whose index is in `skip`. */
async function answerAll(page, skip = []) {
  const questions = await page.locator('fieldset.question').all();
  for (const [i, question] of questions.entries()) {
    if (!skip.includes(i)) await question.locator('label').first().click();
  }
  return questions;
}

async function firstBook() {
  const books = (await apiCall('GET', '/books')).body;
  return (Array.isArray(books) ? books : books.items)[0];
}

test('stale messages go as soon as the input changes', { timeout: 90000 }, async () => {
  const context = await phone(browser);
  const page = await openPage(context);

  // The quiz code box: a malformed code, then an unknown one, each cleared by typing.
  await page.goto('/quiz');
  await settled(page);
  const code = page.getByTestId('code-input');
  await code.fill('ab');
  await page.getByRole('button', { name: '퀴즈 열기' }).click();
  const fieldError = page.locator('.field-error', { hasText: '코드는 6자리' });
  await fieldError.waitFor();
  assert.equal(await code.getAttribute('aria-invalid'), 'true');
  await code.press('c');
  await fieldError.waitFor({ state: 'detached' }).catch(() => {});
  assert.equal(await page.locator('.field-error:not(:empty)').count(), 0, 'the field error went with the edit');
  assert.equal(await code.getAttribute('aria-invalid'), null);
  await code.fill('ZZZZZZ');
  await page.getByRole('button', { name: '퀴즈 열기' }).click();
  const unknown = page.getByText('그런 코드의 퀴즈가 없어요');
  await unknown.waitFor();
  await code.click();
  await page.keyboard.press('End');
  await page.keyboard.press('Backspace');
  await unknown.waitFor({ state: 'detached' });

  // "아직 1문제를 고르지 않았어요" counts down and goes once every question is answered.
  await page.goto('/quiz/new');
  await settled(page);
  await questionsOf(page, 8);
  await page.getByTestId('guest-name').fill('손님');
  const questions = await answerAll(page, [5, 6]);
  await page.getByTestId('submit-exam').click();
  await page.getByText('아직 2문제를 고르지 않았어요.').waitFor();
  await questions[5].locator('label').first().click();
  await page.getByText('아직 1문제를 고르지 않았어요.').waitFor();
  await questions[6].locator('label').last().click();
  await page.getByText(/아직 \d문제를/).waitFor({ state: 'detached' });
  assert.equal(await page.locator('.message-slot .alert').count(), 0, 'no message is left');

  // Login: "fill in" goes when typing starts.
  await page.goto('/login');
  await settled(page);
  await page.locator('form').getByRole('button', { name: '로그인' }).click();
  const fillIn = page.getByText('아이디와 비밀번호를 입력해 주세요.');
  await fillIn.waitFor();
  await page.getByLabel('아이디').fill('someone');
  await fillIn.waitFor({ state: 'detached' });
  assertNoErrors(page);
  await context.close();
});

test('sign-up flags every invalid field at once, in words that add to the hint', async () => {
  const context = await phone(browser);
  const page = await openPage(context);
  await page.goto('/signup');
  await settled(page);
  const username = page.getByLabel('아이디');
  const password = page.getByLabel('비밀번호', { exact: true });
  const confirm = page.getByLabel('비밀번호 확인');
  await username.fill('a@b');
  await password.fill('short');
  await confirm.fill('other');
  await page.locator('form').getByRole('button', { name: '회원가입' }).click();
  for (const input of [username, password, confirm]) {
    await page.waitForFunction((el) => el.getAttribute('aria-invalid') === 'true', await input.elementHandle());
  }
  const message = async (input) => {
    const id = await input.getAttribute('id');
    const hint = page.locator(`#${id}-hint`);
    return { error: (await page.locator(`#${id}-error`).textContent()).trim(), hint: (await hint.count()) ? (await hint.textContent()).trim() : '' };
  };
  const user = await message(username);
  assert.match(user.error, /@/, 'the username error names the character not allowed');
  assert.notEqual(user.error, user.hint, 'the error does not repeat the hint');
  const pw = await message(password);
  assert.match(pw.error, /5자/, 'the password error says how long it is');
  assert.notEqual(pw.error, pw.hint);
  assert.equal((await message(confirm)).error, '위에 쓴 비밀번호와 달라요.');
  assert.equal(await page.evaluate(() => document.activeElement?.name), 'username', 'focus on the first');
  await screenshot(page, 'signup-errors');
  // Fixing one field clears its message only.
  await username.fill('goodname');
  assert.equal(await username.getAttribute('aria-invalid'), null);
  assert.equal(await password.getAttribute('aria-invalid'), 'true');
  assertNoErrors(page);
  await context.close();
});

test('a created quiz gets its own address, so a reload keeps the code', async () => {
  const context = await phone(browser);
  const page = await openPage(context);
  await signUpUI(page, uniqueName('url'), 'password123');
  await page.goto('/quiz/new');
  await settled(page);
  await questionsOf(page, 8);
  await answerAll(page);
  await page.getByTestId('submit-exam').click();
  await waitOrAlert(page, { locator: page.getByTestId('exam-created') });
  const code = (await page.getByTestId('exam-code').textContent()).trim();
  assert.equal(new URL(page.url()).pathname, `/quiz/${code}`);
  await page.reload();
  await settled(page);
  await page.getByTestId('answer-key').waitFor();
  assert.equal(await page.locator('.code-inline').first().textContent(), code);
  assertNoErrors(page);
  await context.close();
});

test('"다시 하기" brings back the size and exclusions; excluding everything says why nothing can start', { timeout: 90000 }, async () => {
  const context = await phone(browser);
  const page = await openPage(context);
  const book = await firstBook();
  await page.goto(`/books/${book.id}`);
  await settled(page);
  await page.locator('label', { hasText: /^4강$/ }).click();
  await page.locator('details.exclude summary').click();
  const excluded = [];
  for (const box of (await page.locator('.exclusions input').all()).slice(0, 2)) {
    await box.check({ force: true });
    excluded.push(Number(await box.getAttribute('value')));
  }
  await page.getByTestId('start-worldcup').click();
  await page.waitForURL('**/worldcup/**');
  for (let i = 0; i < 3; i += 1) {
    await page.locator('.wc-cards[data-ready="true"]').waitFor();
    await page.locator('.food-card-left').click();
    if (i < 2) await page.waitForFunction((n) => document.querySelector('progress')?.value === n, i + 1);
  }
  await page.getByTestId('champion').waitFor();
  await page.getByTestId('play-again').click();
  await page.waitForURL(`**/books/${book.id}?*`);
  await settled(page);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('size'), '4');
  assert.deepEqual(url.searchParams.get('exclude').split(',').map(Number).sort(), [...excluded].sort());
  assert.ok(await page.locator('input[name="size"][value="4"]').isChecked(), 'size 4 is chosen again');
  for (const id of excluded) assert.ok(await page.locator(`.exclusions input[value="${id}"]`).isChecked(), `food ${id} still excluded`);
  assert.ok(await page.locator('details.exclude').evaluate((d) => d.open), 'the exclusions are shown open');

  // Excluding every food: no size heading over nothing, a clear message, no start.
  await page.evaluate(() => document.querySelectorAll('.exclusions input:not(:checked)').forEach((box) => box.click()));
  const none = page.getByTestId('no-sizes');
  await none.waitFor();
  assert.match(await none.textContent(), /남은 음식이 0개라/);
  assert.equal(await page.getByText('몇 강으로 할까요?').isVisible(), false);
  assert.ok(await page.getByTestId('start-worldcup').isDisabled());
  await screenshot(page, 'book-all-excluded');
  // One food back is still too few; two make a 2-food cup possible again.
  const boxes = page.locator('.exclusions input');
  await boxes.nth(0).click({ force: true });
  assert.match(await none.textContent(), /남은 음식이 1개라/);
  await boxes.nth(1).click({ force: true });
  await page.getByText('몇 강으로 할까요?').waitFor();
  assert.ok(await page.locator('input[name="size"][value="2"]').isChecked());
  assertNoErrors(page);
  await context.close();
});

test('emptied sections say so', async () => {
  const context = await phone(browser);
  const page = await openPage(context);
  page.on('dialog', (dialog) => dialog.accept());
  await signUpUI(page, uniqueName('empty'), 'password123');
  await page.goto('/me');
  await settled(page);
  await page.getByText('즐겨찾기한 음식책이 없어요').waitFor();
  await page.getByText('아직 낸 퀴즈가 없어요.').waitFor();
  await page.getByText('아직 푼 퀴즈가 없어요.').waitFor();
  // A quiz of mine, deleted from my page: the list says it is empty again.
  await page.goto('/quiz/new');
  await settled(page);
  await questionsOf(page, 8);
  await answerAll(page);
  await page.getByTestId('submit-exam').click();
  await waitOrAlert(page, { locator: page.getByTestId('exam-created') });
  await page.goto('/me');
  await settled(page);
  await page.getByRole('button', { name: '삭제' }).first().click();
  await page.getByText('아직 낸 퀴즈가 없어요.').waitFor();
  // A book without foods.
  const token = await adminToken();
  const made = await apiCall('POST', '/books', { token, body: { name: `빈 책 ${Date.now().toString(36)}`, food_ids: [] } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  await page.goto(`/books/${made.body.book?.id ?? made.body.id}`);
  await settled(page);
  await page.getByText('아직 이 음식책에 음식이 없어요.').waitFor();
  assert.ok(await page.getByTestId('start-worldcup').isDisabled());
  await apiCall('DELETE', `/books/${made.body.book?.id ?? made.body.id}`, { token });
  assertNoErrors(page);
  await context.close();
});

test('the question bank: every pair, searchable and paged, deleted or retired', { timeout: 120000 }, async () => {
  const token = await adminToken();
  const context = await phone(browser);
  const page = await openPage(context);
  page.on('dialog', (dialog) => dialog.accept());
  await logInUI(page, ADMIN.username, ADMIN.password, '/admin/pairs');
  await page.waitForURL('**/admin/pairs');
  await settled(page);
  const bank = (await apiCall('GET', '/admin/quiz/pairs?limit=100', { token })).body;
  assert.ok(bank.total > 30, `the seeded bank has more than a page (${bank.total})`);
  const total = page.getByTestId('pair-total');
  await page.waitForFunction((n) => document.querySelector('[data-testid="pair-total"]')?.textContent.includes(String(n)), bank.total);
  const rows = page.locator('[data-testid="pair-list"] > li[data-pair-id]');
  assert.equal(await rows.count(), 30, 'a first page of 30');
  await page.getByRole('button', { name: '더 보기' }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="pair-list"] > li[data-pair-id]').length > 30);
  assert.equal(await rows.count(), Math.min(60, bank.total));
  await screenshot(page, 'admin-pairs');

  // Search by a food on either side.
  // Pairs no quiz asks yet (earlier test files may have made quizzes from the newest pairs).
  const unused = bank.items.filter((p) => p.exam_count === 0);
  assert.ok(unused.length >= 2, 'two pairs nobody asks');
  const target = unused[0];
  await page.getByTestId('pair-search').fill(target.right.name);
  await page.waitForFunction((name) => {
    const lis = [...document.querySelectorAll('[data-testid="pair-list"] > li[data-pair-id]')];
    return lis.length > 0 && lis.every((li) => li.textContent.includes(name));
  }, target.right.name);
  await page.locator(`[data-testid="pair-list"] > li[data-pair-id="${target.id}"]`).waitFor();
  const shown = await rows.evaluateAll((lis) => lis.map((li) => li.textContent));
  assert.ok(shown.length < 30 && shown.every((text) => text.includes(target.right.name)), `only matches: ${shown}`);
  await page.getByTestId('pair-search').fill('없는음식이름');
  await page.getByText('찾는 문제가 없어요.').waitFor();

  // A pair nobody's quiz asks: deleted.
  await page.getByTestId('pair-search').fill(target.right.name);
  const row = page.locator(`[data-testid="pair-list"] > li[data-pair-id="${target.id}"]`);
  await row.getByRole('button', { name: `${target.left.name} vs ${target.right.name} 문제 삭제` }).click();
  await row.waitFor({ state: 'detached' });
  await page.getByText('문제를 지웠어요.').waitFor();
  const after = (await apiCall('GET', '/admin/quiz/pairs?limit=1', { token })).body;
  assert.equal(after.total, bank.total - 1);

  // A pair a quiz asks: retired, and the quiz still opens with every question.
  const used = unused[1];
  const author = (await apiCall('POST', '/auth/guest', { body: { display_name: '출제자' } })).body.token;
  const exam = await apiCall('POST', '/exams', { token: author, body: { title: '은행 테스트', answers: [{ pair_id: used.id, food_id: used.left.id }] } });
  assert.equal(exam.status, 201, JSON.stringify(exam.body));
  await page.getByTestId('pair-search').fill(used.left.name);
  await page.waitForFunction((name) => [...document.querySelectorAll('[data-testid="pair-list"] > li[data-pair-id]')]
    .every((li) => li.textContent.includes(name)), used.left.name);
  const usedRow = page.locator(`[data-testid="pair-list"] > li[data-pair-id="${used.id}"]`);
  await usedRow.getByText('퀴즈 1개에 쓰임').waitFor();
  await usedRow.getByRole('button', { name: /문제 삭제/ }).click();
  await usedRow.waitFor({ state: 'detached' });
  await page.getByText('이미 만든 퀴즈에는 그대로 남아요').waitFor();
  const detail = await apiCall('GET', `/exams/${exam.body.code}`);
  assert.equal(detail.status, 200);
  assert.equal(detail.body.questions[0].pair_id, used.id);
  assertNoErrors(page);
  await context.close();
});

test('a book is made and changed with one save: name, order, cover and foods together', { timeout: 90000 }, async () => {
  const context = await phone(browser);
  const page = await openPage(context);
  page.on('dialog', (dialog) => dialog.accept());
  await logInUI(page, ADMIN.username, ADMIN.password, '/admin/books');
  await page.waitForURL('**/admin/books');
  await settled(page);
  const foods = (await apiCall('GET', '/foods?limit=3')).body.items;
  const name = `한 번 저장 ${Date.now().toString(36).slice(-5)}`;
  await page.getByRole('button', { name: '새 음식책' }).click();
  await page.getByLabel('음식책 이름').fill(name);
  await page.getByLabel('표시 순서').fill('950');
  for (const food of foods) {
    const picker = page.getByLabel('음식 찾아서 추가');
    await picker.fill(food.name);
    await picker.press('Enter');
    await page.locator('.pick-result', { hasText: food.name }).first().click();
    await page.locator('.member-list li', { hasText: food.name }).waitFor();
  }
  assert.equal(await page.getByRole('button', { name: '음식 목록 저장' }).count(), 0, 'no second save button');
  await screenshot(page, 'admin-book-editor');
  await page.getByTestId('save-book').click();
  const listed = page.locator('.admin-list li', { hasText: name });
  await waitOrAlert(page, { locator: listed });
  const find = async () => {
    const books = (await apiCall('GET', '/books')).body;
    return (Array.isArray(books) ? books : books.items).find((b) => b.name === name);
  };
  let book = await find();
  assert.equal(book.priority, 950);
  assert.equal(book.food_count, 3, 'the foods were saved with the book');

  // Changing the order and dropping a food is one save as well.
  await listed.getByRole('button', { name: '고치기' }).click();
  await page.locator('.member-list li', { hasText: foods[0].name }).waitFor();
  await page.getByLabel('표시 순서').fill('951');
  await page.getByRole('button', { name: `${foods[0].name} 빼기` }).click();
  await page.getByTestId('save-book').click();
  await page.waitForFunction(() => !document.querySelector('form.editor'));
  book = await find();
  assert.equal(book.priority, 951);
  const members = (await apiCall('GET', `/books/${book.id}`)).body.foods.map((f) => f.id).sort();
  assert.deepEqual(members, foods.slice(1).map((f) => f.id).sort());
  await apiCall('DELETE', `/books/${book.id}`, { token: await adminToken() });
  assertNoErrors(page);
  await context.close();
});
