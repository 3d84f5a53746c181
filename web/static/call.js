/* Parloir — the call kit of the kiosk's and the relative's pages (ES module): their texts
 * (call-texts.js) on the one text engine (lang.js), steps, the POST helper, the signaling
 * client, the WebRTC leg (rtc.js), countdowns and the minute announcements.
 *
 * Parloir (exported) is what the pages' modules use. For automated tests:
 * window.parloir : { pc, ws, state, page, quality, media } (current RTCPeerConnection, current
 *                  WebSocket, last CallView state string, the page load's id sent in `hello`,
 *                  the last video-quality notice, the media mode);
 * window.Parloir : the same kit (a test drives its minute announcer directly).
 * See docs/signaling.md for the protocol.
 */
import { createLang } from './lang.js';
import { request } from './api.js';
import { clock as formatClock } from './format.js';
import {
  newPeer, getLocalMedia, mediaErrorKey, preferCodec, createOffer, acceptAnswer, closePeer,
  stopStream, attachVideo, waitIceComplete,
} from './rtc.js';
import { TEXTS } from './call-texts.js';
import { showQuality, clearQuality } from './quality.js';

window.parloir = { pc: null, ws: null, state: null, quality: null };

export const L = createLang(TEXTS);
const { t, known, setText, setRaw, clearText, setLang, applyI18n, initLang } = L;
const has = known;

/* Figures the sentences name that the gateway's configuration sets (e.g. {codeMinutes}, the
 * code's validity) come from /config.js; these defaults are the service note's, for a page
 * opened from the home screen without a connection (no /config.js then). */
L.defaults.codeMinutes = 5;

/** Show the sentence for a server `reason` code: the page's own for what the page words
 *  itself, else the server's `message`. */
function setReason(el, reason, message) {
  const fallback = message || t('reason.server_error');
  setText(el, 'reason.' + (reason || 'server_error'), null, fallback);
}

/* ----------------------------------------------------------------- steps */

let currentStep = null;

/** Show the <section> with this id, hide the others, move focus to its heading. */
function showStep(id, options) {
  const target = document.getElementById(id);
  if (!target) return;
  document.querySelectorAll('section.step').forEach((s) => { s.hidden = s !== target; });
  const changed = currentStep !== id;
  currentStep = id;
  document.body.dataset.step = id;
  if (changed || (options && options.refocus)) {
    const heading = target.querySelector('h1, h2');
    if (heading) {
      if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: false });
    }
    window.scrollTo(0, 0);
  }
}

function getStep() { return currentStep; }

/* ------------------------------------------------------------------- API */

/** POST JSON to the gateway, the page's language in the body too (the SMS it sends speaks
 *  it). Resolves to {ok, status, data} (api.js); never throws. */
function api(path, body) {
  return request('POST', path, Object.assign({}, body, { lang: L.lang }), { lang: L.lang, t, known });
}

/* ------------------------------------------------------------- WebSocket */

const CLOSE_REASONS = {
  1009: 'signaling.too_big',
  4400: 'signaling.malformed',
  4401: 'signaling.unauthorized',
  4404: 'signaling.unknown_type',
  4409: 'signaling.out_of_order',
  4410: 'signaling.taken_over',
  4422: 'signaling.bad_sdp',
};

/* This page load's id, in every `hello` of its sockets: the gateway tells the page's own
 * new socket (a reconnection) from another page's with the same token (a takeover). */
const PAGE_ID = (() => {
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
})();
window.parloir.page = PAGE_ID;

/** A small signaling client: connects to /ws, sends hello first, JSON in and out,
 *  keep-alive pings, and a few reconnection attempts when the network drops
 *  (the server's `welcome` then carries the current CallView).
 *
 *  handlers: onMessage(msg), onClose({code, reason, message}), onReconnecting(). */
class Signaling {
  constructor(token, handlers) {
    this.token = token;
    this.handlers = handlers || {};
    this.ws = null;
    this.queue = [];
    this.ready = false;      // welcome received
    this.finished = false;   // `ended` received or closed on purpose
    this.attempts = 0;
    this.pingTimer = null;
    this.retryTimer = null;
    this.maxAttempts = 40;
    this.heardAt = 0;
  }

  url() {
    const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    return scheme + '//' + window.location.host + '/ws';
  }

