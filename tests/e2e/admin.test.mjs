// The admin catalog manager: a new food with an uploaded photo, previewed before saving.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, launch, phone, openPage, screenshot, apiCall, makePng, logInUI, assertNoErrors, waitOrAlert } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('an admin uploads a photo, sees its preview, and saves a new food', { timeout: 120000 }, async () => {
  assert.ok(ADMIN.password, 'E2E_ADMIN_PASSWORD must be set (run.sh creates the admin)');
  const context = await phone(browser);
  const page = await openPage(context);
  await logInUI(page, ADMIN.username, ADMIN.password, '/admin');
  await page.waitForURL('**/admin');
  await page.getByRole('navigation', { name: '관리 메뉴' }).waitFor();
  await page.getByTestId('food-list').locator('li').first().waitFor();

  const name = `테스트${Date.now().toString(36).slice(-6)}`;
  await page.getByTestId('new-food').click();
  await page.getByLabel('이름', { exact: true }).fill(name);
  await page.getByLabel('한 줄 설명').fill('브라우저 테스트가 만든 음식');
  await page.getByLabel('사진 출처', { exact: true }).fill('@ipmat_e2e');

  const png = makePng(120, 100);
  await page.getByTestId('food-image-file').setInputFiles({ name: 'plate.png', mimeType: 'image/png', buffer: png });
  const preview = page.getByTestId('food-image-preview');
  await waitOrAlert(page, { locator: page.locator('[data-testid="food-image-preview"]:not([hidden])') });
  await page.waitForFunction(() => {
    const img = document.querySelector('[data-testid="food-image-preview"]');
    return img && img.complete && img.naturalWidth > 0;
  });
  const src = await preview.getAttribute('src');
  assert.ok(src && !src.startsWith('blob:'), `the preview shows the stored image (${src})`);
  assert.match(await page.locator('.uploader').first().textContent(), /120×100/);
  assert.equal(await preview.getAttribute('alt'), '대표 사진 미리보기');
  await preview.scrollIntoViewIfNeeded();
  await screenshot(page, 'admin');

  await page.getByTestId('save-food').click();
  await waitOrAlert(page, { locator: page.getByTestId('food-list').locator('li', { hasText: name }) });

  // The stored food has the uploaded image, and the image is served.
  const found = await apiCall('GET', `/foods?q=${encodeURIComponent(name)}`);
  assert.equal(found.status, 200);
  const food = found.body.items.find((f) => f.name === name);
  assert.ok(food, 'the new food is listed');
  assert.ok(food.image_url, 'the new food has an image');
  const image = await page.evaluate(async (url) => {
    const res = await fetch(url);
    return { status: res.status, type: res.headers.get('content-type') };
  }, food.image_url);
  assert.equal(image.status, 200);
  assert.match(image.type, /^image\//);

  // A file that is not an image is refused in words.
  await page.getByTestId('new-food').click();
  await page.getByTestId('food-image-file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
  await page.getByText('JPEG, PNG, WebP, GIF 이미지만 올릴 수 있어요.').waitFor();
  assertNoErrors(page);
  await context.close();
});
