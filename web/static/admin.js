/* Parloir — the administrator's page (/admin): staff accounts and kiosks.
 *
 * Accounts: GET/POST /api/admin/staff, POST /api/admin/staff/{login} {roles?, active?, password?}.
 * A password the page generates (16 characters from the browser's crypto) is shown once, to be
 * handed over; the server keeps only its hash. Kiosks: GET /api/admin/kiosks, POST
 * /api/admin/kiosks/{kiosk}/enrol (a one-time code to type on the kiosk) and .../revoke (after a
 * confirm step). Refusals show the server's sentence. No inline code (CSP). French by default,
 * English with ?lang=en or the toggle.
 */
import { makeStaffKit } from './staff-kit.js';

const TEXTS = {
  fr: {
    'lang.switch': 'English',
    'nav.skip': 'Aller au contenu',
    'nav.brand': 'Administration',
    'common.loading': 'Chargement…',
    'common.cancel': 'Annuler',
    'common.at': '{date} à {time}',

    'admin.page.title': 'Parloir — Administration',
    'admin.title': 'Administration',
    'admin.legal': 'L’administrateur gère les comptes des agents et les bornes. Il n’a accès ni aux dossiers des personnes détenues, ni aux appels, ni aux enregistrements. Chaque action est inscrite au journal d’audit.',

    'staff.title': 'Comptes des agents',
    'staff.caption': 'Comptes des agents',
    'staff.col.login': 'Identifiant',
    'staff.col.name': 'Nom',
    'staff.col.roles': 'Fonctions',
    'staff.col.state': 'État',
    'staff.col.created': 'Créé par, le',
    'staff.col.actions': 'Actions',
    'staff.none': 'Aucun compte.',
    'staff.count': '{n} compte(s), dont {active} actif(s).',
    'staff.active': 'actif',
    'staff.disabled': 'désactivé',
    'staff.you': '(vous)',
    'staff.edit_roles': 'Fonctions…',
    'staff.edit_roles.label': 'Modifier les fonctions de {login}',
    'staff.disable': 'Désactiver',
    'staff.enable': 'Réactiver',
    'staff.reset': 'Nouveau mot de passe',
    'staff.roles.legend': 'Fonctions de {login}',
    'staff.roles.save': 'Enregistrer les fonctions',
    'staff.roles.note': 'Les sessions ouvertes de l’agent sont fermées : ses nouveaux droits s’appliquent à sa prochaine connexion.',
    'staff.confirm.disable': 'Désactiver le compte {login} ? L’agent est déconnecté et ne peut plus se connecter.',
    'staff.confirm.disable.ok': 'Oui, désactiver',
    'staff.confirm.reset': 'Remplacer le mot de passe de {login} ? Ses sessions ouvertes sont fermées.',
    'staff.confirm.reset.ok': 'Oui, générer un nouveau mot de passe',
    'staff.done.create': 'Compte {login} créé.',
    'staff.done.roles': 'Fonctions de {login} enregistrées.',
    'staff.done.disable': 'Compte {login} désactivé.',
    'staff.done.enable': 'Compte {login} réactivé.',
    'staff.done.reset': 'Nouveau mot de passe de {login} enregistré.',
    'secret.intro': 'Mot de passe de {login} :',
    'secret.hint': 'Notez-le et remettez-le à l’agent en main propre : il ne sera plus affiché. L’agent pourra le changer après sa connexion.',
    'secret.done': 'J’ai noté le mot de passe',

    'create.title': 'Créer un compte',
    'create.login': 'Identifiant',
    'create.login.hint': '2 à 32 lettres, chiffres, points ou tirets (ex. : j.martin).',
    'create.name': 'Nom et prénom (ou grade et nom)',
    'create.roles': 'Fonctions',
    'create.password': 'Mot de passe initial',
    'create.generate': 'Générer',
    'create.password.hint': 'Au moins 12 caractères. « Générer » en tire un au hasard ; il sera affiché une seule fois après la création.',
    'create.submit': 'Créer le compte',
    'create.missing.login': 'Indiquez l’identifiant.',
    'create.missing.name': 'Indiquez le nom de l’agent.',
    'create.missing.roles': 'Choisissez au moins une fonction.',
    'create.short': 'Mot de passe trop court : au moins 12 caractères.',

    'kiosks.title': 'Bornes',
    'kiosks.caption': 'Bornes de l’établissement',
    'kiosks.refresh': 'Actualiser',
    'kiosks.col.id': 'Borne',
    'kiosks.col.room': 'Salle',
    'kiosks.col.state': 'État',
    'kiosks.col.when': 'Enrôlée ou révoquée par, le',
    'kiosks.col.actions': 'Actions',
    'kiosks.none': 'Aucune borne n’est configurée.',
    'kiosk.enrolled': 'enrôlée',
    'kiosk.revoked': 'révoquée',
    'kiosk.not_enrolled': 'non enrôlée',
    'kiosk.pending': 'code en attente',
    'kiosk.enrolled_by': 'Enrôlée par {by}, le {when}',
    'kiosk.revoked_by': 'Révoquée par {by}, le {when}',
    'kiosk.enrol': 'Enrôler',
    'kiosk.reenrol': 'Enrôler à nouveau',
    'kiosk.enrol.label': 'Enrôler la borne {kiosk}',
    'kiosk.revoke': 'Révoquer',
    'kiosk.revoke.label': 'Révoquer la borne {kiosk}',
    'kiosk.confirm.revoke': 'Révoquer la borne {kiosk} ({room}) ? Elle cesse de fonctionner immédiatement, appel en cours compris, jusqu’à un nouvel enrôlement.',
    'kiosk.confirm.revoke.ok': 'Oui, révoquer',
    'kiosk.done.revoke': 'Borne {kiosk} révoquée.',
    'kiosk.done.enrol': 'Code d’enrôlement de la borne {kiosk} affiché.',
    'enrol.title': 'Code d’enrôlement — {kiosk} ({room})',
    'enrol.instruction': 'Sur la borne, ouvrez {url} et tapez ce code (valable 30 minutes).',
    'enrol.expiry': 'Valable jusqu’à {time}, une seule fois. Un nouvel enrôlement remplace l’ancien appareil.',
    'enrol.done': 'Fermer',
  },
  en: {
    'lang.switch': 'Français',
    'nav.skip': 'Skip to content',
    'nav.brand': 'Administration',
    'common.loading': 'Loading…',
    'common.cancel': 'Cancel',
    'common.at': '{date} at {time}',

    'admin.page.title': 'Parloir — Administration',
    'admin.title': 'Administration',
    'admin.legal': 'The administrator manages staff accounts and kiosks, with no access to detainees’ files, calls or recordings. Every action is written to the audit log.',

    'staff.title': 'Staff accounts',
    'staff.caption': 'Staff accounts',
    'staff.col.login': 'Login',
    'staff.col.name': 'Name',
    'staff.col.roles': 'Roles',
    'staff.col.state': 'State',
    'staff.col.created': 'Created by, on',
    'staff.col.actions': 'Actions',
    'staff.none': 'No account.',
    'staff.count': '{n} account(s), {active} active.',
    'staff.active': 'active',
    'staff.disabled': 'disabled',
    'staff.you': '(you)',
    'staff.edit_roles': 'Roles…',
    'staff.edit_roles.label': 'Change the roles of {login}',
    'staff.disable': 'Disable',
    'staff.enable': 'Enable',
    'staff.reset': 'New password',
    'staff.roles.legend': 'Roles of {login}',
    'staff.roles.save': 'Save the roles',
    'staff.roles.note': 'The member’s open sessions end: the new rights apply at their next sign-in.',
    'staff.confirm.disable': 'Disable the account {login}? The member is signed out and can no longer sign in.',
    'staff.confirm.disable.ok': 'Yes, disable',
    'staff.confirm.reset': 'Replace the password of {login}? Their open sessions end.',
    'staff.confirm.reset.ok': 'Yes, generate a new password',
    'staff.done.create': 'Account {login} created.',
    'staff.done.roles': 'Roles of {login} saved.',
    'staff.done.disable': 'Account {login} disabled.',
    'staff.done.enable': 'Account {login} enabled.',
    'staff.done.reset': 'New password of {login} saved.',
    'secret.intro': 'Password of {login}:',
    'secret.hint': 'Write it down and hand it to the member in person: it will not be shown again. The member can change it after signing in.',
    'secret.done': 'I have written it down',

    'create.title': 'Create an account',
    'create.login': 'Login',
    'create.login.hint': '2 to 32 letters, digits, dots or dashes (e.g. j.martin).',
    'create.name': 'Full name (or rank and name)',
    'create.roles': 'Roles',
    'create.password': 'Initial password',
    'create.generate': 'Generate',
    'create.password.hint': 'At least 12 characters. “Generate” draws one at random; it is shown once after the account is created.',
    'create.submit': 'Create the account',
    'create.missing.login': 'Enter the login.',
    'create.missing.name': 'Enter the member’s name.',
    'create.missing.roles': 'Choose at least one role.',
    'create.short': 'Password too short: at least 12 characters.',

    'kiosks.title': 'Kiosks',
    'kiosks.caption': 'The establishment’s kiosks',
    'kiosks.refresh': 'Refresh',
    'kiosks.col.id': 'Kiosk',
    'kiosks.col.room': 'Room',
    'kiosks.col.state': 'State',
    'kiosks.col.when': 'Enrolled or revoked by, on',
    'kiosks.col.actions': 'Actions',
    'kiosks.none': 'No kiosk is configured.',
    'kiosk.enrolled': 'enrolled',
    'kiosk.revoked': 'revoked',
    'kiosk.not_enrolled': 'not enrolled',
    'kiosk.pending': 'code pending',
    'kiosk.enrolled_by': 'Enrolled by {by} on {when}',
    'kiosk.revoked_by': 'Revoked by {by} on {when}',
    'kiosk.enrol': 'Enrol',
    'kiosk.reenrol': 'Enrol again',
    'kiosk.enrol.label': 'Enrol kiosk {kiosk}',
    'kiosk.revoke': 'Revoke',
    'kiosk.revoke.label': 'Revoke kiosk {kiosk}',
    'kiosk.confirm.revoke': 'Revoke kiosk {kiosk} ({room})? It stops working at once, a call in progress included, until it is enrolled again.',
    'kiosk.confirm.revoke.ok': 'Yes, revoke',
    'kiosk.done.revoke': 'Kiosk {kiosk} revoked.',
    'kiosk.done.enrol': 'Enrolment code of kiosk {kiosk} shown.',
    'enrol.title': 'Enrolment code — {kiosk} ({room})',
    'enrol.instruction': 'On the kiosk, open {url} and type this code (valid 30 minutes).',
    'enrol.expiry': 'Valid until {time}, once. A new enrolment replaces the previous device.',
    'enrol.done': 'Close',
  },
};

