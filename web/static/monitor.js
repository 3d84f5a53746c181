/* Parloir — monitoring of calls in progress (/monitor).
 *
 * The list of calls in progress is polled every 2 s (GET /api/monitor/calls). "Regarder" opens a
 * tile: a receive-only RTCPeerConnection (2 video + 2 audio transceivers, all recvonly) whose
 * offer is answered by the gateway (POST /api/monitor/calls/{id}/watch); the answer's `tracks`
 * say which transceiver (mid) carries which side (kiosk or relative). Several tiles can be open;
 * sound comes from one tile at most (its "Son" toggle mutes every other tile). Each tile can
 * flag a moment and cut the call (reason and confirmation required). Every use is written to
 * the audit log by the server under the signed-in member's name (the session's).
 * The participants are never told: nothing is sent to them.
 *
 * No build step, no inline code (CSP script-src 'self'). French by default, English with
 * ?lang=en or the toggle. Tests read window.parloirMonitor.tiles[callId].pc.
 */
import { makeStaffKit } from './staff-kit.js';
import { clock as formatClock } from './format.js';
import { newPeer, waitIceComplete } from './rtc.js';

const POLL_MS = 2000;

const TEXTS = {
  fr: {
    'lang.switch': 'English',
    'nav.skip': 'Aller au contenu',
    'nav.brand': 'Contrôle des communications',

    'monitor.page.title': 'Parloir — Appels en cours',
    'monitor.title': 'Appels en cours',
    'monitor.legal': 'Chaque visionnage, marque et coupure est inscrit au journal d’audit. Les appels avec un avocat ne sont ni enregistrés ni écoutés.',
    'monitor.calls.title': 'Liste des appels',
    'monitor.calls.none': 'Aucun appel en cours.',
    'monitor.calls.one': '1 appel en cours.',
    'monitor.calls.many': '{n} appels en cours.',
    'monitor.calls.updated': 'Mise à jour à {time}',
    'monitor.col.detainee': 'Personne détenue',
    'monitor.col.correspondent': 'Correspondant',
    'monitor.col.kiosk': 'Borne',
    'monitor.col.state': 'État',
    'monitor.col.started': 'Début',
    'monitor.col.remaining': 'Temps restant',
    'monitor.col.recording': 'Enregistrement',
    'monitor.col.action': 'Action',
    'monitor.number': 'n° {n}',
    'monitor.state.waiting_relative': 'Attente du proche',
    'monitor.state.connecting': 'Connexion',
    'monitor.state.connected': 'En communication',
    'monitor.state.reconnecting': 'Reconnexion (connexion perdue)',
    'monitor.state.ended': 'Terminé',
    'monitor.rec.recording': 'En cours',
    'monitor.rec.none': 'Non enregistré',
    'monitor.sms.sent': 'SMS du code envoyé',
    'monitor.sms.delivered': 'SMS du code remis au téléphone',
    'monitor.sms.failed': 'SMS du code : échec',
    'monitor.sms.failed.unreachable': 'SMS du code : échec, numéro injoignable',
    'monitor.sms.failed.refused': 'SMS du code : échec, refusé par l’opérateur',
    'monitor.sms.failed.account': 'SMS du code : échec, le fournisseur refuse le compte (jeton)',
    'monitor.sms.failed.retries': 'SMS du code : échec après plusieurs essais',
    'monitor.sms.failed.expired': 'SMS du code : échec, expiré (téléphone injoignable)',
    'monitor.sms.failed.undelivered': 'SMS du code : échec, non remis au téléphone',
    'monitor.media.camera_off': 'Le proche a coupé sa caméra',
    'monitor.media.audio_only': 'Le proche a choisi le son seulement',
    'monitor.rec.sealed': 'Scellé',
    'monitor.rec.failed': 'Échec de l’enregistrement',
    'monitor.rec.destroyed': 'Détruit',
    'monitor.lawyer': 'Avocat : ni enregistré ni écouté',
    'monitor.watch': 'Regarder',
    'monitor.watch.aria': 'Regarder l’appel de {detainee} avec {correspondent}',
    'monitor.watching': 'Voir la vignette',
    'monitor.elsewhere': 'Sur une autre passerelle',
    'monitor.watch.title': 'Appels regardés',
    'monitor.watch.empty': 'Aucun appel regardé. Choisissez « Regarder » dans la liste ci-dessus.',
    'tile.title': '{detainee} — {correspondent}',
    'tile.kiosk': 'Borne : {name}',
    'tile.relative': 'Proche : {name}',
    'tile.connecting': 'Connexion à l’appel…',
    'tile.live': 'En direct',
    'tile.no_media': 'Pas encore d’image : l’appel n’est pas encore connecté.',
    'tile.unstable': 'Connexion vidéo instable…',
    'tile.failed': 'Impossible d’afficher l’appel : {message}',
    'tile.ended': 'L’appel est terminé.',
    'tile.cut_done': 'Appel coupé. Les deux côtés voient « L’appel a été interrompu. »',
    'tile.remaining': 'Temps restant : {time}',
    'tile.sound': 'Son : {state}',
    'tile.sound.on': 'activé',
    'tile.sound.off': 'coupé',
    'tile.close': 'Fermer la vignette',
    'tile.flag.label': 'Commentaire de la marque',
    'tile.flag.hint': 'Le moment retenu est celui où vous commencez à écrire.',
    'tile.flag.submit': 'Marquer ce moment',
    'tile.flag.missing': 'Écrivez ce que vous avez remarqué avant de marquer le moment.',
    'tile.flag.done': 'Moment marqué à {time}.',
    'tile.cut.label': 'Motif de la coupure',
    'tile.cut.submit': 'Couper l’appel…',
    'tile.cut.missing': 'Indiquez le motif de la coupure.',
    'tile.cut.confirm': 'Couper maintenant l’appel de {detainee} avec {correspondent} ? Les deux côtés verront seulement « L’appel a été interrompu. »',
    'tile.cut.yes': 'Oui, couper l’appel',
    'tile.cut.no': 'Annuler',
  },
  en: {
    'lang.switch': 'Français',
    'nav.skip': 'Skip to content',
    'nav.brand': 'Call monitoring',

    'monitor.page.title': 'Parloir — Calls in progress',
    'monitor.title': 'Calls in progress',
    'monitor.legal': 'Every viewing, flag and cut is written to the audit log. Calls with a lawyer are neither recorded nor monitored.',
    'monitor.calls.title': 'Calls',
    'monitor.calls.none': 'No call in progress.',
    'monitor.calls.one': '1 call in progress.',
    'monitor.calls.many': '{n} calls in progress.',
    'monitor.calls.updated': 'Updated at {time}',
    'monitor.col.detainee': 'Detainee',
    'monitor.col.correspondent': 'Correspondent',
    'monitor.col.kiosk': 'Kiosk',
    'monitor.col.state': 'State',
    'monitor.col.started': 'Started',
    'monitor.col.remaining': 'Time left',
    'monitor.col.recording': 'Recording',
    'monitor.col.action': 'Action',
    'monitor.number': 'no. {n}',
    'monitor.state.waiting_relative': 'Waiting for the relative',
    'monitor.state.connecting': 'Connecting',
    'monitor.state.connected': 'In call',
    'monitor.state.reconnecting': 'Reconnecting (connection lost)',
    'monitor.state.ended': 'Ended',
    'monitor.rec.recording': 'Recording',
    'monitor.rec.none': 'Not recorded',
    'monitor.sms.sent': 'Code SMS sent',
    'monitor.sms.delivered': 'Code SMS delivered to the phone',
    'monitor.sms.failed': 'Code SMS: failed',
    'monitor.sms.failed.unreachable': 'Code SMS: failed, the number cannot be reached',
    'monitor.sms.failed.refused': 'Code SMS: failed, refused by the operator',
    'monitor.sms.failed.account': 'Code SMS: failed, the provider refuses the account (token)',
    'monitor.sms.failed.retries': 'Code SMS: failed after several tries',
    'monitor.sms.failed.expired': 'Code SMS: failed, expired (phone out of reach)',
    'monitor.sms.failed.undelivered': 'Code SMS: failed, did not reach the phone',
    'monitor.media.camera_off': 'The relative turned their camera off',
    'monitor.media.audio_only': 'The relative chose sound only',
    'monitor.rec.sealed': 'Sealed',
    'monitor.rec.failed': 'Recording failed',
    'monitor.rec.destroyed': 'Destroyed',
    'monitor.lawyer': 'Lawyer: neither recorded nor monitored',
    'monitor.watch': 'Watch',
    'monitor.watch.aria': 'Watch the call of {detainee} with {correspondent}',
    'monitor.watching': 'Show the tile',
    'monitor.elsewhere': 'On another gateway',
    'monitor.watch.title': 'Watched calls',
    'monitor.watch.empty': 'No call watched. Choose “Watch” in the list above.',
    'tile.title': '{detainee} — {correspondent}',
    'tile.kiosk': 'Kiosk: {name}',
    'tile.relative': 'Relative: {name}',
    'tile.connecting': 'Connecting to the call…',
    'tile.live': 'Live',
    'tile.no_media': 'No picture yet: the call is not connected yet.',
    'tile.unstable': 'Video connection unstable…',
    'tile.failed': 'Cannot show the call: {message}',
    'tile.ended': 'The call is over.',
    'tile.cut_done': 'Call cut. Both sides see “The call was interrupted.”',
    'tile.remaining': 'Time left: {time}',
    'tile.sound': 'Sound: {state}',
    'tile.sound.on': 'on',
    'tile.sound.off': 'off',
    'tile.close': 'Close the tile',
    'tile.flag.label': 'Comment on the flag',
    'tile.flag.hint': 'The moment kept is when you start typing.',
    'tile.flag.submit': 'Flag this moment',
    'tile.flag.missing': 'Write what you noticed before flagging the moment.',
    'tile.flag.done': 'Moment flagged at {time}.',
    'tile.cut.label': 'Reason for cutting',
    'tile.cut.submit': 'Cut the call…',
    'tile.cut.missing': 'Give the reason for cutting the call.',
    'tile.cut.confirm': 'Cut the call of {detainee} with {correspondent} now? Both sides will only see “The call was interrupted.”',
    'tile.cut.yes': 'Yes, cut the call',
    'tile.cut.no': 'Cancel',
  },
};

