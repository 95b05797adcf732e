// Playing a world cup: two cards per match, undo, resume after reload, champion and ranking.
// Picks carry the cup's play key (kept with its id) and name the match they answer; a shared
// link without the key only views.

import { h, replace } from '../dom.js';
import { get, post, del, query } from '../api.js';
import { t, fmtNumber, fmtPercent, roundLabel } from '../i18n.js';
import { state, store } from '../state.js';
import { announce, busy, foodImage, messageSlot, notFoundAs, pageTitle, shareBox } from '../ui.js';
import { championText, shareSheet } from '../share.js';

/** Taps within this long after a new match appears are ignored (a double tap never skips). */
export const TAP_GUARD_MS = 300;

/** Remembers the play key of a cup started here. */
export function rememberPlayKey(id, key) {
  if (key) store.set(`wckey.${id}`, key);
}

function forgetPlayKey(id) {
  store.set(`wckey.${id}`, null);
}

/** The headers that let this browser control cup `id` (none when it has no key). */
function keyHeaders(id) {
  const key = store.get(`wckey.${id}`);
  return key ? { 'X-Play-Key': key } : {};
}

/** The map services to offer (from /config), loading the config if needed. */
async function mapServices() {
  if (!state.config) {
    try {
      state.config = await get('/config');
    } catch {
      return [];
    }
  }
  return Array.isArray(state.config?.map_links) ? state.config.map_links : [];
}

/** "근처 맛집 찾기": map searches for a food's name, or null when none are configured. */
export async function mapLinks(food) {
  const services = await mapServices();
  if (!food || !services.length) return null;
  return h('section', { class: 'map-links', 'aria-labelledby': 'maps-title', 'data-testid': 'map-links' },
    h('h2', { id: 'maps-title' }, t('wc.maps')),
    h('div', { class: 'row' }, services.map((s) => {
      const service = t(`wc.map.${s.service}`);
      return h('a', {
        class: `btn btn-secondary map-${s.service}`,
        href: `${s.search_url}${encodeURIComponent(food.name)}`,
        target: '_blank',
        rel: 'noopener noreferrer',
        'data-service': s.service,
        'aria-label': t('wc.map_label', { service, name: food.name }),
      }, service);
    })));
}
// Quiz from a world cup (issue 11).
import { worldcupQuizBlock } from './worldcup-quiz.js';
import { commentsSection } from './community.js';
import { setupHref, setupOf } from './book.js';

const bookCache = new Map();
async function bookName(id) {
  if (!bookCache.has(id)) {
    try {
      const book = await get(`/books/${id}`);
      bookCache.set(id, book.name);
    } catch {
      return '';
    }
  }
  return bookCache.get(id);
}

export async function worldcupView(ctx) {
  const id = ctx.params.id;
  let cup;
  try {
    cup = await get(`/worldcups/${encodeURIComponent(id)}`, keyHeaders(id));
  } catch (err) {
    if (err.status === 404 && store.get('worldcup') === id) store.set('worldcup', null);
    return notFoundAs('wc.not_found')(err);
  }
  const name = await bookName(cup.book_id);
  const root = h('div', { class: 'worldcup' });

  if (cup.finished) {
    if (store.get('worldcup') === cup.id) store.set('worldcup', null);
    forgetPlayKey(cup.id);
    await renderChampion(root, cup, name, ctx);
    return root;
  }
  if (!cup.can_pick) {
    renderViewOnly(root, cup, name, ctx);
    return root;
  }
  store.set('worldcup', cup.id);
  renderPlay(root, cup, name, ctx);
  return root;
}

/** Someone else's unfinished cup, opened from a shared link: the match, without picking. */
function renderViewOnly(root, cup, name, ctx) {
  ctx.setTitle(`${roundLabel(cup)} · ${name || t('wc.title_plain')}`);
  const side = (food) => h('div', { class: 'food-card food-card-static', 'data-food-id': String(food.id) },
    foodImage(food, { className: 'food-card-img', eager: true }),
    h('span', { class: 'food-card-text' },
      h('span', { class: 'food-card-top' }, h('span', { class: 'food-card-name' }, food.name)),
      h('span', { class: 'food-card-desc' }, food.description || '')));
  replace(root,
    h('div', { class: 'wc-head' },
      h('p', { class: 'wc-book' }, name ? t('wc.title', { book: name }) : t('wc.title_plain')),
      h('h1', { class: 'wc-label', tabindex: '-1', 'data-testid': 'round-label' }, roundLabel(cup))),
    h('p', { class: 'alert alert-info', 'data-testid': 'view-only' }, t('wc.view_only')),
    h('div', { class: 'wc-cards wc-cards-static' },
      side(cup.current.left), h('span', { class: 'vs', 'aria-hidden': 'true' }, 'VS'), side(cup.current.right)),
    h('p', null, h('a', { class: 'btn btn-primary', href: `/books/${cup.book_id}` }, t('wc.play_yourself'))));
}

