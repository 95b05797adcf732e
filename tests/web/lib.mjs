// Shared pieces of the web budget checks: the browser, the pages measured, first-visit weight,
// time to the book list on a throttled phone, and Lighthouse runs.

import { chromium } from 'playwright-core';
import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';

export const BASE = (process.env.E2E_URL || 'http://127.0.0.1:8000').replace(/\/$/, '');
export const CHROME = process.env.CHROME_PATH || process.env.CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync'];

/** The budget of the home page on a first visit (issue 17). */
export const BUDGET = { requests: 20, kilobytes: 120 };
/** Lighthouse's minimum scores (0..100) per category. */
export const SCORES = { performance: 95, accessibility: 100, 'best-practices': 100, seo: 95 };

export function launch() {
  return chromium.launch({ executablePath: CHROME, headless: true, args: ['--headless', ...FLAGS] });
}

/** A phone-sized context like the e2e suite's (360×780, scale 2, touch). */
export function phone(browser, { lang = 'ko' } = {}) {
  return browser.newContext({
    baseURL: BASE,
    viewport: { width: 360, height: 780 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: lang === 'ko' ? 'ko-KR' : 'en-US',
    timezoneId: 'Asia/Seoul',
  });
}

export async function api(method, path, { body, token, headers: extra = {} } = {}) {
  const headers = { Accept: 'application/json', ...extra };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`${BASE}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/**
 * The pages measured: home, the first book's page, a match of a fresh 16-food world cup of it,
 * and an 8-question quiz made by a guest. Made through the API, so every run has the same kind.
 */
export async function pages() {
  const books = await api('GET', '/books');
  const book = (Array.isArray(books) ? books : books.items)[0];
  const cup = await api('POST', `/books/${book.id}/worldcups`, { body: { size: 16 } });
  const guest = await api('POST', '/auth/guest', { body: { display_name: '측정' } });
  const pairs = await api('GET', '/quiz/pairs?count=8');
  const exam = await api('POST', '/exams', {
    token: guest.token,
    body: { title: '내 입맛 맞히기', answers: pairs.map((p) => ({ pair_id: p.id, food_id: p.left.id })) },
  });
  return {
    home: '/',
    book: `/books/${book.id}`,
    match: `/worldcup/${cup.id}`,
    quiz: `/quiz/${exam.code}`,
  };
}

/**
 * A first visit to `path` with an empty cache: every request and its transferred bytes
 * (headers and body as they came over the wire), images apart. Waits until the network is idle.
 */
export async function firstVisit(browser, path) {
  const context = await phone(browser);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const requests = new Map();
  cdp.on('Network.requestWillBeSent', (e) => {
    requests.set(e.requestId, { url: e.request.url, type: e.type, bytes: 0, encoding: null });
  });
  cdp.on('Network.responseReceived', (e) => {
    const r = requests.get(e.requestId);
    if (r) {
      r.type = e.type;
      r.status = e.response.status;
      r.encoding = e.response.headers['content-encoding'] || e.response.headers['Content-Encoding'] || null;
      r.fromServiceWorker = e.response.fromServiceWorker;
    }
  });
  cdp.on('Network.loadingFinished', (e) => {
    const r = requests.get(e.requestId);
    if (r) r.bytes = e.encodedDataLength;
  });
  await page.goto(path, { waitUntil: 'networkidle' });
  await page.locator('main h1').first().waitFor();
  await page.waitForTimeout(300);
  await context.close();
  const all = [...requests.values()].filter((r) => !r.url.startsWith('data:'));
  const before = all.filter((r) => r.type !== 'Image');
  const sum = (list) => list.reduce((n, r) => n + r.bytes, 0);
  return {
    requests: before.length,
    bytes: sum(before),
    images: all.length - before.length,
    imageBytes: sum(all) - sum(before),
    list: all,
  };
}

/**
 * Milliseconds from navigation start until `selector` is visible, on a phone with 150 ms
 * latency, 1.6 Mbps down (750 kbps up) and a 4× slower CPU, with an empty cache.
 */
export async function throttledTime(browser, path, selector) {
  const context = await phone(browser);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 150,
    downloadThroughput: (1.6 * 1024 * 1024) / 8,
    uploadThroughput: (750 * 1024) / 8,
  });
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  await page.goto(path, { waitUntil: 'commit', timeout: 60000 });
  await page.locator(selector).first().waitFor({ state: 'visible', timeout: 60000 });
  const ms = await page.evaluate(() => Math.round(performance.now()));
  await context.close();
  return ms;
}

/** Lighthouse (mobile preset: its default) on one URL: the four category scores, 0..100. */
export async function lighthouseScores(path) {
  const chrome = await chromeLauncher.launch({ chromePath: CHROME, chromeFlags: ['--headless=new', ...FLAGS] });
  try {
    const result = await lighthouse(`${BASE}${path}`, {
      port: chrome.port,
      output: 'json',
      logLevel: 'error',
      onlyCategories: Object.keys(SCORES),
    });
    const lhr = result.lhr;
    const scores = Object.fromEntries(Object.keys(SCORES).map((k) => [k, Math.round((lhr.categories[k]?.score ?? 0) * 100)]));
    const failing = Object.values(lhr.audits)
      .filter((a) => a.score !== null && a.score < 1 && a.scoreDisplayMode !== 'informative' && a.scoreDisplayMode !== 'notApplicable' && a.scoreDisplayMode !== 'manual')
      .map((a) => `${a.id} (${a.displayValue || a.score})`);
    return { scores, failing, lhr };
  } finally {
    await chrome.kill();
  }
}
