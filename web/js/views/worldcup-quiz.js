// "내 월드컵 픽 맞혀봐": on the champion screen, one tap turns the finished cup into a quiz whose
// answers are my picks (only for the signed-in member or guest who played it).

import { h, replace } from '../dom.js';
import { post } from '../api.js';
import { t } from '../i18n.js';
import { state } from '../state.js';
import { busy, messageSlot } from '../ui.js';
import { renderCreated } from './quiz.js';

export function worldcupQuizBlock(cup) {
  if (!state.user || !cup.finished) return null;
  const errors = messageSlot();
  const button = h('button', { type: 'button', class: 'btn btn-primary btn-block', 'data-testid': 'worldcup-quiz' }, t('wcq.button'));
  const block = h('div', { class: 'card worldcup-quiz' }, h('p', null, t('wcq.lead')), button, errors);
  button.addEventListener('click', () => busy(button, async () => {
    errors.clear();
    try {
      const exam = await post(`/worldcups/${encodeURIComponent(cup.id)}/exam`, {});
      const root = h('div', { class: 'quiz-create' });
      renderCreated(root, exam);
      replace(block, root);
    } catch (err) {
      errors.showError(err, { forbidden: 'wcq.not_owner' });
    }
  }));
  return block;
}
