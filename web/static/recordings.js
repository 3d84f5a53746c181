/* Parloir — recordings of calls (/enregistrements): search, synchronised playback, flags,
 * legal hold, download.
 *
 * Each call has one WebM per side (kiosk.webm, relative.webm) on a common clock starting at the
 * recording's start (recorder/writer.py), so both are played together from the same position:
 * one shared play/pause/seek control drives both <video>s, and the second one is pulled back
 * onto the first whenever they drift apart by more than 0.15 s. Flags are markers on the
 * timeline at (flag.at - started_at); a click jumps there.
 *
 * The files are served with HTTP Range by the gateway; every playback and download is written to
 * the audit log by the server under the signed-in member's name (the session's).
 * No inline code (CSP). French by default, English with ?lang=en or the toggle.
 */
import { makeStaffKit } from './staff-kit.js';
import { clock as formatClock } from './format.js';
const SIDES = ['kiosk', 'relative'];
const MAX_DRIFT = 0.15;

const TEXTS = {
  fr: {
    'lang.switch': 'English',
    'nav.skip': 'Aller au contenu',
    'nav.brand': 'Contrôle des communications',
    'common.loading': 'Chargement…',

    'rec.page.title': 'Parloir — Enregistrements des appels',
    'rec.title': 'Enregistrements des appels',
    'rec.legal': 'Les enregistrements sont détruits {retentionDays} jours après l’appel, sauf s’ils ont été transmis à l’autorité judiciaire. Chaque lecture et chaque téléchargement est inscrit au journal d’audit. Les appels avec un avocat ne sont jamais enregistrés.',
    'rec.search.title': 'Rechercher',
    'rec.search.from': 'Du',
    'rec.search.to': 'Au',
    'rec.search.detainee': 'Numéro d’écrou',
    'rec.search.phone': 'Téléphone du correspondant',
    'rec.search.flagged': 'Seulement les appels marqués',
    'rec.search.submit': 'Rechercher',
    'rec.list.none': 'Aucun enregistrement ne correspond à la recherche.',
    'rec.list.one': '1 enregistrement.',
    'rec.list.many': '{n} enregistrements.',
    'rec.col.date': 'Date',
    'rec.col.duration': 'Durée',
    'rec.col.detainee': 'Personne détenue',
    'rec.col.correspondent': 'Correspondant',
    'rec.col.kiosk': 'Borne',
    'rec.col.flags': 'Marques',
    'rec.col.state': 'État',
    'rec.col.action': 'Action',
    'rec.number': 'n° {n}',
    'rec.open': 'Ouvrir',
    'rec.open.aria': 'Ouvrir l’enregistrement de {detainee} du {date}',
    'rec.in_progress': 'en cours',
    'rec.state.recording': 'Appel en cours',
    'rec.state.sealed': 'Scellé',
    'rec.state.failed': 'Échec',
    'rec.state.destroyed': 'Détruit',
    'rec.held': 'Transmis à la justice',
    'rec.player.title': '{detainee} — {correspondent}',
    'rec.player.meta': '{date}, de {start} à {end} · borne {kiosk} · appel {call}',
    'rec.player.meta_live': '{date}, depuis {start} · borne {kiosk} · appel {call}',
    'rec.player.close': 'Fermer',
    'rec.player.controls': 'Lecture des deux côtés ensemble',
    'rec.player.play': 'Lecture',
    'rec.player.pause': 'Pause',
    'rec.player.seek': 'Position dans l’enregistrement',
    'rec.player.kiosk': 'Borne : {name}',
    'rec.player.relative': 'Proche : {name}',
    'rec.player.missing': 'Pas de fichier pour ce côté.',
    'rec.player.media_error': 'Ce fichier ne peut pas être lu par le navigateur.',
    'rec.notice.recording': 'L’appel est en cours : l’enregistrement n’est pas encore complet.',
    'rec.notice.failed': 'L’enregistrement a échoué pendant l’appel ({failure}) : seule la partie écrite avant l’échec peut être lue.',
    'rec.notice.destroyed': 'Enregistrement détruit à la fin de la durée de conservation. Seule sa trace reste.',
    'rec.notice.no_files': 'Aucun fichier pour cet enregistrement.',
    'rec.flags.title': 'Moments marqués',
    'rec.flags.none': 'Aucun moment marqué.',
    'rec.flags.by': 'par {by}',
    'rec.flags.go': 'Aller à {time}',
    'rec.flags.marker': 'Moment marqué à {time} : {comment}',
    'rec.download.title': 'Télécharger',
    'rec.download.hint': 'Chaque téléchargement est inscrit au journal d’audit.',
    'rec.download.kiosk': 'Côté borne (WebM)',
    'rec.download.relative': 'Côté proche (WebM)',
    'rec.hold.title': 'Transmission à l’autorité judiciaire',
    'rec.hold.label': 'Transmis à l’autorité judiciaire (conservé au-delà de {retentionDays} jours)',
    'rec.hold.reason': 'Motif (réquisition, référence de la procédure…)',
    'rec.hold.save': 'Enregistrer',
    'rec.hold.missing': 'Indiquez le motif (référence de la réquisition, ou raison de la levée).',
    'rec.hold.on': 'Enregistrement conservé : transmis à l’autorité judiciaire.',
    'rec.hold.off': 'Conservation levée : l’enregistrement sera détruit à la fin des {retentionDays} jours.',
  },
  en: {
    'lang.switch': 'Français',
    'nav.skip': 'Skip to content',
    'nav.brand': 'Call monitoring',
    'common.loading': 'Loading…',

    'rec.page.title': 'Parloir — Call recordings',
    'rec.title': 'Call recordings',
    'rec.legal': 'Recordings are destroyed {retentionDays} days after the call unless handed to the judicial authority. Every playback and download is written to the audit log. Calls with a lawyer are never recorded.',
    'rec.search.title': 'Search',
    'rec.search.from': 'From',
    'rec.search.to': 'To',
    'rec.search.detainee': 'Detainee number',
    'rec.search.phone': 'Correspondent’s phone',
    'rec.search.flagged': 'Flagged calls only',
    'rec.search.submit': 'Search',
    'rec.list.none': 'No recording matches the search.',
    'rec.list.one': '1 recording.',
    'rec.list.many': '{n} recordings.',
    'rec.col.date': 'Date',
    'rec.col.duration': 'Length',
    'rec.col.detainee': 'Detainee',
    'rec.col.correspondent': 'Correspondent',
    'rec.col.kiosk': 'Kiosk',
    'rec.col.flags': 'Flags',
    'rec.col.state': 'State',
    'rec.col.action': 'Action',
    'rec.number': 'no. {n}',
    'rec.open': 'Open',
    'rec.open.aria': 'Open the recording of {detainee} on {date}',
    'rec.in_progress': 'in progress',
    'rec.state.recording': 'Call in progress',
    'rec.state.sealed': 'Sealed',
    'rec.state.failed': 'Failed',
    'rec.state.destroyed': 'Destroyed',
    'rec.held': 'Handed to the judiciary',
    'rec.player.title': '{detainee} — {correspondent}',
    'rec.player.meta': '{date}, from {start} to {end} · kiosk {kiosk} · call {call}',
    'rec.player.meta_live': '{date}, since {start} · kiosk {kiosk} · call {call}',
    'rec.player.close': 'Close',
    'rec.player.controls': 'Playback of both sides together',
    'rec.player.play': 'Play',
    'rec.player.pause': 'Pause',
    'rec.player.seek': 'Position in the recording',
    'rec.player.kiosk': 'Kiosk: {name}',
    'rec.player.relative': 'Relative: {name}',
    'rec.player.missing': 'No file for this side.',
    'rec.player.media_error': 'The browser cannot play this file.',
    'rec.notice.recording': 'The call is in progress: the recording is not complete yet.',
    'rec.notice.failed': 'The recording failed during the call ({failure}): only the part written before the failure can be played.',
    'rec.notice.destroyed': 'Recording destroyed at the end of the retention period. Only its trace remains.',
    'rec.notice.no_files': 'No file for this recording.',
    'rec.flags.title': 'Flagged moments',
    'rec.flags.none': 'No flagged moment.',
    'rec.flags.by': 'by {by}',
    'rec.flags.go': 'Go to {time}',
    'rec.flags.marker': 'Moment flagged at {time}: {comment}',
    'rec.download.title': 'Download',
    'rec.download.hint': 'Every download is written to the audit log.',
    'rec.download.kiosk': 'Kiosk side (WebM)',
    'rec.download.relative': 'Relative side (WebM)',
    'rec.hold.title': 'Handing to the judicial authority',
    'rec.hold.label': 'Handed to the judicial authority (kept beyond {retentionDays} days)',
    'rec.hold.reason': 'Reason (requisition, case reference…)',
    'rec.hold.save': 'Save',
    'rec.hold.missing': 'Give the reason (requisition reference, or why the hold is lifted).',
    'rec.hold.on': 'Recording kept: handed to the judicial authority.',
    'rec.hold.off': 'Hold lifted: the recording will be destroyed when the {retentionDays} days are over.',
  },
};

