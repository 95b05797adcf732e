// Korean (default) and English. A choice the user made is remembered in localStorage; until
// then the browser's languages decide (en-* → English, anything else → Korean).

import { ko, en } from './strings.js';

const LANGS = { ko, en };
const KEY = 'ipmat.lang';
const listeners = new Set();

/** The first of the browser's languages that we speak, else Korean. */
export function browserLang(languages = navigator.languages?.length ? navigator.languages : [navigator.language]) {
  for (const tag of languages || []) {
    const primary = String(tag || '').toLowerCase().split(/[-_]/)[0];
    if (LANGS[primary]) return primary;
  }
  return 'ko';
}

function initialLang() {
  try {
    const saved = localStorage.getItem(KEY);
    if (saved && LANGS[saved]) return saved;
  } catch {
    /* storage unavailable */
  }
  return browserLang();
}

let lang = initialLang();

export function getLang() {
  return lang;
}

export function setLang(next) {
  if (!LANGS[next] || next === lang) return;
  lang = next;
  try {
    localStorage.setItem(KEY, next);
  } catch {
    /* not remembered, still switched */
  }
  for (const fn of listeners) fn(next);
}

export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function hasKey(key) {
  return Object.hasOwn(LANGS[lang], key) || Object.hasOwn(ko, key);
}

/**
 * The text for `key` with `{name}` placeholders filled from `params`. A count is written
 * `{n, plural, one {# food} other {# foods}}` (ICU style): the form is chosen by
 * Intl.PluralRules for the language, `=N` picks an exact value, `#` is the count as given.
 */
export function t(key, params = {}) {
  const template = LANGS[lang][key] ?? ko[key] ?? key;
  return expandPlurals(template, params).replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

const locale = () => (lang === 'ko' ? 'ko-KR' : 'en-US');

// Intl objects are slow to make (the first one of a kind loads locale data): one per language
// and kind, made when first needed.
const formatters = new Map();
function formatter(kind, make) {
  const key = `${lang} ${kind}`;
  let made = formatters.get(key);
  if (!made) {
    made = make();
    formatters.set(key, made);
  }
  return made;
}

/** The number a count parameter stands for (views may pass it formatted: "1,234"). */
function countOf(value) {
  const n = typeof value === 'number' ? value : Number(String(value).replace(/[^\d.-]/g, ''));
  return Number.isFinite(n) ? n : 0;
}

/** The text from `start` (an opening brace) to its matching closing brace, and where it ends. */
function braced(text, start) {
  let depth = 0;
  for (let i = start; i < text.length; i += 1) {
    if (text[i] === '{') depth += 1;
    else if (text[i] === '}' && --depth === 0) return [text.slice(start + 1, i), i + 1];
  }
  return [text.slice(start + 1), text.length];
}

function expandPlurals(template, params) {
  if (!template.includes(', plural,')) return template;
  const rules = formatter('plural', () => new Intl.PluralRules(locale()));
  let out = '';
  let at = 0;
  const head = /\{(\w+), plural,/g;
  for (let m = head.exec(template); m; m = head.exec(template)) {
    const [body, end] = braced(template, m.index);
    const forms = {};
    const inner = body.slice(m[0].length - 1);
    for (let i = 0; i < inner.length;) {
      const open = inner.indexOf('{', i);
      if (open < 0) break;
      const selector = inner.slice(i, open).trim();
      const [text, next] = braced(inner, open);
      forms[selector] = text;
      i = next;
    }
    const value = params[m[1]];
    const n = countOf(value);
    const form = forms[`=${n}`] ?? forms[rules.select(n)] ?? forms.other ?? '';
    out += template.slice(at, m.index) + form.replace(/#/g, value === undefined ? '' : String(value));
    at = end;
    head.lastIndex = end;
  }
  return out + template.slice(at);
}

export function fmtNumber(n) {
  const value = Number(n) || 0;
  // Both languages group whole numbers by three with a comma; doing that by hand spares the
  // first screen an Intl.NumberFormat, whose first construction costs ~25 ms on a phone.
  if (Number.isSafeInteger(value)) return String(value).replace(/\B(?=(\d{3})+$)/g, ',');
  return formatter('number', () => new Intl.NumberFormat(locale())).format(value);
}

export function fmtPercent(rate) {
  return formatter('percent', () => new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 1 }))
    .format(Number(rate) || 0);
}

export function fmtDate(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(String(iso));
  const format = dateOnly
    ? formatter('date-utc', () => new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeZone: 'UTC' }))
    : formatter('date', () => new Intl.DateTimeFormat(locale(), { dateStyle: 'medium' }));
  return format.format(date);
}

/** "16강 3/8", "결승" (the server's label in Korean); "Round of 16 · 3/8", "Final" in English. */
export function roundLabel(cup) {
  if (!cup) return '';
  if (cup.finished) return t('wc.champion');
  if (lang === 'ko' && cup.label) return cup.label;
  const { round, match, matches_in_round: total } = cup;
  if (round === 2) return t('round.final');
  const name = round === 4 ? t('round.semi') : round === 8 ? t('round.quarter') : t('round.of', { n: round });
  return t('round.label', { name, match, total });
}