const kit = makeStaffKit(TEXTS);
const { t, say, $, h, fill } = kit;
kit.renderers.push(() => renderRoleChoices(), () => renderStaff(), () => renderKiosks(),
  () => renderEnrol());

/* ------------------------------------------------------------------- API */

const { call, format } = kit;

const formatDate = (ms) => format(ms, { day: '2-digit', month: '2-digit', year: 'numeric' });
const formatTime = (ms) => format(ms, { hour: '2-digit', minute: '2-digit' });
const formatWhen = (ms) => t('common.at', { date: formatDate(ms), time: formatTime(ms) });

/* -------------------------------------------------------- passwords */

// No 0/O, 1/l/I: read aloud and typed by hand.
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** 16 characters drawn uniformly from ALPHABET with the browser's CSPRNG (rejection
 *  sampling: no modulo bias). */
function generatePassword(length) {
  const out = [];
  const limit = 256 - (256 % ALPHABET.length);
  while (out.length < length) {
    const bytes = new Uint8Array(32);
    window.crypto.getRandomValues(bytes);
    bytes.forEach((b) => {
      if (b < limit && out.length < length) out.push(ALPHABET[b % ALPHABET.length]);
    });
  }
  return out.join('');
}

function showSecret(login, password) {
  $('secret-box').hidden = false;
  say($('secret-intro'), () => t('secret.intro', { login }));
  $('secret-value').textContent = password;
  $('secret-done').focus();
}