const kit = makeStaffKit(TEXTS);
const {
  renderers, t, known, say, setLang, initLang, $, h, fill, setInvalid,
  get, post,
} = kit;

/* ----------------------------------------------------------- formatting */

/** A time of day in the establishment's time zone (once known), with seconds if asked. */
function formatTime(ms, seconds) {
  const options = { hour: '2-digit', minute: '2-digit' };
  if (seconds) options.second = '2-digit';
  return kit.format(ms, options);
}

/* ------------------------------------------------------------ call list */

/** Server clock minus ours (ms), from the last list. */
let offset = 0;
let calls = [];
let listLoaded = false;
const rows = new Map();   // call id -> {tr, cells, button}
const tiles = {};
window.parloirMonitor = { tiles };

const serverNow = () => Date.now() + offset;

function names(call) {
  return {
    detainee: call.detainee.name || t('monitor.number', { n: call.detainee.number }),
    correspondent: call.correspondent.name || call.correspondent.phone_masked || '—',
  };
}

function remainingText(call) {
  if (call.state !== 'connected' || typeof call.ends_at !== 'number') return '—';
  return formatClock(call.ends_at - serverNow());
}

function recBadge(call) {
  const state = call.recording || 'none';
  const kind = { recording: 'ok', sealed: 'ok', failed: 'bad', none: 'muted' }[state] || 'muted';
  const text = known('monitor.rec.' + state) ? t('monitor.rec.' + state) : state;
  return h('span', { class: 'badge badge-' + kind, text });
}