/** The match screen; replaces itself with the champion screen when the cup ends. */
function renderPlay(root, initial, name, ctx) {
  let cup = initial;
  let inFlight = false;
  // Taps before this moment are ignored: the match on screen just changed.
  let readyAt = 0;
  const label = h('h1', { class: 'wc-label', tabindex: '-1', 'aria-live': 'polite', 'data-testid': 'round-label' });
  const bookLine = h('p', { class: 'wc-book' }, name ? t('wc.title', { book: name }) : t('wc.title_plain'));
  const progress = h('progress', { class: 'wc-progress', max: String(initial.size - 1), 'aria-label': t('wc.progress') });
  const cards = h('div', { class: 'wc-cards' });
  const errors = messageSlot();
  const undo = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'undo', onclick: () => doUndo() },
    h('span', { 'aria-hidden': 'true' }, '↶ '), t('wc.undo'));

  function card(food, side) {
    const descId = `wc-${side}-desc`;
    return h(
      'button',
      {
        type: 'button',
        class: `food-card food-card-${side}`,
        'data-side': side,
        'data-food-id': String(food.id),
        'aria-label': t('wc.pick', { name: food.name }),
        'aria-describedby': descId,
        onclick: (e) => pick(food.id, e.currentTarget),
      },
      foodImage(food, { className: 'food-card-img', eager: true }),
      h('span', { class: 'food-card-text' },
        h('span', { class: 'food-card-top' },
          h('span', { class: 'food-card-name' }, food.name),
          food.credit ? h('span', { class: 'credit' }, food.credit) : null),
        h('span', { class: 'food-card-desc', id: descId }, food.description || '')),
    );
  }

  function render(focusSide) {
    label.textContent = roundLabel(cup);
    progress.value = cup.picks.length;
    progress.setAttribute('aria-valuetext', t('wc.progress_value', { done: cup.picks.length, total: cup.size - 1 }));
    replace(cards,
      card(cup.current.left, 'left'),
      h('span', { class: 'vs', 'aria-hidden': 'true' }, 'VS'),
      card(cup.current.right, 'right'));
    undo.disabled = cup.picks.length === 0;
    readyAt = performance.now() + TAP_GUARD_MS;
    cards.dataset.match = `${cup.round}-${cup.match}`;
    cards.dataset.ready = 'false';
    const shown = cards.dataset.match;
    setTimeout(() => {
      if (cards.dataset.match === shown) cards.dataset.ready = 'true';
    }, TAP_GUARD_MS);
    ctx.setTitle(`${roundLabel(cup)} · ${name || t('wc.title_plain')}`);
    if (focusSide) cards.querySelector(`[data-side="${focusSide}"]`)?.focus({ preventScroll: true });
  }

  async function pick(foodId, button) {
    if (inFlight) return; // a double tap must never pick twice
    if (performance.now() < readyAt) return; // nor land on a match the player has not seen
    inFlight = true;
    root.setAttribute('aria-busy', 'true');
    for (const b of cards.querySelectorAll('button')) b.classList.toggle('chosen', b === button);
    cards.classList.add('deciding');
    errors.clear();
    try {
      const next = await post(`/worldcups/${encodeURIComponent(cup.id)}/picks`,
        { winner: foodId, round: cup.round, match: cup.match }, keyHeaders(cup.id));
      cup = next;
      if (cup.finished) {
        store.set('worldcup', null);
        forgetPlayKey(cup.id);
        ctx.offKeys();
        await renderChampion(root, cup, name, ctx);
        return;
      }
      render(button?.dataset.side && document.activeElement === button ? button.dataset.side : null);
    } catch (err) {
      errors.showError(err, { conflict: 'wc.stale', validation_failed: 'wc.stale', forbidden: 'wc.forbidden' });
      if (err.status === 409 || err.status === 422 || err.status === 403) await reload();
    } finally {
      inFlight = false;
      root.removeAttribute('aria-busy');
      cards.classList.remove('deciding');
      for (const b of cards.querySelectorAll('.chosen')) b.classList.remove('chosen');
    }
  }

  async function reload() {
    try {
      cup = await get(`/worldcups/${encodeURIComponent(cup.id)}`, keyHeaders(cup.id));
      if (cup.finished) await renderChampion(root, cup, name, ctx);
      else if (!cup.can_pick) renderViewOnly(root, cup, name, ctx);
      else render();
    } catch (err) {
      errors.showError(err);
    }
  }

  async function doUndo() {
    if (inFlight) return;
    inFlight = true;
    errors.clear();
    try {
      await busy(undo, async () => {
        cup = await del(`/worldcups/${encodeURIComponent(cup.id)}/picks/last`, keyHeaders(cup.id));
        render();
      });
      announce(t('wc.undone', { label: roundLabel(cup) }));
    } catch (err) {
      errors.showError(err, { conflict: 'wc.nothing_to_undo', forbidden: 'wc.forbidden' });
    } finally {
      inFlight = false;
      undo.disabled = cup.picks.length === 0;
    }
  }

  ctx.onKey((e) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return false;
    const side = e.key === 'ArrowLeft' ? 'left' : 'right';
    const button = cards.querySelector(`[data-side="${side}"]`);
    if (!button || !cup.current) return false;
    pick(cup.current[side].id, button);
    return true;
  });

  replace(
    root,
    h('div', { class: 'wc-head' }, bookLine, label, progress),
    errors,
    cards,
    h('div', { class: 'wc-actions' },
      undo,
      h('p', { class: 'hint kbd-hint' }, t('wc.keys'))),
  );
  render();
  ctx.setTitle(`${roundLabel(cup)} · ${name || t('wc.title_plain')}`);
}

