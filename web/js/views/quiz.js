// The taste quiz: make an exam from random pairs, take one by code or link, results, scoreboard.

import { h, replace, uid } from '../dom.js';
import { del, get, post, put, query } from '../api.js';
import { t, fmtNumber } from '../i18n.js';
import { state, navigate, loginHref, setUser } from '../state.js';
import { busy, clearOnInput, field, foodImage, messageSlot, notFoundAs, pageTitle, removeRow, shareBox, showFieldErrors, srOnly, announce, toast } from '../ui.js';
import { examText, shareSheet } from '../share.js';
import { personName, percent, resultLegend, resultList, scoreLine, tierMessage } from './quiz-result.js';

export { resultList };

// Six characters of the share-code alphabet, or an imported code of the original app (5 hex).
const CODE_ALPHABET = /^(?:[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}|[0-9A-F]{5})$/;

/** Normalizes a typed share code (case-insensitive, spaces and dashes ignored). */
export function normalizeCode(text) {
  return String(text || '').toUpperCase().replace(/[\s-]/g, '');
}

export function shareUrl(code) {
  return `${window.location.origin}/quiz/${code}`;
}

/** Whether the signed-in user is `person` (`{username}`), case-insensitively. */
function isMe(person) {
  const name = person && (person.username || person);
  return Boolean(state.user && name && state.user.username.toLowerCase() === String(name).toLowerCase());
}

/**
 * The name field of a guest: shown to whoever is signed out, so that a friend opening a link
 * answers at once. `signIn()` creates the guest (once) and resolves when someone is signed in.
 */
function guestName() {
  const { wrap, input } = field({
    name: 'display_name', label: t('guest.name'), hint: t('guest.name_hint'), required: true,
    attrs: { maxlength: '20', autocomplete: 'nickname', 'data-testid': 'guest-name' },
  });
  input.addEventListener('input', () => {
    input.removeAttribute('aria-invalid');
    wrap.querySelector('.field-error').textContent = '';
  });
  const block = h('div', { class: 'guest-name' }, wrap,
    h('p', { class: 'hint' }, t('guest.have_account'), ' ', h('a', { href: loginHref() }, t('nav.login'))));
  async function signIn(form) {
    if (state.user) return true;
    const name = input.value.trim();
    if (!name) {
      input.setAttribute('aria-invalid', 'true');
      wrap.querySelector('.field-error').textContent = t('guest.name_needed');
      input.focus();
      return false;
    }
    const out = await post('/auth/guest', { display_name: name });
    setUser(out.user);
    block.remove();
    return Boolean(form);
  }
  return { block, input, signIn };
}

function loginNotice(textKey) {
  return h('div', { class: 'alert alert-info' },
    h('p', null, t(textKey)),
    h('div', { class: 'row' },
      h('a', { class: 'btn btn-primary', href: loginHref() }, t('nav.login')),
      h('a', { class: 'btn btn-secondary', href: `/signup?next=${encodeURIComponent(window.location.pathname)}` }, t('nav.signup'))));
}

// ---------------------------------------------------------------- hub

