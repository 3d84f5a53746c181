/* Parloir — the relative's page as an installable web app.
 *
 * Caches the page's shell only (the page, its scripts, styles, icons and the information
 * notice), never what belongs to a call: no /api/ (codes, tokens), no /ws, no /config.js (TURN
 * credentials). Network first, so that a new version is served as soon as it is online; the
 * cached shell when offline, where the page itself says a call needs a connection. */
'use strict';

const CACHE = 'parloir-shell-v4';
const SHELL = [
  '/join',
  '/confidentialite',
  '/static/style.css',
  '/static/join.js',
  '/static/call.js',
  '/static/call-texts.js',
  '/static/lang.js',
  '/static/api.js',
  '/static/dom.js',
  '/static/format.js',
  '/static/rtc.js',
  '/static/quality.js',
  '/static/check.js',
  '/static/notice.js',
  '/static/icon-192.png',
  '/static/icon-512.png',
  '/manifest.webmanifest',
];
/* The query parameters that choose another version of a page (the detainee's notice): they
 * are part of its cache key. Any other one (/join?appel=…) is left out of the key, and so
 * never stored. */
const VARIANTS = { '/confidentialite': ['pour'] };

function cacheKey(url) {
  if (url.origin !== self.location.origin || !SHELL.includes(url.pathname)) return null;
  const kept = new URLSearchParams();
  (VARIANTS[url.pathname] || []).forEach((name) => {
    if (url.searchParams.has(name)) kept.set(name, url.searchParams.get(name));
  });
  const query = kept.toString();
  return url.pathname + (query ? '?' + query : '');
}

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const key = cacheKey(new URL(request.url));
  if (!key) return;          // the browser fetches it as if there were no worker
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(key, copy));
        }
        return response;
      })
      .catch(() => caches.match(key)),
  );
});
