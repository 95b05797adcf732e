// The taste quiz: make an exam from random pairs, take one by code or link, results, scoreboard.

import { h, replace, uid } from '../dom.js';
import { get, post, put, query } from '../api.js';
import { t, fmtNumber } from '../i18n.js';
import { state, navigate, loginHref } from '../state.js';
import { busy, field, foodImage, messageSlot, pageTitle, shareBox, showFieldErrors, srOnly, announce } from '../ui.js';
import { examText, resultText, shareSheet } from '../share.js';

// Six characters of the share-code alphabet, or an imported code of the original app (5 hex).
const CODE_ALPHABET = /^(?:[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}|[0-9A-F]{5})$/;

/** Normalizes a typed share code (case-insensitive, spaces and dashes ignored). */
export function normalizeCode(text) {
  return String(text || '').toUpperCase().replace(/[\s-]/g, '');
}

export function shareUrl(code) {
  return `${window.location.origin}/quiz/${code}`;
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

/** Focuses the first unanswered question and says how many are left. */
function checkAllAnswered(list, answers, errors) {
  const missing = list.filter((q) => !answers.has(q.pair_id));
  if (!missing.length) return true;
  errors.showInfo(t('quiz.unanswered', { n: missing.length }));
  const first = document.querySelector(`fieldset[data-pair-id="${missing[0].pair_id}"] input`);
  first?.focus();
  return false;
}

// ---------------------------------------------------------------- create

export async function quizCreateView(ctx) {
  ctx.setTitle(t('quiz.create'));
  if (!state.user) {
    return h('div', null, pageTitle(t('quiz.create')), loginNotice('quiz.login_to_create'));
  }
  const root = h('div', { class: 'quiz-create' });
  const answers = new Map();
  let pairs = [];

  const countId = uid('count');
  const countSelect = h('select', { id: countId, name: 'count', 'data-testid': 'pair-count' },
    [8, 12, 16, 24, 32].map((n) => h('option', { value: String(n), selected: n === 12 }, t('quiz.n_questions', { n }))));
  const reload = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'load-pairs' }, t('quiz.new_pairs'));
  const questions = h('div', { class: 'questions', 'aria-live': 'polite' });
  const errors = messageSlot();
  const title = field({ name: 'title', label: t('quiz.exam_title'), hint: t('hint.title'), required: true, attrs: { maxlength: '30', 'data-testid': 'exam-title' } });
  title.input.value = t('quiz.default_title', { name: state.user.username });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': 'submit-exam' }, t('quiz.make'));

  async function loadPairs() {
    errors.clear();
    try {
      const data = await get(`/quiz/pairs${query({ count: countSelect.value })}`);
      pairs = Array.isArray(data) ? data : data.items || [];
      answers.clear();
      const list = pairs.map((p) => ({ pair_id: p.id, left: p.left, right: p.right }));
      replace(questions, list.map((q, i) => questionFieldset(q, i, null, (pairId, foodId) => answers.set(pairId, foodId))));
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
      if (!list.length || !checkAllAnswered(list, answers, errors)) return;
      busy(submit, async () => {
        errors.clear();
        try {
          const exam = await post('/exams', {
            title: title.input.value.trim(),
            answers: pairs.map((p) => ({ pair_id: p.id, food_id: answers.get(p.id) })),
          });
          renderCreated(root, exam);
        } catch (err) {
          errors.showError(err, {}, showFieldErrors(form, err));
          if (err.status === 401) errors.replaceChildren(loginNotice('quiz.login_to_create'));
        }
      });
    },
  },
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

function renderCreated(root, exam) {
  replace(root,
    h('div', { class: 'created', 'data-testid': 'exam-created' },
      pageTitle(t('quiz.created')),
      h('p', null, t('quiz.created_lead', { title: exam.title, n: exam.question_count })),
      h('p', { class: 'code-display' }, srOnly(t('quiz.code') + ' '), h('span', { 'data-testid': 'exam-code' }, exam.code)),
      shareSheet({ url: shareUrl(exam.code), text: examText(exam.title) }),
      shareBox(shareUrl(exam.code), t('quiz.share')),
      h('div', { class: 'row' },
        h('a', { class: 'btn btn-secondary', href: `/quiz/${exam.code}/scoreboard` }, t('quiz.scoreboard')),
        h('a', { class: 'btn btn-ghost', href: '/me#my-exams' }, t('me.exams')))));
  root.querySelector('h1')?.focus();
  announce(t('quiz.created'));
}