export async function quizHubView(ctx) {
  ctx.setTitle(t('quiz.title'));
  const errors = messageSlot();
  const { wrap, input } = field({
    name: 'code', label: t('quiz.code'), hint: t('quiz.code_hint'),
    attrs: { autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', maxlength: '12', inputmode: 'text', 'data-testid': 'code-input' },
  });
  const go = h('button', { type: 'submit', class: 'btn btn-primary' }, t('quiz.open'));
  const form = h('form', {
    class: 'card',
    onsubmit: (e) => {
      e.preventDefault();
      const code = normalizeCode(input.value);
      if (!CODE_ALPHABET.test(code)) {
        input.setAttribute('aria-invalid', 'true');
        form.querySelector('.field-error').textContent = t('quiz.code_invalid');
        input.focus();
        return;
      }
      busy(go, async () => {
        try {
          await get(`/exams/${code}`);
          navigate(`/quiz/${code}`);
        } catch (err) {
          errors.showError(err, { not_found: 'quiz.not_found' });
        }
      });
    },
  }, h('h2', null, t('quiz.take_by_code')), wrap, errors, go);
  clearOnInput(form, errors);

  return h('div', { class: 'quiz-hub' },
    pageTitle(t('quiz.title')),
    h('p', { class: 'lead' }, t('quiz.lead')),
    h('div', { class: 'card' },
      h('h2', null, t('quiz.create')),
      h('p', null, t('quiz.create_lead')),
      h('a', { class: 'btn btn-primary', href: '/quiz/new', 'data-testid': 'create-quiz' }, t('quiz.create'))),
    form,
    state.user ? h('p', null, h('a', { href: '/me#my-exams' }, t('me.exams'))) : null);
}

// ---------------------------------------------------------------- questions

/** One question as a radio group of the two foods; `name` groups the radios. */
function questionFieldset(q, index, selected, onChange) {
  const name = `q-${q.pair_id}`;
  const option = (food, side) => {
    const id = uid('opt');
    return h('span', { class: `choice choice-${side}` },
      h('input', {
        type: 'radio', id, name, value: String(food.id), required: true,
        'data-pair-id': String(q.pair_id), 'data-food-id': String(food.id), 'data-side': side,
        checked: selected === food.id,
        onchange: () => onChange(q.pair_id, food.id),
      }),
      h('label', { for: id }, foodImage(food, { className: 'choice-img', alt: false }), h('span', { class: 'choice-name' }, food.name)));
  };
  return h('fieldset', { class: 'question', 'data-pair-id': String(q.pair_id) },
    h('legend', null, h('span', { class: 'q-num' }, `${index + 1}.`), srOnly(t('quiz.question_sr', { left: q.left.name, right: q.right.name }))),
    h('div', { class: 'choices' }, option(q.left, 'left'), h('span', { class: 'or', 'aria-hidden': 'true' }, 'vs'), option(q.right, 'right')));
}

/**
 * "아직 N문제를 고르지 않았어요" in `errors` while questions are left: `check()` shows it (and
 * focuses the first unanswered question), `update()` after each answer keeps the count true and
 * takes the message away once every question is answered.
 */
function unansweredNotice(getList, answers, errors) {
  let shown = false;
  const missing = () => getList().filter((q) => !answers.has(q.pair_id));
  return {
    check() {
      const left = missing();
      if (!left.length) return true;
      shown = true;
      errors.showInfo(t('quiz.unanswered', { n: left.length }));
      document.querySelector(`fieldset[data-pair-id="${left[0].pair_id}"] input`)?.focus();
      return false;
    },
    update() {
      if (!shown) return;
      const left = missing();
      if (left.length) {
        errors.showInfo(t('quiz.unanswered', { n: left.length }));
      } else {
        shown = false;
        errors.clear();
      }
    },
    reset() {
      shown = false;
    },
  };
}

// ---------------------------------------------------------------- create

export async function quizCreateView(ctx) {
  ctx.setTitle(t('quiz.create'));
  const root = h('div', { class: 'quiz-create' });
  const answers = new Map();
  let pairs = [];
  const guest = state.user ? null : guestName();

  const countId = uid('count');
  const countSelect = h('select', { id: countId, name: 'count', 'data-testid': 'pair-count' },
    [8, 12, 16, 24, 32].map((n) => h('option', { value: String(n), selected: n === 12 }, t('quiz.n_questions', { n }))));
  const reload = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'load-pairs' }, t('quiz.new_pairs'));
  const questions = h('div', { class: 'questions', 'aria-live': 'polite' });
  const errors = messageSlot();
  const title = field({ name: 'title', label: t('quiz.exam_title'), hint: t('hint.title'), required: true, attrs: { maxlength: '30', 'data-testid': 'exam-title' } });
  title.input.value = state.user ? t('quiz.default_title', { name: personName(state.user) }).slice(0, 30) : t('quiz.default_title_plain');
  const modeName = uid('mode');
  const modeOption = (value, label, hint) => {
    const id = uid('mode');
    return h('div', { class: 'mode-option' },
      h('input', { type: 'radio', id, name: modeName, value, checked: value === 'guess', 'data-testid': `mode-${value}` }),
      h('label', { for: id }, h('strong', null, label), h('span', { class: 'hint' }, hint)));
  };
  const modes = h('fieldset', { class: 'mode-choice' },
    h('legend', null, t('quiz.mode')),
    modeOption('guess', t('quiz.mode_guess'), t('quiz.mode_guess_hint')),
    modeOption('match', t('match.mode'), t('match.mode_hint')));
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': 'submit-exam' }, t('quiz.make'));
  const unanswered = unansweredNotice(() => pairs.map((p) => ({ pair_id: p.id })), answers, errors);

  async function loadPairs() {
    errors.clear();
    unanswered.reset();
    try {
      const data = await get(`/quiz/pairs${query({ count: countSelect.value })}`);
      pairs = Array.isArray(data) ? data : data.items || [];
      answers.clear();
      const list = pairs.map((p) => ({ pair_id: p.id, left: p.left, right: p.right }));
      replace(questions, list.map((q, i) => questionFieldset(q, i, null, (pairId, foodId) => {
        answers.set(pairId, foodId);
        unanswered.update();
      })));
      if (!pairs.length) errors.showInfo(t('quiz.no_pairs'));
      else if (pairs.length < Number(countSelect.value)) errors.showInfo(t('quiz.fewer_pairs', { n: pairs.length }));
    } catch (err) {
      errors.showError(err);
    }
  }
  reload.addEventListener('click', () => busy(reload, loadPairs));
  countSelect.addEventListener('change', () => busy(reload, loadPairs));

  const form = h('form', {
    class: 'card questions-card',
    novalidate: true,
    onsubmit: (e) => {
      e.preventDefault();
      const list = pairs.map((p) => ({ pair_id: p.id }));
      if (!title.input.value.trim()) {
        showFieldErrors(form, { errors: [] });
        title.input.setAttribute('aria-invalid', 'true');
        form.querySelector(`#${title.input.id}-error`).textContent = t('hint.title');
        title.input.focus();
        return;
      }
      if (!list.length || !unanswered.check()) return;
      busy(submit, async () => {
        errors.clear();
        try {
          if (guest && !(await guest.signIn(form))) return;
          const exam = await post('/exams', {
            title: title.input.value.trim(),
            mode: form.querySelector(`input[name="${modeName}"]:checked`)?.value || 'guess',
            answers: pairs.map((p) => ({ pair_id: p.id, food_id: answers.get(p.id) })),
          });
          renderCreated(root, exam);
          // The page is now the quiz's own: a reload (or a shared address bar) keeps the code.
          if (ctx.isCurrent()) {
            history.replaceState(null, '', `/quiz/${exam.code}`);
            ctx.setTitle(t('quiz.created'));
          }
        } catch (err) {
          errors.showError(err, {}, showFieldErrors(form, err));
        }
      });
    },
  },
  guest ? guest.block : null,
  modes,
  h('div', { class: 'field-row' }, h('div', { class: 'field' }, h('label', { for: countId }, t('quiz.count')), countSelect), reload),
  h('p', { class: 'hint' }, t('quiz.create_hint')),
  questions,
  title.wrap,
  errors,
  submit);

  replace(root, pageTitle(t('quiz.create')), h('p', { class: 'lead' }, t('quiz.create_lead')), form);
  await busy(reload, loadPairs);
  return root;
}