async function poll() {
  const res = await get('/api/monitor/calls');
  if (!res.ok) {
    say($('calls-error'), res.data.message);
    return;
  }
  say($('calls-error'), '');
  offset = (typeof res.data.server_time === 'number' ? res.data.server_time : Date.now()) - Date.now();
  calls = (res.data.calls || []).slice().sort((a, b) =>
    (a.created_at || 0) - (b.created_at || 0) || String(a.id).localeCompare(String(b.id)));
  listLoaded = true;
  renderCalls();
  const updated = Date.now();
  say($('calls-updated'), () => t('monitor.calls.updated', { time: formatTime(updated + offset, true) }));
  Object.values(tiles).forEach((tile) => {
    const call = calls.find((c) => c.id === tile.id);
    if (call) {
      tile.call = call;
      tile.update();
    } else {
      tile.end('tile.ended');
    }
  });
}

function renderCalls() {
  if (!listLoaded) return;
  const table = $('calls-table');
  const body = $('calls-body');
  const n = calls.length;
  say($('calls-status'), n === 0 ? t('monitor.calls.none')
    : n === 1 ? t('monitor.calls.one') : t('monitor.calls.many', { n }));
  table.hidden = n === 0;
  const seen = new Set();
  calls.forEach((call, index) => {
    seen.add(call.id);
    let row = rows.get(call.id);
    if (!row) {
      row = makeRow(call);
      rows.set(call.id, row);
    }
    fillRow(row, call);
    if (body.children[index] !== row.tr) body.insertBefore(row.tr, body.children[index] || null);
  });
  rows.forEach((row, id) => {
    if (!seen.has(id)) {
      row.tr.remove();
      rows.delete(id);
    }
  });
}

