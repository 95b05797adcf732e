// Prints the web app's figures and writes them into bench/results/web.md under a label:
//   node measure.mjs LABEL      (run through tests/web/run.sh PATH measure LABEL)
// Home's first-visit weight and requests (images apart), time to the book list and to the
// book page's start button on the throttled phone, Lighthouse mobile scores of four pages.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, pages, firstVisit, throttledTime, lighthouseScores, SCORES } from './lib.mjs';

const label = process.argv[2] || 'now';
const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '../../bench/results/web.md');

const urls = await pages();
const browser = await launch();
const visit = await firstVisit(browser, urls.home);
console.log(`home, first visit: ${visit.requests} requests, ${(visit.bytes / 1024).toFixed(1)} KB before images; ${visit.images} images, ${(visit.imageBytes / 1024).toFixed(1)} KB`);
for (const r of visit.list) console.log(`  ${r.type?.padEnd(10)} ${String(r.bytes).padStart(7)} ${r.encoding || '-'} ${r.url.replace(/^https?:\/\/[^/]+/, '')}`);
const bookList = [];
const startButton = [];
for (let i = 0; i < 3; i++) {
  bookList.push(await throttledTime(browser, urls.home, '.book-list li'));
  startButton.push(await throttledTime(browser, urls.book, '[data-testid="start-worldcup"]:enabled'));
}
await browser.close();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`throttled: book list at ${median(bookList)} ms (${bookList.join(', ')}), start button at ${median(startButton)} ms (${startButton.join(', ')})`);

const lh = {};
for (const [name, url] of Object.entries(urls)) {
  const { scores, failing } = await lighthouseScores(url);
  lh[name] = scores;
  console.log(`lighthouse ${name} ${url}: ${JSON.stringify(scores)}${failing.length ? `\n  below 1: ${failing.join(', ')}` : ''}`);
}

const row = {
  label,
  date: new Date().toISOString().slice(0, 10),
  requests: visit.requests,
  kb: (visit.bytes / 1024).toFixed(1),
  images: `${visit.images} / ${(visit.imageBytes / 1024).toFixed(1)} KB`,
  bookList: median(bookList),
  startButton: median(startButton),
  lighthouse: Object.fromEntries(Object.entries(lh).map(([k, s]) => [k, Object.keys(SCORES).map((c) => s[c]).join(' / ')])),
};

// The results file keeps one JSON block per label, so before and after stay side by side.
let rows = [];
if (fs.existsSync(out)) {
  const m = /<!-- data (.*) -->/.exec(fs.readFileSync(out, 'utf8'));
  if (m) rows = JSON.parse(m[1]);
}
rows = rows.filter((r) => r.label !== label).concat(row);
const lines = [
  '# Web app: weight, speed, Lighthouse',
  '',
  'Written by `tests/web/run.sh PATH_TO_IPMAT measure LABEL` (debug binary, bundled catalog, one',
  'SQLite database, headless Chromium at 360×780). Home is a first visit with an empty cache;',
  '"before images" counts every request except pictures. Throttled: 150 ms latency, 1.6 Mbps down,',
  '4× CPU slowdown (CDP), median of three loads. Lighthouse 12.2.3, mobile preset, scores',
  'Performance / Accessibility / Best Practices / SEO.',
  '',
  '| run | date | home requests before images | home KB before images | images | book list (ms) | book start button (ms) | Lighthouse home | book | match | quiz |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.label} | ${r.date} | ${r.requests} | ${r.kb} | ${r.images} | ${r.bookList} | ${r.startButton} | ${r.lighthouse.home} | ${r.lighthouse.book} | ${r.lighthouse.match} | ${r.lighthouse.quiz} |`),
  '',
  `<!-- data ${JSON.stringify(rows)} -->`,
  '',
];
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, lines.join('\n'));
console.log(`wrote ${path.relative(process.cwd(), out)}`);