  connect() {
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (e) {
      this.handleClose({ code: 1006, reason: '' });
      return;
    }
    this.ws = ws;
    this.ready = false;
    window.parloir.ws = ws;
    ws.addEventListener('open', () => {
      ws.send(JSON.stringify({ type: 'hello', token: this.token, page: PAGE_ID }));
      this.startPing();
    });
    ws.addEventListener('message', (event) => {
      if (this.ws === ws) this.heardAt = Date.now();
      let msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (!msg || typeof msg !== 'object') return;
      if (msg.type === 'pong') return;
      if (msg.type === 'welcome') {
        this.ready = true;
        this.attempts = 0;
        const pending = this.queue;
        this.queue = [];
        pending.forEach((m) => this.send(m));
      }
      if (msg.type === 'ended') this.finished = true;
      if (this.handlers.onMessage) this.handlers.onMessage(msg);
    });
    ws.addEventListener('close', (event) => {
      if (this.ws !== ws) return;
      this.stopPing();
      this.handleClose(event);
    });
  }

  handleClose(event) {
    const code = event.code;
    if (this.finished) {
      if (this.handlers.onClose) this.handlers.onClose({ code, reason: 'call.ended', final: true });
      return;
    }
    const known = CLOSE_REASONS[code] ||
      (event.reason && event.reason.indexOf('signaling.') === 0 ? event.reason : null);
    // A phone changing network may be unreachable for a while: keep trying for about as
    // long as the gateway waits for a lost leg (60 s by default), then give up.
    const transient = !known && code !== 1000 && this.attempts < this.maxAttempts;
    if (transient) {
      this.attempts += 1;
      if (this.handlers.onReconnecting) this.handlers.onReconnecting(this.attempts);
      const delay = Math.min(2000, 500 * 2 ** (this.attempts - 1));
      this.retryTimer = window.setTimeout(() => { if (!this.finished) this.connect(); }, delay);
      return;
    }
    this.finished = true;
    const reason = known || (code === 1000 ? 'call.ended' : 'signaling.lost');
    if (this.handlers.onClose) {
      this.handlers.onClose({ code, reason, message: event.reason || '', final: true });
    }
  }

  /** Drop the socket and open a new one now (its path is suspect). */
  reopen() {
    const ws = this.ws;
    if (!ws || this.finished) return;
    this.stopPing();
    this.ws = null;
    try { ws.close(); } catch (e) { /* ignore */ }
    this.handleClose({ code: 1006, reason: '' });
  }

  /** Send a JSON message; messages other than hello wait for `welcome`. */
  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.ready) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    if (!this.finished) this.queue.push(msg);
    return false;
  }

  isOpen() {
    return !!(this.ws && this.ws.readyState === WebSocket.OPEN && this.ready);
  }

  /* A phone that changes network keeps a socket bound to its old address, which TCP takes
   * minutes to declare dead: ping often, and a socket that hears nothing for a few seconds
   * is dropped and opened again (the `welcome` then says where the call is). */
  startPing() {
    this.stopPing();
    this.heardAt = Date.now();
    this.pingTimer = window.setInterval(() => {
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) return;
      if (Date.now() - this.heardAt > SILENT_SOCKET_MS) {
        this.reopen();
        return;
      }
      ws.send(JSON.stringify({ type: 'ping' }));
    }, PING_MS);
  }

  stopPing() {
    if (this.pingTimer) window.clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  /** Close on purpose (no reconnection, no onClose callback). */
  close() {
    this.finished = true;
    this.handlers = {};
    this.stopPing();
    if (this.retryTimer) window.clearTimeout(this.retryTimer);
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) {
      try { this.ws.close(1000); } catch (e) { /* ignore */ }
    }
  }
}

/* ---------------------------------------------------------------- WebRTC */

/** Create the RTCPeerConnection for this leg: both local tracks sendrecv, VP8/Opus
 *  preferred, remote tracks gathered into one stream shown in remoteVideo. */
