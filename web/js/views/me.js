// My page: profile, log out, favourite books, my exams (delete / withdraw), delete account.

import { h } from '../dom.js';
import { get, post, del } from '../api.js';
import { t, fmtNumber, fmtDate } from '../i18n.js';
import { state, setUser, navigate, loginHref, loadFavorites } from '../state.js';
import { busy, errorBox, messageSlot, pageTitle, removeRow, toast, copyText, picture } from '../ui.js';
import { starButton } from './home.js';
import { shareUrl } from './quiz.js';
import { profileEditor } from './profile.js';
import { personName, scoreLine } from './quiz-result.js';

export async function meView(ctx) {
  ctx.setTitle(t('nav.me'));
  if (!state.user) {
    ctx.redirect(loginHref('/me'));
    return h('div');
  }
  const user = state.user;
  const errors = messageSlot();
  const logout = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'logout' }, t('nav.logout'));
  logout.addEventListener('click', () =>
    busy(logout, async () => {
      try {
        await post('/auth/logout');
        setUser(null);
        toast(t('auth.logged_out'));
        navigate('/');
      } catch (err) {
        errors.showError(err);
      }
    }));

  const profile = h('section', { class: 'card profile', 'aria-labelledby': 'profile-title' },
    h('h2', { id: 'profile-title' }, personName(user), user.is_admin ? h('span', { class: 'badge' }, t('me.admin')) : null,
      user.is_guest ? h('span', { class: 'badge' }, t('guest.badge')) : null),
    h('p', { class: 'meta' }, `@${user.username}`),
    h('dl', { class: 'facts' },
      user.birth_date ? [h('dt', null, t('field.birth_date')), h('dd', null, fmtDate(user.birth_date))] : null,
      user.created_at ? [h('dt', null, t('me.joined')), h('dd', null, fmtDate(user.created_at))] : null),
    profileEditor(user),
    h('div', { class: 'row' }, logout, user.is_admin ? h('a', { class: 'btn btn-ghost', href: '/admin' }, t('nav.admin')) : null),
    errors);

  const favSection = h('section', { class: 'section', 'aria-labelledby': 'fav-title' }, h('h2', { id: 'fav-title' }, t('me.favorites')));
  const examSection = h('section', { class: 'section', id: 'my-exams', 'aria-labelledby': 'exams-title' }, h('h2', { id: 'exams-title', tabindex: '-1' }, t('me.exams')));

  await Promise.all([fillFavorites(favSection), fillExams(examSection)]);

  const root = h('div', { class: 'me' }, pageTitle(t('nav.me')), profile, favSection, examSection, dangerZone());
  if (window.location.hash === '#my-exams') requestAnimationFrame(() => root.querySelector('#exams-title')?.focus());
  return root;
}

async function fillFavorites(section) {
  try {
    const data = await get('/me/favorites');
    const books = Array.isArray(data) ? data : data.items || [];
    const favorites = await loadFavorites();
    if (!books.length) {
      section.append(h('p', { class: 'empty' }, t('me.no_favorites')));
      return;
    }
    section.append(h('ul', { class: 'book-list compact' }, books.map((book) => {
      const li = h('li', { class: 'book' },
        h('a', { class: 'book-link', href: `/books/${book.id}` },
          book.cover_url ? picture(book.cover_url, book.cover_webp_url, { class: 'book-cover', alt: '', width: '96', height: '84', loading: 'lazy', decoding: 'async' }) : h('div', { class: 'book-cover img-placeholder', 'aria-hidden': 'true' }, h('span', null, book.name.slice(0, 1))),
          h('span', { class: 'book-text' }, h('span', { class: 'book-name' }, book.name),
            h('span', { class: 'book-meta' }, t('home.book_meta', { foods: fmtNumber(book.food_count), plays: fmtNumber(book.play_count) })))));
      li.append(starButton(book, favorites));
      return li;
    })));
  } catch (err) {
    section.append(errorBox(err));
  }
}

async function fillExams(section) {
  let data;
  try {
    data = await get('/me/exams');
  } catch (err) {
    section.append(errorBox(err));
    return;
  }
  const slot = messageSlot();
  const authored = data.authored || [];
  const participated = data.participated || [];

  const authoredList = authored.length
    ? h('ul', { class: 'exam-list' }, authored.map((exam) => {
        const remove = h('button', { type: 'button', class: 'btn btn-danger btn-small' }, t('me.delete_exam'));
        const copy = h('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: () => copyText(shareUrl(exam.code)) }, t('me.copy_link'));
        const li = h('li', { class: 'exam', 'data-code': exam.code },
          h('div', { class: 'exam-text' },
            h('a', { class: 'exam-title', href: `/quiz/${exam.code}/scoreboard` }, exam.title),
            h('span', { class: 'meta' }, h('span', { class: 'code-inline' }, exam.code), ' · ', t('quiz.participants', { n: fmtNumber(exam.participant_count) }), exam.created_at ? ` · ${fmtDate(exam.created_at)}` : '')),
          h('div', { class: 'exam-actions' }, copy, remove));
        remove.addEventListener('click', () => {
          if (!window.confirm(t('me.confirm_delete_exam', { title: exam.title }))) return;
          busy(remove, async () => {
            try {
              await del(`/exams/${exam.code}`);
              removeRow(li, t('me.no_authored'));
              toast(t('me.exam_deleted'));
            } catch (err) {
              slot.showError(err, { forbidden: 'me.not_author' });
            }
          });
        });
        return li;
      }))
    : h('p', { class: 'empty' }, t('me.no_authored'), ' ', h('a', { href: '/quiz/new' }, t('quiz.create')));

  const participatedList = participated.length
    ? h('ul', { class: 'exam-list' }, participated.map((exam) => {
        const withdraw = h('button', { type: 'button', class: 'btn btn-danger btn-small' }, t('me.withdraw'));
        const li = h('li', { class: 'exam', 'data-code': exam.code },
          h('div', { class: 'exam-text' },
            h('a', { class: 'exam-title', href: `/quiz/${exam.code}` }, exam.title),
            h('span', { class: 'meta' }, t('quiz.by', { author: personName(exam.author) }), ' · ', scoreLine(exam.score, exam.total, exam.match_rate), ' · ', t('quiz.participants', { n: fmtNumber(exam.participant_count) }))),
          h('div', { class: 'exam-actions' }, withdraw));
        withdraw.addEventListener('click', () => {
          if (!window.confirm(t('me.confirm_withdraw', { title: exam.title }))) return;
          busy(withdraw, async () => {
            try {
              await del(`/exams/${exam.code}/attempt`);
              removeRow(li, t('me.no_participated'));
              toast(t('me.withdrawn'));
            } catch (err) {
              slot.showError(err);
            }
          });
        });
        return li;
      }))
    : h('p', { class: 'empty' }, t('me.no_participated'));

  section.append(
    slot,
    h('h3', null, t('me.authored')), authoredList,
    h('h3', null, t('me.participated')), participatedList);
}

function dangerZone() {
  const slot = messageSlot();
  const button = h('button', { type: 'button', class: 'btn btn-danger' }, t('me.delete_account'));
  button.addEventListener('click', () => {
    if (!window.confirm(t('me.confirm_delete_account'))) return;
    busy(button, async () => {
      try {
        await del('/me');
        setUser(null);
        toast(t('me.account_deleted'));
        navigate('/');
      } catch (err) {
        slot.showError(err);
      }
    });
  });
  return h('details', { class: 'danger-zone' },
    h('summary', null, t('me.danger')),
    h('p', null, t('me.delete_account_lead')),
    slot,
    button);
}