export function renderCreated(root, exam) {
  replace(root,
    h('div', { class: 'created', 'data-testid': 'exam-created' },
      pageTitle(t('quiz.created')),
      h('p', null, t('quiz.created_lead', { title: exam.title, n: exam.question_count })),
      h('p', { class: 'code-display' }, srOnly(t('quiz.code') + ' '), h('span', { 'data-testid': 'exam-code' }, exam.code)),
      shareSheet({ url: shareUrl(exam.code), text: examText(exam.title) }),
      shareBox(shareUrl(exam.code), t('quiz.share')),
      h('div', { class: 'row' },
        h('a', { class: 'btn btn-secondary', href: `/quiz/${exam.code}`, 'data-testid': 'open-exam' }, t('quiz.my_answers')),
        h('a', { class: 'btn btn-secondary', href: `/quiz/${exam.code}/scoreboard` }, t('quiz.scoreboard')),
        h('a', { class: 'btn btn-ghost', href: '/me#my-exams' }, t('me.exams')))));
  root.querySelector('h1')?.focus();
  announce(t('quiz.created'));
}

// ---------------------------------------------------------------- take

function examHeader(exam) {
  const match = exam.mode === 'match';
  return h('div', { class: 'exam-head' },
    h('p', { class: ['mode-tag', match ? 'is-match' : ''], 'data-testid': 'mode-tag' }, match ? t('match.frame') : t('quiz.frame')),
    pageTitle(exam.title),
    h('p', { class: 'meta' },
      t('quiz.by', { author: personName(exam.author) }), ' · ',
      t('quiz.n_questions', { n: exam.question_count }), ' · ',
      t('quiz.participants', { n: fmtNumber(exam.participant_count ?? 0) }),
      ' · ', h('span', { class: 'code-inline' }, exam.code)));
}

