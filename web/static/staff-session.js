/* Parloir — the signed-in staff member on every staff page. Loaded before the page's script.
 *  - asks the server who is signed in (/api/staff/me); without a session, goes to /connexion;
 *  - adds the session's CSRF token to every state-changing request (fetch is wrapped once);
 *  - a 401 from the API (session over) sends back to /connexion, then back here;
 *  - shows who is signed in and a sign-out button in the top bar; hides links to pages and
 *    parts of pages (data-needs="permission") the member's roles do not open;
 *  - puts the member's name in the pages' "agent" fields (#staff, #actor), read only:
 *    the server writes the signed-in member anyway.
 * window.ParloirStaff.ready resolves with the member ({login, name, roles, permissions, ...}).
 */
'use strict';

(function staffSession() {
  const LANG = (() => {
    try {
      const asked = new URLSearchParams(window.location.search).get('lang');
      return asked === 'en' || asked === 'fr' ? asked : (window.localStorage.getItem('parloir.lang') || 'fr');
    } catch (e) { return 'fr'; }
  })();
  const T = {
    fr: { signedIn: 'Connecté : {name}', signOut: 'Se déconnecter', password: 'Mot de passe' },
    en: { signedIn: 'Signed in: {name}', signOut: 'Sign out', password: 'Password' },
  };
  const t = (key, name) => (T[LANG === 'en' ? 'en' : 'fr'][key] || key).replace('{name}', name || '');
  T.fr.password = 'Changer de mot de passe';
  T.en.password = 'Change password';

  const nativeFetch = window.fetch.bind(window);
  let csrf = '';

  function toLogin() {
    const back = window.location.pathname + window.location.search;
    window.location.assign('/connexion?suite=' + encodeURIComponent(back));
  }

  const ready = nativeFetch('/api/staff/me', { credentials: 'same-origin', cache: 'no-store' })
    .then((response) => {
      if (response.status === 401) {
        toLogin();
        return new Promise(() => {}); // the page is leaving
      }
      if (!response.ok) throw new Error('staff session: ' + response.status);
      return response.json();
    })
    .then((me) => {
      csrf = me.csrf;
      return me;
    });

  window.fetch = async function fetchWithSession(input, init) {
    const options = Object.assign({}, init || {});
    const method = (options.method || (input && input.method) || 'GET').toUpperCase();
    if (!['GET', 'HEAD', 'OPTIONS'].includes(method)) {
      await ready;
      const headers = new Headers(options.headers || (input && input.headers) || {});
      headers.set('X-CSRF-Token', csrf);
      options.headers = headers;
    }
    options.credentials = options.credentials || 'same-origin';
    const response = await nativeFetch(input, options);
    const url = typeof input === 'string' ? input : (input && input.url) || '';
    if (response.status === 401 && url.indexOf('/api/staff/login') === -1) {
      const copy = response.clone();
      try {
        const body = await copy.json();
        if (body && body.reason === 'staff.login_required') toLogin();
      } catch (e) { /* not JSON: leave it to the page */ }
    }
    return response;
  };

  function render(me) {
    const bar = document.querySelector('header.topbar');
    if (bar && !document.getElementById('session-box')) {
      const box = document.createElement('div');
      box.id = 'session-box';
      box.className = 'session-box';
      const who = document.createElement('span');
      who.className = 'session-who';
      who.textContent = t('signedIn', me.name);
      who.title = (me.role_labels || []).join(', ');
      const out = document.createElement('button');
      out.type = 'button';
      out.id = 'sign-out';
      out.className = 'link-button';
      out.textContent = t('signOut');
      out.addEventListener('click', async () => {
        await window.fetch('/api/staff/logout', { method: 'POST' });
        window.location.assign('/connexion');
      });
      const change = document.createElement('a');
      change.href = '/connexion?changer=1&suite=' + encodeURIComponent(window.location.pathname);
      change.id = 'change-password';
      change.textContent = t('password');
      box.append(who, change, out);
      const toggle = document.getElementById('lang-toggle');
      if (toggle) bar.insertBefore(box, toggle); else bar.append(box);
    }
    const denied = new Set(me.denied_pages || []);
    document.querySelectorAll('header a[href], nav a[href]').forEach((a) => {
      const path = new URL(a.href, window.location.href).pathname;
      if (denied.has(path)) {
        const item = a.closest('li') || a;
        item.hidden = true;
      }
    });
    // Parts of pages the member's roles do not open: hidden by CSS (desk.css), so parts the
    // page's script adds later are hidden as well. The server refuses them anyway.
    (me.permissions || []).forEach((p) => document.documentElement.classList.add('can-' + p));
    document.documentElement.classList.add('staff-known');
    ['staff', 'actor'].forEach((id) => {
      const input = document.getElementById(id);
      if (!input || input.tagName !== 'INPUT') return;
      input.value = me.name + ' (' + me.login + ')';
      input.readOnly = true;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      const holder = input.closest('.guard-bar, .staff-bar, .actor-bar') || input.parentElement;
      if (holder) holder.hidden = true;
    });
  }

  window.ParloirStaff = { ready };
  ready.then((me) => {
    if (document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', () => render(me));
    } else {
      render(me);
    }
  }).catch(() => { /* the page's own calls will show the error */ });
})();
