// Admin: the quiz's question bank. New pairs from two searched foods; the whole bank, newest
// first, searchable by food name and paged, each pair deletable (retired when a quiz uses it).

import { h, replace, uid } from '../dom.js';
import { get, post, del, query } from '../api.js';
import { t, fmtNumber } from '../i18n.js';
import { busy, messageSlot, toast } from '../ui.js';
import { foodPicker } from './admin.js';

const listOf = (data) => (Array.isArray(data) ? data : data?.items || []);

export async function pairsTab(panel) {
  const chosen = { left: null, right: null };
  const shown = { left: h('p', { class: 'picked' }), right: h('p', { class: 'picked' }) };
  const errors = messageSlot();
  const add = h('button', { type: 'button', class: 'btn btn-primary' }, t('admin.add_pair'));
  const render = () => {
    for (const side of ['left', 'right']) {
      shown[side].textContent = chosen[side] ? t('admin.picked', { name: chosen[side].name }) : t('admin.not_picked');
    }
    add.disabled = !chosen.left || !chosen.right || chosen.left.id === chosen.right.id;
  };
  const bank = pairBank();
  add.addEventListener('click', () => busy(add, async () => {
    errors.clear();
    try {
      await post('/quiz/pairs', { left_id: chosen.left.id, right_id: chosen.right.id });
      toast(t('admin.pair_added'));
      await bank.load(true);
    } catch (err) {
      errors.showError(err, { conflict: 'admin.pair_exists' });
    }
  }));
  render();
  replace(panel,
    h('section', { class: 'card editor' },
      h('h2', null, t('admin.new_pair')),
      h('div', { class: 'pair-pickers' },
        h('div', null, foodPicker({ label: t('admin.left_food'), onPick: (f) => { chosen.left = f; render(); } }), shown.left),
        h('div', null, foodPicker({ label: t('admin.right_food'), onPick: (f) => { chosen.right = f; render(); } }), shown.right)),
      errors, add),
    bank.section);
  await bank.load(true);
}

/** The whole question bank, newest first: searchable by food name, paged, each pair deletable. */
function pairBank() {
  const list = h('ul', { class: 'admin-list', 'data-testid': 'pair-list' });
  const total = h('p', { class: 'hint', 'data-testid': 'pair-total', 'aria-live': 'polite' });
  const slot = messageSlot();
  const more = h('button', { type: 'button', class: 'btn btn-ghost', hidden: true }, t('common.more'));
  const searchId = uid('q');
  const search = h('input', { id: searchId, type: 'search', name: 'q', autocomplete: 'off', 'data-testid': 'pair-search' });
  let cursor = null;
  let timer = null;
  let seq = 0;

  function row(pair) {
    const name = t('admin.pair_name', { left: pair.left.name, right: pair.right.name });
    const remove = h('button', { type: 'button', class: 'btn btn-danger btn-small', 'aria-label': t('admin.delete_pair_label', { name }) }, t('admin.delete'));
    const li = h('li', { 'data-pair-id': String(pair.id) },
      h('span', { class: 'admin-item-text' }, h('strong', null, name),
        pair.exam_count ? h('span', { class: 'meta' }, t('admin.pair_used', { n: fmtNumber(pair.exam_count) })) : null),
      h('span', { class: 'admin-actions' }, remove));
    remove.addEventListener('click', () => {
      if (!window.confirm(t('admin.confirm_delete_pair', { name }))) return;
      busy(remove, async () => {
        try {
          await del(`/quiz/pairs/${pair.id}`);
          li.remove();
          toast(pair.exam_count ? t('admin.pair_retired') : t('admin.pair_deleted'));
          await load(true);
        } catch (err) {
          slot.showError(err);
        }
      });
    });
    return li;
  }

  async function load(reset) {
    const mine = ++seq;
    try {
      const q = search.value.trim();
      const page = await get(`/admin/quiz/pairs${query({ q, limit: 30, cursor: reset ? null : cursor })}`);
      if (mine !== seq) return;
      if (reset) list.replaceChildren();
      for (const pair of listOf(page)) list.append(row(pair));
      if (!list.children.length) list.append(h('li', { class: 'empty' }, q ? t('admin.no_pairs_found') : t('admin.no_pairs')));
      total.textContent = t('admin.pairs_total', { n: fmtNumber(page.total ?? 0) });
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
      slot.clear();
    } catch (err) {
      slot.showError(err);
    }
  }
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => load(true), 250);
  });
  more.addEventListener('click', () => busy(more, () => load(false)));
  const section = h('section', { class: 'section', 'aria-labelledby': 'bank-title' },
    h('div', { class: 'section-head' }, h('h2', { id: 'bank-title' }, t('admin.pair_sample')), total),
    h('div', { class: 'field' }, h('label', { for: searchId }, t('admin.search_pairs')), search),
    slot, list, more);
  return { section, load };
}
