/* Parloir — the accounts office ("régie") page: credits, CSV import, statements, tariffs,
 * refunds, daily report. Plain JS, no inline code (strict CSP), French by default; texts,
 * language, DOM and API helpers from staff-kit.js. The signed-in member is written on every
 * operation by the server (the session, session.js).
 *
 * Money is integer cents everywhere: amounts typed the French way ("12,50") are turned into
 * cents from their digits, never through a float. Every credit and refund carries a reference
 * (the server's idempotency key) generated here and kept until the operation succeeds, so a
 * double click, a retry after a network failure or a reload credits once.
 *
 * API: gateway/regie_api.py (/api/regie/*); the detainee's file (/api/desk/detainees/{n})
 * gives the name and the booking ids that refunds need.
 */
import { makeStaffKit } from './staff-kit.js';
import { money as formatMoney, numericDay, zonedNow } from './format.js';

const CREDIT_REF_KEY = 'parloir.regie.credit.reference';
const REFUND_REF_KEY = 'parloir.regie.refund.reference';
const MAX_CENTS = 1000000000;   // gateway.ledger.MAX_AMOUNT
const TARIFFS = ['hors_forfait', 'forfait_20', 'forfait_30', 'forfait_40', 'forfait_50',
  'forfait_70', 'forfait_100'];

/* ------------------------------------------------------------------ texts */