function hideSecret() {
  $('secret-box').hidden = true;
  say($('secret-intro'), '');
  $('secret-value').textContent = '';
}

/* ------------------------------------------------------------ accounts */

let me = null;
let roles = [];        // [{id, fr, en}] from the API, in the matrix's order
let staff = [];
let editing = null;    // login whose roles are being edited
let confirming = null; // {kind: 'disable'|'reset'|'revoke', id}

function roleLabel(id) {
  const role = roles.find((r) => r.id === id);
  return role ? role[kit.lang] || role.fr : id;
}

function roleChecks(prefix, checked) {
  return roles.map((role) => h('label', { class: 'check-inline', for: prefix + role.id },
    h('input', {
      type: 'checkbox', id: prefix + role.id, name: 'roles', value: role.id,
      checked: checked.includes(role.id),
    }),
    h('span', { text: role[kit.lang] || role.fr })));
}

function renderRoleChoices() {
  const box = $('new-roles');
  const checked = Array.from(box.querySelectorAll('input:checked')).map((i) => i.value);
  fill(box, roleChecks('new-role-', checked));
}

function checkedRoles(container) {
  return Array.from(container.querySelectorAll('input[name="roles"]:checked')).map((i) => i.value);
}

function confirmBox(text, okText, onOk) {
  const ok = h('button', { type: 'button', class: 'btn btn-danger btn-small', text: okText, onclick: onOk });
  const box = h('div', { class: 'confirm-box', role: 'group' },
    h('p', { class: 'confirm-text', text }),
    h('div', { class: 'actions' }, ok,
      h('button', {
        type: 'button', class: 'btn btn-secondary btn-small', text: t('common.cancel'),
        onclick: () => { confirming = null; renderAll(); },
      })));
  window.setTimeout(() => ok.focus(), 0);
  return box;
}