function createPeer(localStream, remoteVideo) {
  const pc = newPeer();
  const remoteStream = new MediaStream();
  localStream.getTracks().forEach((track) => {
    const init = { direction: 'sendrecv', streams: [localStream] };
    // VP8 in 3 temporal layers: the gateway can then drop frames for a weak receiver at once.
    if (track.kind === 'video') init.sendEncodings = [{ scalabilityMode: 'L1T3' }];
    let transceiver;
    try {
      transceiver = pc.addTransceiver(track, init);
    } catch (e) { // a browser without scalabilityMode: one layer
      delete init.sendEncodings;
      transceiver = pc.addTransceiver(track, init);
    }
    preferCodec(transceiver, track.kind, track.kind === 'video' ? 'video/VP8' : 'audio/opus');
  });
  pc.addEventListener('track', (event) => {
    if (!remoteStream.getTracks().includes(event.track)) remoteStream.addTrack(event.track);
    if (remoteVideo) {
      if (remoteVideo.srcObject !== remoteStream) remoteVideo.srcObject = remoteStream;
      const playing = remoteVideo.play();
      if (playing && playing.catch) playing.catch(() => { /* autoplay policy: user gesture came first */ });
    }
  });
  window.parloir.pc = pc;
  return pc;
}

/* ------------------------------------------------------------- countdown */

/** Counts down to a server deadline shown mm:ss in el, correcting the clock offset
 *  between client and server (offset = server_time - local time at reception). */
class Countdown {
  constructor(el, onTick) {
    this.el = el;
    this.onTick = onTick || null;
    this.timer = null;
    this.deadline = null;
    this.offset = 0;
    this.last = null;
  }

  start(deadline, serverTime) {
    if (typeof deadline !== 'number') return;
    this.deadline = deadline;
    this.offset = typeof serverTime === 'number' ? serverTime - Date.now() : 0;
    if (!this.timer) this.timer = window.setInterval(() => this.tick(), 250);
    this.tick();
  }

  remainingMs() {
    if (this.deadline == null) return null;
    return Math.max(0, this.deadline - (Date.now() + this.offset));
  }

  tick() {
    const ms = this.remainingMs();
    if (ms == null) return;
    const text = formatClock(ms);
    if (text !== this.last) {
      this.last = text;
      if (this.el) this.el.textContent = text;
      if (this.onTick) this.onTick(Math.ceil(ms / 1000));
    }
    if (ms <= 0) this.stop(true);
  }

  stop(keepText) {
    if (this.timer) window.clearInterval(this.timer);
    this.timer = null;
    if (!keepText) {
      this.deadline = null;
      this.last = null;
      if (this.el) this.el.textContent = '--:--';
    }
  }
}

/** Show a `warning` message (seconds_left) in a prominent alert element. */
function showWarning(el, secondsLeft) {
  if (!el) return;
  const seconds = Math.max(0, Math.round(Number(secondsLeft) || 0));
  const minutes = Math.round(seconds / 60);
  if (seconds < 60) setText(el, 'common.warning.seconds', { seconds });
  else if (minutes === 1) setText(el, 'common.warning.minute');
  else setText(el, 'common.warning.minutes', { minutes });
  el.classList.toggle('urgent', seconds <= 60);
}

/** Screen-reader announcement once a minute from the countdown (the visible timer
 *  itself is role="timer", not live, to avoid one announcement per second).
 *
 *  A minute is said when the countdown enters it (whole minutes left, rounded up), however
 *  the ticks fall: a late tick says it late, never loses it, and after a long gap (a
 *  sleeping phone) only the minute now is said, not each one missed. The gateway's
 *  warnings (warning_seconds, 5 and 1 minutes by default; role="alert") say their minute:
 *  the announcer waits WARNING_WAIT_MS for one before speaking, and stays silent for a
 *  minute a warning said.
 *  The call's first minute is not said (the page has just said the call started); a
 *  longer deadline (an extension) is not either. */
const WARNING_WAIT_MS = 2000;

function minuteAnnouncer(el) {
  let last = null;      // whole minutes left at the previous tick
  let warned = null;    // the minute the latest warning said
  let pending = null;   // { minutes, timer }: to be said unless a warning says it first

  const cancel = () => {
    if (pending) window.clearTimeout(pending.timer);
    pending = null;
  };
  const announce = (secondsLeft) => {
    if (!el) return;
    const minutes = Math.ceil(Math.max(0, secondsLeft) / 60);
    const entered = last !== null && minutes < last;
    last = minutes;
    if (!entered) return;
    cancel();
    if (minutes <= 0 || minutes === warned) return;
    pending = {
      minutes,
      timer: window.setTimeout(() => {
        pending = null;
        if (minutes === warned) return;
        if (minutes === 1) setText(el, 'common.remaining.minute');
        else setText(el, 'common.remaining.minutes', { minutes });
      }, WARNING_WAIT_MS),
    };
  };
  /** A warning was shown (seconds_left): its minute is not said again. */
  announce.warned = (secondsLeft) => {
    warned = Math.max(1, Math.round((Number(secondsLeft) || 0) / 60));
    if (pending && pending.minutes === warned) cancel();
  };
  announce.reset = () => {
    cancel();
    last = null;
    warned = null;
  };
  return announce;
}