const TEXTS = {
  fr: {
    'page.title': 'Parloir — Régie des comptes téléphone',
    'page.h1': 'Régie des comptes téléphone',
    'nav.skip': 'Aller au contenu',
    'nav.label': 'Sections de la page',
    'nav.credit': 'Créditer',
    'nav.import': 'Import CSV',
    'nav.account': 'Relevé de compte',
    'nav.refund': 'Remboursement',
    'nav.report': 'Rapport journalier',
    'brand.sub': 'Régie des comptes nominatifs',
    'lang.switch': 'English',
    'common.detainee': 'Numéro d’écrou',
    'common.amount': 'Montant en euros',
    'common.amount.hint': 'Avec une virgule, par exemple 12,50.',
    'common.reference': 'Référence (anti-doublon)',
    'common.reference.new': 'Nouvelle référence',
    'common.busy': 'Envoi…',
    'detainee.missing': 'Indiquez le numéro d’écrou.',
    'amount.invalid': 'Montant invalide : saisissez un montant en euros supérieur à zéro, avec au plus deux chiffres après la virgule (par exemple 12,50).',
    'reference.missing': 'Indiquez une référence.',
    'credit.title': 'Créditer un compte',
    'credit.reference.hint': 'Une même référence ne crédite qu’une fois : un double clic ou une nouvelle tentative ne crédite pas deux fois. Une nouvelle référence est proposée après chaque crédit enregistré.',
    'credit.submit': 'Créditer le compte',
    'credit.done': 'Compte {number} crédité de {amount} (référence {reference}). Nouveau solde : {balance}, disponible : {available}.',
    'credit.replayed': 'Ce crédit était déjà enregistré avec la référence {reference} : rien n’a été ajouté. Solde du compte {number} : {balance}.',
    'import.title': 'Importer des crédits (fichier CSV)',
    'import.intro': 'Colonnes : ecrou ; montant ; reference ; libelle. Le fichier est d’abord vérifié sans rien enregistrer ; l’import n’est possible que si aucune ligne n’est en erreur. Une référence déjà importée ne crédite pas une seconde fois.',
    'import.file': 'Fichier CSV',
    'import.check': 'Vérifier le fichier',
    'import.run': 'Importer',
    'import.problems': 'Lignes à corriger',
    'import.col.line': 'Ligne',
    'import.col.column': 'Colonne',
    'import.col.kind': 'Type',
    'import.col.message': 'Problème',
    'import.kind.error': 'Erreur',
    'import.kind.warning': 'Avertissement',
    'import.whole_file': '(fichier)',
    'import.nofile': 'Choisissez un fichier CSV.',
    'import.checking': 'Vérification du fichier…',
    'import.importing': 'Import en cours…',
    'import.checked.ok': 'Fichier vérifié : {rows} ligne(s) de crédit, aucune erreur. Rien n’est encore enregistré : cliquez sur « Importer ».',
    'import.checked.empty': 'Le fichier ne contient aucune ligne de crédit.',
    'import.checked.errors': 'Le fichier contient {count} erreur(s) : rien n’a été enregistré. Corrigez le fichier puis vérifiez-le de nouveau.',
    'import.warnings': '{count} avertissement(s) : voir le tableau.',
    'import.done': 'Import terminé : {imported} crédit(s) enregistré(s) sur {rows} ligne(s).',
    'import.done.replayed': 'Import terminé : {imported} crédit(s) enregistré(s) sur {rows} ligne(s) ; {already} ligne(s) étaient déjà importées (même référence) et n’ont rien crédité.',
    'import.changed': 'Le fichier a changé : vérifiez-le de nouveau avant d’importer.',
    'account.title': 'Relevé de compte',
    'account.show': 'Afficher le relevé',
    'account.heading': 'Compte téléphone n° {number}',
    'account.heading.name': 'Compte téléphone n° {number} — {name}',
    'account.printed': 'Édité le {now}{by}.',
    'account.printed.by': ' par {actor}',
    'account.loaded': 'Relevé du compte {number} affiché : {count} opération(s).',
    'account.balance': 'Solde',
    'account.held': 'Réservé pour des appels à venir',
    'account.available': 'Disponible',
    'account.tariff': 'Forfait',
    'account.csv': 'Télécharger le relevé (CSV)',
    'account.print': 'Imprimer le relevé',
    'account.caption': 'Opérations du compte, de la plus ancienne à la plus récente',
    'account.empty': 'Aucune opération sur ce compte.',
    'st.date': 'Date',
    'st.kind': 'Opération',
    'st.label': 'Libellé',
    'st.duration': 'Durée connectée',
    'st.minutes': 'Minutes facturées',
    'st.tariff': 'Tarif',
    'st.amount': 'Montant',
    'st.reference': 'Référence',
    'st.actions': 'Actions',
    'st.refund': 'Rembourser',
    'st.refund.label': 'Rembourser l’appel du {date}',
    'st.refund.of': 'appel n° {receipt}',
    'st.rate': '{rate}/min',
    'st.fee': '+ {fee} de mise en relation',
    'kind.call': 'Appel',
    'kind.no_answer': 'Appel sans réponse',
    'kind.credit': 'Crédit',
    'kind.refund': 'Remboursement',
    'actor.regie': 'Régie — {name}',
    'actor.direction': 'Direction — {name}',
    'tariff.label': 'Changer de forfait',
    'tariff.submit': 'Enregistrer le forfait',
    'tariff.done': 'Forfait enregistré : {tariff}. Il s’applique aux prochaines réservations.',
    'tariff.hors_forfait': 'Hors forfait',
    'tariff.forfait_20': 'Forfait 20',
    'tariff.forfait_30': 'Forfait 30',
    'tariff.forfait_40': 'Forfait 40',
    'tariff.forfait_50': 'Forfait 50',
    'tariff.forfait_70': 'Forfait 70',
    'tariff.forfait_100': 'Forfait 100',
    'refund.title': 'Rembourser un appel',
    'refund.intro': 'Le remboursement ne peut pas dépasser ce qui a été prélevé pour l’appel. Choisissez l’appel dans le relevé (bouton « Rembourser ») ou saisissez l’identifiant de sa réservation.',
    'refund.booking': 'Identifiant de la réservation',
    'refund.booking.missing': 'Indiquez l’identifiant de la réservation.',
    'refund.reason': 'Motif',
    'refund.reason.missing': 'Indiquez le motif du remboursement.',
    'refund.submit': 'Rembourser',
    'refund.selected': 'Appel du {date} avec {name} (compte {number}) : {charged} prélevés, remboursable au plus {refundable}.',
    'refund.done': 'Remboursement de {amount} enregistré. Total remboursé pour cet appel : {refunded}. Nouveau solde du compte {number} : {balance}.',
    'refund.replayed': 'Ce remboursement était déjà enregistré avec la référence {reference} : rien n’a été ajouté. Solde du compte {number} : {balance}.',
    'report.title': 'Rapport journalier',
    'report.date': 'Jour',
    'report.date.missing': 'Choisissez un jour.',
    'report.show': 'Afficher le rapport',
    'report.print': 'Imprimer le rapport',
    'report.caption': 'Totaux de la journée',
    'report.heading': 'Rapport du {date} — {establishment}',
    'report.note': 'Les appels sont comptés au jour de leur créneau ; les crédits et remboursements au jour où ils ont été enregistrés.',
    'report.calls': 'Appels aboutis',
    'report.no_answer': 'Créneaux sans réponse',
    'report.cancelled': 'Réservations annulées',
    'report.booked': 'Créneaux encore réservés',
    'report.connected': 'Durée connectée',
    'report.minutes': 'Minutes facturées',
    'report.charged': 'Montant prélevé',
    'report.refunds': 'Remboursements',
    'report.refunded': 'Montant remboursé',
    'report.credits': 'Crédits',
    'report.credited': 'Montant crédité',
    'duration.h': '{h} h {m} min {s} s',
    'duration.m': '{m} min {s} s',
    'duration.s': '{s} s',
    'reason.network': 'Le serveur ne répond pas. Vérifiez la connexion puis réessayez : la même référence sera réutilisée, l’opération ne sera pas faite deux fois.',
    'reason.server_error': 'Une erreur est survenue sur le serveur. Réessayez dans un instant.',
    'reason.ledger.refund_exceeds_charge.details': 'Le remboursement dépasse ce qui a été prélevé pour cet appel : au plus {refundable} peuvent encore être remboursés.',
  },
  en: {
    'page.title': 'Parloir — Phone accounts office',
    'page.h1': 'Phone accounts office',
    'nav.skip': 'Skip to content',
    'nav.label': 'Page sections',
    'nav.credit': 'Credit',
    'nav.import': 'CSV import',
    'nav.account': 'Statement',
    'nav.refund': 'Refund',
    'nav.report': 'Daily report',
    'brand.sub': 'Prisoners’ accounts office',
    'lang.switch': 'Français',
    'common.detainee': 'Prison number',
    'common.amount': 'Amount in euros',
    'common.amount.hint': 'French style is fine, e.g. 12,50 (or 12.50).',
    'common.reference': 'Reference (prevents duplicates)',
    'common.reference.new': 'New reference',
    'common.busy': 'Sending…',
    'detainee.missing': 'Enter the prison number.',
    'amount.invalid': 'Invalid amount: enter an amount in euros above zero, with at most two decimals (e.g. 12,50).',
    'reference.missing': 'Enter a reference.',
    'credit.title': 'Credit an account',
    'credit.reference.hint': 'A reference credits only once: a double click or a retry does not credit twice. A new reference is offered after each recorded credit.',
    'credit.submit': 'Credit the account',
    'credit.done': 'Account {number} credited with {amount} (reference {reference}). New balance: {balance}, available: {available}.',
    'credit.replayed': 'This credit was already recorded with reference {reference}: nothing was added. Balance of account {number}: {balance}.',
    'import.title': 'Import credits (CSV file)',
    'import.intro': 'Columns: ecrou; montant; reference; libelle. The file is checked first without recording anything; it can be imported only when no line has an error. A reference already imported does not credit twice.',
    'import.file': 'CSV file',
    'import.check': 'Check the file',
    'import.run': 'Import',
    'import.problems': 'Lines to correct',
    'import.col.line': 'Line',
    'import.col.column': 'Column',
    'import.col.kind': 'Type',
    'import.col.message': 'Problem',
    'import.kind.error': 'Error',
    'import.kind.warning': 'Warning',
    'import.whole_file': '(file)',
    'import.nofile': 'Choose a CSV file.',
    'import.checking': 'Checking the file…',
    'import.importing': 'Importing…',
    'import.checked.ok': 'File checked: {rows} credit line(s), no error. Nothing is recorded yet: click “Import”.',
    'import.checked.empty': 'The file has no credit line.',
    'import.checked.errors': 'The file has {count} error(s): nothing was recorded. Correct the file and check it again.',
    'import.warnings': '{count} warning(s): see the table.',
    'import.done': 'Import done: {imported} credit(s) recorded out of {rows} line(s).',
    'import.done.replayed': 'Import done: {imported} credit(s) recorded out of {rows} line(s); {already} line(s) were already imported (same reference) and credited nothing.',
    'import.changed': 'The file changed: check it again before importing.',
    'account.title': 'Account statement',
    'account.show': 'Show the statement',
    'account.heading': 'Phone account no. {number}',
    'account.heading.name': 'Phone account no. {number} — {name}',
    'account.printed': 'Printed on {now}{by}.',
    'account.printed.by': ' by {actor}',
    'account.loaded': 'Statement of account {number} shown: {count} operation(s).',
    'account.balance': 'Balance',
    'account.held': 'Held for upcoming calls',
    'account.available': 'Available',
    'account.tariff': 'Plan',
    'account.csv': 'Download the statement (CSV)',
    'account.print': 'Print the statement',
    'account.caption': 'Operations of the account, oldest first',
    'account.empty': 'No operation on this account.',
    'st.date': 'Date',
    'st.kind': 'Operation',
    'st.label': 'Label',
    'st.duration': 'Connected time',
    'st.minutes': 'Billed minutes',
    'st.tariff': 'Tariff',
    'st.amount': 'Amount',
    'st.reference': 'Reference',
    'st.actions': 'Actions',
    'st.refund': 'Refund',
    'st.refund.label': 'Refund the call of {date}',
    'st.refund.of': 'call no. {receipt}',
    'st.rate': '{rate}/min',
    'st.fee': '+ {fee} connection fee',
    'kind.call': 'Call',
    'kind.no_answer': 'Unanswered call',
    'kind.credit': 'Credit',
    'kind.refund': 'Refund',
    'actor.regie': 'Accounts office — {name}',
    'actor.direction': 'Management — {name}',
    'tariff.label': 'Change the plan',
    'tariff.submit': 'Save the plan',
    'tariff.done': 'Plan saved: {tariff}. It applies to the next bookings.',
    'tariff.hors_forfait': 'Off-plan',
    'tariff.forfait_20': 'Plan 20',
    'tariff.forfait_30': 'Plan 30',
    'tariff.forfait_40': 'Plan 40',
    'tariff.forfait_50': 'Plan 50',
    'tariff.forfait_70': 'Plan 70',
    'tariff.forfait_100': 'Plan 100',
    'refund.title': 'Refund a call',
    'refund.intro': 'A refund cannot exceed what the call cost. Choose the call in the statement (“Refund” button) or type the identifier of its booking.',
    'refund.booking': 'Booking identifier',
    'refund.booking.missing': 'Enter the booking identifier.',
    'refund.reason': 'Reason',
    'refund.reason.missing': 'Enter the reason for the refund.',
    'refund.submit': 'Refund',
    'refund.selected': 'Call of {date} with {name} (account {number}): {charged} charged, at most {refundable} refundable.',
    'refund.done': 'Refund of {amount} recorded. Total refunded for this call: {refunded}. New balance of account {number}: {balance}.',
    'refund.replayed': 'This refund was already recorded with reference {reference}: nothing was added. Balance of account {number}: {balance}.',
    'report.title': 'Daily report',
    'report.date': 'Day',
    'report.date.missing': 'Choose a day.',
    'report.show': 'Show the report',
    'report.print': 'Print the report',
    'report.caption': 'Totals of the day',
    'report.heading': 'Report of {date} — {establishment}',
    'report.note': 'Calls are counted on the day of their slot; credits and refunds on the day they were recorded.',
    'report.calls': 'Calls connected',
    'report.no_answer': 'Slots without answer',
    'report.cancelled': 'Cancelled bookings',
    'report.booked': 'Slots still booked',
    'report.connected': 'Connected time',
    'report.minutes': 'Billed minutes',
    'report.charged': 'Amount charged',
    'report.refunds': 'Refunds',
    'report.refunded': 'Amount refunded',
    'report.credits': 'Credits',
    'report.credited': 'Amount credited',
    'duration.h': '{h} h {m} min {s} s',
    'duration.m': '{m} min {s} s',
    'duration.s': '{s} s',
    'reason.network': 'The server is not responding. Check the connection and try again: the same reference will be reused, the operation will not be done twice.',
    'reason.server_error': 'Something went wrong on the server. Please try again in a moment.',
    'reason.ledger.refund_exceeds_charge.details': 'The refund exceeds what was charged for this call: at most {refundable} can still be refunded.',
  },
};