/** A round's name without the match: 결승, 4강, 8강, 16강 (Final, Semi-final, …). */
function roundName(round) {
  if (round === 2) return t('round.final');
  if (round === 4) return t('round.semi');
  if (round === 8) return t('round.quarter');
  return t('round.of', { n: round });
}

/** The champion, a share link and the book's ranking. */
async function renderChampion(root, cup, name, ctx) {
  const champion = cup.champion;
  ctx.setTitle(t('wc.champion_title', { name: champion?.name || '' }));
  const url = `${window.location.origin}/worldcup/${encodeURIComponent(cup.id)}`;
  const ranking = h('section', { class: 'section', 'aria-labelledby': 'ranking-title' },
    h('h2', { id: 'ranking-title' }, t('wc.ranking', { book: name })));
  const maps = await mapLinks(champion);
  const path = cup.champion_path?.length
    ? h('section', { class: 'section champion-path', 'aria-labelledby': 'path-title' },
        h('h2', { id: 'path-title' }, t('wc.path')),
        h('ol', { class: 'path-list', 'data-testid': 'champion-path' }, cup.champion_path.map((step) =>
          h('li', { 'data-food-id': String(step.opponent.id) },
            foodImage(step.opponent, { className: 'thumb', alt: false }),
            h('span', null, t('wc.path_step', {
              label: roundName(step.round),
              name: step.opponent.name,
            }))))))
    : null;
  const runnerUp = cup.runner_up
    ? h('p', { class: 'runner-up', 'data-testid': 'runner-up' },
        h('span', { class: 'badge' }, t('wc.runner_up')), ' ', cup.runner_up.name)
    : null;
  replace(
    root,
    h('div', { class: 'champion', 'data-testid': 'champion' },
      pageTitle(t('wc.champion')),
      h('p', { class: 'wc-book' }, name ? t('wc.title', { book: name }) : t('wc.title_plain')),
      champion
        ? h('div', { class: 'champion-card' },
            foodImage(champion, { className: 'champion-img' }),
            h('div', { class: 'champion-text' },
              h('p', { class: 'champion-name', 'data-testid': 'champion-name' }, champion.name),
              champion.credit ? h('p', { class: 'credit' }, champion.credit) : null,
              champion.description ? h('p', { class: 'champion-desc' }, champion.description) : null,
              champion.details ? h('p', { class: 'champion-details' }, champion.details) : null))
        : null,
      runnerUp,
      maps,
      shareSheet({ url, text: championText(name, champion?.name || '') }),
      worldcupQuizBlock(cup),
      shareBox(url, t('wc.share')),
      h('div', { class: 'row' },
        h('a', { class: 'btn btn-primary', href: setupHref(cup.book_id, setupOf(cup)), 'data-testid': 'play-again' }, t('wc.again')),
        state.user ? h('a', { class: 'btn btn-secondary', href: '/me/worldcups' }, t('wc.my_plays')) : null,
        h('a', { class: 'btn btn-secondary', href: '/' }, t('nav.home')))),
    path,
    ranking,
  );
  announce(t('wc.champion_announce', { name: champion?.name || '' }));
  root.querySelector('h1')?.focus({ preventScroll: true });
  await fillRanking(ranking, cup.book_id, champion?.id);
  // Comments under the ranking, offering to attach this cup's champion.
  get(`/books/${cup.book_id}`).then((book) => root.append(commentsSection(book, { worldcupId: cup.id }))).catch(() => {});
}

