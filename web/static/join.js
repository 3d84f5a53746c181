/* Parloir — relative's page (follows the "Comment utiliser Avisio ?" flyer).
 * Protocol: docs/signaling.md. */
import { Parloir as P } from './call.js';
import { $ } from './dom.js';
import './check.js';   // the device check, on this page only

const els = {
  rulesForm: $('rules-form'), rules: [$('rule-1'), $('rule-2'), $('rule-3')],
  acceptRules: $('accept-rules'), rulesHint: $('rules-hint'),
  codeForm: $('code-form'), code: $('code'), connect: $('connect'), joinError: $('join-error'),
  incomingTitle: $('incoming-title'), incomingStatus: $('incoming-status'),
  mediaError: $('media-error'), acceptCall: $('accept-call'),
  callTitle: $('call-title'), remaining: $('remaining'), warning: $('warning'),
  remoteVideo: $('remote-video'), localVideo: $('local-video'), callStatus: $('call-status'),
  minuteAnnounce: $('minute-announce'), hangup: $('hangup'),
  endedReason: $('ended-reason'), restart: $('restart'), linkNotice: $('link-notice'),
  mediaNotice: $('media-notice'), cameraToggle: $('camera-toggle'), audioOnly: $('audio-only'),
  mediaStatus: $('media-status'),
};

// The join token survives a reload of the page (a phone may also discard a background tab):
// the reloaded page goes back into the same call, without a new code. Per tab, gone with it.
const SAVED = 'parloir.join';
function save() {
  try {
    window.sessionStorage.setItem(SAVED, JSON.stringify({
      token, detaineeName, iceServers: (window.PARLOIR_CONFIG || {}).iceServers || null,
      media: call.media,
    }));
  } catch (e) { /* private mode: no resume after a reload */ }
}
function forget() {
  try { window.sessionStorage.removeItem(SAVED); } catch (e) { /* ignore */ }
}
function saved() {
  try { return JSON.parse(window.sessionStorage.getItem(SAVED) || 'null'); } catch (e) { return null; }
}

const ref = new URLSearchParams(window.location.search).get('appel');

let token = null;
let detaineeName = '';
let offerPromise = null;
let offerSent = false;

const call = new P.CallLeg(els, {
  role: 'relative',
  endedPrefix: 'ended.join.',
  hangupReason: 'relative_hangup',
  connectingKey: 'common.connecting',
  showCallStep,
  onView,
  onReconnected: (view) => {
    P.setText(els.callStatus, view && view.state === 'connected' ? 'common.connected' : 'common.connecting');
  },
  onWelcome,
  onTeardown: () => {
    offerPromise = null;
    token = null;
  },
  onEnded: forget,
  onMedia: showMediaControls,
});

/* ------------------------------------- in call: camera off, sound only */

// Two toggles (aria-pressed): "Couper ma caméra" (video <-> camera_off) and "Son seulement"
// (no video either way, to save data). While sound only is on, the camera stays off: the
// camera toggle shows it pressed and waits. One polite sentence per change, none per tick.
function showMediaControls(mode, changed) {
  els.cameraToggle.setAttribute('aria-pressed', String(mode !== 'video'));
  els.cameraToggle.disabled = mode === 'audio_only';
  els.audioOnly.setAttribute('aria-pressed', String(mode === 'audio_only'));
  if (changed) {
    if (call.finished || !token) P.clearText(els.mediaStatus);
    else P.setText(els.mediaStatus, 'media.status.' + mode);
  }
}

function choose(mode) {
  call.chooseMedia(mode);
  save();   // a reload keeps the choice (re-applied to the new connection)
}

els.cameraToggle.addEventListener('click', () => {
  choose(call.media === 'video' ? 'camera_off' : 'video');
});
els.audioOnly.addEventListener('click', () => {
  choose(call.media === 'audio_only' ? 'video' : 'audio_only');
});

/* ---------------------------------------------------- step 1: rules */

function rulesAccepted() { return els.rules.every((box) => box.checked); }

function updateRules() {
  const ok = rulesAccepted();
  els.acceptRules.disabled = !ok;
  els.rulesHint.hidden = ok;
}

els.rules.forEach((box) => box.addEventListener('change', updateRules));

