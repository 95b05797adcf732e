// The admin catalog manager: a new food with an uploaded photo, previewed before saving.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, launch, phone, openPage, screenshot, apiCall, makePng, logInUI, assertNoErrors, waitOrAlert } from './lib.mjs';

let browser;

/** Types `name` into the food picker labelled `label`, waits for the search to settle, picks it. */
async function pickFood(page, label, name) {
  const input = page.getByLabel(label, { exact: true });
  const picker = page.locator('.picker', { has: input });
  await input.fill(name);
  const results = picker.locator('.pick-results button');
  for (let i = 0; i < 100; i += 1) {
    const texts = await results.allTextContents();
    if (texts.length && texts.every((text) => text.includes(name))) break;
    await page.waitForTimeout(100);
  }
  await results.filter({ hasText: name }).first().click();
}

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

test('an admin manages a category, a book with its foods and cover, and a quiz pair', { timeout: 120000 }, async () => {
  const context = await phone(browser);
  const page = await openPage(context);
  page.on('dialog', (dialog) => dialog.accept());
  await logInUI(page, ADMIN.username, ADMIN.password, '/admin/categories');
  await page.waitForURL('**/admin/categories');

  // A category: added, refused twice (same name), deleted.
  const category = `분류${Date.now().toString(36).slice(-5)}`;
  await page.getByLabel('카테고리 이름').fill(category);
  await page.getByRole('button', { name: '추가', exact: true }).click();
  const categoryRow = page.locator('.admin-list li', { hasText: category });
  await waitOrAlert(page, { locator: categoryRow });
  await page.getByLabel('카테고리 이름').fill(category);
  await page.getByRole('button', { name: '추가', exact: true }).click();
  await page.getByText('같은 이름이 이미 있어요.').waitFor();
  await categoryRow.getByRole('button', { name: '삭제' }).click();
  await categoryRow.waitFor({ state: 'detached' });

  // A book with a cover and two foods picked by search, kept by one save.
  await page.getByRole('navigation', { name: '관리 메뉴' }).getByRole('link', { name: '음식책' }).click();
  await page.waitForURL('**/admin/books');
  const bookName = `테스트 월드컵 ${Date.now().toString(36).slice(-5)}`;
  await page.getByRole('button', { name: '새 음식책' }).click();
  await page.getByLabel('음식책 이름').fill(bookName);
  await page.getByLabel('표시 순서').fill('900');
  await page.getByTestId('book-cover-file').setInputFiles({ name: 'cover.png', mimeType: 'image/png', buffer: makePng(200, 120) });
  await waitOrAlert(page, { locator: page.locator('[data-testid="book-cover-preview"]:not([hidden])') });
  const foods = (await apiCall('GET', '/foods?limit=2')).body.items;
  for (const food of foods) {
    await pickFood(page, '음식 찾아서 추가', food.name);
    await page.locator('.member-list li', { hasText: food.name }).waitFor();
  }
  await page.locator('form.editor').getByRole('button', { name: '저장' }).click();
  await waitOrAlert(page, { locator: page.locator('.admin-list li', { hasText: bookName }) });

  const books = (await apiCall('GET', '/books')).body;
  const book = (Array.isArray(books) ? books : books.items).find((b) => b.name === bookName);
  assert.ok(book, 'the new book is listed');
  assert.equal(book.food_count, 2);
  assert.equal(book.priority, 900);
  assert.ok(book.cover_url, 'the book has its cover');
  const members = (await apiCall('GET', `/books/${book.id}`)).body.foods.map((f) => f.id).sort();
  assert.deepEqual(members, foods.map((f) => f.id).sort());

  // A quiz pair from two searched foods.
  await page.getByRole('navigation', { name: '관리 메뉴' }).getByRole('link', { name: '퀴즈 문제' }).click();
  await page.waitForURL('**/admin/pairs');
  const [left, right] = (await apiCall('GET', '/foods?limit=4')).body.items.slice(2);
  await pickFood(page, '왼쪽 음식', left.name);
  await pickFood(page, '오른쪽 음식', right.name);
  await page.getByText(`고름: ${left.name}`).waitFor();
  await page.getByText(`고름: ${right.name}`).waitFor();
  await page.getByRole('button', { name: '문제 추가' }).click();
  // The new pair heads the bank's list (newest first).
  await waitOrAlert(page, { locator: page.locator('[data-testid="pair-list"] > li').first().filter({ hasText: `${left.name} vs ${right.name}` }) });

  // The book is deleted again.
  await page.getByRole('navigation', { name: '관리 메뉴' }).getByRole('link', { name: '음식책' }).click();
  const bookRow = page.locator('.admin-list li', { hasText: bookName });
  await bookRow.getByRole('button', { name: '삭제' }).click();
  await bookRow.waitFor({ state: 'detached' });
  assert.equal((await apiCall('GET', `/books/${book.id}`)).status, 404);
  assertNoErrors(page);
  await context.close();
});