const kit = makeStaffKit(TEXTS);
const {
  renderers, t, known, say, setLang, initLang, $, h, fill, setInvalid,
  get, post,
} = kit;

/* ----------------------------------------------------------- formatting */

const { format } = kit;

const formatDate = (ms) => format(ms, { day: '2-digit', month: '2-digit', year: 'numeric' });
const formatHour = (ms) => format(ms, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** Seconds as mm:ss (h:mm:ss past an hour). */
const clock = (seconds) => formatClock(Math.max(0, Math.floor(Number(seconds) || 0)) * 1000);

/* ---------------------------------------------------------------- search */

const form = $('search-form');
const fields = ['from', 'to', 'detainee', 'phone'];
let results = [];
let loaded = false;

/** A French number (or its start) as typed, "06 12 34…", in the form the index keeps
 *  (+33612…): the server matches a part of the number. */
function normalisePhone(text) {
  const compact = text.replace(/[\s.\-()]/g, '');
  if (/^00\d/.test(compact)) return '+' + compact.slice(2);
  if (/^0[1-9]/.test(compact)) return '+33' + compact.slice(1);
  return compact;
}

/** +33612345678 shown as +33 6 12 34 56 78; other numbers as they are. */
function formatPhone(phone) {
  const m = /^\+33(\d)(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(phone || '');
  return m ? '+33 ' + m.slice(1).join(' ') : (phone || '');
}

function queryString() {
  const params = new URLSearchParams();
  fields.forEach((name) => {
    let value = $(name).value.trim();
    if (name === 'phone') value = normalisePhone(value);
    if (value) params.set(name, value);
  });
  if ($('flagged').checked) params.set('flagged', '1');
  return params;
}

function fillForm() {
  const params = new URLSearchParams(window.location.search);
  fields.forEach((name) => { $(name).value = params.get(name) || ''; });
  $('flagged').checked = params.get('flagged') === '1';
}

function syncUrl(callId) {
  const params = queryString();
  const current = new URLSearchParams(window.location.search);
  if (current.get('lang')) params.set('lang', current.get('lang'));
  if (callId) params.set('call', callId);
  const qs = params.toString();
  window.history.replaceState(null, '', window.location.pathname + (qs ? '?' + qs : ''));
}

async function search() {
  say($('list-status'), () => t('common.loading'));
  const params = queryString();
  const res = await get('/api/recordings' + (params.toString() ? '?' + params : ''));
  if (!res.ok) {
    say($('list-status'), '');
    say($('list-error'), res.data.message);
    return;
  }
  say($('list-error'), '');
  results = Array.isArray(res.data) ? res.data : [];
  loaded = true;
  renderList();
}

function stateBadge(rec) {
  const kind = { sealed: 'ok', recording: 'warn', failed: 'bad', destroyed: 'muted' }[rec.state] || 'muted';
  const text = known('rec.state.' + rec.state) ? t('rec.state.' + rec.state) : rec.state;
  return h('span', { class: 'badge badge-' + kind, text });
}

function lengthOf(rec) {
  if (!rec.ended_at || !rec.started_at) return t('rec.in_progress');
  return clock((rec.ended_at - rec.started_at) / 1000);
}

function renderList() {
  if (!loaded) return;
  const n = results.length;
  say($('list-status'), n === 0 ? t('rec.list.none') : n === 1 ? t('rec.list.one') : t('rec.list.many', { n }));
  $('list-table').hidden = n === 0;
  $('list-body').replaceChildren(...results.map((rec) => {
    const date = formatDate(rec.started_at);
    const detainee = rec.detainee_name || t('rec.number', { n: rec.detainee });
    const open = h('button', {
      type: 'button', class: 'btn btn-primary btn-small open-button',
      'aria-label': t('rec.open.aria', { detainee, date }), text: t('rec.open'),
      onclick: () => openRecording(rec.call),
    });
    const current = opened && opened.call === rec.call;
    return h('tr', { dataset: { call: rec.call }, class: current ? 'current' : null },
      h('td', { class: 'num' }, date, h('span', { class: 'sub', text: formatHour(rec.started_at) })),
      h('td', { class: 'num', text: lengthOf(rec) }),
      h('th', { scope: 'row' }, detainee, h('span', { class: 'sub', text: t('rec.number', { n: rec.detainee }) })),
      h('td', {}, rec.correspondent_name || '—', h('span', { class: 'sub', text: formatPhone(rec.phone) })),
      h('td', { text: rec.kiosk || '—' }),
      h('td', { class: 'num', text: String(rec.flags || 0) }),
      h('td', {}, stateBadge(rec), rec.legal_hold ? [' ', h('span', { class: 'badge badge-warn', text: t('rec.held') })] : null),
      h('td', {}, rec.state === 'destroyed' ? null : open));
  }));
}

/* ---------------------------------------------------------------- player */

const videos = { kiosk: $('video-kiosk'), relative: $('video-relative') };
const playButton = $('play');
const seek = $('seek');
let opened = null;       // the recording shown (GET /api/recordings/{call})
let active = [];         // the <video>s with a file
let seeking = false;     // the user is dragging the slider

function lengthSeconds() {
  let longest = 0;
  active.forEach((v) => { if (Number.isFinite(v.duration)) longest = Math.max(longest, v.duration); });
  if (opened && opened.ended_at && opened.started_at) {
    longest = Math.max(longest, (opened.ended_at - opened.started_at) / 1000);
  }
  return longest;
}

/** The video the others follow: the longest one (a side may stop earlier). */
function master() {
  let best = active[0] || null;
  active.forEach((v) => {
    if (Number.isFinite(v.duration) && (!Number.isFinite(best.duration) || v.duration > best.duration)) best = v;
  });
  return best;
}

function playing() {
  return active.some((v) => !v.paused && !v.ended);
}

function renderTransport() {
  const length = lengthSeconds();
  const m = master();
  const now = m ? m.currentTime : 0;
  seek.max = String(Math.max(length, now).toFixed(1));
  if (!seeking) seek.value = String(now);
  seek.setAttribute('aria-valuetext', clock(now) + ' / ' + clock(length));
  $('time-current').textContent = clock(now);
  $('time-total').textContent = clock(length);
  playButton.textContent = t(playing() ? 'rec.player.pause' : 'rec.player.play');
}

/** Pull every other video onto the master when they drift apart. */
function keepInSync() {
  const m = master();
  if (!m) return;
  active.forEach((v) => {
    if (v === m || v.seeking) return;
    if (Number.isFinite(v.duration) && m.currentTime > v.duration) return;  // that side ended
    if (Math.abs(v.currentTime - m.currentTime) > MAX_DRIFT) v.currentTime = m.currentTime;
    if (!m.paused && v.paused && !v.ended) v.play().catch(() => { /* ignore */ });
  });
}

async function playAll() {
  const m = master();
  if (!m) return;
  const length = lengthSeconds();
  if (m.ended || (length && m.currentTime >= length - 0.05)) seekTo(0);
  const at = m.currentTime;
  active.forEach((v) => { if (v !== m && Math.abs(v.currentTime - at) > 0.05) v.currentTime = at; });
  await Promise.all(active.map((v) => v.play().catch(() => { /* e.g. a file that failed */ })));
  renderTransport();
}

function pauseAll() {
  active.forEach((v) => v.pause());
  keepInSync();
  renderTransport();
}

function seekTo(seconds) {
  const target = Math.max(0, Number(seconds) || 0);
  active.forEach((v) => { v.currentTime = target; });
  if (!seeking) seek.value = String(target);
  $('time-current').textContent = clock(target);
}

function initPlayer() {
  playButton.addEventListener('click', () => {
    if (playing()) pauseAll(); else playAll();
  });
  seek.addEventListener('input', () => {
    seeking = true;
    seekTo(seek.value);
  });
  seek.addEventListener('change', () => {
    seeking = false;
    seekTo(seek.value);
  });
  SIDES.forEach((side) => {
    const v = videos[side];
    v.addEventListener('timeupdate', () => {
      if (v !== master()) return;
      keepInSync();
      renderTransport();
    });
    ['play', 'pause', 'durationchange', 'loadedmetadata'].forEach((name) =>
      v.addEventListener(name, () => { renderTransport(); renderMarkers(); }));
    v.addEventListener('ended', () => {
      if (v === master()) pauseAll();
    });
    v.addEventListener('error', () => {
      if (!v.getAttribute('src')) return;
      say($('caption-' + side), () => t('rec.player.media_error'));
    });
  });
  $('player-close').addEventListener('click', closePlayer);
  $('hold-form').addEventListener('submit', (e) => { e.preventDefault(); saveHold(); });
}

function resetVideos() {
  SIDES.forEach((side) => {
    const v = videos[side];
    v.pause();
    v.removeAttribute('src');
    v.load();
  });
  active = [];
}

function closePlayer() {
  resetVideos();
  opened = null;
  $('player').hidden = true;
  syncUrl(null);
  renderList();
}

async function openRecording(callId) {
  const res = await get('/api/recordings/' + encodeURIComponent(callId));
  if (!res.ok) {
    say($('list-error'), res.data.message);
    return;
  }
  resetVideos();
  opened = res.data;
  syncUrl(callId);
  renderList();
  renderPlayer();
  SIDES.forEach((side) => {
    const file = playable(opened).find((f) => f.side === side);
    const v = videos[side];
    v.closest('figure').classList.toggle('missing', !file);
    if (!file) return;
    v.src = file.url;
    v.load();
    active.push(v);
  });
  renderTransport();
  $('player').hidden = false;
  $('player-title').focus();
}

/** The files that can be played: none once the recording is destroyed. */
function playable(rec) {
  return rec.state !== 'destroyed' && Array.isArray(rec.files) ? rec.files : [];
}

function names() {
  return {
    detainee: opened.detainee_name || t('rec.number', { n: opened.detainee }),
    correspondent: opened.correspondent_name || opened.phone || '—',
  };
}

function renderPlayer() {
  if (!opened) return;
  const rec = opened;
  const who = names();
  $('player-title').textContent = t('rec.player.title', who);
  const vars = {
    date: formatDate(rec.started_at), start: formatHour(rec.started_at),
    end: rec.ended_at ? formatHour(rec.ended_at) : '', kiosk: rec.kiosk || '—', call: rec.call,
  };
  $('player-meta').textContent = t(rec.ended_at ? 'rec.player.meta' : 'rec.player.meta_live', vars);
  const files = playable(rec);
  let notice = '';
  if (rec.state === 'destroyed') notice = t('rec.notice.destroyed');
  else if (!files.length) notice = t('rec.notice.no_files');
  else if (rec.state === 'failed') notice = t('rec.notice.failed', { failure: rec.failure || '?' });
  else if (rec.state === 'recording') notice = t('rec.notice.recording');
  $('player-notice').textContent = notice;
  $('player-notice').hidden = !notice;
  $('player-notice').classList.toggle('notice-bad', rec.state === 'failed' || rec.state === 'destroyed');
  $('player-media').hidden = !files.length;
  $('hold-box').hidden = rec.state === 'destroyed';
  SIDES.forEach((side) => {
    const has = files.some((f) => f.side === side);
    const name = side === 'kiosk' ? who.detainee : who.correspondent;
    $('caption-' + side).textContent = has ? t('rec.player.' + side, { name }) : t('rec.player.missing');
  });
  renderFlags();
  renderDownloads();
  renderHold();
  renderTransport();
}

function flagSeconds(flag) {
  return Math.max(0, (flag.at - opened.started_at) / 1000);
}

function flagsOf() {
  return opened && Array.isArray(opened.flags_list) ? opened.flags_list : [];
}

function renderMarkers() {
  const box = $('markers');
  if (!opened) { box.replaceChildren(); return; }
  const length = Math.max(lengthSeconds(), Number(seek.max) || 0);
  box.replaceChildren(...flagsOf().map((flag) => {
    const at = flagSeconds(flag);
    const left = length > 0 ? Math.min(100, (at / length) * 100) : 0;
    const marker = h('button', {
      type: 'button', class: 'marker', dataset: { at: String(at) },
      'aria-label': t('rec.flags.marker', { time: clock(at), comment: flag.comment }),
      title: clock(at) + ' — ' + flag.comment,
      onclick: () => seekTo(at),
    });
    marker.style.left = left + '%';
    return marker;
  }));
}

function renderFlags() {
  const flags = flagsOf();
  $('flags-empty').hidden = flags.length > 0;
  $('flags-list').replaceChildren(...flags.map((flag) => {
    const at = flagSeconds(flag);
    return h('li', { class: 'flag-item' },
      h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: t('rec.flags.go', { time: clock(at) }), onclick: () => { seekTo(at); } }),
      h('span', { class: 'flag-comment', text: flag.comment }),
      h('span', { class: 'sub', text: t('rec.flags.by', { by: flag.by }) + ' · ' + formatHour(flag.at) }));
  }));
  renderMarkers();
}