function staffActions(member) {
  const login = member.login;
  if (confirming && confirming.id === login && confirming.kind === 'disable') {
    return confirmBox(t('staff.confirm.disable', { login }), t('staff.confirm.disable.ok'),
      () => updateMember(login, { active: false }, 'staff.done.disable'));
  }
  if (confirming && confirming.id === login && confirming.kind === 'reset') {
    return confirmBox(t('staff.confirm.reset', { login }), t('staff.confirm.reset.ok'),
      () => resetPassword(login));
  }
  return h('div', { class: 'row-actions' },
    h('button', {
      type: 'button', class: 'btn btn-secondary btn-small', text: t('staff.edit_roles'),
      'aria-label': t('staff.edit_roles.label', { login }),
      'aria-expanded': editing === login ? 'true' : 'false',
      dataset: { action: 'roles', login },
      onclick: () => { editing = editing === login ? null : login; confirming = null; renderStaff(); },
    }),
    member.active
      ? h('button', {
        type: 'button', class: 'btn btn-secondary btn-small', text: t('staff.disable'),
        dataset: { action: 'disable', login },
        onclick: () => { confirming = { kind: 'disable', id: login }; editing = null; renderStaff(); },
      })
      : h('button', {
        type: 'button', class: 'btn btn-secondary btn-small', text: t('staff.enable'),
        dataset: { action: 'enable', login },
        onclick: () => updateMember(login, { active: true }, 'staff.done.enable'),
      }),
    h('button', {
      type: 'button', class: 'btn btn-secondary btn-small', text: t('staff.reset'),
      dataset: { action: 'reset', login },
      onclick: () => { confirming = { kind: 'reset', id: login }; editing = null; renderStaff(); },
    }));
}

