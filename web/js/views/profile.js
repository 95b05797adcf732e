// The profile editor on my page: anyone changes their display name; a guest becomes a member by
// choosing a username and password (their quizzes and results stay theirs).

import { h } from '../dom.js';
import { patch } from '../api.js';
import { t } from '../i18n.js';
import { setUser, state } from '../state.js';
import { busy, field, messageSlot, showFieldErrors, toast } from '../ui.js';

export function profileEditor(user) {
  const errors = messageSlot();
  const name = field({ name: 'display_name', label: t('guest.name'), hint: t('guest.name_hint'), value: user.display_name, attrs: { maxlength: '20', 'data-testid': 'profile-name' } });
  const fields = [name.wrap];
  let username = null;
  let password = null;
  if (user.is_guest) {
    username = field({ name: 'username', label: t('field.username'), hint: t('hint.username'), attrs: { autocomplete: 'username', autocapitalize: 'none', maxlength: '15', 'data-testid': 'profile-username' } });
    password = field({ name: 'password', type: 'password', label: t('field.password'), hint: t('hint.password'), attrs: { autocomplete: 'new-password', 'data-testid': 'profile-password' } });
    fields.push(h('p', { class: 'hint' }, t('guest.upgrade_hint')), username.wrap, password.wrap);
  }
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'profile-save' }, user.is_guest ? t('guest.upgrade') : t('common.save'));
  const form = h('form', {
    class: 'profile-edit',
    novalidate: true,
    onsubmit: (e) => {
      e.preventDefault();
      const body = {};
      if (name.input.value.trim() !== state.user.display_name) body.display_name = name.input.value;
      if (username && (username.input.value.trim() || password.input.value)) {
        body.username = username.input.value.trim();
        body.password = password.input.value;
      }
      busy(save, async () => {
        errors.clear();
        try {
          const me = await patch('/me', body);
          setUser(me);
          toast(t('guest.saved'));
        } catch (err) {
          errors.showError(err, { conflict: 'auth.taken' }, showFieldErrors(form, err));
        }
      });
    },
  }, fields, errors, save);
  return h('details', { class: 'profile-details', open: user.is_guest ? true : null }, h('summary', null, t('guest.edit_profile')), form);
}