export async function quizTakeView(ctx) {
  const code = normalizeCode(ctx.params.code);
  if (code !== ctx.params.code) {
    ctx.redirect(`/quiz/${code}`);
    return h('div');
  }
  const exam = await get(`/exams/${code}`).catch(notFoundAs('quiz.not_found', [['/quiz', 'quiz.title']]));
  ctx.setTitle(exam.title);
  const root = h('div', { class: 'quiz-take' });
  if (isMe(exam.author)) {
    await renderAnswerKey(root, exam);
    return root;
  }
  let result = null;
  if (state.user) {
    try {
      result = await get(`/exams/${code}/attempt`);
    } catch (err) {
      if (err.status !== 404) throw err;
    }
  }
  if (result) renderResult(root, exam, result);
  else renderForm(root, exam);
  return root;
}

/** The author's own quiz page: their answers, the link to share, the scoreboard. */
async function renderAnswerKey(root, exam) {
  const key = await get(`/exams/${exam.code}/answers`);
  replace(root, examHeader(exam),
    h('div', { class: 'alert alert-info' }, h('p', null, t('quiz.own_exam_key'))),
    shareBox(shareUrl(exam.code), t('quiz.share')),
    h('section', { class: 'section', 'aria-labelledby': 'key-title', 'data-testid': 'answer-key' },
      h('h2', { id: 'key-title' }, t('quiz.answer_key')),
      resultLegend({ mode: exam.mode, viewer: 'key' }),
      resultList(key, { mode: exam.mode, viewer: 'key' })),
    h('p', null, h('a', { class: 'btn btn-primary', href: `/quiz/${exam.code}/scoreboard`, 'data-testid': 'scoreboard-link' }, t('quiz.scoreboard'))));
}

