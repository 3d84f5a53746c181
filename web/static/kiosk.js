/* Parloir — kiosk page (hearing room touch screen). Protocol: docs/signaling.md. */
import { Parloir as P } from './call.js';
import { $ } from './dom.js';
import { money } from './format.js';

const AUTO_RESET_MS = 60000;   // end screen goes back to the login after a minute

const els = {
  loginForm: $('login-form'), detainee: $('detainee'), accessCode: $('access-code'),
  login: $('login'), loginError: $('login-error'),
  homeTitle: $('home-title'), booking: $('booking'), noBooking: $('no-booking'),
  corrName: $('correspondent-name'), corrRel: $('correspondent-relationship'),
  corrPhone: $('correspondent-phone'), slot: $('slot'),
  call: $('call'), homeStatus: $('home-status'), callError: $('call-error'), logout: $('logout'),
  waitingText: $('waiting-text'), codeRemaining: $('code-remaining'), codeStatus: $('code-status'),
  waitingPreview: $('waiting-preview'), waitingError: $('waiting-error'), cancel: $('cancel'),
  burnedError: $('burned-error'), newCode: $('new-code'), cancelBurned: $('cancel-burned'),
  callTitle: $('call-title'), remaining: $('remaining'), warning: $('warning'),
  remoteVideo: $('remote-video'), localVideo: $('local-video'), callStatus: $('call-status'),
  minuteAnnounce: $('minute-announce'), hangup: $('hangup'),
  endedReason: $('ended-reason'), restart: $('restart'),
  endedMoney: $('ended-money'), endedCost: $('ended-cost'), endedCostLabel: $('ended-cost-label'),
  endedBalance: $('ended-balance'), endedBalanceLabel: $('ended-balance-label'),
  endedMoneyNote: $('ended-money-note'),
  balanceLine: $('balance-line'), balance: $('balance'),
  moneyBox: $('money-box'), callCost: $('call-cost'), balanceLeft: $('balance-left'),
  linkNotice: $('link-notice'), mediaNotice: $('media-notice'),
};

// The call survives a reload of the kiosk page: the session (the call's token, valid for
// this slot only) is kept in this tab's sessionStorage while a call is in progress, and
// forgotten when it ends or the detainee logs out.
const SAVED = 'parloir.kiosk';
function save() {
  try {
    window.sessionStorage.setItem(SAVED, JSON.stringify({
      session, iceServers: (window.PARLOIR_CONFIG || {}).iceServers || null,
    }));
  } catch (e) { /* no storage: no resume after a reload */ }
}
function forget() {
  try { window.sessionStorage.removeItem(SAVED); } catch (e) { /* ignore */ }
}
function saved() {
  try { return JSON.parse(window.sessionStorage.getItem(SAVED) || 'null'); } catch (e) { return null; }
}

let session = null;        // {token, detainee, booking}
let offerSent = false;
let callRequested = false; // `call` to send once welcome arrives
let burnedExpiry;          // code_expires_at of the burned code (undefined: not burned)
let correspondentName = '';
let resetTimer = null;
let sawView = false;       // a CallView was received for the current call

/* ------------------------------------------------------------- money */

/** Integer cents as written in the current language: "48,56 €" / "€48.56". No floats. */
const formatMoney = (cents) => money(P.lang, cents);

function ceilDiv(a, b) { return Math.floor((a + b - 1) / b); }

/** What the connected time costs, exactly like gateway/pricing.py call_cost (integer cents):
 *  nothing before any connection; then the connection fee once, plus each started minute
 *  (per_started_minute) or ceil(rate * started seconds / 60) rounded up once (per_second).
 *  The ledger never charges more than the booking's hold, so neither does this. */
function callCost(billing, connectedMs) {
  const ms = Math.max(0, Math.floor(Number(connectedMs) || 0));
  if (!billing || ms === 0) return 0;
  const rate = Math.max(0, Math.trunc(Number(billing.per_minute_cents) || 0));
  const fee = Math.max(0, Math.trunc(Number(billing.fee_cents) || 0));
  const usage = billing.rounding === 'per_second'
    ? ceilDiv(rate * ceilDiv(ms, 1000), 60)
    : ceilDiv(ms, 60000) * rate;
  const cost = fee + usage;
  const hold = Math.trunc(Number(billing.hold_cents) || 0);
  return hold > 0 ? Math.min(cost, hold) : cost;
}
window.parloir.callCost = callCost;   // for the tests, like window.parloir.pc

