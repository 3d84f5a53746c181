/* Parloir — the audit log of the monitoring and recording system (/audit).
 *
 * GET /api/audit?from=&to=&action= in a table (newest first), the same filters for the CSV
 * export (/api/audit.csv), and a printable layout. Read-only: the log cannot be changed from
 * the application. No inline code (CSP). French by default, English with ?lang=en or the toggle.
 */
import { makeStaffKit } from './staff-kit.js';
import { numericDay } from './format.js';

const ACTIONS = ['monitor.watch', 'recording.play', 'recording.download', 'call.flag', 'call.cut',
  'recording.hold', 'recording.release_hold', 'recording.destroy', 'sanction'];

const TEXTS = {
  fr: {
    'lang.switch': 'English',
    'nav.skip': 'Aller au contenu',
    'nav.brand': 'Contrôle des communications',
    'common.loading': 'Chargement…',

    'audit.page.title': 'Parloir — Journal d’audit',
    'audit.title': 'Journal d’audit',
    'audit.legal': 'Toute utilisation du contrôle des communications est inscrite ici : visionnages en direct, lectures et téléchargements d’enregistrements, marques, coupures, transmissions à la justice et destructions. Le journal ne peut pas être modifié depuis l’application.',
    'audit.filter.title': 'Filtrer le journal',
    'audit.filter.from': 'Du',
    'audit.filter.to': 'Au',
    'audit.filter.action': 'Action',
    'audit.filter.all': 'Toutes les actions',
    'audit.filter.submit': 'Afficher',
    'audit.csv': 'Exporter en CSV (tableur)',
    'audit.print': 'Imprimer',
    'audit.none': 'Aucune entrée pour cette période.',
    'audit.one': '1 entrée.',
    'audit.many': '{n} entrées.',
    'audit.caption': 'Journal du {from} au {to}, du plus récent au plus ancien',
    'audit.caption.default': 'Journal des 30 derniers jours, du plus récent au plus ancien',
    'audit.caption.action': ' — {action}',
    'audit.printed': 'Imprimé le {date} à {time}',
    'audit.col.when': 'Date et heure',
    'audit.col.actor': 'Agent',
    'audit.col.action': 'Action',
    'audit.col.target': 'Objet',
    'audit.col.details': 'Détails',
    'action.monitor.watch': 'Visionnage en direct',
    'action.recording.play': 'Lecture d’un enregistrement',
    'action.recording.download': 'Téléchargement d’un enregistrement',
    'action.call.flag': 'Marque d’un moment',
    'action.call.cut': 'Coupure d’un appel',
    'action.recording.hold': 'Transmission à l’autorité judiciaire',
    'action.recording.release_hold': 'Levée de la transmission',
    'action.recording.destroy': 'Destruction d’un enregistrement',
    'action.sanction': 'Sanction',
    'detail.reason': 'Motif',
    'detail.comment': 'Commentaire',
    'detail.side': 'Côté',
    'side.kiosk': 'borne',
    'side.relative': 'proche',
    'target.open': 'Ouvrir l’enregistrement de l’appel {call}',
  },
  en: {
    'lang.switch': 'Français',
    'nav.skip': 'Skip to content',
    'nav.brand': 'Call monitoring',
    'common.loading': 'Loading…',

    'audit.page.title': 'Parloir — Audit log',
    'audit.title': 'Audit log',
    'audit.legal': 'Every use of call monitoring is written here: live viewings, playbacks and downloads of recordings, flags, cuts, handing to the judiciary and destructions. The log cannot be changed from the application.',
    'audit.filter.title': 'Filter the log',
    'audit.filter.from': 'From',
    'audit.filter.to': 'To',
    'audit.filter.action': 'Action',
    'audit.filter.all': 'All actions',
    'audit.filter.submit': 'Show',
    'audit.csv': 'Export as CSV (spreadsheet)',
    'audit.print': 'Print',
    'audit.none': 'No entry for this period.',
    'audit.one': '1 entry.',
    'audit.many': '{n} entries.',
    'audit.caption': 'Log from {from} to {to}, newest first',
    'audit.caption.default': 'Log of the last 30 days, newest first',
    'audit.caption.action': ' — {action}',
    'audit.printed': 'Printed on {date} at {time}',
    'audit.col.when': 'Date and time',
    'audit.col.actor': 'Officer',
    'audit.col.action': 'Action',
    'audit.col.target': 'Object',
    'audit.col.details': 'Details',
    'action.monitor.watch': 'Live viewing',
    'action.recording.play': 'Playback of a recording',
    'action.recording.download': 'Download of a recording',
    'action.call.flag': 'Moment flagged',
    'action.call.cut': 'Call cut',
    'action.recording.hold': 'Handed to the judicial authority',
    'action.recording.release_hold': 'Hold lifted',
    'action.recording.destroy': 'Recording destroyed',
    'action.sanction': 'Sanction',
    'detail.reason': 'Reason',
    'detail.comment': 'Comment',
    'detail.side': 'Side',
    'side.kiosk': 'kiosk',
    'side.relative': 'relative',
    'target.open': 'Open the recording of call {call}',
  },
};

