/* Parloir — staff sign-in. On success, goes back to the page asked for (?suite=, same site
 * only) or to the member's home page. No inline code (CSP). */
'use strict';

(function login() {
  const kit = window.ParloirStaffKit({
    fr: {
      'login.page.title': 'Parloir — Connexion des agents',
      'nav.skip': 'Aller au contenu',
      'nav.brand': 'Agents de l’établissement',
      'lang.switch': 'English',
      'login.title': 'Connexion',
      'login.login': 'Identifiant',
      'login.password': 'Mot de passe',
      'login.submit': 'Se connecter',
      'login.busy': 'Connexion…',
      'login.hint': 'Compte personnel : chaque action est inscrite à votre nom. Après 5 mots de passe erronés, le compte est bloqué 15 minutes.',
      'login.missing': 'Indiquez votre identifiant et votre mot de passe.',
      'login.denied': 'Votre fonction ne donne pas accès à la page demandée ({page}). Connectez-vous avec un autre compte, ou revenez à votre page.',
      'login.network': 'Le serveur ne répond pas. Réessayez.',
    },
    en: {
      'login.page.title': 'Parloir — Staff sign-in',
      'nav.skip': 'Skip to content',
      'nav.brand': 'Prison staff',
      'lang.switch': 'Français',
      'login.title': 'Sign in',
      'login.login': 'Login',
      'login.password': 'Password',
      'login.submit': 'Sign in',
      'login.busy': 'Signing in…',
      'login.hint': 'Personal account: every action is recorded under your name. After 5 wrong passwords the account is locked for 15 minutes.',
      'login.missing': 'Enter your login and password.',
      'login.denied': 'Your role does not open the page asked for ({page}). Sign in with another account, or go back to your page.',
      'login.network': 'The server does not answer. Try again.',
    },
  });
  const { $, t, say } = kit;
  kit.initLang();

  const params = new URLSearchParams(window.location.search);
  const denied = params.get('interdit');
  if (denied) {
    $('login-denied').hidden = false;
    say($('login-denied'), () => t('login.denied', { page: denied }));
  }

  function next(home) {
    const asked = params.get('suite') || '';
    // Same site only: a path, never "//host" or a full address.
    if (asked.startsWith('/') && !asked.startsWith('//') && !asked.startsWith('/connexion')) {
      return asked;
    }
    return home || '/';
  }

  $('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const login = $('login').value.trim();
    const password = $('password').value;
    kit.setInvalid($('login'), !login);
    kit.setInvalid($('password'), !password);
    if (!login || !password) {
      say($('login-error'), () => t('login.missing'));
      ($('login').value ? $('password') : $('login')).focus();
      return;
    }
    const button = $('login-submit');
    button.disabled = true;
    say(button, () => t('login.busy'));
    try {
      const response = await window.fetch('/api/staff/login?lang=' + kit.lang, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify({ login, password }),
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok) {
        window.location.assign(next(body.home));
        return;
      }
      say($('login-error'), body.message || String(response.status));
      $('password').value = '';
      $('password').focus();
    } catch (e) {
      say($('login-error'), () => t('login.network'));
    } finally {
      button.disabled = false;
      say(button, () => t('login.submit'));
    }
  });
  $('login').focus();
})();
