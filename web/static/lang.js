/* Parloir — the one text engine of every page: French by default, English, the choice kept in
 * localStorage ("parloir.lang") and taken from ?lang= when a link gives it (ES module).
 *
 * createLang(...dictionaries) joins {fr: {...}, en: {...}} dictionaries (the first one given
 * wins a key) and returns {t, known, applyI18n, say, setText, setRaw, setLang, initLang, ...}.
 * Markup names its texts: data-i18n="key" (textContent, data-i18n-vars holds JSON vars,
 * data-i18n-fallback the text for an unknown key, e.g. the server's sentence) and
 * data-i18n-attr="attr:key;attr:key". `{name}` placeholders take the given vars, then the
 * configured figures (/config.js's PARLOIR_CONFIG.vars, e.g. {codeMinutes}): a figure the
 * gateway's configuration sets is never written in a text. A var {time: ms} is a time of day.
 * A language change rewrites the markup, the texts put with say()/setText(), runs the
 * registered renderers and fires "parloir:lang" on document.
 */
import { storageGet, storageSet } from './dom.js';

export const LANGS = ['fr', 'en'];
const LANG_KEY = 'parloir.lang';

const own = (dict, key) => Boolean(dict) && Object.prototype.hasOwnProperty.call(dict, key);

/** The page's language: ?lang= (then kept), else the one kept, else French. */
export function detectLang() {
  const asked = (new URLSearchParams(window.location.search).get('lang') || '').toLowerCase();
  if (LANGS.includes(asked)) {
    storageSet(LANG_KEY, asked);
    return asked;
  }
  const saved = storageGet(LANG_KEY);
  return LANGS.includes(saved) ? saved : 'fr';
}

export function createLang(...dictionaries) {
  const texts = {};
  LANGS.forEach((code) => {
    texts[code] = Object.assign({}, ...dictionaries.map((d) => (d && d[code]) || {}).reverse());
  });
  let lang = detectLang();
  const renderers = [];
  const live = new Map();   // element -> function giving its text in the current language
  const configVars = (window.PARLOIR_CONFIG && window.PARLOIR_CONFIG.vars) || {};
  const defaults = {};

  function known(key) { return own(texts.fr, key) || own(texts[lang], key); }

  function timeOfDay(ms) {
    try {
      return new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'fr-FR',
        { hour: '2-digit', minute: '2-digit' }).format(new Date(ms));
    } catch (e) {
      const d = new Date(ms);
      return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
    }
  }

  function formatVar(value) {
    if (value && typeof value === 'object' && typeof value.time === 'number') return timeOfDay(value.time);
    return value == null ? '' : String(value);
  }

  /** `key` in the current language, its {placeholders} replaced; the key itself if unknown. */
  function t(key, given) {
    const text = own(texts[lang], key) ? texts[lang][key] : texts.fr[key];
    if (text === undefined) return key;
    const vars = Object.assign({}, defaults, configVars, given || {});
    return text.replace(/\{(\w+)\}/g, (m, name) => (own(vars, name) ? formatVar(vars[name]) : m));
  }

  function render(el) {
    const key = el.dataset.i18n;
    let vars = null;
    if (el.dataset.i18nVars) {
      try { vars = JSON.parse(el.dataset.i18nVars); } catch (e) { vars = null; }
    }
    if (known(key)) el.textContent = t(key, vars);
    else if (el.dataset.i18nFallback !== undefined) el.textContent = el.dataset.i18nFallback;
  }

  /** The current language on every [data-i18n] and [data-i18n-attr] under root. */
  function applyI18n(root) {
    const scope = root || document;
    document.documentElement.lang = lang;
    scope.querySelectorAll('[data-i18n]').forEach(render);
    scope.querySelectorAll('[data-i18n-attr]').forEach((el) => {
      el.dataset.i18nAttr.split(';').forEach((pair) => {
        const [attr, key] = pair.split(':').map((s) => s.trim());
        if (attr && key) el.setAttribute(attr, t(key));
      });
    });
    const toggle = document.getElementById('lang-toggle');
    if (toggle) toggle.setAttribute('lang', lang === 'fr' ? 'en' : 'fr');
    const title = document.querySelector('title[data-i18n]');
    if (title && known(title.dataset.i18n)) document.title = t(title.dataset.i18n);
  }

  /** Put a text in el: a string (e.g. the server's sentence) or a function giving the text in
   *  the current language (kept, and called again when the language changes). */
  function say(el, text) {
    if (!el) return;
    delete el.dataset.i18n;
    if (typeof text === 'function') {
      live.set(el, text);
      el.textContent = text();
    } else {
      live.delete(el);
      el.textContent = text || '';
    }
  }

  /** Put the text of `key` in el, kept in the markup (data-i18n) so a language change renews
   *  it; `fallback` is shown when the key is unknown (e.g. the server's sentence). */
  function setText(el, key, vars, fallback) {
    if (!el) return;
    live.delete(el);
    el.dataset.i18n = key;
    if (vars) el.dataset.i18nVars = JSON.stringify(vars); else delete el.dataset.i18nVars;
    if (fallback != null) el.dataset.i18nFallback = fallback; else delete el.dataset.i18nFallback;
    if (known(key)) el.textContent = t(key, vars);
    else el.textContent = fallback != null ? fallback : key;
  }

  /** Put a text that no language change touches (a name, the server's sentence). */
  function setRaw(el, text) {
    if (!el) return;
    live.delete(el);
    delete el.dataset.i18n;
    delete el.dataset.i18nVars;
    delete el.dataset.i18nFallback;
    el.textContent = text || '';
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
    applyI18n(document);
    live.forEach((text, el) => {
      if (el.isConnected) el.textContent = text(); else live.delete(el);
    });
    renderers.forEach((fn) => fn());
    document.dispatchEvent(new CustomEvent('parloir:lang', { detail: { lang: value } }));
  }

  /** The #lang-toggle button switches language; the markup gets the current one. */
  function initLang() {
    const toggle = document.getElementById('lang-toggle');
    if (toggle) toggle.addEventListener('click', () => setLang(lang === 'fr' ? 'en' : 'fr'));
    applyI18n(document);
  }

  return {
    get lang() { return lang; },
    renderers, defaults, t, known, applyI18n, say, setText, setRaw,
    clearText: (el) => setRaw(el, ''), setLang, initLang,
  };
}