function setState(state) { window.parloir.state = state; }

/* -------------------------------------------------------------- call leg */

/** The in-call part both pages share: signaling socket, peer connection, local
 *  stream, call countdown and warnings, hang-up and the "ended" step.
 *
 *  els: callStatus, remaining, warning, remoteVideo, localVideo, minuteAnnounce,
 *       hangup, endedReason, linkNotice, mediaNotice (the last two optional).
 *  options:
 *    role                 this page's leg, 'kiosk' or 'relative' (quality notices)
 *    endedPrefix          i18n prefix of the end sentences ('ended.kiosk.', 'ended.join.')
 *    hangupReason         end reason when the server does not confirm our hang-up
 *    connectingKey        status shown while the call is `connecting`
 *    showCallStep()       show the in-call step (page-specific title)
 *    onView(view)         page part of a CallView, first; return true if fully handled
 *    onReconnected(view)  first `welcome` after the socket was reopened
 *    onWelcome(view)      every `welcome` (view: its CallView or null)
 *    onError(msg)         `error` message (default: shown in callStatus)
 *    onMessage(msg)       any other message type
 *    onMedia(mode, changed) the relative's choice of media was shown (see showMedia)
 *    status(key)          where transient statuses go (default: callStatus)
 *    onHangup()           local hang-up started
 *    onTeardown()         page-specific teardown
 *    onEnded()            after the ended step is shown */
class CallLeg {
  constructor(els, options) {
    this.els = els;
    this.options = options;
    this.sig = null;
    this.pc = null;
    this.localStream = null;
    this.finished = false;
    this.connectedShown = false;
    this.reconnecting = false;   // the socket dropped and is being reopened
    this.hangupTimer = null;
    this.announcer = minuteAnnouncer(els.minuteAnnounce);
    this.callTimer = new Countdown(els.remaining, this.announcer);
    this.view = null;            // last CallView
    this.offerId = 0;            // id of our latest offer (0: the first one, sent by the page)
    this.retryTimer = null;      // next new-connection attempt while ours is down
    this.lastOfferAt = 0;
    this.linkTimer = null;       // ticks the "reconnecting" notice
    this.media = 'video';        // the relative's choice (their page only)
    this.shownMedia = null;      // the choice shown (both pages)
    els.hangup.addEventListener('click', () => this.hangup());
    this.watchNetwork();
  }

  /* A leg that drops comes back on a new peer connection (aiortc takes no ICE restart):
   * when ours fails, stays disconnected, the gateway says we are lost, or the phone changes
   * network, we offer again on the same socket; the gateway swaps the leg. */
  get live() {
    const state = this.view && this.view.state;
    return !this.finished && (state === 'connecting' || state === 'connected' || state === 'reconnecting');
  }

  watchNetwork() {
    const changed = () => { if (this.live) this.reconnectSoon(0, 'network'); };
    window.addEventListener('online', changed);
    if (navigator.connection && navigator.connection.addEventListener) {
      navigator.connection.addEventListener('change', changed);
    }
  }

  pcDown() {
    const pc = this.pc;
    return !pc || ['failed', 'closed', 'disconnected'].includes(pc.connectionState);
  }

  reconnectSoon(delayMs, why) {
    if (this.retryTimer) window.clearTimeout(this.retryTimer);
    this.retryWhy = why;
    this.retryTimer = window.setTimeout(() => {
      this.retryTimer = null;
      this.reoffer();
    }, delayMs);
  }

