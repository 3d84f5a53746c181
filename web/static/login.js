/* Parloir — staff sign-in. On success, goes back to the page asked for (?suite=, same site
 * only) or to the member's home page. No inline code (CSP). */
import { makeStaffKit } from './staff-kit.js';
import { setSession } from './api.js';
import { signedInMember } from './session.js';

const kit = makeStaffKit({
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
    'login.home': 'Revenir à ma page ({name})',
    'pw.title': 'Choisir votre mot de passe',
    'pw.intro': 'Le mot de passe donné par l’administrateur ne sert qu’une fois : choisissez le vôtre (12 caractères au moins).',
    'pw.intro.change': 'Changer votre mot de passe (12 caractères au moins).',
    'pw.current': 'Mot de passe actuel',
    'pw.new': 'Nouveau mot de passe',
    'pw.new.hint': '12 caractères au moins ; une phrase de plusieurs mots se retient mieux.',
    'pw.again': 'Encore une fois',
    'pw.submit': 'Enregistrer le mot de passe',
    'pw.short': 'Au moins 12 caractères.',
    'pw.differ': 'Les deux saisies diffèrent.',
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
    'login.home': 'Back to my page ({name})',
    'pw.title': 'Choose your password',
    'pw.intro': 'The password the administrator gave you works only once: choose your own (12 characters or more).',
    'pw.intro.change': 'Change your password (12 characters or more).',
    'pw.current': 'Current password',
    'pw.new': 'New password',
    'pw.new.hint': '12 characters or more; a sentence of several words is easier to remember.',
    'pw.again': 'Once more',
    'pw.submit': 'Save the password',
    'pw.short': 'At least 12 characters.',
    'pw.differ': 'The two entries differ.',
  },
}, { session: false });
const { $, t, say } = kit;
kit.initLang();

const params = new URLSearchParams(window.location.search);
const denied = params.get('interdit');
if (denied) {
  $('login-denied').hidden = false;
  say($('login-denied'), () => t('login.denied', { page: denied }));
  // Signed in already: offer the way back to the member's own page.
  signedInMember()
    .then((me) => {
      if (!me) return;
      const back = kit.h('a', { id: 'login-home', href: me.home, class: 'btn btn-secondary' });
      say(back, () => t('login.home', { name: me.name }));
      $('login-denied').after(back);
    })
    .catch(() => {});
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
    const res = await kit.call('POST', '/api/staff/login', { login, password });
    if (res.ok && res.data.must_change) {
      askNewPassword(res.data.csrf, password, res.data.home);
      return;
    }
    if (res.ok) {
      window.location.assign(next(res.data.home));
      return;
    }
    say($('login-error'), res.status ? res.data.message : () => t('login.network'));
    if (res.status) {
      $('password').value = '';
      $('password').focus();
    }
  } finally {
    button.disabled = false;
    say(button, () => t('login.submit'));
  }
});
/* --- choosing one's own password (after an administrator's one, or by choice) --- */

let csrf = '';
let known = '';
let home = '/';

function askNewPassword(token, current, landing) {
  csrf = token;
  known = current || '';
  home = landing || '/';
  $('login-form').hidden = true;
  $('password-form').hidden = false;
  $('current-field').hidden = Boolean(known);
  say($('password-intro'), () => t(known ? 'pw.intro' : 'pw.intro.change'));
  (known ? $('new-password') : $('current')).focus();
}

$('password-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const current = known || $('current').value;
  const fresh = $('new-password').value;
  kit.setInvalid($('new-password'), fresh.length < 12);
  kit.setInvalid($('new-password-2'), fresh !== $('new-password-2').value);
  if (fresh.length < 12) { say($('password-error'), () => t('pw.short')); return; }
  if (fresh !== $('new-password-2').value) { say($('password-error'), () => t('pw.differ')); return; }
  const button = $('password-submit');
  button.disabled = true;
  try {
    setSession(csrf);
    const res = await kit.call('POST', '/api/staff/password', { current, new: fresh });
    if (res.ok) {
      window.location.assign(next(home));
      return;
    }
    say($('password-error'), res.status ? res.data.message : () => t('login.network'));
  } finally {
    button.disabled = false;
  }
});

if (params.get('changer')) {
  // Signed in already (a forced change, or the member's own choice): no password to retype
  // for the sign-in, the current one is asked in the form.
  signedInMember()
    .then((me) => { if (me) askNewPassword(me.csrf, '', me.home); })
    .catch(() => {});
}
$('login').focus();
