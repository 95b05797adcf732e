// Home: today's pick, the food books (world cups), a way into the quiz.

import { h, replace } from '../dom.js';
import { get, put, del } from '../api.js';
import { t, fmtNumber, roundLabel } from '../i18n.js';
import { state, store, loadFavorites } from '../state.js';
import { errorBox, errorMessage, foodImage, busy, loading, pageTitle, picture, toast } from '../ui.js';
import { communitySection } from './community.js';

export async function homeView(ctx) {
  ctx.setTitle(t('home.title'));
  // Every section asks for its data at once: today's pick, the community list and the resume
  // banner start their own requests, and the books and favourites load side by side.
  const pick = todaysPick();
  const community = communitySection();
  const resume = h('div', { class: 'resume-slot' });
  resumeBanner(resume);
  let favoritesError = null;
  const [books, favorites] = await Promise.all([
    get('/books'),
    state.user ? loadFavorites().catch((err) => { favoritesError = err; return null; }) : null,
  ]);
  const list = Array.isArray(books) ? books : books?.items || [];

  return h(
    'div',
    { class: 'home' },
    pageTitle(t('home.title')),
    h('p', { class: 'lead' }, t('home.lead')),
    resume,
    pick,
    h(
      'section',
      { class: 'section', 'aria-labelledby': 'books-title' },
      h('h2', { id: 'books-title' }, t('home.books')),
      state.user ? h('p', null, h('a', { href: '/me/worldcups', 'data-testid': 'my-plays-link' }, t('wc.my_plays'))) : null,
      favoritesError ? errorBox(favoritesError) : null,
      list.length
        ? h('ul', { class: 'book-list' }, list.map((book) => bookCard(book, favorites)))
        : h('p', { class: 'empty' }, t('home.no_books')),
    ),
    community,
    h(
      'section',
      { class: 'section quiz-callout' },
      h('h2', null, t('home.quiz_title')),
      h('p', null, t('home.quiz_lead')),
      h('div', { class: 'row' },
        h('a', { class: 'btn btn-primary', href: '/quiz/new' }, t('quiz.create')),
        h('a', { class: 'btn btn-secondary', href: '/quiz' }, t('quiz.take_by_code'))),
    ),
  );
}

/**
 * "Continue your world cup" when an unfinished one is remembered here, or, when signed in,
 * when the account's newest cup is unfinished (started on another device).
 */
async function resumeBanner(slot) {
  const id = store.get('worldcup');
  const show = (cup, text) => replace(
    slot,
    h('div', { class: 'alert alert-info resume' },
      h('p', null, t(text, { label: roundLabel(cup) })),
      h('a', { class: 'btn btn-primary', href: `/worldcup/${encodeURIComponent(cup.id)}`, 'data-testid': 'resume-link' }, t('home.resume_button'))),
  );
  if (id) {
    try {
      const cup = await get(`/worldcups/${encodeURIComponent(id)}`);
      if (!cup.finished) {
        show(cup, 'home.resume');
        return;
      }
      store.set('worldcup', null);
    } catch (err) {
      if (err.status === 404) store.set('worldcup', null);
    }
  }
  if (!state.user) return;
  try {
    const mine = await get('/me/worldcups?limit=1');
    const newest = mine?.items?.[0];
    if (!newest || newest.finished) return;
    show(await get(`/worldcups/${encodeURIComponent(newest.id)}`), 'home.resume_account');
  } catch {
    /* no banner: the rest of the page still works */
  }
}

/** Today's food (the same for everyone today); "다른 메뉴" rerolls a random one. */
function todaysPick() {
  const body = h('div', { class: 'pick-body', 'aria-live': 'polite', 'aria-busy': 'true' }, loading());
  const title = h('h2', { id: 'pick-title' }, t('home.todays_pick'));
  const again = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'pick-again', onclick: () => busy(again, () => load('/foods/random')) }, t('home.pick_again'));
  async function load(path) {
    body.setAttribute('aria-busy', 'true');
    try {
      const food = await get(path);
      title.textContent = t(path === '/foods/today' ? 'home.todays_pick' : 'home.other_pick');
      replace(
        body,
        h('a', { class: 'pick-card', href: `/foods/${food.id}`, 'data-testid': 'todays-pick', 'data-food-id': String(food.id) },
          foodImage(food, { className: 'pick-img', alt: false, eager: true }),
          h('span', { class: 'pick-text' },
            h('span', { class: 'pick-name' }, food.name),
            food.description ? h('span', { class: 'pick-desc' }, food.description) : null,
            food.categories?.length ? h('span', { class: 'pick-cats' }, food.categories.map((c) => h('span', { class: 'chip' }, c))) : null,
            food.credit ? h('span', { class: 'credit' }, food.credit) : null)),
      );
    } catch (err) {
      replace(body, errorBox(err, { not_found: 'home.pick_none' }));
    } finally {
      body.setAttribute('aria-busy', 'false');
    }
  }
  load('/foods/today');
  return h(
    'section',
    { class: 'section todays-pick', 'aria-labelledby': 'pick-title' },
    h('div', { class: 'section-head' }, title, again),
    body,
  );
}

function bookCard(book, favorites) {
  const cover = book.cover_url
    ? picture(book.cover_url, book.cover_webp_url, { class: 'book-cover', alt: '', width: '96', height: '84', loading: 'lazy', decoding: 'async' })
    : h('div', { class: 'book-cover img-placeholder', 'aria-hidden': 'true' }, h('span', null, book.name.slice(0, 1)));
  const item = h(
    'li',
    { class: 'book', 'data-book-id': String(book.id) },
    h('a', { class: 'book-link', href: `/books/${book.id}` },
      cover,
      h('span', { class: 'book-text' },
        h('span', { class: 'book-name' }, book.name),
        h('span', { class: 'book-meta' }, t('home.book_meta', { foods: fmtNumber(book.food_count), plays: fmtNumber(book.play_count) }) + (book.finished_count != null ? ` · ${t('book.finished_meta', { n: fmtNumber(book.finished_count) })}` : '')))),
  );
  if (favorites) item.append(starButton(book, favorites));
  return item;
}

/** A toggle button that stars/unstars a book. */
export function starButton(book, favorites, onChange) {
  const button = h('button', { type: 'button', class: 'star' });
  const render = () => {
    const on = favorites.has(book.id);
    button.setAttribute('aria-pressed', String(on));
    button.setAttribute('aria-label', t(on ? 'fav.remove' : 'fav.add', { name: book.name }));
    button.title = button.getAttribute('aria-label');
    replace(button, h('span', { 'aria-hidden': 'true' }, on ? '★' : '☆'));
  };
  render();
  button.addEventListener('click', () =>
    busy(button, async () => {
      const on = favorites.has(book.id);
      try {
        if (on) await del(`/me/favorites/${book.id}`);
        else await put(`/me/favorites/${book.id}`);
        if (on) favorites.delete(book.id);
        else favorites.add(book.id);
        toast(t(on ? 'fav.removed' : 'fav.added', { name: book.name }));
        onChange?.(!on);
      } catch (err) {
        toast(errorMessage(err));
      }
      render();
    }),
  );
  return button;
}