const kit = makeStaffKit(TEXTS);
const { say, $, h, fill, setInvalid, storageGet, storageSet, call } = kit;

/** A placeholder value: {cents: n} is money, {date: iso} a date and time, {day: iso} a day,
 *  {key, vars} another text, else text. */
function formatVar(value) {
  if (value && typeof value === 'object') {
    if (typeof value.cents === 'number') return money(value.cents);
    if (typeof value.date === 'string') return formatDateTime(value.date);
    if (typeof value.day === 'string') return formatDay(value.day);
    if (typeof value.key === 'string') return t(value.key, value.vars);
  }
  return value == null ? '' : String(value);
}

function t(key, vars) {
  if (!vars) return kit.t(key);
  const texts = {};
  Object.keys(vars).forEach((name) => { texts[name] = formatVar(vars[name]); });
  return kit.t(key, texts);
}

/** Put a translated text in el; it follows language changes. */
function setText(el, key, vars) {
  say(el, () => t(key, vars));
}

function clear(el) { say(el, ''); }

/* ------------------------------------------------------------- formats */

/** Integer cents -> "1 234,56 €" (fr) or "€1,234.56" (en). */
const money = (cents, signed) => formatMoney(kit.lang, cents, signed);

/** "12,50", "12.5", "1 234,56 €", "5" -> cents; null if not a positive amount with at most
 *  two decimals. Digits only: no float ever holds the amount. */
