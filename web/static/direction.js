/* Parloir — the head of the prison's page (/direction).
 *
 *  - detainees' access: GET /api/direction/detainee-sanctions; POST
 *    /api/direction/detainees/{number}/sanctions {scope, from?, until?, reason} (no `until`: a
 *    withdrawal until lifted); POST .../sanctions/lift;
 *  - sanctioned numbers: GET/POST /api/direction/sanctions {phone, until, reason}; POST
 *    /api/direction/sanctions/{phone}/lift;
 *  - a longer call for one booking: POST /api/direction/bookings/{bid}/extend {minutes, reason}.
 * The server writes the signed-in member as the author and keeps every decision in the audit
 * log. Refusals show the server's sentence. No inline code (CSP). French by default, English
 * with ?lang=en or the toggle.
 */
import { makeStaffKit } from './staff-kit.js';
import { money, zonedNow } from './format.js';

const TEXTS = {
  fr: {
    'lang.switch': 'English',
    'nav.skip': 'Aller au contenu',
    'nav.brand': 'Direction de l’établissement',
    'common.at': '{date} à {time}',
    'common.active': 'en cours',
    'common.ended': 'terminée',
    'common.upcoming': 'à venir',
    'common.lift': 'Lever',
    'common.missing.reason': 'Indiquez le motif.',

    'direction.page.title': 'Parloir — Direction',
    'direction.title': 'Direction : sanctions et durées d’appel',
    'direction.legal': 'Décisions du chef d’établissement ou de son adjoint. Chacune est inscrite au journal d’audit avec son motif et son auteur ; une sanction levée reste dans l’historique.',

    'det.title': 'Accès des personnes détenues au téléphone',
    'det.caption': 'Sanctions des personnes détenues',
    'det.col.number': 'N° d’écrou',
    'det.col.scope': 'Portée',
    'det.col.kind': 'Nature',
    'det.col.from': 'Du',
    'det.col.until': 'Au (inclus)',
    'det.col.reason': 'Motif',
    'det.col.by': 'Décidée par',
    'det.col.state': 'État',
    'det.col.actions': 'Actions',
    'det.none': 'Aucune sanction enregistrée.',
    'det.count': '{n} sanction(s), dont {active} en cours ou à venir.',
    'det.scope.video': 'visiophonie',
    'det.scope.phone': 'tout le téléphone',
    'det.kind.suspension': 'suspension',
    'det.kind.withdrawal': 'retrait',
    'det.until.none': 'jusqu’à levée',
    'det.lifted': 'levée le {when}',
    'det.lift.label': 'Lever la sanction de {number}',
    'det.form.title': 'Suspendre ou retirer un accès',
    'det.form.number': 'Numéro d’écrou',
    'det.form.from': 'À partir du',
    'det.form.from.hint': 'Vide : dès maintenant.',
    'det.form.until': 'Jusqu’au (inclus)',
    'det.form.withdrawal': 'Retrait (jusqu’à levée)',
    'det.form.scope': 'Portée',
    'det.form.scope.video': 'Visiophonie seulement',
    'det.form.scope.phone': 'Tout le téléphone (visiophonie comprise)',
    'det.form.reason': 'Motif (décision, incident)',
    'det.form.submit': 'Enregistrer la sanction',
    'det.missing.number': 'Indiquez le numéro d’écrou.',
    'det.missing.until': 'Indiquez le dernier jour, ou cochez « Retrait (jusqu’à levée) ».',
    'det.done': 'Sanction enregistrée pour {number}.',
    'det.done.lift': 'Sanction de {number} levée.',

    'num.title': 'Numéros sanctionnés',
    'num.hint': 'Le numéro appelé lors de l’incident est sanctionné, quelle que soit la personne qui parlait : il ne peut être ni réservé ni appelé, pour aucune personne détenue.',
    'num.caption': 'Numéros sanctionnés',
    'num.col.phone': 'Numéro',
    'num.col.since': 'Depuis',
    'num.col.until': 'Jusqu’au (inclus)',
    'num.col.reason': 'Motif',
    'num.col.by': 'Décidée par',
    'num.col.state': 'État',
    'num.col.actions': 'Actions',
    'num.none': 'Aucun numéro sanctionné.',
    'num.count': '{n} numéro(s), dont {active} sanction(s) en cours.',
    'num.lift.label': 'Lever la sanction du {phone}',
    'num.form.title': 'Sanctionner un numéro',
    'num.form.phone': 'Numéro de téléphone',
    'num.form.until': 'Dernier jour (inclus)',
    'num.form.reason': 'Motif',
    'num.form.submit': 'Sanctionner le numéro',
    'num.missing.phone': 'Indiquez le numéro de téléphone.',
    'num.missing.until': 'Indiquez le dernier jour de la sanction.',
    'num.done': 'Numéro {phone} sanctionné.',
    'num.done.lift': 'Sanction du {phone} levée.',

    'ext.title': 'Allonger un appel',
    'ext.hint': 'Pour une réservation : la durée maximale de l’appel est augmentée, dans la limite du créneau, et la provision sur le compte téléphone avec elle. Un appel en cours est prolongé aussitôt.',
    'ext.form.booking': 'Référence de la réservation',
    'ext.form.minutes': 'Nouvelle durée maximale (minutes)',
    'ext.form.minutes.hint': 'Plus longue que l’actuelle, jamais plus que le créneau.',
    'ext.current': 'Réservation du {date} à {time} ({detainee}) : durée maximale actuelle {minutes} min, créneau de {slot} min.',
    'ext.current.unusable': 'Cette réservation n’est plus modifiable (état : {status}).',
    'ext.form.reason': 'Motif',
    'ext.form.submit': 'Allonger',
    'ext.missing.booking': 'Indiquez la référence de la réservation.',
    'ext.bad.minutes': 'Indiquez la nouvelle durée en minutes entières, de 1 à 600.',
    'ext.done': 'Réservation {booking} : durée maximale {minutes} min, provision {hold}.',
    'ext.done.live': ' L’appel en cours ({call}) est prolongé.',
  },
  en: {
    'lang.switch': 'Français',
    'nav.skip': 'Skip to content',
    'nav.brand': 'Head of the prison',
    'common.at': '{date} at {time}',
    'common.active': 'in force',
    'common.ended': 'ended',
    'common.upcoming': 'upcoming',
    'common.lift': 'Lift',
    'common.missing.reason': 'Enter the reason.',

    'direction.page.title': 'Parloir — Head of the prison',
    'direction.title': 'Head of the prison: sanctions and call durations',
    'direction.legal': 'Decisions of the head of the prison or their deputy. Each is written to the audit log with its reason and author; a lifted sanction stays in the history.',

    'det.title': 'Detainees’ phone access',
    'det.caption': 'Detainees’ sanctions',
    'det.col.number': 'Prisoner no.',
    'det.col.scope': 'Scope',
    'det.col.kind': 'Kind',
    'det.col.from': 'From',
    'det.col.until': 'To (included)',
    'det.col.reason': 'Reason',
    'det.col.by': 'Decided by',
    'det.col.state': 'State',
    'det.col.actions': 'Actions',
    'det.none': 'No sanction recorded.',
    'det.count': '{n} sanction(s), {active} in force or upcoming.',
    'det.scope.video': 'video calls',
    'det.scope.phone': 'all phone access',
    'det.kind.suspension': 'suspension',
    'det.kind.withdrawal': 'withdrawal',
    'det.until.none': 'until lifted',
    'det.lifted': 'lifted on {when}',
    'det.lift.label': 'Lift the sanction of {number}',
    'det.form.title': 'Suspend or withdraw access',
    'det.form.number': 'Prisoner number',
    'det.form.from': 'From',
    'det.form.from.hint': 'Empty: from now.',
    'det.form.until': 'Until (included)',
    'det.form.withdrawal': 'Withdrawal (until lifted)',
    'det.form.scope': 'Scope',
    'det.form.scope.video': 'Video calls only',
    'det.form.scope.phone': 'All phone access (video calls included)',
    'det.form.reason': 'Reason (decision, incident)',
    'det.form.submit': 'Record the sanction',
    'det.missing.number': 'Enter the prisoner number.',
    'det.missing.until': 'Enter the last day, or tick “Withdrawal (until lifted)”.',
    'det.done': 'Sanction recorded for {number}.',
    'det.done.lift': 'Sanction of {number} lifted.',

    'num.title': 'Sanctioned numbers',
    'num.hint': 'The number called at the incident is sanctioned, whoever was speaking: it can be neither booked nor called, for any detainee.',
    'num.caption': 'Sanctioned numbers',
    'num.col.phone': 'Number',
    'num.col.since': 'Since',
    'num.col.until': 'Until (included)',
    'num.col.reason': 'Reason',
    'num.col.by': 'Decided by',
    'num.col.state': 'State',
    'num.col.actions': 'Actions',
    'num.none': 'No sanctioned number.',
    'num.count': '{n} number(s), {active} sanction(s) in force.',
    'num.lift.label': 'Lift the sanction of {phone}',
    'num.form.title': 'Sanction a number',
    'num.form.phone': 'Phone number',
    'num.form.until': 'Last day (included)',
    'num.form.reason': 'Reason',
    'num.form.submit': 'Sanction the number',
    'num.missing.phone': 'Enter the phone number.',
    'num.missing.until': 'Enter the last day of the sanction.',
    'num.done': 'Number {phone} sanctioned.',
    'num.done.lift': 'Sanction of {phone} lifted.',

    'ext.title': 'A longer call',
    'ext.hint': 'For one booking: the call’s maximum duration grows, within the slot, and the hold on the phone account with it. A call in progress is extended at once.',
    'ext.form.booking': 'Booking reference',
    'ext.form.minutes': 'New maximum duration (minutes)',
    'ext.form.minutes.hint': 'Longer than now, never longer than the slot.',
    'ext.current': 'Booking of {date} at {time} ({detainee}): maximum duration now {minutes} min, slot of {slot} min.',
    'ext.current.unusable': 'This booking can no longer be changed (state: {status}).',
    'ext.form.reason': 'Reason',
    'ext.form.submit': 'Extend',
    'ext.missing.booking': 'Enter the booking reference.',
    'ext.bad.minutes': 'Enter the new duration in whole minutes, 1 to 600.',
    'ext.done': 'Booking {booking}: maximum duration {minutes} min, hold {hold}.',
    'ext.done.live': ' The call in progress ({call}) is extended.',
  },
};

