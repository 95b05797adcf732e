// ipmat's service worker: keeps the app shell (a page, the versioned scripts and styles, the
// icons) and the pictures already seen, so that the app opens offline and says it is offline
// (the header banner) instead of failing. The API is never cached: its answers are live.
//
// - pages: network first; offline, the same page as last seen, else the home page's shell;
// - versioned files (`?v=…`, cached for a year by the server too) and pictures: cache first;
// - other files of the app (icons, manifest): the cached copy at once, refreshed behind;
// - a picture that can be neither fetched nor found becomes a plain tile, never a broken image;
//   a WebP variant (`<picture>`'s source) not cached yet falls back to its picture's cached JPEG
//   or PNG (same name) first, so pictures seen before variants existed still show offline.

const VERSION = 'ipmat-1';
const SHELL = `${VERSION}-shell`;
const MEDIA = `${VERSION}-media`;
const MEDIA_MAX = 150;
const ICONS = ['/icons/icon-48.png', '/icons/icon-192.png', '/manifest.webmanifest'];
const TILE = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 6 5" width="600" height="500"><rect width="6" height="5" fill="#e8ecef"/></svg>';
const OFFLINE_PAGE = '<!doctype html><html lang="ko"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
  + '<title>입맛 · 오프라인</title><main><h1>오프라인이에요</h1><p>연결되면 다시 불러와 주세요.</p>'
  + '<p lang="en">You are offline. Reload when the connection is back.</p></main></html>';

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL);
    const page = await fetch('/', { cache: 'no-cache' });
    if (!page.ok) return;
    const html = await page.clone().text();
    await cache.put('/', page);
    // The shell's own files: every versioned URL the home page names (its stylesheet, icons,
    // and every module of the import map, so that any screen opens offline) and the icons.
    const named = new Set(ICONS);
    for (const m of html.matchAll(/"(\/[^"?]+\?v=[0-9a-f]+)"/g)) named.add(m[1]);
    await Promise.all([...named].map((url) => cache.add(url).catch(() => {})));
  })().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (!name.startsWith(`${VERSION}-`)) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname === '/metrics' || url.pathname.startsWith('/docs')) return;
  if (request.mode === 'navigate') {
    event.respondWith(page(request, url));
  } else if (url.searchParams.has('v')) {
    event.respondWith(cacheFirst(request, SHELL));
  } else if (url.pathname.startsWith('/media/') || url.pathname.startsWith('/og/')) {
    event.respondWith(cacheFirst(request, MEDIA).then((r) => r || tile()));
  } else {
    event.respondWith(staleWhileRevalidate(request, event));
  }
});

async function page(request, url) {
  const cache = await caches.open(SHELL);
  try {
    const response = await fetch(request);
    if (response.ok) cache.put(url.pathname, response.clone());
    return response;
  } catch {
    return (await cache.match(url.pathname)) || (await cache.match('/'))
      || new Response(OFFLINE_PAGE, { headers: { 'Content-Type': 'text/html; charset=utf-8' } });
  }
}

async function cacheFirst(request, name) {
  const cache = await caches.open(name);
  const found = await cache.match(request);
  if (found) return found;
  try {
    const response = await fetch(request);
    if (response.ok) {
      await cache.put(request, response.clone());
      if (name === MEDIA) trim(cache);
    }
    return response;
  } catch {
    if (name === MEDIA) {
      const sibling = await sameStem(cache, request);
      if (sibling) return sibling;
    }
    return isPicture(request) ? tile() : Response.error();
  }
}

/** The cached JPEG or PNG that a WebP variant was made from (`img/ab.webp` → `img/ab.jpg`). */
async function sameStem(cache, request) {
  const url = new URL(request.url);
  if (!url.pathname.endsWith('.webp')) return null;
  const stem = url.pathname.slice(0, -'.webp'.length);
  for (const ext of ['.jpg', '.png', '.jpeg', '.gif']) {
    const found = await cache.match(new URL(stem + ext, url));
    if (found) return found;
  }
  return null;
}

async function staleWhileRevalidate(request, event) {
  const cache = await caches.open(SHELL);
  const found = await cache.match(request, { ignoreSearch: false });
  const fresh = fetch(request).then((response) => {
    if (response.ok) cache.put(request, response.clone());
    return response;
  });
  if (found) {
    event.waitUntil(fresh.catch(() => {}));
    return found;
  }
  try {
    return await fresh;
  } catch {
    return isPicture(request) ? tile() : Response.error();
  }
}

function isPicture(request) {
  return request.destination === 'image' || /\.(png|jpe?g|webp|gif|svg)$/i.test(new URL(request.url).pathname);
}

function tile() {
  return new Response(TILE, { headers: { 'Content-Type': 'image/svg+xml' } });
}

/** Keeps the picture cache to its newest MEDIA_MAX entries. */
async function trim(cache) {
  const keys = await cache.keys();
  for (const key of keys.slice(0, Math.max(0, keys.length - MEDIA_MAX))) await cache.delete(key);
}
