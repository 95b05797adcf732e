// The share sheet: one button that opens the system share sheet where the browser has the Web
// Share API (how KakaoTalk and Instagram are reached on phones); elsewhere it copies the link and
// shows an X (Twitter) post link. The shared text is specific to what is shared.

import { h, uid } from './dom.js';
import { t } from './i18n.js';
import { copyText } from './ui.js';

/** The X (Twitter) "post" intent for a text and a link. */
export function xIntentUrl(text, url) {
  return `https://twitter.com/intent/tweet?text=${encodeURIComponent(text)}&url=${encodeURIComponent(url)}`;
}

/** A world cup's name as people say it: book names usually end in 월드컵 (or "world cup") already. */
export function cupName(book) {
  const name = String(book || '').trim();
  if (!name) return t('share.cup_plain');
  return /(월드컵|world cup)$/i.test(name) ? name : t('share.cup', { book: name });
}

/** What a champion's share says: "내 점심 메뉴 월드컵 우승은 순대! 너는?" */
export function championText(book, champion) {
  return t('share.champion_text', { cup: cupName(book), name: champion });
}

/** What the author of an exam says when sharing it. */
export function examText(title) {
  return t('share.exam_text', { title });
}

/** What a participant says about their result. */
export function resultText(author, score, total) {
  return t('share.result_text', { author, score, total });
}

/**
 * The share button with its fallbacks. `url` is the link shared, `text` the message with it.
 * Where `navigator.share` is missing (or fails other than by the user cancelling) the link is
 * copied at once and the copy and X buttons are shown.
 */
export function shareSheet({ url, text, title = document.title }) {
  const copy = h('button', {
    type: 'button',
    class: 'btn btn-secondary',
    'data-testid': 'share-copy',
    onclick: () => copyText(url),
  }, t('share.copy'));
  const x = h('a', {
    class: 'btn btn-ghost',
    href: xIntentUrl(text, url),
    target: '_blank',
    rel: 'noopener noreferrer',
    'data-testid': 'share-x',
  }, t('share.x'));
  const fallback = h('div', { class: 'share-fallback', id: uid('share-fallback'), hidden: true, 'data-testid': 'share-fallback' }, copy, x);
  const button = h('button', {
    type: 'button',
    class: 'btn btn-primary share-button',
    'data-testid': 'share-button',
    'aria-controls': fallback.id,
    'aria-expanded': 'false',
  }, t('share.button'));
  button.addEventListener('click', async () => {
    if (typeof navigator.share === 'function') {
      try {
        await navigator.share({ title, text, url });
        return;
      } catch (err) {
        if (err && err.name === 'AbortError') return;
      }
    }
    fallback.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    await copyText(url);
  });
  return h('div', { class: 'share-sheet', 'data-testid': 'share-sheet' },
    h('p', { class: 'share-text', 'data-testid': 'share-text' }, text),
    button,
    fallback);
}