// Accepted once on this phone, the rules are not asked again (as the flyer says: "lors du
// premier démarrage"); the code step says so and offers to read them again.
const RULES = 'parloir.rules';
function rememberRules() {
  try { window.localStorage.setItem(RULES, String(Date.now())); } catch (e) { /* ignore */ }
}
function rulesRemembered() {
  try { return !!window.localStorage.getItem(RULES); } catch (e) { return false; }
}

els.rulesForm.addEventListener('submit', (event) => {
  event.preventDefault();
  if (!rulesAccepted()) return;
  rememberRules();
  P.showStep('step-code');
});

$('reread-rules').addEventListener('click', () => P.showStep('step-rules'));

/* ----------------------------------------------------- step 2: code */

function digitsOnly(value) { return (value || '').replace(/\D/g, '').slice(0, 6); }

els.code.addEventListener('input', () => {
  const clean = digitsOnly(els.code.value);
  if (clean !== els.code.value) els.code.value = clean;
  if (els.code.getAttribute('aria-invalid')) els.code.removeAttribute('aria-invalid');
});

// A code pasted as "123 456" must not be cut by maxlength before it is cleaned.
els.code.addEventListener('paste', (event) => {
  const text = event.clipboardData && event.clipboardData.getData('text');
  if (!text) return;
  event.preventDefault();
  els.code.value = digitsOnly(text);
});

els.codeForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  P.clearText(els.joinError);
  const code = digitsOnly(els.code.value);
  els.code.value = code;
  if (!/^[0-9]{6}$/.test(code)) {
    P.setText(els.joinError, 'reason.join.malformed');
    els.code.setAttribute('aria-invalid', 'true');
    els.code.focus();
    return;
  }
  els.connect.disabled = true;
  P.setText(els.connect, 'join.code.busy');
  const body = { code, rules_accepted: rulesAccepted() };
  if (ref) body.ref = ref;
  const res = await P.api('/api/join', body);
  els.connect.disabled = false;
  P.setText(els.connect, 'join.code.connect');
  if (!res.ok || !res.data.token) {
    P.setReason(els.joinError, res.data.reason, res.data.message);
    els.code.setAttribute('aria-invalid', 'true');
    els.code.focus();
    els.code.select();
    if (res.data.reason === 'join.rules_not_accepted') P.showStep('step-rules');
    return;
  }
  els.code.removeAttribute('aria-invalid');
  // TURN credentials (if any) are handed out only now, valid for this call.
  if (Array.isArray(res.data.ice_servers)) {
    window.PARLOIR_CONFIG = Object.assign({}, window.PARLOIR_CONFIG, { iceServers: res.data.ice_servers });
  }
  token = res.data.token;
  detaineeName = (res.data.call && res.data.call.detainee_name) || '';
  save();
  showIncoming();
});

/* ------------------------------------------------- step 3: incoming */

function showIncoming() {
  if (detaineeName) P.setText(els.incomingTitle, 'join.incoming.title', { name: detaineeName });
  else P.setText(els.incomingTitle, 'join.incoming.title.generic');
  P.clearText(els.mediaError);
  P.clearText(els.incomingStatus);
  P.setText(els.acceptCall, 'join.incoming.accept');
  els.acceptCall.disabled = false;
  P.showStep('step-incoming');
}

els.acceptCall.addEventListener('click', acceptCall);

async function acceptCall() {
  if (!token) return;
  els.acceptCall.disabled = true;
  P.clearText(els.mediaError);
  P.setText(els.incomingStatus, 'join.incoming.camera');
  try {
    call.localStream = await P.getLocalMedia();
  } catch (err) {
    console.warn('getUserMedia failed', err);
    P.clearText(els.incomingStatus);
    P.setText(els.mediaError, P.mediaErrorKey(err));
    P.setText(els.acceptCall, 'join.incoming.retry');
    els.acceptCall.disabled = false;
    return;
  }
  P.clearText(els.incomingStatus);
  offerSent = false;
  call.begin();
  showCallStep();
  P.setText(els.callStatus, 'common.connecting');

  // Gather ICE while the socket opens; the offer is sent after `welcome`.
  try {
    call.createPeer();
  } catch (err) {
    console.error('RTCPeerConnection failed', err);
    P.stopStream(call.localStream);
    call.localStream = null;
    P.showStep('step-incoming');
    P.setText(els.mediaError, 'media.unsupported');
    els.acceptCall.disabled = false;
    return;
  }
  offerPromise = P.createOffer(call.pc);
  offerPromise.catch(() => { /* reported when awaited */ });

  call.openSignaling(token);
}