// ---------------------------------------------------------------- take

function examHeader(exam) {
  return h('div', { class: 'exam-head' },
    pageTitle(exam.title),
    h('p', { class: 'meta' },
      t('quiz.by', { author: exam.author }), ' · ',
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
  const exam = await get(`/exams/${code}`);
  ctx.setTitle(exam.title);
  const root = h('div', { class: 'quiz-take' });

  if (!state.user) {
    replace(root, examHeader(exam), loginNotice('quiz.login_to_take'));
    return root;
  }
  if (state.user.username.toLowerCase() === String(exam.author).toLowerCase()) {
    replace(root, examHeader(exam),
      h('div', { class: 'alert alert-info' }, h('p', null, t('quiz.own_exam'))),
      shareBox(shareUrl(exam.code), t('quiz.share')),
      h('p', null, h('a', { class: 'btn btn-primary', href: `/quiz/${exam.code}/scoreboard` }, t('quiz.scoreboard'))));
    return root;
  }
  let result = null;
  try {
    result = await get(`/exams/${code}/attempt`);
  } catch (err) {
    if (err.status !== 404) throw err;
  }
  if (result) renderResult(root, exam, result, null, () => renderForm(root, exam, result));
  else renderForm(root, exam, null);
  return root;
}

function renderForm(root, exam, previous) {
  const answers = new Map();
  if (previous) for (const q of previous.questions || []) if (q.guess_id) answers.set(pairIdOf(q, exam), q.guess_id);
  const errors = messageSlot();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': 'submit-attempt' }, t('quiz.submit'));
  const list = exam.questions;
  const form = h('form', {
    class: 'card questions-card',
    novalidate: true,
    onsubmit: (e) => {
      e.preventDefault();
      if (!checkAllAnswered(list, answers, errors)) return;
      busy(submit, async () => {
        errors.clear();
        try {
          const outcome = await put(`/exams/${exam.code}/attempt`, {
            answers: list.map((q) => ({ pair_id: q.pair_id, food_id: answers.get(q.pair_id) })),
          });
          const result = await get(`/exams/${exam.code}/attempt`);
          exam.participant_count = outcome.participant_count;
          renderResult(root, exam, result, outcome, () => renderForm(root, exam, result));
          announce(t('quiz.score_announce', { score: outcome.score, total: outcome.total }));
        } catch (err) {
          errors.showError(err, { conflict: 'quiz.own_exam', not_found: 'quiz.not_found' });
        }
      });
    },
  },
  h('p', { class: 'hint' }, t('quiz.take_hint', { author: exam.author })),
  h('div', { class: 'questions' }, list.map((q, i) => questionFieldset(q, i, answers.get(q.pair_id), (p, f) => answers.set(p, f)))),
  errors,
  submit);
  replace(root, examHeader(exam), form);
}

/** Result questions carry left/right foods; find the pair id from the exam's questions. */
function pairIdOf(resultQuestion, exam) {
  const q = exam.questions.find((x) => x.index === resultQuestion.index);
  return q ? q.pair_id : resultQuestion.pair_id;
}

/** Per-question result like the original app: author's answer filled, wrong guesses in orange. */
export function resultList(result) {
  return h('ol', { class: 'result-list', 'data-testid': 'result-list' },
    (result.questions || []).map((q) => {
      const chip = (food) => {
        const isAnswer = food.id === q.answer_id;
        const isGuess = food.id === q.guess_id;
        const cls = ['result-chip', isAnswer ? 'is-answer' : '', isGuess && !isAnswer ? 'is-wrong' : '', isGuess && isAnswer ? 'is-right' : ''];
        const notes = [];
        if (isAnswer) notes.push(t('quiz.mark_answer'));
        if (isGuess) notes.push(isAnswer ? t('quiz.mark_right') : t('quiz.mark_wrong'));
        return h('span', { class: cls, 'data-food-id': String(food.id) },
          isGuess ? h('span', { class: 'mark', 'aria-hidden': 'true' }, isAnswer ? '✓' : '✗') : null,
          food.name,
          notes.length ? srOnly(` (${notes.join(', ')})`) : null);
      };
      return h('li', { class: ['result-row', q.correct ? 'correct' : 'wrong'] },
        h('span', { class: 'q-num', 'aria-hidden': 'true' }, `${q.index + 1}.`),
        chip(q.left), chip(q.right));
    }));
}

function resultLegend() {
  return h('p', { class: 'legend' },
    h('span', { class: 'result-chip is-answer small' }, t('quiz.legend_answer')),
    h('span', { class: 'result-chip is-wrong small' }, t('quiz.legend_wrong')));
}

function renderResult(root, exam, result, outcome, retake) {
  const who = state.user?.username || '';
  const summary = outcome
    ? h('p', { class: 'score-summary', 'data-testid': 'rank' }, t('quiz.rank', { rank: outcome.rank, n: outcome.participant_count }))
    : null;
  replace(root,
    examHeader(exam),
    h('section', { class: 'section result', 'aria-labelledby': 'result-title' },
      h('h2', { id: 'result-title', class: 'result-title' },
        who, ' ', h('span', { class: 'score', 'data-testid': 'score' }, `[${result.score}/${result.total}]`)),
      summary,
      resultLegend(),
      resultList(result),
      shareSheet({ url: shareUrl(exam.code), text: resultText(exam.author, result.score, result.total) }),
      h('div', { class: 'row' },
        h('a', { class: 'btn btn-primary', href: `/quiz/${exam.code}/scoreboard`, 'data-testid': 'scoreboard-link' }, t('quiz.scoreboard')),
        retake ? h('button', { type: 'button', class: 'btn btn-secondary', onclick: retake }, t('quiz.retake')) : null)));
  root.querySelector('#result-title')?.setAttribute('tabindex', '-1');
  root.querySelector('#result-title')?.focus();
}

// ---------------------------------------------------------------- scoreboard

export async function scoreboardView(ctx) {
  const code = normalizeCode(ctx.params.code);
  const board = await get(`/exams/${code}/scoreboard`);
  ctx.setTitle(t('quiz.scoreboard_of', { title: board.title }));
  let author = null;
  try {
    author = (await get(`/exams/${code}`)).author;
  } catch {
    author = null;
  }
  const isAuthor = state.user && author && state.user.username.toLowerCase() === author.toLowerCase();
  const rows = board.participants.map((p) => {
    const mine = state.user && p.username.toLowerCase() === state.user.username.toLowerCase();
    const name = isAuthor
      ? h('a', { href: `/quiz/${code}/attempts/${encodeURIComponent(p.username).replace(/\./g, '%2E')}` }, p.username)
      : p.username;
    return h('tr', { class: mine ? 'highlight' : null },
      h('td', null, String(p.rank)),
      h('td', null, name, mine ? srOnly(` (${t('quiz.me')})`) : null, mine ? h('span', { class: 'badge', 'aria-hidden': 'true' }, t('quiz.me')) : null),
      h('td', { class: 'num' }, `${p.score}/${board.question_count}`));
  });
  return h('div', { class: 'scoreboard' },
    pageTitle(t('quiz.scoreboard_of', { title: board.title })),
    h('p', { class: 'meta' }, t('quiz.n_questions', { n: board.question_count }), ' · ', t('quiz.participants', { n: board.participants.length })),
    board.participants.length
      ? h('div', { class: 'table-wrap' }, h('table', { class: 'ranking', 'data-testid': 'scoreboard' },
          h('thead', null, h('tr', null,
            h('th', { scope: 'col' }, t('ranking.rank')),
            h('th', { scope: 'col' }, t('quiz.participant')),
            h('th', { scope: 'col', class: 'num' }, t('quiz.score_col')))),
          h('tbody', null, rows)))
      : h('p', { class: 'empty' }, t('quiz.no_participants')),
    h('div', { class: 'row' },
      h('a', { class: 'btn btn-primary', href: `/quiz/${code}` }, t('quiz.to_exam')),
      h('a', { class: 'btn btn-secondary', href: '/quiz/new' }, t('quiz.create'))),
    shareBox(shareUrl(code), t('quiz.share')));
}

/** The author's view of one participant's answers. */
export async function attemptOfView(ctx) {
  const code = normalizeCode(ctx.params.code);
  const username = ctx.params.username;
  const result = await get(`/exams/${code}/attempts/${encodeURIComponent(username)}`);
  ctx.setTitle(`${username} [${result.score}/${result.total}]`);
  return h('div', { class: 'quiz-take' },
    pageTitle(h('span', null, username, ' ', h('span', { class: 'score' }, `[${result.score}/${result.total}]`))),
    resultLegend(),
    resultList(result),
    h('p', null, h('a', { class: 'btn btn-secondary', href: `/quiz/${code}/scoreboard` }, t('quiz.scoreboard'))));
}


