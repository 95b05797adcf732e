// Reusable pieces of UI: error messages, busy buttons, copy-to-clipboard, food pictures.

import { h, srOnly, uid } from './dom.js';
import { t, hasKey } from './i18n.js';
import { ApiError } from './api.js';

/**
 * A message people understand for any failure, in the current language.
 * `overrides` maps problem codes to i18n keys for this context (e.g. {conflict: 'signup.taken'}).
 */
export function errorMessage(err, overrides = {}) {
  if (!(err instanceof ApiError)) {
    console.error(err);
    return t('error.unexpected');
  }
  const key = overrides[err.code] || overrides[err.status];
  if (key) return t(key);
  if (err.code === 'rate_limited' && err.retryAfter) return t('error.rate_limited_for', { seconds: err.retryAfter });
  if (err.code === 'unavailable' && err.retryAfter) return t('error.unavailable_for', { seconds: err.retryAfter });
  if (hasKey(`error.${err.code}`)) return t(`error.${err.code}`);
  if (err.status >= 500) return t('error.server');
  return err.detail || t('error.unexpected');
}

/**
 * The message for one field error: what is wrong with a known field (`invalid.NAME`, which adds
 * to the hint under the input rather than repeating it), else its hint, else the server's words.
 */
export function fieldMessage(field, message) {
  const name = String(field || '').split('.').pop().replace(/\[\d+\]$/, '');
  if (hasKey(`invalid.${name}`)) return t(`invalid.${name}`);
  if (hasKey(`hint.${name}`)) return t(`hint.${name}`);
  return message || t('error.validation_failed');
}

/** A field label for an error list. */
function fieldLabel(field) {
  const name = String(field || '').split('.').pop().replace(/\[\d+\]$/, '');
  return hasKey(`field.${name}`) ? t(`field.${name}`) : field;
}

/** An alert box describing `err`; field errors not shown next to inputs are listed. */
export function errorBox(err, overrides = {}, shownFields = new Set()) {
  const box = h('div', { class: 'alert alert-error', role: 'alert' }, h('p', null, errorMessage(err, overrides)));
  if (err instanceof ApiError && err.errors.length) {
    const rest = err.errors.filter((e) => !shownFields.has(e.field));
    if (rest.length) {
      box.append(h('ul', null, rest.map((e) => h('li', null, `${fieldLabel(e.field)}: ${fieldMessage(e.field, e.message)}`))));
    }
  }
  return box;
}

/** A slot in which errors (or a success message) appear and are replaced. */
export function messageSlot() {
  const slot = h('div', { class: 'message-slot' });
  slot.showError = (err, overrides, shown) => {
    slot.replaceChildren(errorBox(err, overrides, shown));
  };
  slot.showInfo = (text) => {
    slot.replaceChildren(h('div', { class: 'alert alert-info', role: 'status' }, text));
  };
  slot.clear = () => slot.replaceChildren();
  return slot;
}

/** Clears `slot` (a messageSlot) as soon as any input of `form` changes: no stale message stays. */
export function clearOnInput(form, slot) {
  const clear = () => slot.clear();
  form.addEventListener('input', clear);
  form.addEventListener('change', clear);
  return form;
}

/** Marks `input` invalid with `message` under it (its `#ID-error` slot); cleared by editing it. */
export function flagField(input, message) {
  input.setAttribute('aria-invalid', 'true');
  const slot = document.getElementById(`${input.id}-error`);
  if (slot) slot.textContent = message;
}

/**
 * Shows field errors from a validation failure next to the form's inputs (by `name`).
 * Returns the set of fields that were shown, so errorBox can list only the others.
 */
export function showFieldErrors(form, err) {
  const shown = new Set();
  for (const el of form.querySelectorAll('[aria-invalid="true"]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  if (!(err instanceof ApiError)) return shown;
  for (const e of err.errors) {
    const name = String(e.field || '').split('.')[0].replace(/\[\d+\]$/, '');
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    const slot = input && form.querySelector(`#${CSS.escape(input.id)}-error`);
    if (input && slot) {
      input.setAttribute('aria-invalid', 'true');
      slot.textContent = fieldMessage(e.field, e.message);
      shown.add(e.field);
    }
  }
  const first = form.querySelector('[aria-invalid="true"]');
  if (first) first.focus();
  return shown;
}

/** Clears field errors of a form. */
export function clearFieldErrors(form) {
  showFieldErrors(form, null);
}

/**
 * Runs `action` while `button` shows progress: disabled, aria-busy, spinner.
 * Returns the action's result; the button is restored even on failure.
 */
export async function busy(button, action) {
  if (!button) return action();
  if (button.dataset.busy === '1') return undefined;
  button.dataset.busy = '1';
  const wasDisabled = button.disabled;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  const spinner = h('span', { class: 'spinner', 'aria-hidden': 'true' });
  button.prepend(spinner);
  try {
    return await action();
  } finally {
    spinner.remove();
    button.removeAttribute('aria-busy');
    button.disabled = wasDisabled;
    delete button.dataset.busy;
  }
}

/** A labelled text input with an error slot; returns {wrap, input}. */
export function field({ name, label, type = 'text', value = '', hint = null, required = false, attrs = {} }) {
  const id = uid(name);
  const describedBy = [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(' ');
  const tag = type === 'textarea' ? 'textarea' : 'input';
  const input = h(tag, {
    id,
    name,
    type: tag === 'input' ? type : null,
    required,
    'aria-describedby': describedBy,
    ...attrs,
  });
  input.value = value ?? '';
  // A field's error goes as soon as its value changes: the message was about the old value.
  input.addEventListener('input', () => {
    if (input.getAttribute('aria-invalid') !== 'true') return;
    input.removeAttribute('aria-invalid');
    const slot = wrap.querySelector('.field-error');
    if (slot) slot.textContent = '';
  });
  const wrap = h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    input,
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null,
    h('p', { class: 'field-error', id: `${id}-error`, 'aria-live': 'polite' }),
  );
  return { wrap, input };
}

/** Copies `text`, announcing the outcome. Falls back to selecting the text. */
export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    toast(t('common.copied'));
    return true;
  } catch {
    if (input) {
      input.focus();
      input.select();
      try {
        if (document.execCommand('copy')) {
          toast(t('common.copied'));
          return true;
        }
      } catch {
        /* fall through to the manual hint */
      }
    }
    toast(t('common.copy_manually'));
    return false;
  }
}