const kit = makeStaffKit(TEXTS);
const { t, say, $, h, fill } = kit;
kit.renderers.push(() => renderDetainees(), () => renderNumbers());

/* ------------------------------------------------------------------- API */

const { call, format } = kit;

const formatDate = (ms) => format(ms, { day: '2-digit', month: '2-digit', year: 'numeric' });
const formatTime = (ms) => format(ms, { hour: '2-digit', minute: '2-digit' });
const formatWhen = (ms) => t('common.at', { date: formatDate(ms), time: formatTime(ms) });

/** True at midnight in the establishment's time zone: a day boundary, not a lift. */
function atMidnight(ms) {
  const parts = format(ms, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return /^0?0\D00$/.test(parts);
}

/** A period's start: the date alone at midnight, else date and time. */
const formatStart = (ms) => (atMidnight(ms) ? formatDate(ms) : formatWhen(ms));

/** A period's end (exclusive, at midnight after the last day): the last day included;
 *  an end that is not at midnight is when the sanction was lifted. */
function formatEnd(ms) {
  if (ms == null) return t('det.until.none');
  if (atMidnight(ms)) return formatDate(ms - 1);
  return t('det.lifted', { when: formatWhen(ms) });
}

const formatEuros = (cents) => money(kit.lang, cents);

/** Today in the establishment's time zone, YYYY-MM-DD (the date inputs' minimum). */
const today = () => zonedNow(kit.timeZone).day;

function stateBadge(since, until, now) {
  let key = 'common.ended';
  let cls = 'badge-muted';
  if (since > now) { key = 'common.upcoming'; cls = 'badge-warn'; }
  else if (until == null || until > now) { key = 'common.active'; cls = 'badge-bad'; }
  return h('span', { class: 'badge ' + cls, text: t(key) });
}

function cell(label, attrs, ...children) {
  return h('td', Object.assign({ 'data-label': label }, attrs || {}), ...children);
}

/** Focuses the first missing field, says why, marks it; false when something is missing. */
function check(errorEl, problems) {
  const found = problems.find(([missing]) => missing);
  problems.forEach(([missing, input]) => kit.setInvalid(input, Boolean(missing) && input === (found && found[1])));
  if (!found) return true;
  say(errorEl, () => t(found[2]));
  found[1].focus();
  return false;
}

/* ------------------------------------------------------------ detainees */

let detainees = [];

function renderDetainees() {
  const now = Date.now();
  const rows = detainees.map((s) => {
    const ongoing = s.until == null || s.until > now;
    return h('tr', { dataset: { detainee: s.detainee, active: ongoing ? '1' : '0' } },
      cell(t('det.col.number'), { class: 'strong' }, s.detainee),
      cell(t('det.col.scope'), {}, t('det.scope.' + s.scope)),
      cell(t('det.col.kind'), {}, t('det.kind.' + s.kind)),
      cell(t('det.col.from'), { class: 'num' }, formatStart(s.since)),
      cell(t('det.col.until'), { class: 'num' }, formatEnd(s.until)),
      cell(t('det.col.reason'), {}, s.reason),
      cell(t('det.col.by'), {}, s.by),
      cell(t('det.col.state'), {}, stateBadge(s.since, s.until, now)),
      cell(t('det.col.actions'), {}, ongoing ? h('button', {
        type: 'button', class: 'btn btn-secondary btn-small', text: t('common.lift'),
        'aria-label': t('det.lift.label', { number: s.detainee }),
        dataset: { action: 'lift', detainee: s.detainee },
        onclick: () => liftDetainee(s.detainee),
      }) : null));
  });
  fill($('det-body'), rows);
  $('det-table').hidden = detainees.length === 0;
  const active = detainees.filter((s) => s.until == null || s.until > now).length;
  say($('det-status'), () => (detainees.length
    ? t('det.count', { n: detainees.length, active }) : t('det.none')));
}

async function loadDetainees() {
  const res = await call('GET', '/api/direction/detainee-sanctions');
  if (!res.ok) {
    say($('det-error'), res.data.message);
    return;
  }
  say($('det-error'), '');
  detainees = Array.isArray(res.data) ? res.data : [];
  renderDetainees();
}

async function sanctionDetainee(event) {
  event.preventDefault();
  const number = $('det-number').value.trim();
  const withdrawal = $('det-withdrawal').checked;
  const from = $('det-from').value;
  const until = $('det-until').value;
  const reason = $('det-reason').value.trim();
  const scope = (document.querySelector('input[name="scope"]:checked') || {}).value || 'video';
  if (!check($('det-form-error'), [
    [!number, $('det-number'), 'det.missing.number'],
    [!withdrawal && !until, $('det-until'), 'det.missing.until'],
    [!reason, $('det-reason'), 'common.missing.reason'],
  ])) return;
  const payload = { scope, reason };
  if (from) payload.from = from;
  if (!withdrawal) payload.until = until;
  $('det-submit').disabled = true;
  const res = await call('POST', '/api/direction/detainees/' + encodeURIComponent(number) + '/sanctions', payload);
  $('det-submit').disabled = false;
  if (!res.ok) {
    say($('det-form-error'), res.data.message);
    const field = { 'booking.unknown_detainee': 'det-number', 'field.until': 'det-until',
      'request.bad_date': 'det-until', 'field.reason': 'det-reason' }[res.data.reason];
    if (field) { kit.setInvalid($(field), true); $(field).focus(); }
    return;
  }
  say($('det-form-error'), '');
  $('det-form').reset();
  syncWithdrawal();
  say($('det-status'), () => t('det.done', { number }));
  await loadDetainees();
  say($('det-status'), () => t('det.done', { number }));
}

async function liftDetainee(number) {
  const res = await call('POST', '/api/direction/detainees/' + encodeURIComponent(number) + '/sanctions/lift', {});
  if (!res.ok) {
    say($('det-error'), res.data.message);
    return;
  }
  await loadDetainees();
  say($('det-status'), () => t('det.done.lift', { number }));
}

function syncWithdrawal() {
  const withdrawal = $('det-withdrawal').checked;
  $('det-until').disabled = withdrawal;
  if (withdrawal) {
    $('det-until').value = '';
    kit.setInvalid($('det-until'), false);
  }
}

/* -------------------------------------------------------------- numbers */

let numbers = [];

function renderNumbers() {
  const now = Date.now();
  const rows = numbers.map((s) => h('tr', { dataset: { phone: s.phone, active: s.active ? '1' : '0' } },
    cell(t('num.col.phone'), { class: 'strong num' }, s.phone),
    cell(t('num.col.since'), { class: 'num' }, formatStart(s.since)),
    cell(t('num.col.until'), { class: 'num' }, formatEnd(s.until)),
    cell(t('num.col.reason'), {}, s.reason),
    cell(t('num.col.by'), {}, s.by),
    cell(t('num.col.state'), {}, stateBadge(s.since, s.until, now)),
    cell(t('num.col.actions'), {}, s.until > now ? h('button', {
      type: 'button', class: 'btn btn-secondary btn-small', text: t('common.lift'),
      'aria-label': t('num.lift.label', { phone: s.phone }),
      dataset: { action: 'lift', phone: s.phone },
      onclick: () => liftNumber(s.phone),
    }) : null)));
  fill($('num-body'), rows);
  $('num-table').hidden = numbers.length === 0;
  const active = numbers.filter((s) => s.active).length;
  say($('num-status'), () => (numbers.length
    ? t('num.count', { n: numbers.length, active }) : t('num.none')));
}

async function loadNumbers() {
  const res = await call('GET', '/api/direction/sanctions');
  if (!res.ok) {
    say($('num-error'), res.data.message);
    return;
  }
  say($('num-error'), '');
  numbers = Array.isArray(res.data) ? res.data : [];
  renderNumbers();
}

async function sanctionNumber(event) {
  event.preventDefault();
  const phone = $('num-phone').value.trim();
  const until = $('num-until').value;
  const reason = $('num-reason').value.trim();
  if (!check($('num-form-error'), [
    [!phone, $('num-phone'), 'num.missing.phone'],
    [!until, $('num-until'), 'num.missing.until'],
    [!reason, $('num-reason'), 'common.missing.reason'],
  ])) return;
  $('num-submit').disabled = true;
  const res = await call('POST', '/api/direction/sanctions', { phone, until, reason });
  $('num-submit').disabled = false;
  if (!res.ok) {
    say($('num-form-error'), res.data.message);
    const field = { 'phone.invalid': 'num-phone', 'field.phone': 'num-phone', 'field.until': 'num-until',
      'request.bad_date': 'num-until', 'field.reason': 'num-reason' }[res.data.reason];
    if (field) { kit.setInvalid($(field), true); $(field).focus(); }
    return;
  }
  say($('num-form-error'), '');
  $('num-form').reset();
  await loadNumbers();
  say($('num-status'), () => t('num.done', { phone: res.data.phone }));
}

async function liftNumber(phone) {
  const res = await call('POST', '/api/direction/sanctions/' + encodeURIComponent(phone) + '/lift', {});
  if (!res.ok) {
    say($('num-error'), res.data.message);
    return;
  }
  await loadNumbers();
  say($('num-status'), () => t('num.done.lift', { phone }));
}

/* ------------------------------------------------------------ extension */

let currentBooking = null;

function renderCurrent() {
  const b = currentBooking;
  if (!b) return;
  const start = Date.parse(b.start);
  const slot = Math.round((Date.parse(b.end) - start) / 60000);
  const minutes = Math.round((b.max_seconds || 0) / 60);
  if (b.status !== 'booked') {
    say($('ext-current'), () => t('ext.current.unusable', { status: b.status }));
    return;
  }
  say($('ext-current'), () => t('ext.current', {
    date: formatDate(start), time: formatTime(start), detainee: b.detainee, minutes, slot,
  }));
  $('ext-minutes').min = String(Math.min(minutes + 1, 600));
  $('ext-minutes').max = String(Math.min(slot, 600));
}

/** What the booking allows now, shown under the form (GET /api/desk/bookings/{bid}). */
async function lookupBooking() {
  const bid = $('ext-booking').value.trim();
  currentBooking = null;
  $('ext-minutes').min = '1';
  $('ext-minutes').max = '600';
  if (!bid) {
    say($('ext-current'), '');
    return;
  }
  const res = await call('GET', '/api/desk/bookings/' + encodeURIComponent(bid));
  if ($('ext-booking').value.trim() !== bid) return;
  if (!res.ok) {
    say($('ext-current'), res.data.message);
    return;
  }
  currentBooking = res.data;
  renderCurrent();
}

async function extend(event) {
  event.preventDefault();
  const booking = $('ext-booking').value.trim();
  const rawMinutes = $('ext-minutes').value.trim();
  const minutes = Number(rawMinutes);
  const reason = $('ext-reason').value.trim();
  const badMinutes = !/^\d+$/.test(rawMinutes) || minutes < 1 || minutes > 600;
  if (!check($('ext-error'), [
    [!booking, $('ext-booking'), 'ext.missing.booking'],
    [badMinutes, $('ext-minutes'), 'ext.bad.minutes'],
    [!reason, $('ext-reason'), 'common.missing.reason'],
  ])) return;
  $('ext-submit').disabled = true;
  const res = await call('POST', '/api/direction/bookings/' + encodeURIComponent(booking) + '/extend',
    { minutes, reason });
  $('ext-submit').disabled = false;
  if (!res.ok) {
    say($('ext-result'), '');
    say($('ext-error'), res.data.message);
    const field = { 'booking.not_found': 'ext-booking', 'field.minutes': 'ext-minutes',
      'booking.bad_extension': 'ext-minutes', 'field.reason': 'ext-reason' }[res.data.reason];
    if (field) { kit.setInvalid($(field), true); $(field).focus(); }
    return;
  }
  say($('ext-error'), '');
  const d = res.data;
  say($('ext-result'), () => t('ext.done', {
    booking: d.booking, minutes: Math.round(d.max_seconds / 60), hold: formatEuros(d.hold),
  }) + (d.live_call ? t('ext.done.live', { call: d.live_call }) : ''));
  $('ext-minutes').value = '';
  $('ext-reason').value = '';
  if (currentBooking && currentBooking.id === d.booking) {
    currentBooking.max_seconds = d.max_seconds;
    renderCurrent();
  }
}

/* ------------------------------------------------------------------ init */

async function init() {
  kit.initLang();
  $('det-form').addEventListener('submit', sanctionDetainee);
  $('det-withdrawal').addEventListener('change', syncWithdrawal);
  $('num-form').addEventListener('submit', sanctionNumber);
  $('ext-form').addEventListener('submit', extend);
  $('ext-booking').addEventListener('change', lookupBooking);
  const est = await call('GET', '/api/desk/establishment');
  if (est.ok && est.data) kit.setTimeZone(est.data.time_zone);
  ['det-from', 'det-until', 'num-until'].forEach((id) => { $(id).min = today(); });
  await Promise.all([loadDetainees(), loadNumbers()]);
  document.body.dataset.ready = '1';
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