/** The running cost shown next to the remaining time, from the kiosk's CallView:
 *  billing (balance, tariff, connected time of earlier calls of the booking), connected_at and
 *  server_time (server clock; the offset corrects the kiosk's clock like the countdown). */
const meter = {
  billing: null, connectedMs0: null, at: 0, running: false, shown: false, timer: null, cost: 0,

  update(view) {
    if (view.billing && typeof view.billing === 'object') this.billing = view.billing;
    // connected_ms: the connected time when the view was sent (gaps excluded).
    this.connectedMs0 = typeof view.connected_ms === 'number' && view.connected_at != null
      ? view.connected_ms : null;
    this.at = Date.now();
    this.shown = this.connectedMs0 !== null && view.state !== 'ended';
    if (view.state === 'connected' && this.connectedMs0 !== null) this.start();
    else if (view.state === 'ended') this.stop();     // frozen at the last value
    else { this.stop(); this.tick(); }                // a gap: frozen, not billed
  },

  connectedMs() {
    if (!this.billing) return 0;
    const prior = Math.max(0, Math.trunc(Number(this.billing.prior_connected_ms) || 0));
    if (this.connectedMs0 === null) return prior;
    const running = this.running ? Math.max(0, Date.now() - this.at) : 0;
    return prior + this.connectedMs0 + running;
  },

  start() {
    this.running = true;
    if (!this.timer) this.timer = window.setInterval(() => this.tick(), 250);
    this.tick();
  },

  stop() {
    // Fold the running stretch in, so that the last estimate still counts it after the stop.
    if (this.running && this.connectedMs0 !== null) {
      this.connectedMs0 += Math.max(0, Date.now() - this.at);
      this.at = Date.now();
    }
    this.running = false;
    if (this.timer) window.clearInterval(this.timer);
    this.timer = null;
  },

  tick() {
    const ms = this.shown ? this.connectedMs() : 0;
    this.cost = this.shown ? callCost(this.billing, ms) : 0;
    renderMeter();
  },

  reset() {
    this.stop();
    this.billing = null;
    this.connectedMs0 = null;
    this.shown = false;
    this.cost = 0;
    renderMeter();
  },
};

function renderMeter() {
  const billing = meter.billing;
  els.moneyBox.hidden = !billing;
  if (!billing) return;
  const cost = formatMoney(meter.cost);
  if (els.callCost.textContent !== cost) els.callCost.textContent = cost;
  const left = formatMoney((Math.trunc(Number(billing.balance_cents)) || 0) - meter.cost);
  if (els.balanceLeft.textContent !== left) els.balanceLeft.textContent = left;
}

/* The end screen's money. The ledger's own figures when the call's end settled its booking
 * (billing.settled, in the last CallView: what was charged, the balance after). Otherwise the
 * booking is settled later (a failed call leaves the slot open for another try): this page's
 * estimate from the connected time it last knew, said to be provisional. No connected time at
 * all costs nothing, connection fee included (gateway/core/pricing.py, rule 5). */
let endMoney = null;   // {cost, balance, kind: 'settled' | 'estimate' | 'free'}, null: not shown

function finalMoney() {
  const billing = meter.billing;
  if (!billing) return null;
  const ms = meter.connectedMs();
  const settled = billing.settled;
  if (settled && Number.isInteger(settled.charged_cents) && Number.isInteger(settled.balance_cents)) {
    const free = settled.charged_cents === 0 && ms === 0;
    return { cost: settled.charged_cents, balance: settled.balance_cents, kind: free ? 'free' : 'settled' };
  }
  const cost = callCost(billing, ms);
  const balance = (Math.trunc(Number(billing.balance_cents)) || 0) - cost;
  return { cost, balance, kind: ms === 0 ? 'free' : 'estimate' };
}