  /** A new peer connection for our leg, offered with an id; tried again every few seconds
   *  until it connects or the call ends. */
  async reoffer() {
    if (!this.live || !this.localStream || !this.sig) return;
    // Connected: it healed by itself, unless the gateway hears nothing from it (its path is
    // dead one way, e.g. after a change of address, before the browser notices).
    const pc = this.pc;
    if (pc && pc.connectionState === 'connected'
        && (!this.iAmLost() || Date.now() - (pc.connectedAt || 0) < 3000)) return;
    if (Date.now() - this.lastOfferAt < 1500) { this.reconnectSoon(1500, 'again'); return; }
    this.lastOfferAt = Date.now();
    this.offerId += 1;
    console.debug('parloir: new connection', this.offerId, this.retryWhy);
    const id = this.offerId;
    const old = this.pc;
    this.pc = null;
    if (old) { try { old.close(); } catch (e) { /* ignore */ } }
    this.createPeer();
    this.reconnectSoon(RECONNECT_RETRY_MS, 'retry');   // unless it connects first
    try {
      const offer = await this.pc.createOffer();
      await this.pc.setLocalDescription(offer);
      await waitIceComplete(this.pc, 1000);
      if (id === this.offerId && this.sig) this.sig.send({ type: 'offer', sdp: this.pc.localDescription.sdp, id });
    } catch (err) {
      console.warn('new offer failed', err);
    }
  }

  iAmLost() {
    const lost = (this.view && this.view.lost) || [];
    return lost.includes(this.options.role);
  }

  /** The notice while a leg is lost: ours ("reconnecting…") or the other side's. */
  showLink() {
    const el = this.els.linkNotice;
    if (!el) return;
    const view = this.view;
    const lost = (view && view.state === 'reconnecting' && view.lost) || [];
    const mine = this.live && (this.pcDown() || lost.includes(this.options.role));
    const peer = lost.some((leg) => leg !== this.options.role);
    if (!mine && !peer) {
      if (this.linkTimer) window.clearInterval(this.linkTimer);
      this.linkTimer = null;
      if (!el.hidden && view && view.state === 'connected') setText(this.els.callStatus, 'common.connected');
      clearText(el);
      el.hidden = true;
      return;
    }
    clearText(this.els.callStatus);   // not "you are connected" under "connection lost"
    let left = '';
    if (view && typeof view.reconnect_until === 'number') {
      const offset = typeof view.server_time === 'number' ? view.server_time - (view.received_at || Date.now()) : 0;
      left = formatClock(view.reconnect_until - (Date.now() + offset));
    }
    setText(el, mine ? 'common.link.self' : 'common.link.peer', { left });
    el.hidden = false;
    if (!this.linkTimer) this.linkTimer = window.setInterval(() => this.showLink(), 1000);
  }

  /* ------------------------------------------- sound only, by choice
   * The relative may turn their camera off ('camera_off') or ask for sound only
   * ('audio_only': no video either way) and back ('video'), at any time
   * (gateway/core/media_choice.py). Their page stops sending its camera with
   * replaceTrack(null), no renegotiation; the gateway stops forwarding video to a page that
   * chose sound only, and tells the kiosk. */

  /** The relative's page: choose a mode, apply it, tell the gateway. */
  chooseMedia(mode) {
    if (!MEDIA_MODES.includes(mode) || this.options.role !== 'relative') return;
    this.media = mode;
    this.applyMedia();
    if (this.sig) this.sig.send({ type: 'media', mode });
    this.showMedia(mode);
  }

  /** Our camera goes to our current connection only when the choice is video. */
  applyMedia() {
    const camera = this.media === 'video';
    const track = this.localStream && this.localStream.getVideoTracks()[0];
    if (track) track.enabled = camera;   // the preview goes dark too
    const pc = this.pc;
    if (!pc || pc.signalingState === 'closed' || this.options.role !== 'relative') return;
    pc.getTransceivers().forEach((tr) => {
      if (!tr.sender || !tr.receiver || tr.receiver.track.kind !== 'video') return;
      const wanted = camera ? (track || null) : null;
      if (tr.sender.track !== wanted) {
        tr.sender.replaceTrack(wanted).catch((err) => console.warn('replaceTrack failed', err));
      }
    });
  }

  /** Show the relative's choice: the kiosk's notice over the stage, the relative's own
   *  stage; options.onMedia(mode, changed) for the page's controls. */
  showMedia(mode, message) {
    const value = MEDIA_MODES.includes(mode) ? mode : 'video';
    const before = this.shownMedia;
    const changed = value !== before;
    this.shownMedia = value;
    window.parloir.media = value;
    const mine = this.options.role === 'relative';
    const stage = this.els.remoteVideo && this.els.remoteVideo.closest('.stage');
    if (stage) {
      stage.classList.toggle('camera-off-here', mine && value !== 'video');
      stage.classList.toggle('video-off-here', mine && value === 'audio_only');
      stage.classList.toggle('peer-camera-off', !mine && value !== 'video');
    }
    const el = this.els.mediaNotice;
    if (el && changed) {
      // The relative with their camera off still sees the kiosk: nothing over the picture.
      if (value === 'video' || (mine && value === 'camera_off')) {
        clearText(el);
        el.hidden = true;
      } else {
        setText(el, (mine ? 'media.here.' : 'media.there.') + value, null, message);
        el.hidden = false;
      }
    }
    // Announced only as a change (not when a page first shows the choice it resumed with).
    if (this.options.onMedia) this.options.onMedia(value, changed && before !== null);
  }