function renderDownloads() {
  const list = $('downloads');
  if (!opened) { list.replaceChildren(); return; }
  list.replaceChildren(...playable(opened).map((file) => {
    const link = h('a', {
      class: 'btn btn-secondary btn-small download-link', dataset: { side: file.side },
      href: file.url + '?download=1',
      download: opened.call + '-' + file.side + '.webm',
      text: t('rec.download.' + file.side),
    });
    return h('li', {}, link);
  }));
}

function renderHold() {
  $('hold').checked = !!opened.legal_hold;
  $('hold-reason').value = opened.hold_reason || '';
  say($('hold-status'), opened.legal_hold ? () => t('rec.hold.on') : '');
  say($('hold-error'), '');
}

async function saveHold() {
  if (!opened) return;
  const reason = $('hold-reason').value.trim();
  if (!reason) {
    setInvalid($('hold-reason'), true);
    say($('hold-error'), () => t('rec.hold.missing'));
    $('hold-reason').focus();
    return;
  }
  setInvalid($('hold-reason'), false);
  const held = $('hold').checked;
  $('hold-save').disabled = true;
  const res = await post('/api/recordings/' + encodeURIComponent(opened.call) + '/hold', { held, reason });
  $('hold-save').disabled = false;
  if (!res.ok) {
    say($('hold-error'), res.data.message);
    return;
  }
  say($('hold-error'), '');
  opened.legal_hold = held;
  opened.hold_reason = reason;
  say($('hold-status'), () => t(held ? 'rec.hold.on' : 'rec.hold.off'));
  const row = results.find((r) => r.call === opened.call);
  if (row) {
    row.legal_hold = held;
    row.hold_reason = reason;
    renderList();
  }
}

window.parloirPlayer = { videos, seekTo, playAll, pauseAll, get opened() { return opened; } };

/* ------------------------------------------------------------------ boot */

async function loadZone() {
  const res = await get('/api/desk/establishment');
  if (res.ok && res.data.time_zone) {
    kit.setTimeZone(res.data.time_zone);
    renderList();
    renderPlayer();
  }
}

async function init() {
  initLang();
  initPlayer();
  fillForm();
  renderers.push(renderList, renderPlayer);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    syncUrl(opened && opened.call);
    search();
  });
  await loadZone();
  await search();
  const wanted = new URLSearchParams(window.location.search).get('call');
  if (wanted) openRecording(wanted);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
