// Failures are told in words: a network failure, a rate limit with Retry-After, a slow request
// that shows progress, and field errors from a validation problem.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, phone, openPage, uniqueName, assertNoErrors } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const problem = (status, code, extra = {}) => ({
  status,
  contentType: 'application/problem+json',
  body: JSON.stringify({ type: 'about:blank', title: code, status, detail: `server said ${code}`, code, ...extra }),
});

test('a network failure and a rate limit are reported in words', { timeout: 60000 }, async () => {
  const context = await phone(browser);
  const page = await openPage(context);
  await page.route('**/api/v1/foods/today', (route) => route.abort('internetdisconnected'));
  await page.goto('/');
  await page.getByText('서버에 연결할 수 없어요. 인터넷 연결을 확인하고 다시 시도해 주세요.').waitFor();

  await page.goto('/login');
  await page.route('**/api/v1/auth/login', (route) => route.fulfill({ ...problem(429, 'rate_limited'), headers: { 'Retry-After': '42' } }));
  await page.getByLabel('아이디').fill('someone');
  await page.getByLabel('비밀번호').fill('whatever-password');
  await page.locator('form').getByRole('button', { name: '로그인' }).click();
  await page.getByText('요청이 너무 많아요. 42초 후에 다시 시도해 주세요.').waitFor();
  await context.close();
});

test('a slow action shows progress and validation errors land next to their field', { timeout: 60000 }, async () => {
  const context = await phone(browser);
  const page = await openPage(context);
  await page.goto('/signup');
  let release;
  const held = new Promise((resolve) => {
    release = resolve;
  });
  await page.route('**/api/v1/auth/signup', async (route) => {
    await held;
    await route.fulfill(problem(422, 'validation_failed', { errors: [{ field: 'username', message: 'is not allowed' }] }));
  });
  await page.getByLabel('아이디').fill(uniqueName('v'));
  await page.getByLabel('비밀번호', { exact: true }).fill('long-enough-password');
  await page.getByLabel('비밀번호 확인').fill('long-enough-password');
  const submit = page.locator('form').getByRole('button', { name: '회원가입' });
  await submit.click();
  await page.waitForFunction(() => document.querySelector('form button[type="submit"]')?.getAttribute('aria-busy') === 'true');
  assert.equal(await submit.isDisabled(), true, 'the button is disabled while the request runs');
  assert.equal(await submit.locator('.spinner').count(), 1);
  release();
  // The error adds to the field's static hint (the rule) instead of repeating it.
  await page.waitForFunction(() => document.querySelector('form [name="username"]')?.getAttribute('aria-invalid') === 'true');
  await page.locator('.field-error', { hasText: '이 아이디는 쓸 수 없어요.' }).first().waitFor();
  assert.equal(await page.getByLabel('아이디').getAttribute('aria-invalid'), 'true');
  assert.equal(await submit.isDisabled(), false);
  await page.getByText('입력한 내용을 확인해 주세요.').waitFor();
  assertNoErrors(page);
  await context.close();
});
