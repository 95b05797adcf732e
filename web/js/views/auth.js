// Sign up and log in.

import { h } from '../dom.js';
import { post } from '../api.js';
import { t } from '../i18n.js';
import { setUser, navigate } from '../state.js';
import { busy, clearOnInput, field, flagField, messageSlot, pageTitle, showFieldErrors, clearFieldErrors, toast } from '../ui.js';

/** Only same-site paths are followed after login (never an absolute URL). */
export function safeNext(query) {
  const next = query.get('next');
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

/**
 * What is wrong with a sign-up, by field (`username`, `password`, `password_confirm`), in words
 * that add to each field's hint: the length it has, the characters it may not have.
 */
export function signupProblems(name, pw, again) {
  const problems = {};
  const bad = [...new Set(name.replace(/[A-Za-z0-9_.-]/g, ''))].join(' ');
  if (!name) problems.username = t('invalid.username_empty');
  else if (bad) problems.username = t('invalid.username_chars', { chars: bad });
  else if (name.length < 3 || name.length > 15) problems.username = t('invalid.username_short', { n: name.length });
  if (!pw) problems.password = t('invalid.password_empty');
  else if (pw.length < 8) problems.password = t('invalid.password_short', { n: pw.length });
  else if (pw.length > 128) problems.password = t('invalid.password_long', { n: pw.length });
  if (pw && !again) problems.password_confirm = t('invalid.password_confirm_empty');
  else if (pw !== again) problems.password_confirm = t('invalid.password_confirm');
  return problems;
}

export async function loginView(ctx) {
  ctx.setTitle(t('nav.login'));
  const next = safeNext(ctx.query);
  const username = field({ name: 'username', label: t('field.username'), required: true, attrs: { autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', maxlength: '15' } });
  const password = field({ name: 'password', label: t('field.password'), type: 'password', required: true, attrs: { autocomplete: 'current-password', maxlength: '128' } });
  const errors = messageSlot();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, t('nav.login'));
  const form = h('form', {
    class: 'card auth-form',
    novalidate: true,
    onsubmit: (e) => {
      e.preventDefault();
      clearFieldErrors(form);
      errors.clear();
      if (!username.input.value.trim() || !password.input.value) {
        errors.showInfo(t('auth.fill_in'));
        (username.input.value.trim() ? password.input : username.input).focus();
        return;
      }
      busy(submit, async () => {
        try {
          const out = await post('/auth/login', { username: username.input.value.trim(), password: password.input.value });
          setUser(out.user);
          toast(t('auth.welcome', { name: out.user.username }));
          navigate(next, { replace: true });
        } catch (err) {
          errors.showError(err, { unauthorized: 'auth.bad_credentials' }, showFieldErrors(form, err));
          password.input.select();
        }
      });
    },
  }, username.wrap, password.wrap, errors, submit);
  clearOnInput(form, errors);
  return h('div', { class: 'auth' },
    pageTitle(t('nav.login')),
    form,
    h('p', { class: 'center' }, t('auth.no_account'), ' ', h('a', { href: `/signup${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}` }, t('nav.signup'))));
}

export async function signupView(ctx) {
  ctx.setTitle(t('nav.signup'));
  const next = safeNext(ctx.query);
  const username = field({ name: 'username', label: t('field.username'), hint: t('hint.username'), required: true, attrs: { autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', maxlength: '15', minlength: '3', pattern: '[A-Za-z0-9_.\\-]{3,15}' } });
  const password = field({ name: 'password', label: t('field.password'), hint: t('hint.password'), type: 'password', required: true, attrs: { autocomplete: 'new-password', minlength: '8', maxlength: '128' } });
  const confirm = field({ name: 'password_confirm', label: t('field.password_confirm'), type: 'password', required: true, attrs: { autocomplete: 'new-password', maxlength: '128' } });
  const birth = field({ name: 'birth_date', label: t('field.birth_date'), hint: t('hint.birth_date_optional'), type: 'date', attrs: { max: new Date().toISOString().slice(0, 10), min: '1900-01-01' } });
  const errors = messageSlot();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, t('nav.signup'));

  function localError(input, message) {
    flagField(input, message);
    input.focus();
  }

  const form = h('form', {
    class: 'card auth-form',
    novalidate: true,
    onsubmit: (e) => {
      e.preventDefault();
      clearFieldErrors(form);
      errors.clear();
      const name = username.input.value.trim();
      const pw = password.input.value;
      // Every problem at once, each saying what is wrong with this value (the hint says the rule).
      const problems = signupProblems(name, pw, confirm.input.value);
      const inputs = { username: username.input, password: password.input, password_confirm: confirm.input };
      for (const [key, message] of Object.entries(problems)) flagField(inputs[key], message);
      const first = Object.keys(problems)[0];
      if (first) {
        errors.showInfo(t('auth.fix_fields'));
        inputs[first].focus();
        return undefined;
      }
      const body = { username: name, password: pw };
      if (birth.input.value) body.birth_date = birth.input.value;
      busy(submit, async () => {
        try {
          const out = await post('/auth/signup', body);
          setUser(out.user);
          toast(t('auth.welcome', { name: out.user.username }));
          navigate(next, { replace: true });
        } catch (err) {
          errors.showError(err, { conflict: 'auth.taken' }, showFieldErrors(form, err));
          if (err.code === 'conflict') localError(username.input, t('auth.taken'));
        }
      });
      return undefined;
    },
  }, username.wrap, password.wrap, confirm.wrap, birth.wrap, errors, submit);
  clearOnInput(form, errors);
  return h('div', { class: 'auth' },
    pageTitle(t('nav.signup')),
    form,
    h('p', { class: 'center' }, t('auth.have_account'), ' ', h('a', { href: `/login${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}` }, t('nav.login'))));
}
