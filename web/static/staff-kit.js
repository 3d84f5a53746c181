/* Parloir — what every staff page's module shares, on the pages' one layer (lang.js, api.js,
 * dom.js, format.js): the page's texts joined to the kit's, the JSON requests in the page's
 * language, and, on the pages behind a session (session.js), the staff navigation and the
 * session box rendered once here from /api/staff/me. Each page calls makeStaffKit(TEXTS);
 * the sign-in and the kiosk's enrolment pages, which have no session, pass {session: false}.
 * No inline code (CSP).
 */
import { createLang } from './lang.js';
import { request } from './api.js';
import { $, h, fill, setInvalid, storageGet, storageSet, whenParsed } from './dom.js';
import { dateTime } from './format.js';
import { staffSession } from './session.js';

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
    'session.signed_in': 'Connecté : {name}',
    'session.sign_out': 'Se déconnecter',
    'session.password': 'Changer de mot de passe',
    'common.network': 'Le serveur ne répond pas. Vérifiez le réseau, puis réessayez.',
    'common.server_error': 'Erreur du serveur ({status}). Réessayez dans un instant.',
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
    'session.signed_in': 'Signed in: {name}',
    'session.sign_out': 'Sign out',
    'session.password': 'Change password',
    'common.network': 'The server does not answer. Check the network, then try again.',
    'common.server_error': 'Server error ({status}). Try again in a moment.',
  },
};

export function makeStaffKit(TEXTS, options) {
  const lang = createLang(TEXTS, SHARED_TEXTS);
  const { t, known } = lang;
  let timeZone; // the establishment's, once known (else the browser's)

  /** A JSON request in the page's language: {ok, status, data}, never throws (api.js). */
  const call = (method, path, payload, raw) =>
    request(method, path, payload, { lang: lang.lang, t, known, raw });

  /** The links to the staff pages the member's roles open (me.pages), after the brand in the
   *  top bar; the page shown is marked aria-current="page". Links are plain <a>: Tab reaches
   *  them, Enter follows them. Texts are data-i18n keys, so the language toggle renews them. */
  function renderNav(me, bar) {
    if (document.getElementById('staff-nav')) return;
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

  /** Who is signed in, a sign-out button and the way to change one's password. */
  function renderSessionBox(me, bar) {
    if (document.getElementById('session-box')) return;
    const who = h('span', { class: 'session-who', title: (me.role_labels || []).join(', ') });
    lang.say(who, () => t('session.signed_in', { name: me.name }));
    const out = h('button', {
      type: 'button', id: 'sign-out', class: 'link-button', dataset: { i18n: 'session.sign_out' },
      text: t('session.sign_out'),
      onclick: async () => {
        await call('POST', '/api/staff/logout');
        window.location.assign('/connexion');
      },
    });
    const change = h('a', {
      id: 'change-password', dataset: { i18n: 'session.password' }, text: t('session.password'),
      href: '/connexion?changer=1&suite=' + encodeURIComponent(window.location.pathname),
    });
    const box = h('div', { id: 'session-box', class: 'session-box' }, who, change, out);
    const toggle = document.getElementById('lang-toggle');
    if (toggle && toggle.parentElement === bar) bar.insertBefore(box, toggle); else bar.append(box);
  }

  /** The member's pages and permissions on this page: links to pages the roles do not open
   *  are hidden, parts of pages (data-needs) by CSS through the can-* classes (desk.css), so
   *  parts added later are hidden too. The server refuses them anyway. */
  function renderSession(me) {
    const bar = document.querySelector('header.topbar');
    if (bar) {
      renderNav(me, bar);
      renderSessionBox(me, bar);
    }
    const denied = new Set(me.denied_pages || []);
    document.querySelectorAll('header a[href], nav a[href]').forEach((a) => {
      if (denied.has(new URL(a.href, window.location.href).pathname)) (a.closest('li') || a).hidden = true;
    });
    (me.permissions || []).forEach((p) => document.documentElement.classList.add('can-' + p));
    document.documentElement.classList.add('staff-known');
  }

  const session = options && options.session === false ? null : staffSession();
  if (session) {
    session.then((me) => whenParsed(() => renderSession(me)))
      .catch(() => { /* the page's own calls show the error */ });
  }

  return {
    get lang() { return lang.lang; },
    get timeZone() { return timeZone; },
    renderers: lang.renderers, t, known, say: lang.say, setText: lang.setText, setRaw: lang.setRaw,
    setLang: lang.setLang, initLang: lang.initLang, applyI18n: lang.applyI18n,
    $, h, fill, setInvalid, storageGet, storageSet, call, session,
    setTimeZone: (zone) => { if (zone) timeZone = zone; },
    /** Intl date/time text in the page's language and the establishment's time zone. */
    format: (ms, opts) => dateTime(lang.lang, ms, opts, timeZone),
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
  };
}