function parseEuros(text) {
  const raw = String(text || '').replace(/[\s\u00a0\u202f]+/g, ' ').trim()
    .replace(/\s*(€|eur|euros?)$/i, '').trim();
  const m = /^(\d{1,3}(?: \d{3})+|\d+)(?:[,.](\d{1,2}))?$/.exec(raw);
  if (!m) return null;
  const units = m[1].replace(/ /g, '').replace(/^0+(?=\d)/, '');
  if (units.length > 8) return null;
  const cents = parseInt(units, 10) * 100 + parseInt((m[2] || '').padEnd(2, '0'), 10);
  if (!Number.isSafeInteger(cents) || cents <= 0 || cents > MAX_CENTS) return null;
  return cents;
}

/** ISO date-time of the establishment ("2026-12-03T14:00:00+01:00") shown as written,
 *  in the establishment's time, whatever the zone of this computer. */
function formatDateTime(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso || '');
  if (!m) return iso || '';
  return m[3] + '/' + m[2] + '/' + m[1] + ' ' + m[4] + ':' + m[5];
}

const formatDay = numericDay;

function duration(seconds) {
  const total = Math.max(0, Math.trunc(Number(seconds) || 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  if (h) return t('duration.h', { h, m: String(m).padStart(2, '0'), s });
  if (m) return t('duration.m', { m, s });
  return t('duration.s', { s: total });
}

/** Now in the establishment's time zone once known (else this computer's): its day is the
 *  day the server's report counts (a browser on another zone, or on UTC near midnight, would
 *  otherwise ask for yesterday's report). */
const localNow = () => zonedNow(kit.timeZone);

function tariffName(name) {
  return kit.known('tariff.' + name) ? t('tariff.' + name) : name;
}

function actorLabel(actor) {
  const m = /^(regie|direction):(.*)$/.exec(actor || '');
  if (m && m[2]) return t('actor.' + m[1], { name: m[2] });
  return actor || '';
}

function newReference(prefix) {
  const bytes = new Uint8Array(5);
  window.crypto.getRandomValues(bytes);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
  return prefix + '-' + localNow().day.replace(/-/g, '') + '-' + hex;
}

/* ------------------------------------------------------------------ API */

/** A POST of a raw body (the CSV file); the refusal is kept whole (its details: the
 *  refundable amount). Resolves to {ok, status, data} (api.js). */
const post = (path, body, type) => call('POST', path, undefined, { body, type });

/** Show a refused request's answer ({ok: false, status, data: {reason, message, details}})
 *  in an alert element: the server's sentence (the page's own only for what it says itself). */
function showRefusal(el, res) {
  const data = res.data || {};
  const bare = !data.reason || (data.reason.startsWith('http.') && res.status >= 500);
  const reason = res.status === 0 ? 'network' : (bare ? 'server_error' : data.reason);
  const details = data.details || {};
  if (reason === 'ledger.refund_exceeds_charge' && typeof details.refundable === 'number') {
    setText(el, 'reason.ledger.refund_exceeds_charge.details', { refundable: { cents: details.refundable } });
  } else if (reason !== 'server_error' && kit.known('reason.' + reason)) {
    setText(el, 'reason.' + reason);
  } else if (data.message && reason !== 'server_error') {
    say(el, data.message);
  } else {
    setText(el, 'reason.server_error');
  }
}

function invalid(input, errorEl, key) {
  setInvalid(input, true);
  setText(errorEl, key);
  input.focus();
}

function resetInvalid(form) {
  form.querySelectorAll('[aria-invalid]').forEach((el) => setInvalid(el, false));
}

const FIELD_INPUTS = {};   // field.<name> reason -> input, per form

function markField(formKey, data) {
  const reason = (data && data.reason) || '';
  if (!reason.startsWith('field.')) return;
  setInvalid((FIELD_INPUTS[formKey] || {})[reason.slice(6)], true);
}

/* -------------------------------------------------------------- credit */

const credit = {
  form: $('credit-form'), detainee: $('credit-detainee'), amount: $('credit-amount'),
  reference: $('credit-reference'), newReference: $('credit-new-reference'),
  submit: $('credit-submit'), error: $('credit-error'), result: $('credit-result'), busy: false,
};
FIELD_INPUTS.credit = { detainee: credit.detainee, amount_cents: credit.amount, reference: credit.reference };

function freshCreditReference() {
  credit.reference.value = newReference('REGIE');
  storageSet(CREDIT_REF_KEY, credit.reference.value);
}

// Kept until a credit succeeds, even across a reload: a retry reuses it.
credit.reference.value = storageGet(CREDIT_REF_KEY) || '';
if (!credit.reference.value) freshCreditReference();
credit.reference.addEventListener('input', () => storageSet(CREDIT_REF_KEY, credit.reference.value.trim()));
credit.newReference.addEventListener('click', () => {
  freshCreditReference();
  clear(credit.error);
  setInvalid(credit.reference, false);
});

credit.form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (credit.busy) return;          // a second click while the first is on its way
  resetInvalid(credit.form);
  clear(credit.error);
  const number = credit.detainee.value.trim();
  if (!number) { invalid(credit.detainee, credit.error, 'detainee.missing'); return; }
  const cents = parseEuros(credit.amount.value);
  if (cents === null) { invalid(credit.amount, credit.error, 'amount.invalid'); return; }
  const reference = credit.reference.value.trim();
  if (!reference) { invalid(credit.reference, credit.error, 'reference.missing'); return; }
  credit.busy = true;
  credit.submit.disabled = true;
  setText(credit.submit, 'common.busy');
  clear(credit.result);
  const res = await call('POST', '/api/regie/credits', { detainee: number, amount_cents: cents, reference });
  credit.busy = false;
  credit.submit.disabled = false;
  setText(credit.submit, 'credit.submit');
  if (!res.ok) {
    showRefusal(credit.error, res);
    markField('credit', res.data);
    if (res.data.reason === 'booking.unknown_detainee') setInvalid(credit.detainee, true);
    return;
  }
  const account = res.data.account || {};
  const vars = {
    number, reference, amount: { cents }, balance: { cents: account.balance },
    available: { cents: account.available },
  };
  setText(credit.result, res.data.replayed ? 'credit.replayed' : 'credit.done', vars);
  credit.amount.value = '';
  freshCreditReference();             // success: the next credit is a new operation
  if (state.account && state.account.number === number) loadAccount(number, true);
});