function makeRow(call) {
  const cells = {};
  const tr = h('tr', { dataset: { call: call.id } });
  ['detainee', 'correspondent', 'kiosk', 'state', 'started', 'remaining', 'recording', 'action']
    .forEach((name) => {
      cells[name] = h(name === 'detainee' ? 'th' : 'td', name === 'detainee' ? { scope: 'row' } : {});
      if (name === 'remaining' || name === 'started') cells[name].className = 'num';
      tr.append(cells[name]);
    });
  const button = h('button', {
    type: 'button',
    class: 'btn btn-primary btn-small watch-button',
    onclick: () => {
      const current = calls.find((c) => c.id === call.id) || call;
      if (tiles[call.id]) tiles[call.id].focus();
      else watch(current);
    },
  });
  return { tr, cells, button };
}

function fillRow(row, call) {
  const c = row.cells;
  const who = names(call);
  fill(c.detainee, who.detainee,
    h('span', { class: 'sub', text: t('monitor.number', { n: call.detainee.number }) }));
  const corr = call.correspondent;
  const sub = [corr.relationship, corr.phone_masked].filter(Boolean).join(' · ');
  // A failure says why where the page knows its kind (`other`: the plain 'failed').
  const smsKey = call.sms && (call.sms.failure && known('monitor.sms.failed.' + call.sms.failure)
    ? 'monitor.sms.failed.' + call.sms.failure : 'monitor.sms.' + call.sms.status);
  const sms = call.sms && known(smsKey)
    ? h('span', { class: 'sub sms-status', 'data-status': call.sms.status, text: t(smsKey) })
    : null;
  // The relative's camera off or sound only, by choice (MediaChosen in the call's events).
  const media = call.relative_media && call.relative_media !== 'video' && known('monitor.media.' + call.relative_media)
    ? h('span', { class: 'sub media-choice', 'data-mode': call.relative_media, text: t('monitor.media.' + call.relative_media) })
    : null;
  fill(c.correspondent, corr.name || '—', sub ? h('span', { class: 'sub', text: sub }) : null,
    corr.lawyer ? h('span', { class: 'badge badge-warn lawyer-badge', text: t('monitor.lawyer') }) : null, sms, media);
  c.kiosk.textContent = call.kiosk || '—';
  c.state.textContent = known('monitor.state.' + call.state) ? t('monitor.state.' + call.state) : call.state;
  const started = call.connected_at || call.created_at;
  c.started.textContent = started ? formatTime(started, true) : '—';
  c.remaining.textContent = remainingText(call);
  c.remaining.dataset.endsAt = call.state === 'connected' && call.ends_at ? call.ends_at : '';
  c.recording.replaceChildren(corr.lawyer ? h('span', { class: 'badge badge-muted', text: t('monitor.rec.none') }) : recBadge(call));
  if (corr.lawyer) {
    c.action.replaceChildren(h('span', { class: 'no-watch', text: t('monitor.lawyer') }));
  } else if (!call.watchable) {
    c.action.replaceChildren(h('span', { class: 'no-watch', text: t('monitor.elsewhere') }));
  } else {
    const watching = !!tiles[call.id] && !tiles[call.id].ended;
    row.button.textContent = watching ? t('monitor.watching') : t('monitor.watch');
    row.button.setAttribute('aria-label', watching ? t('monitor.watching')
      : t('monitor.watch.aria', who));
    if (row.button.parentNode !== c.action) c.action.replaceChildren(row.button);
  }
}