const kit = makeStaffKit(TEXTS);
const { t, known, initLang, $, h } = kit;
kit.renderers.push(() => renderOptions(), () => render());

/* ----------------------------------------------------------- formatting */

const { format } = kit;

const formatDate = (ms) => format(ms, { day: '2-digit', month: '2-digit', year: 'numeric' });
const formatHour = (ms) => format(ms, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

const formatDay = numericDay;  // dd/mm/yyyy in both languages

function actionLabel(action) {
  return known('action.' + action) ? t('action.' + action) : action;
}

/* ------------------------------------------------------------------ page */

let entries = [];
let loaded = false;
let shown = { from: '', to: '', action: '' };

function filters() {
  const params = new URLSearchParams();
  ['from', 'to', 'action'].forEach((name) => {
    const value = $(name).value.trim();
    if (value) params.set(name, value);
  });
  return params;
}

function renderOptions() {
  const select = $('action');
  const value = select.value || new URLSearchParams(window.location.search).get('action') || '';
  select.replaceChildren(h('option', { value: '', text: t('audit.filter.all') }),
    ...ACTIONS.map((a) => h('option', { value: a, text: actionLabel(a) })));
  select.value = ACTIONS.includes(value) ? value : '';
}

function updateCsv() {
  const params = filters();
  $('csv').href = '/api/audit.csv' + (params.toString() ? '?' + params : '');
}

async function load() {
  const params = filters();
  const current = new URLSearchParams(window.location.search);
  const shownParams = new URLSearchParams(params);
  if (current.get('lang')) shownParams.set('lang', current.get('lang'));
  const qs = shownParams.toString();
  window.history.replaceState(null, '', window.location.pathname + (qs ? '?' + qs : ''));
  updateCsv();
  $('audit-status').textContent = t('common.loading');
  const res = await kit.get('/api/audit' + (params.toString() ? '?' + params : ''));
  if (!res.ok) {
    $('audit-status').textContent = '';
    $('audit-error').textContent = res.data.message;
    return;
  }
  $('audit-error').textContent = '';
  entries = (Array.isArray(res.data) ? res.data : []).slice().reverse();
  shown = { from: params.get('from') || '', to: params.get('to') || '', action: params.get('action') || '' };
  loaded = true;
  render();
}

function detailsCell(details) {
  const keys = Object.keys(details || {}).sort();
  if (!keys.length) return null;
  return h('dl', { class: 'audit-details' }, keys.map((key) => {
    let value = details[key];
    if (key === 'side' && known('side.' + value)) value = t('side.' + value);
    return h('div', {}, h('dt', { text: known('detail.' + key) ? t('detail.' + key) : key }),
      h('dd', { text: value }));
  }));
}

function targetCell(entry) {
  const target = entry.target || '';
  if (/^call_[0-9a-f]+$/.test(target)) {
    return h('a', {
      href: '/enregistrements?call=' + encodeURIComponent(target),
      'aria-label': t('target.open', { call: target }), text: target,
    });
  }
  return target;
}

function render() {
  if (!loaded) return;
  const n = entries.length;
  $('audit-status').textContent = n === 0 ? t('audit.none') : n === 1 ? t('audit.one') : t('audit.many', { n });
  let caption = shown.from || shown.to
    ? t('audit.caption', { from: formatDay(shown.from) || '…', to: formatDay(shown.to) || '…' })
    : t('audit.caption.default');
  if (shown.action) caption += t('audit.caption.action', { action: actionLabel(shown.action) });
  $('audit-caption').textContent = caption;
  const now = Date.now();
  $('print-meta').textContent = t('audit.printed', { date: formatDate(now), time: formatHour(now) });
  $('audit-table').hidden = n === 0;
  $('audit-body').replaceChildren(...entries.map((entry) => h('tr', { dataset: { action: entry.action } },
    h('td', { class: 'num' }, formatDate(entry.at), ' ', h('span', { class: 'audit-time', text: formatHour(entry.at) })),
    h('td', { text: entry.actor }),
    h('td', {}, h('span', { class: 'audit-action', text: actionLabel(entry.action) })),
    h('td', { class: 'audit-target' }, targetCell(entry)),
    h('td', {}, detailsCell(entry.details)))));
}

async function init() {
  initLang();
  const params = new URLSearchParams(window.location.search);
  $('from').value = params.get('from') || '';
  $('to').value = params.get('to') || '';
  renderOptions();
  updateCsv();
  ['from', 'to', 'action'].forEach((name) => $(name).addEventListener('change', updateCsv));
  $('filter-form').addEventListener('submit', (e) => { e.preventDefault(); load(); });
  $('print').addEventListener('click', () => window.print());
  const est = await kit.get('/api/desk/establishment');
  if (est.ok && est.data) kit.setTimeZone(est.data.time_zone);
  await load();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
