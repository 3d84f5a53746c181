/* Parloir — what every staff page's script shares: texts in French and English (the language
 * kept in localStorage and switched by #lang-toggle), a tiny DOM helper, field marking, and the
 * staff navigation (rendered here once, from /api/staff/me, on every page signed in through
 * staff-session.js). Each page calls window.ParloirStaffKit(TEXTS) with its own dictionary; the
 * kit's own texts (SHARED_TEXTS) fill what the page's lacks. No inline code (CSP).
 * An ES module (<script type="module">, no build step): each staff page's module imports
 * makeStaffKit. The kiosk's enrolment page, a classic script, loads this module before its own
 * deferred script (module and deferred scripts run in document order) and calls
 * window.ParloirStaffKit.
 */
/** The staff pages, in the navigation's order, with the text of their link. Which of them a
 *  member sees is the server's answer (/api/staff/me's `pages`, from gateway/core/roles.py's
 *  matrix): this list only orders and names them. `nav` keeps the desk's chosen day in a link. */
const STAFF_PAGES = [
  { path: '/desk', key: 'staffnav.desk', keyWithout: { book: 'staffnav.files' } },
  { path: '/desk/jour', key: 'staffnav.day', nav: 'day' },
  { path: '/desk/mouvements', key: 'staffnav.movements', nav: 'movements' },
  { path: '/desk/charte', key: 'staffnav.charter' },
  { path: '/desk/import', key: 'staffnav.import' },
  { path: '/monitor', key: 'staffnav.monitor' },
  { path: '/enregistrements', key: 'staffnav.recordings' },
  { path: '/audit', key: 'staffnav.audit' },
  { path: '/direction', key: 'staffnav.direction' },
  { path: '/regie', key: 'staffnav.regie' },
  { path: '/admin', key: 'staffnav.admin' },
];

const SHARED_TEXTS = {
  fr: {
    'staffnav.label': 'Pages des agents',
    'staffnav.desk': 'Réservations',
    'staffnav.files': 'Dossiers',
    'staffnav.day': 'Planning du jour',
    'staffnav.movements': 'Liste des mouvements',
    'staffnav.charter': 'Charte',
    'staffnav.import': 'Import CSV',
    'staffnav.monitor': 'Appels en cours',
    'staffnav.recordings': 'Enregistrements',
    'staffnav.audit': 'Journal d’audit',
    'staffnav.direction': 'Sanctions et durées',
    'staffnav.regie': 'Régie',
    'staffnav.admin': 'Comptes et bornes',
  },
  en: {
    'staffnav.label': 'Staff pages',
    'staffnav.desk': 'Bookings',
    'staffnav.files': 'Files',
    'staffnav.day': 'Day planning',
    'staffnav.movements': 'Movement list',
    'staffnav.charter': 'Charter',
    'staffnav.import': 'CSV import',
    'staffnav.monitor': 'Calls in progress',
    'staffnav.recordings': 'Recordings',
    'staffnav.audit': 'Audit log',
    'staffnav.direction': 'Sanctions and durations',
    'staffnav.regie': 'Accounts office',
    'staffnav.admin': 'Accounts and kiosks',
  },
};

