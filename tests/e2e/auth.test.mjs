// Sign up, log out, log in (with a wrong password first), favourites, the language switch,
// and the home page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, phone, openPage, screenshot, uniqueName, assertNoErrors } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const nav = (page) => page.getByRole('navigation', { name: '주 메뉴' });

test('a user signs up, logs out and logs back in', { timeout: 120000 }, async () => {
  const context = await phone(browser);
  const page = await openPage(context);
  const username = uniqueName('m');
  const password = 'pa55word-e2e';

  // Client-side checks speak before the server is asked.
  await page.goto('/signup');
  await page.getByLabel('아이디').fill(username);
  await page.getByLabel('비밀번호', { exact: true }).fill('short');
  await page.getByLabel('비밀번호 확인').fill('short');
  await page.locator('form').getByRole('button', { name: '회원가입' }).click();
  await page.getByText('8자 이상 128자 이하로 정해 주세요.').first().waitFor();
  assert.equal(await page.getByLabel('비밀번호', { exact: true }).getAttribute('aria-invalid'), 'true');

  await page.getByLabel('비밀번호', { exact: true }).fill(password);
  await page.getByLabel('비밀번호 확인').fill(password);
  await page.locator('form').getByRole('button', { name: '회원가입' }).click();
  await nav(page).getByRole('link', { name: '내 정보' }).waitFor();
  assert.equal(await nav(page).getByRole('link', { name: '로그인' }).count(), 0);

  // The same name again is taken (case-insensitively).
  const other = await phone(browser);
  const second = await openPage(other);
  await second.goto('/signup');
  await second.getByLabel('아이디').fill(username.toUpperCase());
  await second.getByLabel('비밀번호', { exact: true }).fill(password);
  await second.getByLabel('비밀번호 확인').fill(password);
  await second.locator('form').getByRole('button', { name: '회원가입' }).click();
  await second.getByText('이미 쓰고 있는 아이디예요.').first().waitFor();
  await other.close();

  // Favourite a book from the home page; it shows on my page.
  await page.goto('/');
  const firstBook = page.locator('.book').first();
  await firstBook.waitFor();
  const bookName = (await firstBook.locator('.book-name').textContent()).trim();
  const star = firstBook.locator('button.star');
  assert.equal(await star.getAttribute('aria-pressed'), 'false');
  await star.click();
  await page.waitForFunction(() => document.querySelector('.book button.star')?.getAttribute('aria-pressed') === 'true');
  await page.getByTestId('todays-pick').waitFor();
  await screenshot(page, 'home');

  await nav(page).getByRole('link', { name: '내 정보' }).click();
  await page.getByRole('heading', { level: 2, name: username }).waitFor();
  await page.locator('.book', { hasText: bookName }).waitFor();

  // Log out: the session is gone for the server too.
  await page.getByTestId('logout').click();
  await nav(page).getByRole('link', { name: '로그인' }).waitFor();
  const status = await page.evaluate(async () => (await fetch('/api/v1/me', { credentials: 'same-origin' })).status);
  assert.equal(status, 401);

  // A wrong password is refused in words; the right one logs in and returns to the page asked for.
  await page.goto('/login?next=/me');
  await page.getByLabel('아이디').fill(username);
  await page.getByLabel('비밀번호').fill('wrong-password');
  await page.locator('form').getByRole('button', { name: '로그인' }).click();
  await page.getByText('아이디 또는 비밀번호가 맞지 않아요.').waitFor();
  await page.getByLabel('비밀번호').fill(password);
  await page.locator('form').getByRole('button', { name: '로그인' }).click();
  await page.waitForURL('**/me');
  await page.getByRole('heading', { level: 2, name: username }).waitFor();

  // A non-admin is told the admin pages are not for them.
  await page.goto('/admin');
  await page.getByText('이 작업을 할 권한이 없어요.').waitFor();
  assertNoErrors(page);
  await context.close();
});

test('the language switch turns the app to English and is remembered', { timeout: 60000 }, async () => {
  const context = await phone(browser);
  const page = await openPage(context);
  await page.goto('/');
  await page.getByRole('heading', { level: 1, name: '오늘 뭐 먹지?' }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'ko');
  await page.getByTestId('lang-toggle').click();
  await page.getByRole('heading', { level: 1, name: 'What should I eat today?' }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'What should I eat today?' }).waitFor();
  await page.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'Log in' }).waitFor();
  await page.getByTestId('lang-toggle').click();
  await page.getByRole('heading', { level: 1, name: '오늘 뭐 먹지?' }).waitFor();
  assertNoErrors(page);
  await context.close();
});

test('the web app is installable and served on every app path', { timeout: 60000 }, async () => {
  const context = await phone(browser);
  const page = await openPage(context);
  // Codes and ids that name nothing still get the app (its not-found screen), with a 404.
  const unknown = ['/quiz/ABC234', '/quiz/ABC234/scoreboard', '/worldcup/xyz'];
  for (const path of ['/', '/books/1', '/books/1/ranking', '/quiz', '/quiz/new', ...unknown, '/login', '/signup', '/me', '/admin', '/admin/books']) {
    const response = await page.goto(path);
    assert.equal(response.status(), unknown.includes(path) ? 404 : 200, `${path} serves the app`);
    assert.match(response.headers()['content-type'], /text\/html/);
    await page.locator('#site-header .brand').waitFor();
  }
  const manifest = await page.evaluate(async () => {
    const href = document.querySelector('link[rel="manifest"]').href;
    const res = await fetch(href);
    return { status: res.status, body: await res.json() };
  });
  assert.equal(manifest.status, 200);
  assert.equal(manifest.body.start_url, '/');
  for (const icon of manifest.body.icons) {
    const res = await page.evaluate(async (src) => {
      const r = await fetch(src);
      return { status: r.status, type: r.headers.get('content-type') };
    }, icon.src);
    assert.equal(res.status, 200, `${icon.src} is served`);
    assert.match(res.type, /image\/png/);
  }
  assertNoErrors(page);
  await context.close();
});
