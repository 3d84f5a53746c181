/* Parloir — the one JSON request helper of every page (ES module).
 *
 * request(method, path, payload, options) resolves to {ok, status, data} and never throws.
 * The page's language goes along (?lang=), so a refusal's `message` is the server's sentence
 * in that language (gateway/core/reasons.py); the answer keeps the server's fields (reason,
 * message, details), http.* refusals included. What the server cannot say is the page's:
 * no answer ({reason: "network"}) and an error without a JSON body ("http.<status>"), with
 * options.t/known (the page's texts) giving "reason.<reason>" for what the page words
 * itself, "reason.network", "common.server_error" when the page has them. A state-changing request carries the staff session's CSRF token once session.js
 * has it; a 401 "staff.login_required" calls the session's handler (back to /connexion).
 * options.raw = {body, type} sends a body of any type (a CSV file) instead of JSON.
 */

let csrf = '';
let onLoginRequired = null;

/** The staff session (session.js): its CSRF token and what to do when it is over. */
export function setSession(token, loginRequired) {
  csrf = token || '';
  onLoginRequired = loginRequired || null;
}

const FALLBACK = {
  fr: {
    network: 'Le serveur ne répond pas. Vérifiez le réseau, puis réessayez.',
    server: 'Erreur du serveur ({status}). Réessayez dans un instant.',
  },
  en: {
    network: 'The server does not answer. Check the network, then try again.',
    server: 'Server error ({status}). Try again in a moment.',
  },
};

function ownText(options, keys, vars, which) {
  const known = options.known || (() => false);
  const key = keys.find((k) => known(k));
  if (key) return options.t(key, vars);
  const lang = options.lang === 'en' ? 'en' : 'fr';
  return FALLBACK[lang][which].replace('{status}', vars && vars.status != null ? vars.status : '');
}

export function withLang(path, lang) {
  return lang ? path + (path.includes('?') ? '&' : '?') + 'lang=' + lang : path;
}

export async function request(method, path, payload, options) {
  const opts = options || {};
  const init = {
    method, headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store',
  };
  if (opts.raw) {
    init.body = opts.raw.body;
    init.headers['Content-Type'] = opts.raw.type;
  } else if (payload !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(payload);
  }
  if (!['GET', 'HEAD', 'OPTIONS'].includes(method) && csrf) init.headers['X-CSRF-Token'] = csrf;
  let response;
  try {
    response = await window.fetch(withLang(path, opts.lang), init);
  } catch (e) {
    const message = ownText(opts, ['reason.network', 'common.network'], null, 'network');
    return { ok: false, status: 0, data: { reason: 'network', message } };
  }
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    if (!data || typeof data !== 'object' || Array.isArray(data)) data = {};
    data.reason = data.reason || 'http.' + response.status;
    // The page's own sentence for what the server does not word (tests/test_reasons.py PAGE_OWN).
    if (opts.known && opts.known('reason.' + data.reason)) data.message = opts.t('reason.' + data.reason);
    else if (!data.message) {
      const keys = ['common.server_error', 'reason.server_error'];
      data.message = ownText(opts, keys, { status: response.status }, 'server');
    }
    if (response.status === 401 && data.reason === 'staff.login_required' && onLoginRequired) {
      onLoginRequired();
    }
  }
  return { ok: response.ok, status: response.status, data: data == null ? {} : data };
}