/** Appends the ranking table of a book: `step` rows at first, "more" shows (and fetches) more. */
export async function fillRanking(section, bookId, highlightId, step = 10) {
  const body = h('tbody');
  // Focusable, so a keyboard can scroll it when a narrow screen makes it scroll sideways.
  const table = h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('ranking.table') },
    h('table', { class: 'ranking', 'data-testid': 'ranking' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, t('ranking.rank')),
        h('th', { scope: 'col' }, t('ranking.food')),
        h('th', { scope: 'col', class: 'num' }, t('ranking.champion_rate')),
        h('th', { scope: 'col', class: 'num' }, t('ranking.win_rate')))),
      body));
  const more = h('button', { type: 'button', class: 'btn btn-ghost', hidden: true }, t('common.more'));
  const slot = messageSlot();
  section.append(table, slot, more);
  const items = [];
  let cursor = null;
  let exhausted = false;
  let shown = 0;

  async function fetchPage() {
    const page = await get(`/books/${bookId}/ranking${query({ cursor })}`);
    items.push(...(Array.isArray(page) ? page : page.items || []));
    cursor = Array.isArray(page) ? null : page.next_cursor;
    exhausted = !cursor;
  }

  function row(item, rank) {
    return h('tr', { class: item.food.id === highlightId ? 'highlight' : null },
      h('td', null, String(rank)),
      h('td', null, h('span', { class: 'rank-food' }, foodImage(item.food, { className: 'thumb', alt: false }), item.food.name)),
      h('td', { class: 'num' }, fmtPercent(item.champion_rate), h('span', { class: 'sub' }, t('ranking.times', { n: fmtNumber(item.championships) }))),
      h('td', { class: 'num' }, fmtPercent(item.win_rate), h('span', { class: 'sub' }, t('ranking.of', { wins: fmtNumber(item.wins), matches: fmtNumber(item.matches) }))));
  }

  async function showMore() {
    try {
      while (items.length < shown + step && !exhausted) await fetchPage();
      const next = items.slice(shown, shown + step);
      next.forEach((item, i) => body.append(row(item, item.rank ?? shown + i + 1)));
      shown += next.length;
      if (!items.length) body.append(h('tr', null, h('td', { colspan: '4', class: 'empty' }, t('ranking.empty'))));
      more.hidden = shown >= items.length && exhausted;
    } catch (err) {
      slot.showError(err);
    }
  }
  more.addEventListener('click', () => busy(more, showMore));
  await showMore();
}

export async function rankingView(ctx) {
  const book = await get(`/books/${encodeURIComponent(ctx.params.id)}`).catch(notFoundAs('book.not_found'));
  ctx.setTitle(t('wc.ranking', { book: book.name }));
  const section = h('section', { class: 'section' });
  const root = h('div', { class: 'ranking-page' },
    pageTitle(t('wc.ranking', { book: book.name })),
    h('p', null, h('a', { class: 'btn btn-primary', href: `/books/${book.id}` }, t('book.start'))),
    section);
  await fillRanking(section, book.id, null, 50);
  return root;
}

/** `/worldcup` alone: resume the remembered cup, or go home. */
export async function worldcupResumeView(ctx) {
  const id = store.get('worldcup');
  ctx.redirect(id ? `/worldcup/${encodeURIComponent(id)}` : '/');
  return h('div');
}

