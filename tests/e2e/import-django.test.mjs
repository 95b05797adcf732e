// An exam brought over from the original server by `ipmat import-django` keeps its 5-hex share
// code: the old link (any case) and the code typed into the quiz screen both open it.
// Needs the MariaDB of the test machine (E2E_MYSQL, default root@127.0.0.1:3306) and the binary
// under test (E2E_BIN, set by run.sh).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, phone, openPage, screenshot, apiCall, assertNoErrors } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const MYSQL = (process.env.E2E_MYSQL || 'mysql://root@127.0.0.1:3306').replace(/\/$/, '');
const id = Math.floor(Math.random() * 0xfffff).toString(16).padStart(5, '0');
// The original's codes are lower-case hex; ipmat stores them upper-case.
const code = id;
const CODE = id.toUpperCase();
const database = `django_e2e_${id}`;
let browser;

function mysql(sql, db = '') {
  const url = new URL(MYSQL);
  const args = ['--protocol=tcp', '-h', url.hostname, '-P', url.port || '3306', '-u', decodeURIComponent(url.username || 'root')];
  if (url.password) args.push(`-p${decodeURIComponent(url.password)}`);
  if (db) args.push(db);
  execFileSync('mysql', args, { input: sql });
}

before(async () => {
  assert.ok(process.env.E2E_BIN, 'run.sh passes the binary as E2E_BIN');
  mysql(`CREATE DATABASE ${database} CHARACTER SET utf8mb4`);
  const fixture = fs.readFileSync(path.join(here, 'fixtures/django-original.sql'), 'utf8')
    .replaceAll('@ID@', id).replaceAll('@CODE@', code);
  mysql(fixture, database);
  // The import writes into the database and storage of the running server (run.sh's IPMAT_*).
  const out = execFileSync(process.env.E2E_BIN, ['import-django', '--from', `${MYSQL}/${database}`], { encoding: 'utf8' });
  assert.match(out, /exams\s+1\s+1\s+0\s+0/, out);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  try { mysql(`DROP DATABASE IF EXISTS ${database}`); } catch { /* best effort */ }
});

test('an imported exam opens by its old share code, typed or linked, in any case', { timeout: 60000  }, async () => {
  const exam = await apiCall('GET', `/exams/${code}`);
  assert.equal(exam.status, 200, JSON.stringify(exam.body));
  assert.equal(exam.body.code, CODE);

  const context = await phone(browser);
  const page = await openPage(context);
  // The old link, lower-case as the Android app shared it.
  await page.goto(`/quiz/${code}`);
  await page.waitForURL(`**/quiz/${CODE}`);
  await page.getByRole('heading', { level: 1, name: `2019년의 입맛 ${id}` }).waitFor();
  // Signed out, the quiz asks only for a name (guests take it on the same screen).
  await page.getByTestId('guest-name').waitFor();
  await screenshot(page, 'import-django-old-code-phone-ko');

  // Typed into the quiz screen.
  await page.goto('/quiz');
  await page.getByTestId('code-input').fill(code);
  await page.getByRole('button', { name: '퀴즈 열기' }).click();
  await page.waitForURL(`**/quiz/${CODE}`);
  await page.getByRole('heading', { level: 1, name: `2019년의 입맛 ${id}` }).waitFor();

  // The scoreboard came along: one participant, one of two right.
  await page.goto(`/quiz/${CODE}/scoreboard`);
  await page.getByText(`min${id}`, { exact: false }).first().waitFor();
  assertNoErrors(page);
  await context.close();
});
