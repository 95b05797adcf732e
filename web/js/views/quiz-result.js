// Quiz results: the score line, tier messages, the per-question list, the answer key and the
// share button. Guess mode speaks of right and wrong; match mode (입맛 궁합) of same and different.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { copyText, srOnly } from '../ui.js';

/** A person as exams name them: the display name, else the username. */
export function personName(p) {
  if (!p) return '';
  if (typeof p === 'string') return p;
  return p.display_name || p.username || '';
}

export function percent(rate) {
  return Math.round((Number(rate) || 0) * 100);
}

/** "5/8 · 63%". */
export function scoreLine(score, total, rate) {
  return `${score}/${total} · ${percent(rate)}%`;
}

/** The message of a result's tier, by mode. */
export function tierMessage(mode, rate) {
  const tiers = mode === 'match' ? ['match.tier_0', 'match.tier_1', 'match.tier_2', 'match.tier_3'] : ['quiz.tier_0', 'quiz.tier_1', 'quiz.tier_2', 'quiz.tier_3'];
  const r = Number(rate) || 0;
  const i = r >= 0.9 ? 3 : r >= 0.7 ? 2 : r >= 0.4 ? 1 : 0;
  return t(tiers[i]);
}

/**
 * Shares a quiz link with the caller's score in the text: the Web Share API where there is one,
 * else the text and link are copied.
 */
export function shareButton(url, text) {
  const button = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'share-result' }, t('quiz.share_result'));
  button.addEventListener('click', async () => {
    if (navigator.share) {
      try {
        await navigator.share({ title: document.title, text, url });
        return;
      } catch (err) {
        if (err && err.name === 'AbortError') return;
      }
    }
    await copyText(`${text} ${url}`);
  });
  return button;
}

/**
 * One row per question. `viewer` is 'self' (my result), 'author' (the author looking at a
 * friend's choices) or 'key' (the author's own answers, no guesses).
 */
export function resultList(result, { mode = 'guess', viewer = 'self' } = {}) {
  const match = mode === 'match';
  const labels = {
    answer: viewer === 'author' ? t('quiz.mark_mine') : match ? t('match.mark_theirs') : t('quiz.mark_answer'),
    guess: viewer === 'author' ? t('quiz.mark_friend') : t('quiz.mark_my_pick'),
    agree: match ? t('match.same') : t('quiz.right'),
    disagree: match ? t('match.different') : t('quiz.wrong'),
  };
  return h('ol', { class: 'result-list', 'data-testid': 'result-list' },
    (result.questions || []).map((q) => {
      const answer = q.answer_id;
      const guess = viewer === 'key' ? null : q.guess_id;
      const agree = guess != null && guess === answer;
      const chip = (food) => {
        const isAnswer = food.id === answer;
        const isGuess = guess != null && food.id === guess;
        const cls = ['result-chip', isAnswer ? 'is-answer' : '', isGuess && !isAnswer ? 'is-wrong' : '', isGuess && isAnswer ? 'is-right' : ''];
        const notes = [];
        if (isAnswer) notes.push(labels.answer);
        if (isGuess) notes.push(labels.guess);
        return h('span', { class: cls, 'data-food-id': String(food.id) },
          isGuess ? h('span', { class: 'mark', 'aria-hidden': 'true' }, isAnswer ? '✓' : '✗') : null,
          food.name,
          notes.length ? srOnly(` (${notes.join(', ')})`) : null);
      };
      const verdict = guess == null ? null
        : h('span', { class: ['verdict', agree ? 'is-agree' : 'is-disagree'], 'data-testid': 'verdict' }, agree ? labels.agree : labels.disagree);
      return h('li', { class: ['result-row', guess == null ? '' : agree ? 'correct' : 'wrong'] },
        h('span', { class: 'q-num', 'aria-hidden': 'true' }, `${q.index + 1}.`),
        chip(q.left), chip(q.right), verdict);
    }));
}

/** The colour key above a result list. */
export function resultLegend({ mode = 'guess', viewer = 'self', authorName = '' } = {}) {
  const match = mode === 'match';
  const answer = viewer === 'author' || viewer === 'key' ? t('quiz.mark_mine')
    : match ? t('match.legend_theirs', { name: authorName }) : t('quiz.legend_answer');
  const guess = viewer === 'author' ? t('quiz.mark_friend') : match ? t('match.legend_mine') : t('quiz.legend_wrong');
  return h('p', { class: 'legend' },
    h('span', { class: 'result-chip is-answer small' }, answer),
    viewer === 'key' ? null : h('span', { class: 'result-chip is-wrong small' }, guess));
}