async function sendOffer() {
  if (offerSent) return;
  offerSent = true;
  try {
    const pc = call.pc;
    const sdp = await offerPromise;
    // Not if that connection was replaced meanwhile (the page came back on a new one).
    if (!call.finished && call.sig && call.pc === pc) call.sig.send({ type: 'offer', sdp });
  } catch (err) {
    console.error('offer failed', err);
    P.setText(els.callStatus, 'reason.signaling.bad_sdp');
  }
}

function onWelcome(view) {
  if (view && view.state === 'ended') {
    call.handleView(view);
    return;
  }
  if (!offerSent) {
    if (view) call.handleView(view);
    sendOffer();           // the relative's offer is the acceptance of the call
  } else if (view) {
    call.handleView(view); // reconnected
  } else {
    call.finish('interrupted');
  }
}

function onView(view) {
  if (view.detainee_name) detaineeName = view.detainee_name;
  if (view.state !== 'waiting_relative') return false;
  call.showConnecting();   // for the relative, waiting_relative looks like connecting
  return true;
}

function showCallStep() {
  if (detaineeName) P.setText(els.callTitle, 'join.call.title', { name: detaineeName });
  else P.setText(els.callTitle, 'join.call.title.generic');
  P.showStep('step-call');
}

// A reload (or a tab the phone discards) must not end the call: the page says it is
// leaving, so that the gap starts now and the kiosk is told; the reloaded page comes back
// within the grace period. A tab closed for good ends the call when the grace is over
// (not billed); "Raccrocher" ends it at once.
window.addEventListener('pagehide', () => {
  if (!call.finished && call.sig && call.sig.isOpen()) call.sig.send({ type: 'leaving' });
});

/** After a reload during a call: straight back into it with the saved token. */
async function resume(state) {
  token = state.token;
  if (['camera_off', 'audio_only'].includes(state.media)) call.media = state.media;
  detaineeName = state.detaineeName || '';
  if (Array.isArray(state.iceServers)) {
    window.PARLOIR_CONFIG = Object.assign({}, window.PARLOIR_CONFIG, { iceServers: state.iceServers });
  }
  showCallStep();
  P.setText(els.callStatus, 'common.connecting');
  try {
    call.localStream = await P.getLocalMedia();
  } catch (err) {
    showIncoming();      // the camera needs a tap again: "Accepter" resumes the call
    P.setText(els.mediaError, P.mediaErrorKey(err));
    return;
  }
  offerSent = false;
  call.begin();
  showCallStep();
  call.createPeer();
  offerPromise = P.createOffer(call.pc);
  offerPromise.catch(() => { /* reported when awaited */ });
  call.openSignaling(token);
}

/* ------------------------------------------------------------ ending */

els.restart.addEventListener('click', () => {
  call.finished = false;
  detaineeName = '';
  els.code.value = '';
  P.clearText(els.joinError);
  P.showStep(rulesAccepted() ? 'step-code' : 'step-rules');
});

/* ------------------------------------------------------------- start */

/* --------------------------------------------- offline, installable */

// navigator.onLine says "online" behind a dead Wi-Fi or a captive portal: ask the gateway.
async function showOnline() {
  let reachable = navigator.onLine !== false;
  if (reachable) {
    try {
      reachable = (await fetch('/healthz', { cache: 'no-store' })).ok;
    } catch (e) {
      reachable = false;
    }
  }
  $('offline').hidden = reachable;
}
window.addEventListener('online', showOnline);
window.addEventListener('offline', showOnline);
showOnline();
// The page's shell only (sw.js): the page opens from the home screen even offline, and says
// that a call needs a connection.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((err) => console.warn('no service worker', err));
}

P.initLangToggle();
if (rulesRemembered()) els.rules.forEach((box) => { box.checked = true; });
updateRules();
const state = saved();
if (state && state.token) resume(state);
else if (rulesRemembered()) {
  $('rules-remembered').hidden = false;
  P.showStep('step-code');
} else P.showStep('step-rules');
