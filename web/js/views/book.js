// World-cup setup for one food book: bracket size and "foods I won't eat".

import { h, replace, uid } from '../dom.js';
import { get, post } from '../api.js';
import { t, fmtNumber } from '../i18n.js';
import { store, navigate } from '../state.js';
import { busy, foodImage, messageSlot, notFoundAs, pageTitle, picture } from '../ui.js';
import { rememberPlayKey } from './worldcup.js';
import { bookByline, commentsSection } from './community.js';

/** The address of a book's setup with these choices filled in (what "다시 하기" opens). */
export function setupHref(bookId, { size = null, exclude = [] } = {}) {
  const params = new URLSearchParams();
  if (size) params.set('size', String(size));
  if (exclude.length) params.set('exclude', exclude.join(','));
  const q = params.toString();
  return `/books/${encodeURIComponent(bookId)}${q ? `?${q}` : ''}`;
}

/** Remembers the choices a cup was started with, so that its champion screen can offer them again. */
function rememberSetup(cupId, bookId, size, exclude) {
  store.set('lastsetup', JSON.stringify({ cup: cupId, book: bookId, size, exclude }));
}

/** The choices cup `cupId` was started with in this browser, or just its size. */
export function setupOf(cup) {
  let saved = null;
  try {
    saved = JSON.parse(store.get('lastsetup') || 'null');
  } catch {
    saved = null;
  }
  if (saved && saved.cup === cup.id && Array.isArray(saved.exclude)) return { size: saved.size, exclude: saved.exclude };
  return { size: cup.size, exclude: [] };
}

/** Powers of two from 2 to 64 that fit `count` foods. */
export function sizesFor(count) {
  const sizes = [];
  for (let size = 2; size <= 64 && size <= count; size *= 2) sizes.push(size);
  return sizes;
}

export async function bookView(ctx) {
  const book = await get(`/books/${encodeURIComponent(ctx.params.id)}`).catch(notFoundAs('book.not_found'));
  ctx.setTitle(book.name);
  const foods = book.foods || [];
  // "다시 하기" comes back with the finished cup's size and exclusions in the address.
  const known = new Set(foods.map((f) => f.id));
  const excluded = new Set((ctx.query.get('exclude') || '').split(',').map(Number).filter((id) => known.has(id)));
  let chosenSize = Number(ctx.query.get('size')) || null;

  const sizeGroup = h('div', { class: 'chips', role: 'radiogroup', 'aria-labelledby': 'size-legend' });
  const remainingText = h('p', { class: 'hint', 'aria-live': 'polite' });
  const sizeFieldset = h('fieldset', null, h('legend', { id: 'size-legend' }, t('book.size')), sizeGroup, remainingText);
  const noSizes = h('p', { class: 'alert alert-info', 'data-testid': 'no-sizes', role: 'status', hidden: true });
  const errors = messageSlot();
  const start = h('button', { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': 'start-worldcup' }, t('book.start'));

  function renderSizes() {
    const remaining = foods.length - excluded.size;
    const sizes = sizesFor(remaining);
    if (!sizes.includes(chosenSize)) {
      const fit = sizes.filter((s) => s <= 32);
      chosenSize = fit.length ? fit[fit.length - 1] : null;
    }
    replace(
      sizeGroup,
      sizes.map((size) => {
        const id = uid('size');
        return h('span', { class: 'chip-option' },
          h('input', { type: 'radio', name: 'size', id, value: String(size), checked: size === chosenSize, onchange: () => { chosenSize = size; } }),
          h('label', { for: id }, t('book.size_option', { size })));
      }),
    );
    remainingText.textContent = t('book.remaining', { count: fmtNumber(remaining) });
    start.disabled = sizes.length === 0;
    // With too few foods left there is no size to choose: say so instead of an empty heading.
    sizeFieldset.hidden = sizes.length === 0;
    noSizes.hidden = sizes.length > 0;
    noSizes.textContent = foods.length ? t('book.no_sizes', { n: fmtNumber(remaining) }) : t('book.no_foods');
    errors.clear();
  }

  // The list of foods to leave out is built when it is first opened: a book lists up to 64
  // foods, each a checkbox with a picture, and most visits never open it (it is ~90% of the
  // page's elements, and building it delayed the start button on a slow phone).
  const exclusionList = h('ul', { class: 'exclusions' });
  let listed = false;
  function fillExclusions() {
    if (listed) return;
    listed = true;
    replace(exclusionList, foods.map((food) => {
      const id = uid('ex');
      return h('li', null,
        h('input', {
          type: 'checkbox', id, value: String(food.id), 'data-food-name': food.name, checked: excluded.has(food.id),
          onchange: (e) => {
            if (e.target.checked) excluded.add(food.id);
            else excluded.delete(food.id);
            renderSizes();
          },
        }),
        h('label', { for: id }, foodImage(food, { className: 'thumb', alt: false }), h('span', null, food.name)));
    }));
  }
  if (excluded.size > 0) fillExclusions();

  const form = h(
    'form',
    {
      class: 'card setup',
      onsubmit: (e) => {
        e.preventDefault();
        if (!chosenSize) return;
        busy(start, async () => {
          errors.clear();
          try {
            const cup = await post(`/books/${book.id}/worldcups`, { size: chosenSize, exclude_food_ids: [...excluded] });
            store.set('worldcup', cup.id);
            rememberPlayKey(cup.id, cup.play_key);
            rememberSetup(cup.id, book.id, chosenSize, [...excluded]);
            navigate(`/worldcup/${encodeURIComponent(cup.id)}`);
          } catch (err) {
            errors.showError(err, { not_found: 'book.not_found' });
          }
        });
      },
    },
    sizeFieldset,
    noSizes,
    foods.length
      ? h('details', { class: 'exclude', open: excluded.size > 0, ontoggle: fillExclusions },
          // The click fills the list before the browser opens it; the toggle covers any other way.
          h('summary', { onclick: fillExclusions }, t('book.exclude'), ' ', h('span', { class: 'hint' }, t('book.exclude_hint'))),
          h('fieldset', null, h('legend', { class: 'sr-only' }, t('book.exclude')), exclusionList))
      : null,
    errors,
    start,
  );
  renderSizes();

  const cover = book.cover_url ? picture(book.cover_url, book.cover_webp_url, { class: 'book-hero', alt: '', width: '600', height: '140' }) : null;
  return h(
    'div',
    { class: 'book-page' },
    cover,
    pageTitle(book.name),
    bookByline(book),
    h('p', { class: 'lead' }, t('home.book_meta', { foods: fmtNumber(book.food_count ?? foods.length), plays: fmtNumber(book.play_count) }) + (book.finished_count != null ? ` · ${t('book.finished_meta', { n: fmtNumber(book.finished_count) })}` : '')),
    h('p', null, t('book.lead')),
    form,
    h('p', null, h('a', { href: `/books/${book.id}/ranking` }, t('book.see_ranking'))),
    commentsSection(book),
  );
}
