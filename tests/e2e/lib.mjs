// Shared helpers of the e2e suite: the browser, phone-sized contexts, screenshots, API calls, PNGs.

import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

export const BASE = (process.env.E2E_URL || 'http://127.0.0.1:8000').replace(/\/$/, '');
export const ADMIN = {
  username: process.env.E2E_ADMIN_USER || 'admin',
  password: process.env.E2E_ADMIN_PASSWORD || '',
};
const here = path.dirname(fileURLToPath(import.meta.url));
export const SCREENSHOTS = process.env.E2E_SCREENSHOTS || path.resolve(here, '../../docs/screenshots');

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
      '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync',
    ],
  });
}

/** A fresh phone-sized context (its own cookies and localStorage: one user). */
export async function phone(browser, { lang = 'ko' } = {}) {
  const context = await browser.newContext({
    baseURL: BASE,
    viewport: { width: 360, height: 780 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: lang === 'ko' ? 'ko-KR' : 'en-US',
    timezoneId: 'Asia/Seoul',
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  context.setDefaultTimeout(15000);
  return context;
}

/**
 * A new page that records uncaught errors and console errors, so that tests can assert none
 * happened. Failed loads of the API's own 4xx answers are expected and not counted.
 */
export async function openPage(context) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (err) => page.errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (/Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
    page.errors.push(`console: ${text}`);
  });
  return page;
}

export function assertNoErrors(page) {
  assert.deepEqual(page.errors, [], `the page logged errors:\n${page.errors.join('\n')}`);
}

/**
 * Waits until the images that can be seen have loaded (or failed), so screenshots show photos.
 * Lazy images far below the viewport never load by themselves and are skipped, unless `all`.
 */
export async function imagesLoaded(page, { all = false } = {}) {
  if (all) await page.evaluate(() => document.querySelectorAll('img[loading="lazy"]').forEach((img) => { img.loading = 'eager'; }));
  await page.waitForFunction((everything) => [...document.images]
    // An image that is not laid out (display: none) never loads lazily: nothing to wait for.
    .filter((img) => img.getClientRects().length > 0)
    .filter((img) => everything || img.loading !== 'lazy' || img.getBoundingClientRect().top < window.innerHeight * 1.5)
    .every((img) => img.complete), all, { timeout: 10000 });
}

/** Saves a phone-sized screenshot under docs/screenshots/NAME.png. */
export async function screenshot(page, name, { fullPage = false } = {}) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await imagesLoaded(page, { all: fullPage });
  await page.evaluate((whole) => {
    document.getElementById('toast')?.classList.remove('show');
    // A whole-page picture is taken from the top: scrolled, the sticky header would be drawn
    // over the middle of the page.
    if (whole) window.scrollTo(0, 0);
  }, fullPage);
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage, animations: 'disabled', caret: 'hide' });
}

/** A unique valid username (3..15 of [A-Za-z0-9_.-]). */
export function uniqueName(prefix = 'u') {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`.slice(0, 15);
}

/** A JSON API call from Node (not the browser). Returns {status, body}. */
export async function apiCall(method, apiPath, { body, token, headers: extra = {} } = {}) {
  const headers = { Accept: 'application/json', ...extra };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`${BASE}/api/v1${apiPath}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed };
}

/** Logs the admin in through the API and returns a bearer token. */
export async function adminToken() {
  assert.ok(ADMIN.password, 'E2E_ADMIN_PASSWORD must be set (run.sh creates the admin)');
  const { status, body } = await apiCall('POST', '/auth/login', { body: ADMIN });
  assert.equal(status, 200, `admin login failed: ${JSON.stringify(body)}`);
  return body.token;
}

/** Signs up through the UI of `page` (already on /signup or anywhere). */
export async function signUpUI(page, username, password, { goto = true } = {}) {
  if (goto) await page.goto('/signup');
  await page.getByLabel('아이디').fill(username);
  await page.getByLabel('비밀번호', { exact: true }).fill(password);
  await page.getByLabel('비밀번호 확인').fill(password);
  await page.locator('form').getByRole('button', { name: '회원가입' }).click();
  await page.getByRole('link', { name: '내 정보' }).waitFor();
}

/** Logs in through the UI. */
export async function logInUI(page, username, password, next = '/') {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('아이디').fill(username);
  await page.getByLabel('비밀번호').fill(password);
  await page.locator('form').getByRole('button', { name: '로그인' }).click();
  await page.getByRole('link', { name: '내 정보' }).waitFor();
}

// ---------------------------------------------------------------- a small PNG, made here

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** An RGB PNG of `width`×`height`: a warm gradient with a pale plate in the middle. */
export function makePng(width = 120, height = 100) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y += 1) {
    const row = y * (width * 3 + 1);
    raw[row] = 0;
    for (let x = 0; x < width; x += 1) {
      const dx = x - width / 2;
      const dy = y - height / 2;
      const plate = dx * dx + dy * dy < (Math.min(width, height) * 0.35) ** 2;
      const i = row + 1 + x * 3;
      raw[i] = plate ? 250 : 220 - Math.round((y / height) * 80);
      raw[i + 1] = plate ? 246 : 120 + Math.round((x / width) * 60);
      raw[i + 2] = plate ? 235 : 60;
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * Waits for `locator` (or a URL glob/regex when `url` is given); if an error alert shows up
 * first, fails with its text so that a server failure reads as one.
 */
export async function waitOrAlert(page, { locator = null, url = null, timeout = 15000 } = {}) {
  const alert = page.locator('.alert-error').first();
  const target = url ? page.waitForURL(url, { timeout }) : locator.waitFor({ timeout });
  const failure = alert.waitFor({ timeout }).then(async () => {
    throw new Error(`the app showed an error: ${(await alert.textContent()).trim()}`);
  });
  failure.catch(() => {});
  await Promise.race([target, failure]);
}