function renderForm(root, exam) {
  const answers = new Map();
  const errors = messageSlot();
  const guest = state.user ? null : guestName();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': 'submit-attempt' }, t('quiz.submit'));
  const list = exam.questions;
  const match = exam.mode === 'match';
  const unanswered = unansweredNotice(() => list, answers, errors);
  const form = h('form', {
    class: 'card questions-card',
    novalidate: true,
    onsubmit: (e) => {
      e.preventDefault();
      if (guest && !guest.input.value.trim()) {
        guest.signIn(null);
        return;
      }
      if (!unanswered.check()) return;
      busy(submit, async () => {
        errors.clear();
        try {
          if (guest) await guest.signIn(form);
          await put(`/exams/${exam.code}/attempt`, {
            answers: list.map((q) => ({ pair_id: q.pair_id, food_id: answers.get(q.pair_id) })),
          });
          const result = await get(`/exams/${exam.code}/attempt`);
          exam.participant_count = result.participant_count;
          renderResult(root, exam, result);
          announce(t('quiz.score_announce', { score: result.score, total: result.total }));
        } catch (err) {
          if (err.status === 409 && !isMe(exam.author)) {
            errors.showInfo(t('quiz.final_already'));
            return;
          }
          errors.showError(err, { not_found: 'quiz.not_found' }, guest ? showFieldErrors(form, err) : undefined);
        }
      });
    },
  },
  guest ? guest.block : null,
  h('p', { class: 'hint' }, match ? t('match.take_hint') : t('quiz.take_hint', { author: personName(exam.author) })),
  h('p', { class: 'hint' }, t('quiz.final_note')),
  h('div', { class: 'questions' }, list.map((q, i) => questionFieldset(q, i, answers.get(q.pair_id), (p, f) => {
    answers.set(p, f);
    unanswered.update();
  }))),
  errors,
  submit);
  replace(root, examHeader(exam), form);
}

/** My result: "5/8 · 63%" (or "우리 입맛 궁합 63%"), a tier message, my place, each question, share. */
function renderResult(root, exam, result) {
  const match = (result.mode || exam.mode) === 'match';
  const line = scoreLine(result.score, result.total, result.match_rate);
  const headline = match
    ? h('p', { class: 'score-big', 'data-testid': 'score' }, t('match.rate', { n: percent(result.match_rate) }), h('span', { class: 'score-sub' }, ` ${result.score}/${result.total}`))
    : h('p', { class: 'score-big', 'data-testid': 'score' }, line);
  const shareText = match
    ? t('match.share_text', { title: exam.title, n: percent(result.match_rate) })
    : t('quiz.share_text', { title: exam.title, score: line });
  replace(root,
    examHeader(exam),
    h('section', { class: 'section result', 'aria-labelledby': 'result-title', 'data-testid': 'result' },
      h('h2', { id: 'result-title', class: 'result-title' }, t('quiz.result_of', { name: personName(result.participant) || personName(state.user) })),
      headline,
      h('p', { class: 'tier', 'data-testid': 'tier' }, tierMessage(match ? 'match' : 'guess', result.match_rate)),
      h('p', { class: 'score-summary', 'data-testid': 'rank' }, t('quiz.rank', { rank: result.rank, n: result.participant_count })),
      h('div', { class: 'row' },
        shareSheet({ url: shareUrl(exam.code), text: shareText }),
        h('a', { class: 'btn btn-secondary', href: `/quiz/${exam.code}/scoreboard`, 'data-testid': 'scoreboard-link' }, match ? t('match.scoreboard') : t('quiz.scoreboard'))),
      resultLegend({ mode: match ? 'match' : 'guess', authorName: personName(exam.author) }),
      resultList(result, { mode: match ? 'match' : 'guess' }),
      h('p', { class: 'hint' }, t('quiz.final_note')),
      h('p', null, h('a', { class: 'btn btn-ghost', href: '/quiz/new' }, t('quiz.make_mine')))));
  root.querySelector('#result-title')?.setAttribute('tabindex', '-1');
  root.querySelector('#result-title')?.focus();
}

// ---------------------------------------------------------------- scoreboard

function attemptHref(code, username) {
  return `/quiz/${code}/attempts/${encodeURIComponent(username).replace(/\./g, '%2E')}`;
}