/** Once a second: the countdowns in the list and in the tiles. */
function tick() {
  rows.forEach((row) => {
    const ends = Number(row.cells.remaining.dataset.endsAt);
    if (ends) row.cells.remaining.textContent = formatClock(ends - serverNow());
  });
  Object.values(tiles).forEach((tile) => tile.tickClock());
}

/* ----------------------------------------------------------------- tiles */

let soundTile = null;   // id of the one tile whose sound is on

function setSound(id) {
  soundTile = id;
  Object.values(tiles).forEach((tile) => tile.applySound());
}

function updateEmpty() {
  $('watch-empty').hidden = Object.keys(tiles).length > 0;
}

class Tile {
  constructor(call) {
    this.id = call.id;
    this.call = call;
    this.pc = null;
    this.layout = [];
    this.ended = false;
    this.flagAt = null;
    this.streams = { kiosk: new MediaStream(), relative: new MediaStream() };
    this.build();
  }

  build() {
    const id = this.id;
    this.title = h('h3', { class: 'tile-title', id: 'tile-title-' + id, tabindex: '-1' });
    this.status = h('p', { class: 'tile-status', role: 'status' });
    this.clock = h('p', { class: 'tile-clock num' });
    this.videos = {};
    this.captions = {};
    const sides = ['kiosk', 'relative'].map((side) => {
      const video = h('video', { autoplay: true, playsinline: true, muted: true, class: 'tile-video' });
      video.muted = true;
      video.dataset.side = side;
      this.videos[side] = video;
      this.captions[side] = h('figcaption', {});
      return h('figure', { class: 'tile-side tile-side-' + side }, video, this.captions[side]);
    });
    this.soundButton = h('button', {
      type: 'button', class: 'btn btn-secondary btn-small sound-button', 'aria-pressed': 'false',
      onclick: () => setSound(soundTile === id ? null : id),
    });
    const closeButton = h('button', {
      type: 'button', class: 'btn btn-secondary btn-small', 'data-i18n': 'tile.close',
      text: t('tile.close'), onclick: () => this.remove(),
    });

    // Flag a moment: the moment is when the staff member starts typing (or clicks).
    this.flagInput = h('input', {
      type: 'text', id: 'flag-' + id, maxlength: '500', autocomplete: 'off',
      'aria-describedby': 'flag-hint-' + id + ' flag-msg-' + id,
      oninput: () => {
        if (this.flagAt == null && this.flagInput.value.trim()) this.flagAt = serverNow();
        if (!this.flagInput.value.trim()) this.flagAt = null;
        setInvalid(this.flagInput, false);
      },
    });
    this.flagButton = h('button', { type: 'submit', class: 'btn btn-primary btn-small', 'data-i18n': 'tile.flag.submit', text: t('tile.flag.submit') });
    this.flagMsg = h('p', { class: 'status', id: 'flag-msg-' + id, 'aria-live': 'polite' });
    const flagForm = h('form', { class: 'tile-form flag-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); this.flag(); } },
      h('label', { for: 'flag-' + id, 'data-i18n': 'tile.flag.label', text: t('tile.flag.label') }),
      h('div', { class: 'inline-form' }, this.flagInput, this.flagButton),
      h('p', { class: 'hint', id: 'flag-hint-' + id, 'data-i18n': 'tile.flag.hint', text: t('tile.flag.hint') }),
      this.flagMsg);

    // Cut the call: a reason, then a confirmation.
    this.cutInput = h('input', {
      type: 'text', id: 'cut-' + id, maxlength: '500', autocomplete: 'off',
      'aria-describedby': 'cut-msg-' + id, oninput: () => setInvalid(this.cutInput, false),
    });
    this.cutButton = h('button', { type: 'submit', class: 'btn btn-danger btn-small', 'data-i18n': 'tile.cut.submit', text: t('tile.cut.submit') });
    this.cutMsg = h('p', { class: 'error', id: 'cut-msg-' + id, role: 'alert' });
    this.confirmText = h('p', { class: 'confirm-text' });
    this.confirmYes = h('button', { type: 'button', class: 'btn btn-danger btn-small cut-confirm', 'data-i18n': 'tile.cut.yes', text: t('tile.cut.yes'), onclick: () => this.cut() });
    const confirmNo = h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-i18n': 'tile.cut.no', text: t('tile.cut.no'), onclick: () => this.hideConfirm(true) });
    this.confirmBox = h('div', { class: 'confirm-box', role: 'group', hidden: true }, this.confirmText,
      h('div', { class: 'actions' }, this.confirmYes, confirmNo));
    const cutForm = h('form', { class: 'tile-form cut-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); this.askCut(); } },
      h('label', { for: 'cut-' + id, 'data-i18n': 'tile.cut.label', text: t('tile.cut.label') }),
      h('div', { class: 'inline-form' }, this.cutInput, this.cutButton),
      this.cutMsg, this.confirmBox);

    this.controls = h('div', { class: 'tile-controls' }, flagForm, cutForm);
    this.el = h('article', { class: 'tile', dataset: { call: id }, 'aria-labelledby': 'tile-title-' + id },
      h('div', { class: 'tile-head' }, this.title,
        h('div', { class: 'tile-buttons' }, this.soundButton, closeButton)),
      h('div', { class: 'tile-line' }, this.status, this.clock),
      h('div', { class: 'tile-videos' }, sides),
      this.controls);
    this.render = () => this.update();
    renderers.push(this.render);
    this.update();
    say(this.status, () => t('tile.connecting'));
  }

  update() {
    const who = names(this.call);
    this.title.textContent = t('tile.title', who);
    say(this.captions.kiosk, () => t('tile.kiosk', { name: names(this.call).detainee }));
    say(this.captions.relative, () => t('tile.relative', { name: names(this.call).correspondent }));
    this.applySound();
    this.tickClock();
    this.confirmText.textContent = t('tile.cut.confirm', who);
  }

  tickClock() {
    if (this.ended) { this.clock.textContent = ''; return; }
    const text = remainingText(this.call);
    this.clock.textContent = text === '—' ? '' : t('tile.remaining', { time: text });
  }

  applySound() {
    const on = soundTile === this.id && !this.ended;
    Object.values(this.videos).forEach((video) => { video.muted = !on; });
    this.soundButton.setAttribute('aria-pressed', on ? 'true' : 'false');
    this.soundButton.textContent = t('tile.sound', { state: t(on ? 'tile.sound.on' : 'tile.sound.off') });
    this.el.classList.toggle('tile-sound', on);
  }

  focus() {
    this.el.scrollIntoView({ block: 'nearest' });
    this.title.focus();
  }

  async start() {
    const pc = newPeer();
    this.pc = pc;
    ['video', 'video', 'audio', 'audio'].forEach((kind) => pc.addTransceiver(kind, { direction: 'recvonly' }));
    pc.addEventListener('connectionstatechange', () => {
      if (this.ended || this.pc !== pc) return;
      if (pc.connectionState === 'failed' || pc.connectionState === 'disconnected') say(this.status, () => t('tile.unstable'));
      else if (pc.connectionState === 'connected') this.showLive();
    });
    await pc.setLocalDescription(await pc.createOffer());
    await waitIceComplete(pc, 3000);
    if (this.ended) return;
    const res = await post('/api/monitor/calls/' + encodeURIComponent(this.id) + '/watch',
      { sdp: pc.localDescription.sdp });
    if (this.ended) return;
    if (!res.ok) {
      this.fail(res.data.message);
      return;
    }
    this.layout = Array.isArray(res.data.tracks) ? res.data.tracks : [];
    await pc.setRemoteDescription({ type: 'answer', sdp: res.data.sdp });
    pc.getTransceivers().forEach((transceiver) => {
      const entry = this.layout.find((l) => String(l.mid) === String(transceiver.mid));
      if (entry && this.streams[entry.side] && transceiver.receiver.track) {
        this.streams[entry.side].addTrack(transceiver.receiver.track);
      }
    });
    ['kiosk', 'relative'].forEach((side) => {
      const video = this.videos[side];
      video.srcObject = this.streams[side];
      const playing = video.play();
      if (playing && playing.catch) playing.catch(() => { /* muted autoplay is allowed */ });
    });
    this.applySound();
    if (pc.connectionState === 'connected') this.showLive();
  }

  showLive() {
    say(this.status, () => (this.call.state === 'connected' ? t('tile.live') : t('tile.no_media')));
    this.el.classList.add('tile-live');
  }

  fail(message) {
    say(this.status, () => t('tile.failed', { message }));
    this.stop();
    this.el.classList.add('tile-failed');
    this.controls.hidden = true;
  }

  stop() {
    if (this.pc) {
      try { this.pc.close(); } catch (e) { /* ignore */ }
    }
    Object.values(this.videos).forEach((video) => { video.srcObject = null; });
  }

  end(key) {
    if (this.ended) return;
    this.ended = true;
    this.stop();
    say(this.status, () => t(key));
    this.el.classList.remove('tile-live');
    this.el.classList.add('tile-ended');
    this.controls.hidden = true;
    this.tickClock();
    if (soundTile === this.id) setSound(null);
    const row = rows.get(this.id);
    if (row) fillRow(row, this.call);
  }

  remove() {
    this.ended = true;
    this.stop();
    if (soundTile === this.id) setSound(null);
    const index = renderers.indexOf(this.render);
    if (index >= 0) renderers.splice(index, 1);
    delete tiles[this.id];
    this.el.remove();
    updateEmpty();
    renderCalls();
    const row = rows.get(this.id);
    if (row && row.button.isConnected) row.button.focus();
    else $('calls-title').focus();
  }

  async flag() {
    const comment = this.flagInput.value.trim();
    if (!comment) {
      setInvalid(this.flagInput, true);
      say(this.flagMsg, () => t('tile.flag.missing'));
      this.flagInput.focus();
      return;
    }
    const at = Math.round(this.flagAt != null ? this.flagAt : serverNow());
    this.flagButton.disabled = true;
    const res = await post('/api/monitor/calls/' + encodeURIComponent(this.id) + '/flag', { comment, at });
    this.flagButton.disabled = false;
    if (!res.ok) {
      say(this.flagMsg, res.data.message);
      return;
    }
    const when = typeof res.data.at === 'number' ? res.data.at : at;
    this.flagInput.value = '';
    this.flagAt = null;
    say(this.flagMsg, () => t('tile.flag.done', { time: formatTime(when, true) }));
  }

  askCut() {
    if (!this.cutInput.value.trim()) {
      setInvalid(this.cutInput, true);
      say(this.cutMsg, () => t('tile.cut.missing'));
      this.cutInput.focus();
      return;
    }
    say(this.cutMsg, '');
    this.confirmText.textContent = t('tile.cut.confirm', names(this.call));
    this.confirmBox.hidden = false;
    this.cutButton.disabled = true;
    this.confirmYes.focus();
  }

  hideConfirm(refocus) {
    this.confirmBox.hidden = true;
    this.cutButton.disabled = false;
    if (refocus) this.cutInput.focus();
  }

  async cut() {
    const reason = this.cutInput.value.trim();
    if (!reason) { this.hideConfirm(false); return; }
    this.confirmYes.disabled = true;
    const res = await post('/api/monitor/calls/' + encodeURIComponent(this.id) + '/cut', { reason });
    this.confirmYes.disabled = false;
    if (!res.ok) {
      this.hideConfirm(false);
      say(this.cutMsg, res.data.message);
      return;
    }
    this.end('tile.cut_done');
    this.title.focus();
  }
}

async function watch(call) {
  const tile = new Tile(call);
  tiles[call.id] = tile;
  $('grid').append(tile.el);
  updateEmpty();
  renderCalls();
  tile.focus();
  try {
    await tile.start();
  } catch (err) {
    tile.fail(String((err && err.message) || err));
  }
}

/* ------------------------------------------------------------------ boot */

async function loadZone() {
  const res = await get('/api/desk/establishment');
  if (res.ok && res.data.time_zone) {
    kit.setTimeZone(res.data.time_zone);
    renderCalls();
  }
}

function init() {
  initLang();
  renderers.push(renderCalls);
  updateEmpty();
  loadZone();
  poll();
  window.setInterval(poll, POLL_MS);
  window.setInterval(tick, 1000);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