/* -------------------------------------------------------------- import */

const imp = {
  form: $('import-form'), file: $('import-file'), check: $('import-check'), run: $('import-run'),
  error: $('import-error'), result: $('import-result'), problems: $('import-problems'),
  body: $('import-problems-body'), bytes: null, busy: false,
};

function resetImport() {
  imp.bytes = null;
  imp.run.disabled = true;
  clear(imp.result);
  clear(imp.error);
  state.importReport = null;
  renderProblems();
}

imp.file.addEventListener('change', resetImport);

function renderProblems() {
  const report = state.importReport;
  const items = report ? [
    ...(report.errors || []).map((e) => ({ ...e, kind: 'error' })),
    ...(report.warnings || []).map((w) => ({ ...w, kind: 'warning' })),
  ] : [];
  imp.problems.hidden = items.length === 0;
  items.sort((a, b) => a.line - b.line);
  fill(imp.body, items.map((item) => h('tr', { class: 'problem-' + item.kind },
    h('td', { text: item.line ? String(item.line) : t('import.whole_file') }),
    h('td', { text: item.column || '' }),
    h('td', { text: t('import.kind.' + item.kind) }),
    h('td', { text: item.message || item.reason || '' }))));
}

async function sendImport(dryRun) {
  if (imp.busy) return;
  clear(imp.error);
  const file = imp.file.files && imp.file.files[0];
  if (!file) { invalid(imp.file, imp.error, 'import.nofile'); return; }
  setInvalid(imp.file, false);
  let bytes = imp.bytes;
  if (dryRun || !bytes) {
    try { bytes = await file.arrayBuffer(); } catch (e) { bytes = null; }
    if (!bytes) { setText(imp.error, 'import.nofile'); return; }
  }
  imp.busy = true;
  imp.check.disabled = true;
  imp.run.disabled = true;
  setText(imp.result, dryRun ? 'import.checking' : 'import.importing');
  const res = await post('/api/regie/import/credits' + (dryRun ? '?dry_run=1' : ''), bytes, 'text/csv');
  imp.busy = false;
  imp.check.disabled = false;
  if (!res.ok) {
    clear(imp.result);
    showRefusal(imp.error, res);
    state.importReport = null;
    renderProblems();
    return;
  }
  const report = res.data;
  state.importReport = report;
  renderProblems();
  const errors = (report.errors || []).length;
  if (!report.ok) {
    imp.bytes = null;
    clear(imp.result);
    setText(imp.error, 'import.checked.errors', { count: errors });
  } else if (dryRun) {
    if (report.rows > 0) {
      imp.bytes = bytes;               // exactly the bytes checked are imported
      imp.run.disabled = false;
      setText(imp.result, 'import.checked.ok', { rows: report.rows });
    } else {
      setText(imp.result, 'import.checked.empty');
    }
  } else {
    imp.bytes = null;
    const already = report.rows - report.imported;
    setText(imp.result, already ? 'import.done.replayed' : 'import.done',
      { imported: report.imported, rows: report.rows, already });
    if (state.account) loadAccount(state.account.number, true);
  }
}