function rolesEditor(member) {
  const form = h('form', { class: 'roles-editor', novalidate: true },
    h('fieldset', { class: 'roles-box' },
      h('legend', { text: t('staff.roles.legend', { login: member.login }) }),
      h('div', { class: 'roles-list' }, roleChecks('edit-' + member.login + '-', member.roles))),
    h('p', { class: 'hint', text: t('staff.roles.note') }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn btn-primary btn-small', text: t('staff.roles.save') }),
      h('button', {
        type: 'button', class: 'btn btn-secondary btn-small', text: t('common.cancel'),
        onclick: () => { editing = null; renderStaff(); },
      })));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = checkedRoles(form);
    if (!chosen.length) {
      say($('staff-error'), () => t('create.missing.roles'));
      return;
    }
    updateMember(member.login, { roles: chosen }, 'staff.done.roles');
  });
  return h('tr', { class: 'editor-row' }, h('td', { colspan: 6 }, form));
}

function stateBadge(active) {
  return h('span', {
    class: 'badge ' + (active ? 'badge-ok' : 'badge-muted'),
    text: t(active ? 'staff.active' : 'staff.disabled'),
  });
}

function cell(label, attrs, ...children) {
  return h('td', Object.assign({ 'data-label': label }, attrs || {}), ...children);
}

function renderStaff() {
  const body = $('staff-body');
  const rows = [];
  staff.forEach((member) => {
    const self = me && me.login === member.login;
    rows.push(h('tr', { dataset: { login: member.login }, class: member.active ? '' : 'row-disabled' },
      cell(t('staff.col.login'), { class: 'strong' }, member.login,
        self ? h('span', { class: 'sub', text: t('staff.you') }) : null),
      cell(t('staff.col.name'), {}, member.name),
      cell(t('staff.col.roles'), {},
        h('ul', { class: 'role-list' }, member.roles.map((r) => h('li', { text: roleLabel(r) })))),
      cell(t('staff.col.state'), {}, stateBadge(member.active)),
      cell(t('staff.col.created'), {}, member.created_by || '—',
        member.created_at ? h('span', { class: 'sub', text: formatWhen(member.created_at) }) : null),
      cell(t('staff.col.actions'), { class: 'actions-cell' }, staffActions(member))));
    if (editing === member.login) rows.push(rolesEditor(member));
  });
  fill(body, rows);
  $('staff-table').hidden = staff.length === 0;
  const active = staff.filter((m) => m.active).length;
  say($('staff-status'), () => (staff.length
    ? t('staff.count', { n: staff.length, active }) : t('staff.none')));
}

async function loadStaff() {
  const res = await call('GET', '/api/admin/staff');
  if (!res.ok) {
    say($('staff-error'), res.data.message);
    return;
  }
  roles = res.data.roles || [];
  staff = res.data.staff || [];
  renderRoleChoices();
  renderStaff();
}

function done(statusEl, errorEl, key, vars) {
  say(errorEl, '');
  say(statusEl, () => t(key, vars));
}

async function updateMember(login, change, doneKey) {
  say($('staff-error'), '');
  const res = await call('POST', '/api/admin/staff/' + encodeURIComponent(login), change);
  confirming = null;
  if (!res.ok) {
    renderStaff();
    say($('staff-error'), res.data.message);
    return false;
  }
  editing = null;
  staff = staff.map((m) => (m.login === login ? res.data : m));
  renderStaff();
  done($('staff-status'), $('staff-error'), doneKey, { login });
  return true;
}

async function resetPassword(login) {
  const password = generatePassword(16);
  if (await updateMember(login, { password }, 'staff.done.reset')) showSecret(login, password);
}

