/* Parloir — what every staff page's script shares: texts in French and English (the language
 * kept in localStorage and switched by #lang-toggle), a tiny DOM helper, field marking.
 * Each page calls window.ParloirStaffKit(TEXTS) with its own dictionary. No inline code (CSP).
 */
'use strict';

window.ParloirStaffKit = function makeStaffKit(TEXTS) {
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

  function t(key, vars) {
    const dict = TEXTS[lang] || TEXTS.fr;
    let text = Object.prototype.hasOwnProperty.call(dict, key) ? dict[key] : TEXTS.fr[key];
    if (text === undefined) return key;
    if (vars) {
      text = text.replace(/\{(\w+)\}/g, (m, name) =>
        (Object.prototype.hasOwnProperty.call(vars, name) && vars[name] != null ? String(vars[name]) : m));
    }
    return text;
  }

  function known(key) {
    return Object.prototype.hasOwnProperty.call(TEXTS.fr, key);
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

  return {
    get lang() { return lang; },
    renderers, t, known, say, setLang, initLang, applyI18n, $, h, fill, setInvalid,
    storageGet, storageSet,
  };
};
