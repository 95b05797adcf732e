// ipmat web app: boot, header, and the History-API router.

import { h, replace } from '/js/dom.js';
import { get, ApiError } from '/js/api.js';
import { t, getLang, setLang, onLangChange } from '/js/i18n.js';
import { state, loadUser, onUserChange, setNavigator, setUser, rememberedUser } from '/js/state.js';
import { errorBox, loading, notFoundPage } from '/js/ui.js';

/**
 * A view loaded on first use: the server preloads the first page's modules
 * (`modulepreload`), every other screen, the admin above all, is fetched when it is opened.
 */
const lazy = (url, name) => async (ctx) => {
  let module;
  try {
    module = await import(url);
  } catch {
    // Offline before this screen was ever opened: say so in words.
    throw new ApiError(0, { code: 'network' });
  }
  return module[name](ctx);
};
const homeView = lazy('/js/views/home.js', 'homeView');
const bookView = lazy('/js/views/book.js', 'bookView');
const wc = (name) => lazy('/js/views/worldcup.js', name);
const quiz = (name) => lazy('/js/views/quiz.js', name);
const loginView = lazy('/js/views/auth.js', 'loginView');
const signupView = lazy('/js/views/auth.js', 'signupView');
const meView = lazy('/js/views/me.js', 'meView');
const adminView = lazy('/js/views/admin.js', 'adminView');
const foodView = lazy('/js/views/food.js', 'foodView');
const myPlaysView = lazy('/js/views/myplays.js', 'myPlaysView');
const makeCupView = lazy('/js/views/community.js', 'makeCupView');

const routes = [
  ['/', homeView],
  ['/books/:id', bookView],
  ['/books/:id/ranking', wc('rankingView')],
  ['/worldcup', wc('worldcupResumeView')],
  ['/worldcup/:id', wc('worldcupView')],
  ['/quiz', quiz('quizHubView')],
  ['/quiz/new', quiz('quizCreateView')],
  ['/quiz/:code', quiz('quizTakeView')],
  ['/quiz/:code/scoreboard', quiz('scoreboardView')],
  ['/quiz/:code/attempts/:username', quiz('attemptOfView')],
  ['/login', loginView],
  ['/signup', signupView],
  ['/me', meView],
  ['/me/worldcups', myPlaysView],
  ['/foods/:id', foodView],
  ['/admin', adminView],
  ['/admin/:tab', adminView],
  ['/make', makeCupView],
  ['/make/:id', makeCupView],
].map(([pattern, view]) => {
  const names = [];
  const source = pattern.replace(/:([a-z]+)/g, (_, name) => {
    names.push(name);
    return '([^/]+)';
  });
  return { regex: new RegExp(`^${source}/?$`), names, view };
});

function match(pathname) {
  for (const route of routes) {
    const m = route.regex.exec(pathname);
    if (m) {
      const params = {};
      route.names.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1]);
      });
      return { view: route.view, params };
    }
  }
  return null;
}

const main = document.getElementById('main');
let renderToken = 0;
let cleanups = [];

function leave() {
  for (const fn of cleanups) fn();
  cleanups = [];
}

/** Renders the current location into <main>. */
async function render({ focus = true } = {}) {
  const token = ++renderToken;
  leave();
  const url = new URL(window.location.href);
  const found = match(url.pathname);
  renderHeader();
  main.setAttribute('aria-busy', 'true');
  replace(main, loading());
  const keyHandlers = [];
  const onKeyDown = (e) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const tag = e.target?.tagName;
    if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || e.target?.isContentEditable) return;
    for (const fn of keyHandlers) if (fn(e)) e.preventDefault();
  };
  document.addEventListener('keydown', onKeyDown);
  cleanups.push(() => document.removeEventListener('keydown', onKeyDown));
  const ctx = {
    params: found?.params || {},
    query: url.searchParams,
    setTitle: (title) => {
      if (token === renderToken) document.title = title ? `${title} · ${t('app.name')}` : t('app.name');
    },
    onLeave: (fn) => cleanups.push(fn),
    onKey: (fn) => keyHandlers.push(fn),
    offKeys: () => keyHandlers.splice(0),
    redirect: (path) => queueMicrotask(() => go(path, { replace: true })),
    isCurrent: () => token === renderToken,
  };
  let content;
  try {
    content = found ? await found.view(ctx) : notFound(ctx);
  } catch (err) {
    content = failure(err, ctx);
  }
  if (token !== renderToken) return;
  replace(main, content);
  main.removeAttribute('aria-busy');
  if (focus) {
    const heading = main.querySelector('h1');
    if (heading) {
      if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }
  if (url.hash) document.getElementById(url.hash.slice(1))?.scrollIntoView();
}

function notFound(ctx) {
  return notFoundPage(ctx, { title: 'error.page_not_found', message: 'error.page_not_found_lead' });
}