async function createMember(event) {
  event.preventDefault();
  const login = $('new-login').value.trim();
  const name = $('new-name').value.trim();
  const password = $('new-password').value;
  const chosen = checkedRoles($('new-roles'));
  kit.setInvalid($('new-login'), !login);
  kit.setInvalid($('new-name'), !name);
  kit.setInvalid($('new-password'), password.length < 12);
  let problem = null;
  if (!login) problem = ['create.missing.login', $('new-login')];
  else if (!name) problem = ['create.missing.name', $('new-name')];
  else if (!chosen.length) problem = ['create.missing.roles', $('new-roles').querySelector('input')];
  else if (password.length < 12) problem = ['create.short', $('new-password')];
  if (problem) {
    say($('create-error'), () => t(problem[0]));
    if (problem[1]) problem[1].focus();
    return;
  }
  const button = $('create-submit');
  button.disabled = true;
  const res = await call('POST', '/api/admin/staff', { login, name, roles: chosen, password });
  button.disabled = false;
  if (!res.ok) {
    say($('create-error'), res.data.message);
    const field = { 'staff.exists': 'new-login', 'staff.bad_login': 'new-login', 'field.name': 'new-name',
      'staff.weak_password': 'new-password' }[res.data.reason];
    if (field) {
      kit.setInvalid($(field), true);
      $(field).focus();
    }
    return;
  }
  say($('create-error'), '');
  $('create-form').reset();
  renderRoleChoices();
  staff = staff.filter((m) => m.login !== res.data.login).concat([res.data])
    .sort((a, b) => a.login.localeCompare(b.login));
  renderStaff();
  done($('staff-status'), $('staff-error'), 'staff.done.create', { login: res.data.login });
  showSecret(res.data.login, password);
}

/* -------------------------------------------------------------- kiosks */

let kiosks = [];
let enrolment = null; // {kiosk, room, code, expires}

function kioskBadge(kiosk) {
  const cls = { enrolled: 'badge-ok', revoked: 'badge-bad' }[kiosk.status] || 'badge-muted';
  const key = ['enrolled', 'revoked'].includes(kiosk.status) ? kiosk.status : 'not_enrolled';
  return [h('span', { class: 'badge ' + cls, text: t('kiosk.' + key) }),
    kiosk.pending ? h('span', { class: 'badge badge-warn pending-badge', text: t('kiosk.pending') }) : null];
}

function kioskWhen(kiosk) {
  if (kiosk.status === 'revoked' && kiosk.revoked_at) {
    return t('kiosk.revoked_by', { by: kiosk.revoked_by || '—', when: formatWhen(kiosk.revoked_at) });
  }
  if (kiosk.status === 'enrolled' && kiosk.enrolled_at) {
    return t('kiosk.enrolled_by', { by: kiosk.enrolled_by || '—', when: formatWhen(kiosk.enrolled_at) });
  }
  return '—';
}

function kioskActions(kiosk) {
  if (confirming && confirming.kind === 'revoke' && confirming.id === kiosk.id) {
    return confirmBox(t('kiosk.confirm.revoke', { kiosk: kiosk.id, room: kiosk.room }),
      t('kiosk.confirm.revoke.ok'), () => revokeKiosk(kiosk));
  }
  return h('div', { class: 'row-actions' },
    h('button', {
      type: 'button', class: 'btn btn-primary btn-small',
      text: t(kiosk.status === 'enrolled' ? 'kiosk.reenrol' : 'kiosk.enrol'),
      'aria-label': t('kiosk.enrol.label', { kiosk: kiosk.id }),
      dataset: { action: 'enrol', kiosk: kiosk.id },
      onclick: () => enrolKiosk(kiosk),
    }),
    kiosk.status === 'enrolled' ? h('button', {
      type: 'button', class: 'btn btn-danger btn-small', text: t('kiosk.revoke'),
      'aria-label': t('kiosk.revoke.label', { kiosk: kiosk.id }),
      dataset: { action: 'revoke', kiosk: kiosk.id },
      onclick: () => { confirming = { kind: 'revoke', id: kiosk.id }; renderKiosks(); },
    }) : null);
}