imp.form.addEventListener('submit', (event) => {
  event.preventDefault();
  sendImport(true);
});
imp.run.addEventListener('click', () => sendImport(false));

/* ------------------------------------------------------------- account */

const acc = {
  form: $('account-form'), detainee: $('account-detainee'), show: $('account-show'),
  error: $('account-error'), status: $('account-status'), view: $('account-view'),
  heading: $('account-heading'), printed: $('account-printed'),
  balance: $('account-balance'), held: $('account-held'), available: $('account-available'),
  tariff: $('account-tariff'), csv: $('statement-csv'), print: $('statement-print'),
  body: $('statement-body'), empty: $('statement-empty'),
  tariffForm: $('tariff-form'), tariffSelect: $('tariff-select'), tariffSubmit: $('tariff-submit'),
  tariffError: $('tariff-error'), tariffResult: $('tariff-result'), busy: false,
};

const state = { account: null, lines: [], name: '', bookings: {}, importReport: null, report: null };

acc.form.addEventListener('submit', (event) => {
  event.preventDefault();
  resetInvalid(acc.form);
  clear(acc.error);
  const number = acc.detainee.value.trim();
  if (!number) { invalid(acc.detainee, acc.error, 'detainee.missing'); return; }
  loadAccount(number, false);
});

async function loadAccount(number, quiet) {
  if (acc.busy) return;
  acc.busy = true;
  acc.show.disabled = true;
  const path = '/api/regie/accounts/' + encodeURIComponent(number);
  const [res, file] = await Promise.all([
    call('GET', path + '/statement'),
    call('GET', '/api/desk/detainees/' + encodeURIComponent(number)),
  ]);
  acc.busy = false;
  acc.show.disabled = false;
  if (!res.ok) {
    if (!quiet) {
      showRefusal(acc.error, res);
      if (res.data.reason === 'booking.unknown_detainee') setInvalid(acc.detainee, true);
      acc.view.hidden = true;
      state.account = null;
    }
    return;
  }
  clear(acc.error);
  state.account = res.data.account;
  state.lines = res.data.lines || [];
  state.name = '';
  state.bookings = {};
  if (file.ok && file.data) {
    state.name = (file.data.detainee && file.data.detainee.full_name) || '';
    (file.data.bookings || []).forEach((b) => {
      state.bookings[b.id] = b;
      if (b.receipt) state.bookings[b.receipt] = b;
    });
  }
  acc.csv.href = path + '/statement.csv';
  acc.csv.setAttribute('download', 'releve-' + number + '.csv');
  clear(acc.tariffError);
  clear(acc.tariffResult);
  renderAccount();
  acc.view.hidden = false;
  if (!quiet) setText(acc.status, 'account.loaded', { number, count: state.lines.length });
}

/** Refunded so far for each booking id (refund lines carry the booking as reference). */
function refundedByBooking() {
  const out = {};
  state.lines.forEach((line) => {
    if (line.kind === 'refund') out[line.reference] = (out[line.reference] || 0) + line.amount;
  });
  return out;
}