function failure(err, ctx) {
  if (err?.status === 404) return notFoundPage(ctx, err.notFound || {});
  ctx.setTitle(t('error.title'));
  const retry = h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => render() }, t('common.retry'));
  return h('div', { class: 'failure' },
    h('h1', { tabindex: '-1' }, t('error.title')),
    errorBox(err),
    h('div', { class: 'row' }, retry, h('a', { class: 'btn btn-ghost', href: '/' }, t('nav.home'))));
}

/** Client-side navigation. */
function go(path, { replace: replaceEntry = false } = {}) {
  const target = new URL(path, window.location.origin);
  if (target.origin !== window.location.origin) {
    window.location.assign(path);
    return;
  }
  const next = target.pathname + target.search + target.hash;
  if (replaceEntry) history.replaceState(null, '', next);
  else history.pushState(null, '', next);
  render();
}
setNavigator(go);

// Same-origin links navigate without a page load.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
  const a = e.target.closest?.('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, window.location.href);
  if (url.origin !== window.location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/media/') || url.pathname.startsWith('/docs')) return;
  e.preventDefault();
  if (url.pathname === window.location.pathname && url.search === window.location.search && url.hash) {
    history.pushState(null, '', url.hash);
    document.getElementById(url.hash.slice(1))?.scrollIntoView();
    return;
  }
  go(url.pathname + url.search + url.hash);
});
window.addEventListener('popstate', () => render());

// ---------------------------------------------------------------- header

const header = document.getElementById('site-header');
// The page's own icon link carries the icon's versioned URL (cached for a year).
const brandIcon = document.querySelector('link[rel="icon"][sizes="48x48"]')?.getAttribute('href') || '/icons/icon-48.png';
function renderHeader() {
  const path = window.location.pathname;
  const current = (prefix) => (prefix === '/' ? path === '/' || path.startsWith('/books') || path.startsWith('/worldcup') : path.startsWith(prefix));
  const link = (href, label, prefix = href) => h('a', { href, 'aria-current': current(prefix) ? 'page' : null }, label);
  const langButton = h('button', {
    type: 'button',
    class: 'lang-toggle',
    lang: getLang() === 'ko' ? 'en' : 'ko',
    'aria-label': t('lang.switch_label'),
    'data-testid': 'lang-toggle',
    onclick: () => setLang(getLang() === 'ko' ? 'en' : 'ko'),
  }, t('lang.other'));
  replace(header,
    h('div', { class: 'header-top' },
      h('a', { class: 'brand', href: '/' },
        h('img', { src: brandIcon, alt: '', width: '28', height: '28' }),
        h('span', null, t('app.name'))),
      langButton),
    h('nav', { class: 'main-nav', 'aria-label': t('nav.label') },
      link('/', t('nav.worldcup')),
      link('/quiz', t('nav.quiz')),
      state.user ? link('/me', t('nav.me_named', { name: state.user.display_name || state.user.username }), '/me') : link('/login', t('nav.login'), '/login'),
      state.user?.is_admin ? link('/admin', t('nav.admin')) : null),
    navigator.onLine === false ? h('p', { class: 'offline-banner', role: 'status', 'data-testid': 'offline' }, t('offline.banner')) : null);
}

// Offline, the shell stays and says so; back online, the page loads again.
window.addEventListener('offline', () => renderHeader());
window.addEventListener('online', () => render({ focus: false }));

onUserChange(() => renderHeader());
onLangChange(() => {
  document.documentElement.lang = getLang();
  document.getElementById('skip-link').textContent = t('nav.skip');
  render({ focus: false });
});

// ---------------------------------------------------------------- boot

/**
 * Paints at once with the user remembered from the last visit (so a signed-in visitor never
 * sees "log in" flash), asks the server in parallel who is signed in and for the config, and
 * draws the page again only if the answer differs from the remembered user.
 */
async function boot() {
  document.documentElement.lang = getLang();
  document.getElementById('skip-link').textContent = t('nav.skip');
  // The server says whether a session cookie came with the page: without one nobody is
  // signed in, and there is nothing to ask.
  const noSession = document.querySelector('meta[name="ipmat-session"]')?.content === 'none';
  const remembered = noSession ? null : rememberedUser();
  if (remembered || noSession) setUser(remembered);
  renderHeader();
  get('/config').then((config) => {
    state.config = config;
    const footer = document.getElementById('version');
    if (footer && config?.version) footer.textContent = `ipmat ${config.version}`;
  }).catch(() => {});
  const confirmed = noSession ? Promise.resolve(true) : loadUser().then(() => true, () => false);
  // Without a remembered user the page waits for the answer (it decides what the page shows).
  if (!remembered) await confirmed;
  const first = render({ focus: false });
  if (remembered && (await confirmed) && !sameUser(remembered, state.user)) {
    await first;
    await render({ focus: false });
  }
}

function sameUser(a, b) {
  return (a?.username ?? null) === (b?.username ?? null) && Boolean(a?.is_admin) === Boolean(b?.is_admin);
}

// The service worker keeps the shell and icons for offline use; registered after the page
// has loaded so it never competes with the first view.
if ('serviceWorker' in navigator) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
  });
}

boot();