function showEndMoney(figures) {
  endMoney = figures;
  els.endedMoney.hidden = !figures;
  if (!figures) return;
  const estimate = figures.kind === 'estimate';
  P.setText(els.endedCostLabel, estimate ? 'kiosk.ended.cost.estimate' : 'kiosk.money.cost');
  P.setText(els.endedBalanceLabel, estimate ? 'kiosk.ended.left.estimate' : 'kiosk.money.left');
  els.endedMoneyNote.hidden = figures.kind === 'settled';
  if (figures.kind === 'settled') P.clearText(els.endedMoneyNote);
  else P.setText(els.endedMoneyNote, 'kiosk.ended.money.' + figures.kind);
  renderEndMoney();
}

function renderEndMoney() {
  if (!endMoney) return;
  els.endedCost.textContent = formatMoney(endMoney.cost);
  els.endedBalance.textContent = formatMoney(endMoney.balance);
}

function renderBalance() {
  const account = session && session.account;
  const known = !!account && typeof account.balance_cents === 'number';
  els.balanceLine.hidden = !known;
  els.balance.textContent = known ? formatMoney(account.balance_cents) : '';
}

document.addEventListener('parloir:lang', () => {
  if (session) renderBalance();
  renderMeter();
  renderEndMoney();
});

const codeTimer = new P.Countdown(els.codeRemaining, (seconds) => {
  if (seconds <= 0) P.setText(els.codeStatus, 'kiosk.waiting.code.expired');
});

// What became of the code's SMS (docs/signaling.md, `sms`), each failure in its own words.
// The gateway says when a new code may help (`new_code`: retries exhausted, the SMS expired
// or undelivered); a number or an account the operator refuses gets no second code.
function showSms(msg) {
  const line = $('sms-status');
  if (!line) return;
  line.textContent = msg.message;
  line.dataset.status = msg.status;
  line.dataset.reason = msg.reason || '';
  if (msg.status === 'failed' && msg.new_code) {
    showBurned();
    P.setRaw($('burned-text'), msg.message);
  }
}

const call = new P.CallLeg(els, {
  role: 'kiosk',
  endedPrefix: 'ended.kiosk.',
  hangupReason: 'kiosk_hangup',
  connectingKey: 'kiosk.call.connecting',
  showCallStep,
  onView,
  onReconnected: (view) => {
    clearStatusForStep();
    if (view && view.state === 'connected') P.setText(els.callStatus, 'common.connected');
  },
  onWelcome,
  onError: handleError,
  onMessage: (msg) => {
    if (msg.type === 'code_burned') showBurned(msg.message);
    if (msg.type === 'sms') showSms(msg);
  },
  status: setStatusForStep,
  onHangup: () => {
    els.cancel.disabled = true;
    els.cancelBurned.disabled = true;
  },
  onTeardown: () => {
    codeTimer.stop();
    meter.stop();
    P.attachVideo(els.waitingPreview, null);
    offerSent = false;
    callRequested = false;
    burnedExpiry = undefined;
    els.cancel.disabled = false;
    els.cancelBurned.disabled = false;
  },
  onEnded: () => {
    showEndMoney(finalMoney());
    forget();
    resetTimer = window.setTimeout(resetToLogin, AUTO_RESET_MS);
  },
});

/* ------------------------------------------------------------- login */

els.loginForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  P.clearText(els.loginError);
  const detainee = els.detainee.value.trim();
  const accessCode = els.accessCode.value.trim();
  if (!detainee || !accessCode) {
    P.setText(els.loginError, 'kiosk.login.missing');
    (detainee ? els.accessCode : els.detainee).focus();
    return;
  }
  els.login.disabled = true;
  P.setText(els.login, 'kiosk.login.busy');
  const res = await P.api('/api/kiosk/login', { detainee, access_code: accessCode });
  els.login.disabled = false;
  P.setText(els.login, 'kiosk.login.submit');
  if (res.data && res.data.reason === 'kiosk.not_enrolled') {
    window.location.assign('/kiosk/enrolement'); // revoked: only an enrolment helps
    return;
  }
  if (!res.ok || !res.data.token) {
    P.setReason(els.loginError, res.data.reason, res.data.message);
    els.accessCode.value = '';
    els.detainee.setAttribute('aria-invalid', 'true');
    els.accessCode.setAttribute('aria-invalid', 'true');
    els.accessCode.focus();
    return;
  }
  els.detainee.removeAttribute('aria-invalid');
  // TURN credentials (if any) are handed out only now, valid for this call.
  if (Array.isArray(res.data.ice_servers)) {
    window.PARLOIR_CONFIG = Object.assign({}, window.PARLOIR_CONFIG, { iceServers: res.data.ice_servers });
  }
  els.accessCode.removeAttribute('aria-invalid');
  els.accessCode.value = '';
  session = { token: res.data.token, detainee: res.data.detainee || {}, booking: res.data.booking || null,
    message: res.data.message || '', account: res.data.account || null };
  renderHome();
  P.showStep('step-home');
});

