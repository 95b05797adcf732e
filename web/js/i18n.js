// Korean (default) and English. The choice is remembered in localStorage.

import { ko, en } from './strings.js';

const LANGS = { ko, en };
const KEY = 'ipmat.lang';
const listeners = new Set();

function initialLang() {
  try {
    const saved = localStorage.getItem(KEY);
    if (saved && LANGS[saved]) return saved;
  } catch {
    /* storage unavailable */
  }
  return 'ko';
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

/** The text for `key` with `{name}` placeholders filled from `params`. */
export function t(key, params = {}) {
  const template = LANGS[lang][key] ?? ko[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

const locale = () => (lang === 'ko' ? 'ko-KR' : 'en-US');

export function fmtNumber(n) {
  return new Intl.NumberFormat(locale()).format(Number(n) || 0);
}

export function fmtPercent(rate) {
  return new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 1 }).format(Number(rate) || 0);
}

export function fmtDate(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(String(iso));
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeZone: dateOnly ? 'UTC' : undefined }).format(date);
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
