/* Parloir — the relative's page as an installable web app.
 *
 * Caches the page's shell only (the page, its scripts, styles, icons and the information
 * notice), never what belongs to a call: no /api/ (codes, tokens), no /ws, no /config.js (TURN
 * credentials). Network first, so that a new version is served as soon as it is online; the
 * cached shell when offline, where the page itself says a call needs a connection. */
'use strict';

const CACHE = 'parloir-shell-v2';
const SHELL = [
  '/join',
  '/confidentialite',
  '/static/style.css',
  '/static/i18n.js',
  '/static/common.js',
  '/static/join.js',
  '/static/check.js',
  '/static/notice.js',
  '/static/icon-192.png',
  '/static/icon-512.png',
  '/manifest.webmanifest',
];

function cacheable(url) {
  return url.origin === self.location.origin && SHELL.includes(url.pathname);
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
  const url = new URL(request.url);
  if (!cacheable(url)) return;          // the browser fetches it as if there were no worker
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
        }
        return response;
      })
      .catch(() => caches.match(url.pathname)),
  );
});