function renderHome() {
  const d = session.detainee;
  const name = [d.first_name, d.last_name].filter(Boolean).join(' ');
  P.setText(els.homeTitle, 'kiosk.home.greeting', { name });
  renderBalance();
  P.clearText(els.callError);
  P.clearText(els.homeStatus);
  const booking = session.booking;
  if (!booking) {
    els.booking.hidden = true;
    els.noBooking.hidden = false;
    if (session.message) P.setRaw(els.noBooking, session.message);
    else P.setText(els.noBooking, 'kiosk.home.no_booking');
    return;
  }
  els.noBooking.hidden = true;
  els.booking.hidden = false;
  const c = booking.correspondent || {};
  correspondentName = c.name || '';
  P.setRaw(els.corrName, c.name || '');
  P.setRaw(els.corrRel, c.relationship || '');
  els.corrRel.parentElement.hidden = !c.relationship;
  P.setRaw(els.corrPhone, c.phone_masked || '');
  if (typeof booking.start === 'number' && typeof booking.end === 'number') {
    P.setText(els.slot, 'kiosk.home.slot.value', { start: { time: booking.start }, end: { time: booking.end } });
    els.slot.parentElement.hidden = false;
  } else {
    els.slot.parentElement.hidden = true;
  }
  els.call.disabled = false;
}

els.logout.addEventListener('click', () => resetToLogin());
els.restart.addEventListener('click', () => resetToLogin());

/* -------------------------------------------------------------- call */

els.call.addEventListener('click', startCall);

async function startCall() {
  if (!session || !session.booking) return;
  P.clearText(els.callError);
  els.call.disabled = true;
  P.setText(els.homeStatus, 'kiosk.camera.starting');
  if (!call.localStream) {
    try {
      call.localStream = await P.getLocalMedia();
    } catch (err) {
      console.warn('getUserMedia failed', err);
      P.clearText(els.homeStatus);
      P.setText(els.callError, 'media.kiosk');
      els.call.disabled = false;
      return;
    }
  }
  P.clearText(els.homeStatus);
  offerSent = false;
  burnedExpiry = undefined;
  sawView = false;
  meter.reset();
  showEndMoney(null);
  call.begin();
  P.attachVideo(els.waitingPreview, call.localStream);
  P.setText(els.waitingText, 'kiosk.waiting.starting');
  P.clearText(els.codeStatus);
  P.clearText(els.waitingError);
  codeTimer.stop();
  P.showStep('step-waiting');
  callRequested = true;
  save();
  call.openSignaling(session.token);
}

// A reload must not end the call: say so (the gap starts now), come back after it.
window.addEventListener('pagehide', () => {
  if (!call.finished && call.sig && call.sig.isOpen()) call.sig.send({ type: 'leaving' });
});

/** After a reload during a call: the saved session, straight back into the call. */
async function resume(state) {
  session = state.session;
  if (Array.isArray(state.iceServers)) {
    window.PARLOIR_CONFIG = Object.assign({}, window.PARLOIR_CONFIG, { iceServers: state.iceServers });
  }
  renderHome();
  P.showStep('step-home');
  startCall();
}

function onWelcome(view) {
  if (callRequested) {
    callRequested = false;
    if (!view || view.state === 'ended') {
      call.sig.send({ type: 'call' });
    } else {
      call.handleView(view);
    }
  } else if (view) {
    call.handleView(view);            // reconnected: resume from the current state
  } else {
    call.finish('interrupted');
  }
}

