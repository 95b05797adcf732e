// My world cups (newest first, paged) and my taste: the foods I crowned most, how common that
// is among all players, and the categories my picks favour.

import { h } from '../dom.js';
import { get, query } from '../api.js';
import { t, fmtDate, fmtNumber, fmtPercent } from '../i18n.js';
import { state, loginHref } from '../state.js';
import { busy, foodImage, messageSlot, pageTitle } from '../ui.js';

export async function myPlaysView(ctx) {
  ctx.setTitle(t('plays.title'));
  if (!state.user) {
    return h('div', { class: 'my-plays' },
      pageTitle(t('plays.title')),
      h('p', null, t('plays.login')),
      h('p', null, h('a', { class: 'btn btn-primary', href: loginHref('/me/worldcups') }, t('nav.login'))));
  }
  const [taste, first] = await Promise.all([get('/me/taste'), get(`/me/worldcups${query({ limit: 20 })}`)]);
  return h('div', { class: 'my-plays' },
    pageTitle(t('plays.title')),
    tasteSection(taste),
    historySection(first));
}

function tasteSection(taste) {
  const section = h('section', { class: 'section card taste', 'aria-labelledby': 'taste-title', 'data-testid': 'taste' },
    h('h2', { id: 'taste-title' }, t('plays.taste')),
    h('p', { class: 'lead' }, t('plays.finished', { n: fmtNumber(taste.worldcups_finished) })));
  if (!taste.top_champions.length) {
    section.append(h('p', { class: 'empty' }, t('plays.no_taste')));
    return section;
  }
  section.append(
    h('ol', { class: 'crowned' }, taste.top_champions.map((c) =>
      h('li', { 'data-food-id': String(c.food.id) },
        foodImage(c.food, { className: 'thumb', alt: false }),
        h('span', null,
          h('strong', null, t('plays.crowned', { name: c.food.name, times: fmtNumber(c.times) })),
          h('span', { class: 'sub' }, t('plays.share', { share: fmtPercent(c.share_of_players) })))))),
  );
  if (taste.top_categories.length) {
    section.append(
      h('h3', null, t('plays.categories')),
      h('p', { class: 'pick-cats' }, taste.top_categories.map((c) =>
        h('span', { class: 'chip' }, t('plays.category_wins', { name: c.name, wins: fmtNumber(c.wins) })))),
    );
  }
  return section;
}

function historySection(first) {
  const list = h('ul', { class: 'plays-list', 'data-testid': 'plays-list' });
  const slot = messageSlot();
  const more = h('button', { type: 'button', class: 'btn btn-ghost' }, t('common.more'));
  let cursor = first.next_cursor;
  const add = (items) => items.forEach((cup) => list.append(playRow(cup)));
  add(first.items);
  more.hidden = !cursor;
  more.addEventListener('click', () => busy(more, async () => {
    try {
      const page = await get(`/me/worldcups${query({ limit: 20, cursor })}`);
      add(page.items);
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (err) {
      slot.showError(err);
    }
  }));
  return h('section', { class: 'section', 'aria-labelledby': 'history-title' },
    h('h2', { id: 'history-title' }, t('plays.history')),
    first.items.length ? list : h('p', { class: 'empty' }, t('plays.empty')),
    slot,
    more);
}

function playRow(cup) {
  const href = `/worldcup/${encodeURIComponent(cup.id)}`;
  return h('li', { class: 'play', 'data-worldcup-id': cup.id },
    cup.champion ? foodImage(cup.champion, { className: 'thumb', alt: false }) : h('span', { class: 'thumb img-placeholder', 'aria-hidden': 'true' }, h('span', null, '?')),
    h('span', { class: 'play-text' },
      h('span', { class: 'play-book' }, cup.book_name),
      h('span', { class: 'sub' }, `${t('plays.size', { size: cup.size })} · ${fmtDate(cup.created_at)}`),
      h('span', { class: 'play-result' }, cup.finished && cup.champion ? t('plays.champion', { name: cup.champion.name }) : t('plays.in_progress'))),
    h('a', { class: `btn ${cup.finished ? 'btn-ghost' : 'btn-primary'}`, href }, t(cup.finished ? 'plays.view' : 'plays.resume')));
}