function renderAccount() {
  const a = state.account;
  if (!a) return;
  if (state.name) setText(acc.heading, 'account.heading.name', { number: a.number, name: state.name });
  else setText(acc.heading, 'account.heading', { number: a.number });
  acc.balance.textContent = money(a.balance);
  acc.held.textContent = money(a.held);
  acc.available.textContent = money(a.available);
  acc.tariff.textContent = tariffName(a.tariff);
  const names = TARIFFS.includes(a.tariff) ? TARIFFS : TARIFFS.concat([a.tariff]);
  fill(acc.tariffSelect, names.map((name) => h('option', { value: name, text: tariffName(name) })));
  acc.tariffSelect.value = a.tariff;
  renderStatement();
}

/** A cell of the statement: its text, then a smaller line under it (the rate, the call). */
function cell(text, className, small) {
  return h('td', { class: className, text }, small ? [h('br'), h('span', { class: 'rate', text: small })] : null);
}

function renderStatement() {
  acc.empty.hidden = state.lines.length > 0;
  const refundedSoFar = refundedByBooking();
  fill(acc.body, state.lines.map((line) => {
    const isCall = line.kind === 'call' || line.kind === 'no_answer';
    const refunded = line.kind === 'refund' ? state.bookings[line.reference] : null;
    const rate = line.kind === 'call' && line.rate
      ? t('st.rate', { rate: { cents: line.rate } }) + (line.fee ? ' ' + t('st.fee', { fee: { cents: line.fee } }) : '')
      : '';
    const booking = state.bookings[line.reference];
    let button = null;
    if (line.kind === 'call' && line.amount < 0 && booking) {
      const charged = -line.amount;
      const refundable = charged - (refundedSoFar[booking.id] || 0);
      if (refundable > 0) {
        button = h('button', {
          type: 'button', class: 'btn btn-secondary btn-small', dataset: { needs: 'refunds' },
          text: t('st.refund'), 'aria-label': t('st.refund.label', { date: formatDateTime(line.at) }),
          onclick: () => chooseRefund(line, booking, charged, refundable),
        });
      }
    }
    return h('tr', { class: 'line-' + line.kind },
      cell(formatDateTime(line.at), 'nowrap'),
      cell(t('kind.' + line.kind)),
      cell(isCall ? line.label : actorLabel(line.label), 'label',
        refunded && refunded.receipt ? t('st.refund.of', { receipt: refunded.receipt }) : ''),
      cell(line.kind === 'call' ? duration(line.connected_seconds) : '', 'num nowrap'),
      cell(line.kind === 'call' ? String(line.billed_minutes) : '', 'num'),
      cell(isCall && line.tariff ? tariffName(line.tariff) : '', 'tariff', rate),
      cell(money(line.amount, true), 'num nowrap money ' + (line.amount < 0 ? 'debit' : 'credit')),
      cell(line.reference || '', 'ref'),
      h('td', { class: 'no-print' }, button));
  }));
}

acc.tariffForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!state.account || acc.busy) return;
  clear(acc.tariffError);
  clear(acc.tariffResult);
  const tariff = acc.tariffSelect.value;
  acc.tariffSubmit.disabled = true;
  const res = await call('POST',
    '/api/regie/accounts/' + encodeURIComponent(state.account.number) + '/tariff', { tariff });
  acc.tariffSubmit.disabled = false;
  if (!res.ok) { showRefusal(acc.tariffError, res); return; }
  state.account = res.data;
  renderAccount();
  setText(acc.tariffResult, 'tariff.done', { tariff: { key: 'tariff.' + tariff } });
});

acc.print.addEventListener('click', () => printSection('account'));

/* -------------------------------------------------------------- refund */

const ref = {
  form: $('refund-form'), booking: $('refund-booking'), bookingHint: $('refund-booking-hint'),
  amount: $('refund-amount'), reason: $('refund-reason'), reference: $('refund-reference'),
  newReference: $('refund-new-reference'), submit: $('refund-submit'), error: $('refund-error'),
  result: $('refund-result'), busy: false, number: null,
};
FIELD_INPUTS.refund = {
  booking: ref.booking, amount_cents: ref.amount, reason: ref.reason, reference: ref.reference,
};

function freshRefundReference() {
  ref.reference.value = newReference('RBT');
  storageSet(REFUND_REF_KEY, ref.reference.value);
}

ref.reference.value = storageGet(REFUND_REF_KEY) || '';
if (!ref.reference.value) freshRefundReference();
ref.reference.addEventListener('input', () => storageSet(REFUND_REF_KEY, ref.reference.value.trim()));
ref.newReference.addEventListener('click', () => {
  freshRefundReference();
  clear(ref.error);
  setInvalid(ref.reference, false);
});
ref.booking.addEventListener('input', () => { ref.number = null; clear(ref.bookingHint); });

function chooseRefund(line, booking, charged, refundable) {
  ref.booking.value = booking.id;
  ref.number = state.account ? state.account.number : null;
  setText(ref.bookingHint, 'refund.selected', {
    date: { date: line.at }, name: line.label, number: ref.number || '',
    charged: { cents: charged }, refundable: { cents: refundable },
  });
  clear(ref.error);
  clear(ref.result);
  $('refund').scrollIntoView({ block: 'start' });
  ref.amount.focus();
}