function onView(view) {
  sawView = true;
  meter.update(view);
  if (view.correspondent && view.correspondent.name) correspondentName = view.correspondent.name;
  if (view.state === 'connecting' || view.state === 'connected') codeTimer.stop();
  if (view.state !== 'waiting_relative') return false;
  const expiry = view.code_expires_at;
  if (burnedExpiry !== undefined && (expiry == null || expiry === burnedExpiry)) {
    if (P.getStep() !== 'step-burned') showBurned();
    return true;                       // still the burned code: wait for `new-code`
  }
  burnedExpiry = undefined;
  P.setText(els.waitingText, 'kiosk.waiting.text');
  if (typeof expiry === 'number') {
    P.clearText(els.codeStatus);
    codeTimer.start(expiry, view.server_time);
  }
  P.showStep('step-waiting');
  if (!offerSent) sendOffer();
  return true;
}

function showCallStep() {
  if (correspondentName) P.setText(els.callTitle, 'kiosk.call.title', { name: correspondentName });
  else P.setText(els.callTitle, 'kiosk.call.title.generic');
  els.hangup.disabled = false;
  P.showStep('step-call');
}

async function sendOffer() {
  offerSent = true;
  try {
    const pc = call.createPeer();
    const sdp = await P.createOffer(pc);
    // Not if that connection was replaced meanwhile (the page came back on a new one).
    if (!call.finished && call.sig && call.pc === pc) call.sig.send({ type: 'offer', sdp });
  } catch (err) {
    console.error('offer failed', err);
    offerSent = false;
    setStatusForStep('reason.signaling.bad_sdp');
  }
}

function showBurned(message) {
  burnedExpiry = codeTimer.deadline;
  if (burnedExpiry === undefined) burnedExpiry = null;
  codeTimer.stop();
  P.clearText(els.burnedError);
  if (message && !P.has('kiosk.burned.text')) P.setRaw($('burned-text'), message);
  els.newCode.disabled = false;
  P.showStep('step-burned');
}

els.newCode.addEventListener('click', () => {
  if (!call.sig) return;
  els.newCode.disabled = true;
  P.clearText(els.burnedError);
  P.setText(els.waitingText, 'kiosk.waiting.starting');
  P.clearText(els.codeStatus);
  codeTimer.stop();
  call.sig.send({ type: 'call' });
  // The next `state` (waiting_relative with a new code_expires_at) shows the waiting step.
});

function handleError(msg) {
  const step = P.getStep();
  if (step === 'step-burned') {
    P.setReason(els.burnedError, msg.reason, msg.message);
    els.newCode.disabled = false;
  } else if (step === 'step-waiting' && !sawView) {
    // The call itself was refused (e.g. call.not_allowed): back to the greeting.
    call.teardown();
    renderHome();
    P.showStep('step-home');
    P.setReason(els.callError, msg.reason, msg.message);
  } else if (step === 'step-waiting') {
    P.setReason(els.waitingError, msg.reason, msg.message);
  } else if (step === 'step-call') {
    P.setReason(els.callStatus, msg.reason, msg.message);
  } else {
    P.setReason(els.callError, msg.reason, msg.message);
  }
}

function setStatusForStep(key) {
  const step = P.getStep();
  if (step === 'step-call') P.setText(els.callStatus, key);
  else if (step === 'step-burned') P.setText(els.burnedError, key);
  else if (step === 'step-waiting') P.setText(els.waitingError, key);
  else P.setText(els.callError, key);
}

function clearStatusForStep() {
  [els.callStatus, els.burnedError, els.waitingError, els.callError].forEach(P.clearText);
}

/* ----------------------------------------------------------- hang up */

els.cancel.addEventListener('click', () => call.hangup());
els.cancelBurned.addEventListener('click', () => call.hangup());

/* ------------------------------------------------------------ ending */

function resetToLogin() {
  if (resetTimer) window.clearTimeout(resetTimer);
  resetTimer = null;
  call.finished = false;
  call.teardown();
  window.parloir.ws = null;
  window.parloir.pc = null;
  session = null;
  forget();
  correspondentName = '';
  meter.reset();
  showEndMoney(null);
  renderBalance();
  els.loginForm.reset();
  P.clearText(els.loginError);
  P.showStep('step-login');
}

/* ------------------------------------------------------------- start */

P.initLangToggle();
const state = saved();
if (state && state.session && state.session.token) resume(state);
else P.showStep('step-login');