  status(key) {
    if (this.options.status) this.options.status(key);
    else setText(this.els.callStatus, key);
  }

  /** A new call with this.localStream: reset the per-call state. */
  begin() {
    this.finished = false;
    this.connectedShown = false;
    setState(null);
    attachVideo(this.els.localVideo, this.localStream);
    this.shownMedia = null;
    this.showMedia(this.media);   // shown, not announced: a resumed page's choice
  }

  openSignaling(token) {
    if (this.sig) this.sig.close();
    this.sig = new Signaling(token, {
      onMessage: (msg) => this.handleMessage(msg),
      onClose: (info) => this.handleClose(info),
      onReconnecting: () => {
        this.reconnecting = true;
        this.status('common.reconnecting');
      },
    });
    this.sig.connect();
  }

  /** Create the peer connection from this.localStream, reporting media trouble. */
  createPeer() {
    const pc = createPeer(this.localStream, this.els.remoteVideo);
    this.pc = pc;
    this.applyMedia();   // a new connection (a resume) keeps the relative's choice
    pc.addEventListener('connectionstatechange', () => {
      if (this.pc !== pc || this.finished) return;
      if (pc.connectionState === 'disconnected' || pc.connectionState === 'failed') {
        setText(this.els.callStatus, 'common.media.unstable');
        // 'failed' is final; 'disconnected' may heal by itself within a second or two.
        if (this.live) this.reconnectSoon(pc.connectionState === 'failed' ? 0 : 2000, 'pc');
      } else if (pc.connectionState === 'connected') {
        pc.connectedAt = Date.now();
        if (this.retryTimer) window.clearTimeout(this.retryTimer);
        this.retryTimer = null;
        if (this.connectedShown) setText(this.els.callStatus, 'common.connected');
      }
      this.showLink();
    });
    return this.pc;
  }

  handleMessage(msg) {
    const o = this.options;
    switch (msg.type) {
      case 'welcome': {
        const view = msg.call || null;
        if (view) view.received_at = Date.now();
        if (this.reconnecting) {
          this.reconnecting = false;
          o.onReconnected(view);
        }
        o.onWelcome(view);
        // Back after a reload or a new socket: the gateway holds the call's choice; ours
        // (kept in the tab) goes again if it differs.
        if (view && this.options.role === 'relative' && this.sig && !this.finished
            && view.relative_media && view.relative_media !== this.media) {
          this.sig.send({ type: 'media', mode: this.media });
        }
        // Back on a socket (network change, reload) with our connection down: a new one.
        if (view && this.live) {
          // (A page sending its first offer has a 'new' connection: that offer will do.)
          if (this.pcDown() || (this.iAmLost() && this.pc.connectionState === 'connected')) this.reconnectSoon(0, 'welcome');
          else if (this.pc.connectionState !== 'connected') this.reconnectSoon(FIRST_CONNECT_MS, 'first');
        }
        break;
      }
      case 'state':
        if (msg.call) {
          msg.call.received_at = Date.now();
          this.handleView(msg.call);
          if (this.live && this.iAmLost() && !this.retryTimer) this.reconnectSoon(0, 'lost');
        }
        break;
      case 'answer':
        // Only the answer to our latest offer (earlier ones may arrive late, after a gap).
        if ((msg.id || 0) !== this.offerId) break;
        acceptAnswer(this.pc, msg.sdp).catch((err) => {
          console.error('setRemoteDescription failed', err);
          this.status('reason.signaling.bad_sdp');
        });
        break;
      case 'warning':
        showWarning(this.els.warning, msg.seconds_left);
        this.announcer.warned(msg.seconds_left);
        break;
      case 'media':     // the relative's camera off or sound only, by choice
        // The relative's own page follows its own choice, not the echo of an older one.
        if (this.options.role !== msg.side) this.showMedia(msg.mode, msg.message);
        break;
      case 'quality':   // sound first: web/static/quality.js
        showQuality(this.options.role, msg);
        break;
      case 'ended':
        setState('ended');
        this.finish(msg.reason, msg.message);
        break;
      case 'error':
        if (o.onError) o.onError(msg);
        else setReason(this.els.callStatus, msg.reason, msg.message);
        break;
      default:
        if (o.onMessage) o.onMessage(msg);
        break;
    }
  }