ref.form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (ref.busy) return;
  resetInvalid(ref.form);
  clear(ref.error);
  const booking = ref.booking.value.trim();
  if (!booking) { invalid(ref.booking, ref.error, 'refund.booking.missing'); return; }
  const cents = parseEuros(ref.amount.value);
  if (cents === null) { invalid(ref.amount, ref.error, 'amount.invalid'); return; }
  const reason = ref.reason.value.trim();
  if (!reason) { invalid(ref.reason, ref.error, 'refund.reason.missing'); return; }
  const reference = ref.reference.value.trim();
  if (!reference) { invalid(ref.reference, ref.error, 'reference.missing'); return; }
  ref.busy = true;
  ref.submit.disabled = true;
  setText(ref.submit, 'common.busy');
  clear(ref.result);
  const res = await post('/api/regie/refunds',
    JSON.stringify({ booking, amount_cents: cents, reason, reference }), 'application/json');
  ref.busy = false;
  ref.submit.disabled = false;
  setText(ref.submit, 'refund.submit');
  if (!res.ok) {
    showRefusal(ref.error, res);
    markField('refund', res.data);
    if (res.data.reason === 'booking.not_found') setInvalid(ref.booking, true);
    if (res.data.reason === 'ledger.refund_exceeds_charge') setInvalid(ref.amount, true);
    return;
  }
  const account = res.data.account || {};
  setText(ref.result, res.data.replayed ? 'refund.replayed' : 'refund.done', {
    amount: { cents }, refunded: { cents: res.data.refunded }, number: account.number,
    balance: { cents: account.balance }, reference,
  });
  ref.amount.value = '';
  ref.reason.value = '';
  clear(ref.bookingHint);
  freshRefundReference();
  if (state.account && state.account.number === account.number) loadAccount(account.number, true);
});

/* -------------------------------------------------------------- report */

const rep = {
  form: $('report-form'), date: $('report-date'), show: $('report-show'), print: $('report-print'),
  error: $('report-error'), view: $('report-view'), heading: $('report-heading'),
  printed: $('report-printed'), body: $('report-body'), busy: false,
};
rep.date.value = localNow().day;
// The establishment's zone (any staff member may read it): today is its today.
call('GET', '/api/desk/establishment').then((est) => {
  if (!est.ok || !est.data) return;
  const before = localNow().day;
  kit.setTimeZone(est.data.time_zone);
  if (rep.date.value === before) rep.date.value = localNow().day; // unless changed meanwhile
});

rep.form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (rep.busy) return;
  clear(rep.error);
  setInvalid(rep.date, false);
  const day = rep.date.value;
  if (!day) { invalid(rep.date, rep.error, 'report.date.missing'); return; }
  rep.busy = true;
  rep.show.disabled = true;
  const res = await call('GET', '/api/regie/report?date=' + encodeURIComponent(day));
  rep.busy = false;
  rep.show.disabled = false;
  if (!res.ok) {
    showRefusal(rep.error, res);
    rep.view.hidden = true;
    rep.print.disabled = true;
    state.report = null;
    return;
  }
  state.report = res.data;
  renderReport();
  rep.view.hidden = false;
  rep.print.disabled = false;
});

function renderReport() {
  const r = state.report;
  if (!r) return;
  setText(rep.heading, 'report.heading', { date: { day: r.date }, establishment: r.establishment || '' });
  const rows = [
    ['report.calls', String(r.calls)],
    ['report.no_answer', String(r.no_answer)],
    ['report.cancelled', String(r.cancelled)],
    ['report.booked', String(r.booked)],
    ['report.connected', duration(r.connected_seconds)],
    ['report.minutes', String(r.billed_minutes)],
    ['report.charged', money(r.charged)],
    ['report.refunds', String(r.refunds)],
    ['report.refunded', money(r.refunded)],
    ['report.credits', String(r.credits)],
    ['report.credited', money(r.credited)],
  ];
  fill(rep.body, rows.map(([key, value]) => h('tr', { dataset: { key: key.slice(7) } },
    h('th', { scope: 'row', text: t(key) }),
    cell(value, 'num'))));
}

rep.print.addEventListener('click', () => printSection('report'));

/* --------------------------------------------------------------- print */

let signedIn = '';   // "Name (login)" of the signed-in member, printed on the sheets
kit.session.then((me) => { signedIn = me.name + ' (' + me.login + ')'; }).catch(() => {});

function printSection(name) {
  const now = localNow();
  const by = signedIn ? { key: 'account.printed.by', vars: { actor: signedIn } } : '';
  setText(name === 'account' ? acc.printed : rep.printed, 'account.printed', { now: { date: now.iso }, by });
  document.body.dataset.print = name;
  window.print();
}

window.addEventListener('afterprint', () => { delete document.body.dataset.print; });

/* --------------------------------------------------------------- start */

kit.renderers.push(() => {
  if (state.account) renderAccount();
  renderProblems();
  renderReport();
});
kit.initLang();
