/* Parloir — enrolling a kiosk device (/kiosk/enrolement), on the kiosk's touch screen.
 *
 * The administrator's page gives a one-time code (XXXX-XXXX-XXXX, valid 30 minutes); typed here,
 * POST /api/kiosk/enrol {code, lang} gives this browser the device credential (an HttpOnly
 * cookie), then the page goes to /kiosk. ?code= in the address prefills the field. Public page:
 * no staff session. No inline code (CSP). French by default, English with ?lang=en or the toggle.
 */
import { makeStaffKit } from './staff-kit.js';

const kit = makeStaffKit({
  fr: {
    'enrol.page.title': 'Parloir — Enrôlement de la borne',
    'enrol.brand': 'Borne de visiophonie',
    'lang.switch': 'English',
    'enrol.title': 'Enrôlement de la borne',
    'enrol.intro': 'Tapez le code à 12 caractères donné par l’administrateur. Il n’est valable que 30 minutes et une seule fois.',
    'enrol.code': 'Code d’enrôlement',
    'enrol.code.hint': 'Format XXXX-XXXX-XXXX ; les tirets et les minuscules sont acceptés.',
    'enrol.submit': 'Enrôler cette borne',
    'enrol.busy': 'Enrôlement…',
    'enrol.missing': 'Tapez le code d’enrôlement.',
    'enrol.length': 'Le code compte 12 lettres ou chiffres (XXXX-XXXX-XXXX) ; vous en avez tapé {n}.',
    'enrol.done': 'Borne enrôlée : {room}',
    'enrol.next': 'Ouverture de la borne…',
    'common.network': 'Le serveur ne répond pas. Vérifiez le réseau de la borne, puis réessayez.',
  },
  en: {
    'enrol.page.title': 'Parloir — Kiosk enrolment',
    'enrol.brand': 'Video-call kiosk',
    'lang.switch': 'Français',
    'enrol.title': 'Kiosk enrolment',
    'enrol.intro': 'Type the 12-character code given by the administrator. It is valid for 30 minutes, once.',
    'enrol.code': 'Enrolment code',
    'enrol.code.hint': 'Format XXXX-XXXX-XXXX; dashes and lower case are accepted.',
    'enrol.submit': 'Enrol this kiosk',
    'enrol.busy': 'Enrolling…',
    'enrol.missing': 'Type the enrolment code.',
    'enrol.length': 'The code has 12 letters or digits (XXXX-XXXX-XXXX); you typed {n}.',
    'enrol.done': 'Kiosk enrolled: {room}',
    'enrol.next': 'Opening the kiosk…',
    'common.network': 'The server does not answer. Check the kiosk’s network, then try again.',
  },
}, { session: false });
const { $, t, say } = kit;
const NEXT_MS = 2000;

/** Letters and digits only, upper case. */
const clean = (raw) => String(raw || '').toUpperCase().replace(/[^A-Z0-9]/g, '');

/** XXXX-XXXX-XXXX as far as typed. */
const grouped = (raw) => (clean(raw).match(/.{1,4}/g) || []).join('-');

function onInput() {
  const input = $('code');
  const atEnd = input.selectionStart === input.value.length;
  // Re-group only while typing at the end, so that a correction in the middle keeps the caret.
  const next = atEnd ? grouped(input.value) : input.value.toUpperCase();
  if (next !== input.value) {
    const caret = input.selectionStart;
    input.value = next;
    if (!atEnd) input.setSelectionRange(caret, caret);
  }
  kit.setInvalid(input, false);
  say($('enrol-error'), '');
}

async function submit(event) {
  event.preventDefault();
  const input = $('code');
  const code = clean(input.value);
  if (code.length !== 12) {
    kit.setInvalid(input, true);
    say($('enrol-error'), () => (code.length ? t('enrol.length', { n: code.length }) : t('enrol.missing')));
    input.focus();
    return;
  }
  input.value = grouped(code);
  const button = $('enrol-submit');
  button.disabled = true;
  say(button, () => t('enrol.busy'));
  let done = false;
  const res = await kit.call('POST', '/api/kiosk/enrol', { code: grouped(code), lang: kit.lang });
  try {
    if (res.ok) {
      const body = res.data;
      done = true;
      $('enrol-form').hidden = true;
      const box = $('enrol-done');
      box.hidden = false;
      const room = body.room || body.kiosk || '';
      say(box, () => t('enrol.done', { room }) + ' — ' + t('enrol.next'));
      document.body.dataset.enrolled = body.kiosk || '1';
      window.setTimeout(() => window.location.assign('/kiosk'), NEXT_MS);
      return;
    }
    if (res.status) {
      kit.setInvalid(input, true);
      input.focus();
      input.select();
    }
    say($('enrol-error'), res.data.message);
  } finally {
    if (!done) {
      button.disabled = false;
      say(button, () => t('enrol.submit'));
    }
  }
}

kit.initLang();
$('code').addEventListener('input', onInput);
$('enrol-form').addEventListener('submit', submit);
const given = new URLSearchParams(window.location.search).get('code');
if (given) $('code').value = grouped(given).slice(0, 14);
$('code').focus();
document.body.dataset.ready = '1';
