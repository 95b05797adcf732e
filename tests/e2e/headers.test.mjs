// The Content-Security-Policy lets the app and the API docs page work: no violation is
// reported while they load and render (a violation is also a console error, which every other
// test asserts against).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, phone, openPage, assertNoErrors } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function violations(page) {
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
}

test('the app and the docs page load under the policy', { timeout: 60000 }, async () => {
  const context = await phone(browser);
  const page = await openPage(context);
  await violations(page);
  const response = await page.goto('/');
  const csp = response.headers()['content-security-policy'];
  assert.match(csp, /^default-src 'self'/);
  assert.equal(response.headers()['x-frame-options'], 'DENY');
  await page.locator('#site-header a, #site-header button').first().waitFor();
  await page.waitForLoadState('networkidle');
  assert.deepEqual(await page.evaluate(() => window.__csp), []);
  assertNoErrors(page);

  const docs = await openPage(context);
  await violations(docs);
  await docs.goto('/docs/');
  await docs.locator('.swagger-ui .opblock').first().waitFor();
  assert.deepEqual(await docs.evaluate(() => window.__csp), []);
  assertNoErrors(docs);
  await context.close();
});