/** A read-only share link with a copy button (and the native share sheet when available). */
export function shareBox(url, label) {
  const id = uid('share');
  const input = h('input', { id, type: 'text', readonly: true, value: url, class: 'share-input', 'data-testid': 'share-link' });
  input.addEventListener('focus', () => input.select());
  const copy = h('button', { type: 'button', class: 'btn btn-primary', onclick: () => copyText(url, input) }, t('common.copy'));
  const children = [h('label', { for: id }, label), h('div', { class: 'share-row' }, input, copy)];
  if (navigator.share) {
    children.push(
      h('button', {
        type: 'button',
        class: 'btn btn-ghost share-native',
        onclick: () => navigator.share({ url, title: document.title }).catch(() => {}),
      }, t('common.share')),
    );
  }
  return h('div', { class: 'share-box' }, children);
}

/** Short-lived status message at the bottom of the screen (also read by screen readers). */
let toastTimer = null;
export function toast(text) {
  const el = document.getElementById('toast');
  if (!el) return;
  el.textContent = text;
  el.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('show'), 2500);
}

/** Announces `text` to screen readers through the polite live region. */
export function announce(text) {
  const el = document.getElementById('announcer');
  if (!el) return;
  el.textContent = '';
  // A new text node in a later frame makes screen readers repeat identical messages too.
  requestAnimationFrame(() => {
    el.textContent = text;
  });
}

/**
 * A stored picture: `<picture>` with the WebP as a source where the API names one (browsers
 * that take WebP load it, others the JPEG or PNG of `<img>`), a plain `<img>` otherwise. The
 * `<img>` keeps every attribute (size, loading, alt); `<picture>` is `display: contents`, so
 * the layout is the image's alone.
 */
export function picture(src, webp, attrs) {
  const img = h('img', { ...attrs, src });
  if (!webp) return img;
  return h('picture', null, h('source', { type: 'image/webp', srcset: webp }), img);
}

/**
 * A food picture with the food name as alt text; a neutral tile when there is no image.
 * Pictures are stored within 600×500: the size attributes reserve their box before they load
 * (no layout shift). Below the fold they load lazily; `eager` for the first screen's picture.
 */
export function foodImage(food, { alt = true, className = 'food-img', useAlt = false, eager = false } = {}) {
  const [url, webp] = useAlt && food.alt_image_url
    ? [food.alt_image_url, food.alt_image_webp_url]
    : [food.image_url, food.image_webp_url];
  if (url) {
    return picture(url, webp, { class: className, alt: alt ? food.name : '', width: '600', height: '500', loading: eager ? 'eager' : 'lazy', decoding: 'async' });
  }
  return h(
    'span',
    { class: `${className} img-placeholder`, role: alt ? 'img' : null, 'aria-label': alt ? food.name : null },
    h('span', { 'aria-hidden': 'true' }, (food.name || '?').slice(0, 1)),
  );
}

/**
 * The page shown when a path, code or id names nothing: titled "not found" (no retry, which
 * could not help), with what was not found and ways on. `message` is an i18n key.
 */
export function notFoundPage(ctx, { message = 'error.not_found', title = 'error.not_found_title', links = [] } = {}) {
  ctx.setTitle(t(title));
  return h('div', { class: 'not-found', 'data-testid': 'not-found' },
    h('h1', { class: 'page-title', tabindex: '-1' }, t(title)),
    h('p', { class: 'lead' }, t(message)),
    h('div', { class: 'row' },
      links.map(([href, label]) => h('a', { class: 'btn btn-secondary', href }, t(label))),
      h('a', { class: 'btn btn-primary', href: '/' }, t('nav.home'))));
}

/**
 * Tags a 404 from loading a page with what was not found, so that the router shows
 * notFoundPage with these words: `get(...).catch(notFoundAs('quiz.not_found', [['/quiz', 'quiz.title']]))`.
 */
export function notFoundAs(message, links = []) {
  return (err) => {
    if (err?.status === 404) err.notFound = { message, links };
    throw err;
  };
}

/**
 * Removes a row of a list; when it was the last one, the list (or its table) gives way to the
 * section's empty-state line, so that an emptied section still says "아직 … 없어요".
 */
export function removeRow(row, emptyText) {
  const list = row.parentElement;
  row.remove();
  if (!list || list.querySelector(':scope > :not(.empty)')) return;
  const target = list.tagName === 'TBODY' ? list.closest('.table-wrap') || list.closest('table') : list;
  if (target.tagName === 'UL' || target.tagName === 'OL') target.replaceChildren(h('li', { class: 'empty' }, emptyText));
  else target.replaceWith(h('p', { class: 'empty' }, emptyText));
}

/** A centered loading indicator. */
export function loading() {
  return h('div', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('common.loading'));
}

/** A page title (h1) that receives focus after navigation. */
export function pageTitle(text, extra = null) {
  return h('h1', { class: 'page-title', tabindex: '-1' }, text, extra);
}

/** "3 / 8"-like small counters etc. */
export function badge(text, cls = '') {
  return h('span', { class: `badge ${cls}` }, text);
}

export { srOnly };