export async function scoreboardView(ctx) {
  const code = normalizeCode(ctx.params.code);
  const [board, exam] = await Promise.all([
    get(`/exams/${code}/scoreboard`).catch(notFoundAs('quiz.not_found', [['/quiz', 'quiz.title']])),
    get(`/exams/${code}`).catch(() => null),
  ]);
  const match = board.mode === 'match';
  const heading = match ? t('match.scoreboard_of', { title: board.title }) : t('quiz.scoreboard_of', { title: board.title });
  ctx.setTitle(heading);
  const isAuthor = Boolean(exam && isMe(exam.author));
  const errors = messageSlot();
  const rows = board.participants.map((p) => {
    const mine = isMe(p);
    const label = personName(p);
    const name = isAuthor ? h('a', { href: attemptHref(code, p.username) }, label) : label;
    const reset = isAuthor
      ? h('button', {
          type: 'button', class: 'btn btn-ghost btn-small', 'data-testid': `reset-${p.username}`,
          'aria-label': t('quiz.reset_of', { name: label }),
          onclick: (e) => {
            const button = e.currentTarget;
            if (!window.confirm(t('quiz.reset_confirm', { name: label }))) return;
            busy(button, async () => {
              try {
                await del(`/exams/${code}/attempts/${encodeURIComponent(p.username)}`);
                toast(t('quiz.reset_done', { name: label }));
                removeRow(button.closest('tr'), t('quiz.no_participants'));
              } catch (err) {
                errors.showError(err);
              }
            });
          },
        }, t('quiz.reset'))
      : null;
    return h('tr', { class: mine ? 'highlight' : null },
      h('td', null, String(p.rank)),
      h('td', null, name, mine ? srOnly(` (${t('quiz.me')})`) : null, mine ? h('span', { class: 'badge', 'aria-hidden': 'true' }, t('quiz.me')) : null),
      h('td', { class: 'num' }, match ? `${percent(p.match_rate)}%` : `${p.score}/${board.question_count}`),
      isAuthor ? h('td', null, reset) : null);
  });
  return h('div', { class: 'scoreboard' },
    pageTitle(heading),
    h('p', { class: 'meta' }, t('quiz.n_questions', { n: board.question_count }), ' · ', t('quiz.participants', { n: board.participants.length })),
    errors,
    board.participants.length
      ? h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('quiz.scoreboard') }, h('table', { class: 'ranking', 'data-testid': 'scoreboard' },
          h('thead', null, h('tr', null,
            h('th', { scope: 'col' }, t('ranking.rank')),
            h('th', { scope: 'col' }, t('quiz.participant')),
            h('th', { scope: 'col', class: 'num' }, match ? t('match.rate_col') : t('quiz.score_col')),
            isAuthor ? h('th', { scope: 'col' }, srOnly(t('quiz.reset'))) : null)),
          h('tbody', null, rows)))
      : h('p', { class: 'empty' }, t('quiz.no_participants')),
    h('div', { class: 'row' },
      h('a', { class: 'btn btn-primary', href: `/quiz/${code}` }, t('quiz.to_exam')),
      h('a', { class: 'btn btn-secondary', href: '/quiz/new' }, t('quiz.create'))),
    shareBox(shareUrl(code), t('quiz.share')));
}

/** The author's view of one friend's choices, with the quiz's title. */
export async function attemptOfView(ctx) {
  const code = normalizeCode(ctx.params.code);
  const username = ctx.params.username;
  const result = await get(`/exams/${code}/attempts/${encodeURIComponent(username)}`)
    .catch(notFoundAs('quiz.attempt_not_found', [[`/quiz/${code}/scoreboard`, 'quiz.scoreboard']]));
  const name = personName(result.participant) || username;
  const match = result.mode === 'match';
  ctx.setTitle(t('quiz.friend_result', { name }));
  return h('div', { class: 'quiz-take' },
    h('p', { class: ['mode-tag', match ? 'is-match' : ''] }, match ? t('match.frame') : t('quiz.frame')),
    pageTitle(t('quiz.friend_result', { name })),
    h('p', { class: 'meta', 'data-testid': 'exam-title' }, result.title),
    h('p', { class: 'score-big', 'data-testid': 'score' }, match ? t('match.rate', { n: percent(result.match_rate) }) : scoreLine(result.score, result.total, result.match_rate)),
    resultLegend({ mode: result.mode, viewer: 'author' }),
    resultList(result, { mode: result.mode, viewer: 'author' }),
    h('p', null, h('a', { class: 'btn btn-secondary', href: `/quiz/${code}/scoreboard` }, t('quiz.scoreboard'))));
}