  handleView(view) {
    setState(view.state);
    this.view = view;
    this.showLink();
    if (this.options.role !== 'relative' && view.relative_media) this.showMedia(view.relative_media);
    if (this.options.onView && this.options.onView(view)) return;
    switch (view.state) {
      case 'reconnecting':
        // The call's end moves by the gap: the countdown waits (frozen) until both are back.
        this.options.showCallStep();
        this.callTimer.stop(true);
        break;
      case 'connecting':
        this.showConnecting();
        break;
      case 'connected':
        this.options.showCallStep();
        if (!this.connectedShown) {
          this.connectedShown = true;
          setText(this.els.callStatus, 'common.connected');
        }
        if (typeof view.ends_at === 'number') this.callTimer.start(view.ends_at, view.server_time);
        break;
      case 'ended':
        this.finish(view.end_reason || 'interrupted');
        break;
      default:
        break;
    }
  }

  showConnecting() {
    this.options.showCallStep();
    if (!this.connectedShown) setText(this.els.callStatus, this.options.connectingKey);
  }

  handleClose(info) {
    if (this.finished) return;
    if (info.reason === 'call.ended') this.finish('interrupted');
    else this.finishWithText('reason.' + info.reason, info.message);
  }

  hangup() {
    if (this.finished) return;
    this.els.hangup.disabled = true;
    if (this.options.onHangup) this.options.onHangup();
    const reason = this.options.hangupReason;
    if (this.sig && this.sig.isOpen()) {
      this.sig.send({ type: 'hangup' });
      this.hangupTimer = window.setTimeout(() => this.finish(reason), HANGUP_GRACE_MS);
    } else {
      this.finish(reason);
    }
  }

  finish(reason, message) {
    this.finishWithText(this.options.endedPrefix + (reason || 'interrupted'),
      message || t('common.ended.generic'));
  }

  finishWithText(key, fallback) {
    if (this.finished) return;
    this.finished = true;
    this.teardown();
    setText(this.els.endedReason, key, null, fallback || t('common.ended.generic'));
    showStep('ended');
    if (this.options.onEnded) this.options.onEnded();
  }

  teardown() {
    if (this.hangupTimer) window.clearTimeout(this.hangupTimer);
    this.hangupTimer = null;
    if (this.retryTimer) window.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.view = null;
    this.offerId = 0;
    this.showLink();
    this.callTimer.stop();
    if (this.sig) this.sig.close();
    this.sig = null;
    closePeer(this.pc);
    this.pc = null;
    stopStream(this.localStream);
    this.localStream = null;
    attachVideo(this.els.localVideo, null);
    attachVideo(this.els.remoteVideo, null);
    this.connectedShown = false;
    clearText(this.els.warning);
    this.els.warning.classList.remove('urgent');
    clearText(this.els.callStatus);
    clearText(this.els.minuteAnnounce);
    this.announcer.reset();
    clearQuality();
    this.media = 'video';
    this.showMedia('video');
    this.shownMedia = null;
    this.els.hangup.disabled = false;
    if (this.options.onTeardown) this.options.onTeardown();
  }
}

const MEDIA_MODES = ['video', 'camera_off', 'audio_only'];
const PING_MS = 800;             // signaling keep-alive while a page is open
const SILENT_SOCKET_MS = 2500;   // nothing heard for this long: the socket is dead
const HANGUP_GRACE_MS = 3000;  // if the server does not confirm a hangup, end locally
const RECONNECT_RETRY_MS = 5000; // a new connection not up by then: try another one
const FIRST_CONNECT_MS = 12000;  // the page's first connection gets longer (ICE gathering)

export const Parloir = {
  get lang() { return L.lang; },
  t, has, setText, setRaw, clearText, setReason, setLang, applyI18n,
  initLangToggle: initLang,
  showStep, getStep,
  api,
  Signaling,
  getLocalMedia, mediaErrorKey, createPeer, createOffer, acceptAnswer, closePeer, stopStream,
  attachVideo,
  Countdown, formatClock, showWarning, minuteAnnouncer, setState,
  CallLeg,
};
window.Parloir = Parloir;