export function makeStaffKit(TEXTS) {
  const LANGS = ['fr', 'en'];
  const LANG_KEY = 'parloir.lang';


  function storageGet(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }

  function storageSet(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ }
  }

  function detectLang() {
    const asked = (new URLSearchParams(window.location.search).get('lang') || '').toLowerCase();
    if (LANGS.includes(asked)) {
      storageSet(LANG_KEY, asked);
      return asked;
    }
    const saved = storageGet(LANG_KEY);
    return LANGS.includes(saved) ? saved : 'fr';
  }

  let lang = detectLang();
  const renderers = [];

  const has = (dict, key) => Boolean(dict) && Object.prototype.hasOwnProperty.call(dict, key);

  /** The configured figures the sentences name (/config.js, on the pages that load it). */
  const CONFIG_VARS = (window.PARLOIR_CONFIG && window.PARLOIR_CONFIG.vars) || {};

  function t(key, given) {
    const vars = Object.assign({}, CONFIG_VARS, given || {});
    let text;
    if (has(TEXTS.fr, key)) text = has(TEXTS[lang], key) ? TEXTS[lang][key] : TEXTS.fr[key];
    else if (has(SHARED_TEXTS.fr, key)) text = (SHARED_TEXTS[lang] || SHARED_TEXTS.fr)[key];
    if (text === undefined) return key;
    return text.replace(/\{(\w+)\}/g, (m, name) =>
      (Object.prototype.hasOwnProperty.call(vars, name) && vars[name] != null ? String(vars[name]) : m));
  }

  function known(key) {
    return has(TEXTS.fr, key) || has(SHARED_TEXTS.fr, key);
  }

  function applyI18n() {
    document.documentElement.lang = lang;
    document.querySelectorAll('[data-i18n]').forEach((el) => {
      if (known(el.dataset.i18n)) el.textContent = t(el.dataset.i18n);
    });
    document.querySelectorAll('[data-i18n-attr]').forEach((el) => {
      el.dataset.i18nAttr.split(';').forEach((pair) => {
        const [attr, key] = pair.split(':').map((s) => s.trim());
        if (attr && key) el.setAttribute(attr, t(key));
      });
    });
    const toggle = document.getElementById('lang-toggle');
    if (toggle) toggle.setAttribute('lang', lang === 'fr' ? 'en' : 'fr');
    const title = document.querySelector('title[data-i18n]');
    if (title) document.title = t(title.dataset.i18n);
  }

  /** Texts written by the script, rewritten when the language changes. */
  const live = new Map();

  /** Put a text in el: a string (e.g. the server's message) or a function giving the text in
   *  the current language (kept, and called again when the language changes). */
  function say(el, text) {
    if (!el) return;
    if (typeof text === 'function') {
      live.set(el, text);
      el.textContent = text();
    } else {
      live.delete(el);
      el.textContent = text || '';
    }
  }

  function setLang(value) {
    if (!LANGS.includes(value)) return;
    lang = value;
    storageSet(LANG_KEY, value);
    const url = new URL(window.location.href);
    if (url.searchParams.has('lang')) {
      url.searchParams.set('lang', value);
      window.history.replaceState(null, '', url.toString());
    }
    applyI18n();
    live.forEach((text, el) => {
      if (el.isConnected) el.textContent = text(); else live.delete(el);
    });
    renderers.forEach((render) => render());
  }

  function initLang() {
    const toggle = document.getElementById('lang-toggle');
    if (toggle) toggle.addEventListener('click', () => setLang(lang === 'fr' ? 'en' : 'fr'));
    applyI18n();
  }

  /* ------------------------------------------------------------------- DOM */

  const $ = (id) => document.getElementById(id);

  /** h('td', {class: 'x', text: 'y', dataset: {a: 1}, onclick: fn}, child, ...) */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (value == null || value === false) return;
      if (key === 'class') el.className = value;
      else if (key === 'text') el.textContent = value;
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? '' : String(value));
    });
    children.flat().forEach((child) => {
      if (child == null || child === false) return;
      el.append(child instanceof Node ? child : String(child));
    });
    return el;
  }

  /** Replace el's children, skipping null/false ones. */
  function fill(el, ...children) {
    el.replaceChildren(...children.flat().filter((c) => c != null && c !== false));
  }

  function setInvalid(input, invalid) {
    if (!input) return;
    if (invalid) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  /* ---------------------------------------------------------------- server */

  const KIT_TEXTS = {
    fr: {
      'common.network': 'Le serveur ne répond pas. Vérifiez le réseau, puis réessayez.',
      'common.server_error': 'Erreur du serveur ({status}). Réessayez dans un instant.',
    },
    en: {
      'common.network': 'The server does not answer. Check the network, then try again.',
      'common.server_error': 'Server error ({status}). Try again in a moment.',
    },
  };

  function kitText(key, vars) {
    return known(key) ? t(key, vars)
      : (KIT_TEXTS[lang] || KIT_TEXTS.fr)[key].replace('{status}', vars ? vars.status : '');
  }

  /** A JSON request to the API, in the page's language; resolves to {ok, status, data}, never
   *  throws. A refusal keeps the server's fields (reason, message, details); the message is
   *  the server's, in the page's language (gateway/core/reasons.py), or the page's own text for
   *  what the server cannot say ("reason.<reason>": no answer), a generic one for a bare HTTP
   *  error without a JSON body. */
  async function call(method, path, payload) {
    let response;
    const url = path + (path.includes('?') ? '&' : '?') + 'lang=' + lang;
    const options = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' };
    if (payload !== undefined) {
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(payload);
    }
    try {
      response = await window.fetch(url, options);
    } catch (e) {
      const message = known('reason.network') ? t('reason.network') : kitText('common.network');
      return { ok: false, status: 0, data: { reason: 'network', message } };
    }
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      if (!data || typeof data !== 'object' || Array.isArray(data)) data = {};
      data.reason = data.reason || 'http.' + response.status;
      if (known('reason.' + data.reason)) data.message = t('reason.' + data.reason);
      else if (!data.message) {
        data.message = kitText('common.server_error', { status: response.status });
      }
    }
    return { ok: response.ok, status: response.status, data: data == null ? {} : data };
  }

  /* ----------------------------------------------------------- formatting */

  let timeZone; // the establishment's, once known (else the browser's)

  function setTimeZone(zone) {
    if (zone) timeZone = zone;
  }

  /** Intl date/time text in the page's language and the establishment's time zone. */
  function format(ms, options) {
    const opts = Object.assign({}, options);
    if (timeZone) opts.timeZone = timeZone;
    const loc = lang === 'en' ? 'en-GB' : 'fr-FR';
    try {
      return new Intl.DateTimeFormat(loc, opts).format(new Date(ms));
    } catch (e) {
      delete opts.timeZone;
      return new Intl.DateTimeFormat(loc, opts).format(new Date(ms));
    }
  }

  /* ----------------------------------------------------------- navigation */

  /** The links to the staff pages the member's roles open (me.pages), after the brand in the
   *  top bar; the page shown is marked aria-current="page". Links are plain <a>: Tab reaches
   *  them, Enter follows them. Texts are data-i18n keys, so the language toggle renews them. */
  function renderNav(me) {
    const bar = document.querySelector('header.topbar');
    if (!bar || document.getElementById('staff-nav')) return;
    const open = new Set(me.pages || []);
    const granted = new Set(me.permissions || []);
    const here = window.location.pathname.replace(/\/+$/, '') || '/';
    const date = new URLSearchParams(window.location.search).get('date');
    const items = STAFF_PAGES.filter((p) => open.has(p.path)).map((p) => {
      const without = Object.keys(p.keyWithout || {}).find((perm) => !granted.has(perm));
      const key = without ? p.keyWithout[without] : p.key;
      const href = p.path + (p.nav && date ? '?date=' + encodeURIComponent(date) : '');
      return h('li', null, h('a', {
        href, 'aria-current': p.path === here ? 'page' : null,
        dataset: Object.assign({ i18n: key }, p.nav ? { nav: p.nav } : {}), text: t(key),
      }));
    });
    if (!items.length) return;
    const nav = h('nav', {
      id: 'staff-nav', class: 'staff-nav', 'aria-label': t('staffnav.label'),
      dataset: { i18nAttr: 'aria-label:staffnav.label' },
    }, h('ul', null, items));
    const brand = bar.querySelector('.brand');
    if (brand) brand.after(nav); else bar.prepend(nav);
  }

  if (window.ParloirStaff && window.ParloirStaff.ready) {
    window.ParloirStaff.ready.then((me) => {
      if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', () => renderNav(me));
      } else {
        renderNav(me);
      }
    }).catch(() => { /* no session: staff-session.js goes to the sign-in page */ });
  }

  return {
    get lang() { return lang; },
    get timeZone() { return timeZone; },
    renderers, t, known, say, setLang, initLang, applyI18n, $, h, fill, setInvalid,
    storageGet, storageSet, call, setTimeZone, format,
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
  };
}

// For the kiosk's enrolment page (a classic script).
window.ParloirStaffKit = makeStaffKit;