function renderKiosks() {
  fill($('kiosk-body'), kiosks.map((kiosk) => h('tr', { dataset: { kiosk: kiosk.id, status: kiosk.status } },
    cell(t('kiosks.col.id'), { class: 'strong' }, kiosk.id),
    cell(t('kiosks.col.room'), {}, kiosk.room),
    cell(t('kiosks.col.state'), { class: 'kiosk-state' }, kioskBadge(kiosk)),
    cell(t('kiosks.col.when'), {}, kioskWhen(kiosk)),
    cell(t('kiosks.col.actions'), { class: 'actions-cell' }, kioskActions(kiosk)))));
  $('kiosk-table').hidden = kiosks.length === 0;
  if (!kiosks.length) say($('kiosk-status'), () => t('kiosks.none'));
}

function renderEnrol() {
  const box = $('enrol-box');
  box.hidden = !enrolment;
  if (!enrolment) return;
  const e = enrolment;
  $('enrol-title').textContent = t('enrol.title', { kiosk: e.kiosk, room: e.room });
  $('enrol-code').textContent = e.code;
  const instruction = $('enrol-instruction');
  const [before, after] = t('enrol.instruction', { url: '\u0000' }).split('\u0000');
  fill(instruction, before, h('strong', { class: 'enrol-url', text: e.url }), after);
  $('enrol-expiry').textContent = t('enrol.expiry', { time: formatTime(e.expires) });
}

async function loadKiosks() {
  const res = await call('GET', '/api/admin/kiosks');
  if (!res.ok) {
    say($('kiosk-error'), res.data.message);
    return;
  }
  say($('kiosk-error'), '');
  kiosks = res.data.kiosks || [];
  renderKiosks();
}

async function enrolKiosk(kiosk) {
  say($('kiosk-error'), '');
  const res = await call('POST', '/api/admin/kiosks/' + encodeURIComponent(kiosk.id) + '/enrol');
  if (!res.ok) {
    say($('kiosk-error'), res.data.message);
    return;
  }
  enrolment = {
    kiosk: res.data.kiosk, room: kiosk.room, code: res.data.code,
    url: res.data.url || '/kiosk/enrolement',
    expires: Date.now() + 1000 * (res.data.expires_in || 1800),
  };
  renderEnrol();
  $('enrol-box').focus();
  say($('kiosk-status'), () => t('kiosk.done.enrol', { kiosk: kiosk.id }));
  await loadKiosks();
}

async function revokeKiosk(kiosk) {
  say($('kiosk-error'), '');
  const res = await call('POST', '/api/admin/kiosks/' + encodeURIComponent(kiosk.id) + '/revoke');
  confirming = null;
  if (!res.ok) {
    renderKiosks();
    say($('kiosk-error'), res.data.message);
    return;
  }
  if (enrolment && enrolment.kiosk === kiosk.id) {
    enrolment = null;
    renderEnrol();
  }
  say($('kiosk-status'), () => t('kiosk.done.revoke', { kiosk: kiosk.id }));
  await loadKiosks();
}

function renderAll() {
  renderStaff();
  renderKiosks();
}

/* ------------------------------------------------------------------ init */

async function init() {
  kit.initLang();
  $('create-form').addEventListener('submit', createMember);
  $('generate').addEventListener('click', () => {
    $('new-password').value = generatePassword(16);
    kit.setInvalid($('new-password'), false);
    $('new-password').select();
  });
  $('secret-done').addEventListener('click', hideSecret);
  $('enrol-done').addEventListener('click', () => { enrolment = null; renderEnrol(); });
  $('kiosks-refresh').addEventListener('click', loadKiosks);
  kit.session.then((who) => { me = who; renderStaff(); }).catch(() => {});
  const est = await call('GET', '/api/desk/establishment');
  if (est.ok && est.data) kit.setTimeZone(est.data.time_zone);
  await Promise.all([loadStaff(), loadKiosks()]);
  document.body.dataset.ready = '1';
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
