// Shared app state: the signed-in user, the server config, localStorage, and navigation.

import { get, ApiError } from './api.js';

export const state = {
  /** The signed-in user `{username, birth_date, is_admin, created_at}`, or null. */
  user: null,
  /** `{media_base_url, version}` from /api/v1/config, or null until loaded. */
  config: null,
  /** Book ids the user starred (a Set), or null when logged out or not loaded. */
  favorites: null,
};

const listeners = new Set();

/** Calls `fn` whenever the user changes (login, logout). Returns an unsubscribe function. */
export function onUserChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function setUser(user) {
  state.user = user;
  state.favorites = null;
  store.set('user', user ? JSON.stringify(user) : null);
  for (const fn of listeners) fn(user);
}

/** The user of the last visit, kept so the next one paints signed in at once (then checked). */
export function rememberedUser() {
  try {
    const user = JSON.parse(store.get('user') || 'null');
    return user && typeof user.username === 'string' ? user : null;
  } catch {
    return null;
  }
}

/** Asks the server who is signed in; 401 means nobody. Other failures propagate. */
export async function loadUser() {
  try {
    setUser(await get('/me'));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) setUser(null);
    else throw err;
  }
  return state.user;
}

/** Loads the favourite book ids of the signed-in user (cached until the user changes). */
export async function loadFavorites() {
  if (!state.user) return null;
  if (!state.favorites) {
    const books = await get('/me/favorites');
    const list = Array.isArray(books) ? books : books?.items || [];
    state.favorites = new Set(list.map((b) => b.id));
  }
  return state.favorites;
}

/** localStorage that never throws (private mode, quota). */
export const store = {
  get(key) {
    try {
      return localStorage.getItem(`ipmat.${key}`);
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      if (value === null || value === undefined) localStorage.removeItem(`ipmat.${key}`);
      else localStorage.setItem(`ipmat.${key}`, value);
    } catch {
      /* storage unavailable: the feature just isn't remembered */
    }
  },
};

let navigator_ = (path) => {
  window.location.assign(path);
};

/** Set by the router. */
export function setNavigator(fn) {
  navigator_ = fn;
}

/** Client-side navigation (History API). `replace` replaces the current entry. */
export function navigate(path, { replace = false } = {}) {
  navigator_(path, { replace });
}

/** The current path + query, for "come back here after login". */
export function currentLocation() {
  return window.location.pathname + window.location.search;
}

/** The login URL that returns to the current page afterwards. */
export function loginHref(next = currentLocation()) {
  return `/login?next=${encodeURIComponent(next)}`;
}
