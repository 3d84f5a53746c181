/* Parloir — relative's page (follows the "Comment utiliser Avisio ?" flyer).
 * Protocol: docs/signaling.md. */
'use strict';

(function () {
  const P = window.Parloir;
  const $ = (id) => document.getElementById(id);

  const els = {
    rulesForm: $('rules-form'), rules: [$('rule-1'), $('rule-2'), $('rule-3')],
    acceptRules: $('accept-rules'), rulesHint: $('rules-hint'),
    codeForm: $('code-form'), code: $('code'), connect: $('connect'), joinError: $('join-error'),
    incomingTitle: $('incoming-title'), incomingStatus: $('incoming-status'),
    mediaError: $('media-error'), acceptCall: $('accept-call'),
    callTitle: $('call-title'), remaining: $('remaining'), warning: $('warning'),
    remoteVideo: $('remote-video'), localVideo: $('local-video'), callStatus: $('call-status'),
    minuteAnnounce: $('minute-announce'), hangup: $('hangup'),
    endedReason: $('ended-reason'), restart: $('restart'),
  };

  const ref = new URLSearchParams(window.location.search).get('appel');

  let token = null;
  let detaineeName = '';
  let offerPromise = null;
  let offerSent = false;

  const call = new P.CallLeg(els, {
    side: 'relative',
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
  });

  /* ---------------------------------------------------- step 1: rules */

  function rulesAccepted() { return els.rules.every((box) => box.checked); }

  function updateRules() {
    const ok = rulesAccepted();
    els.acceptRules.disabled = !ok;
    els.rulesHint.hidden = ok;
  }

  els.rules.forEach((box) => box.addEventListener('change', updateRules));

  els.rulesForm.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!rulesAccepted()) return;
    P.showStep('step-code');
  });

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
      const sdp = await offerPromise;
      if (!call.finished && call.sig) call.sig.send({ type: 'offer', sdp });
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

  // Closing the tab during a call hangs up instead of leaving the kiosk waiting.
  window.addEventListener('pagehide', () => {
    if (!call.finished && call.sig && call.sig.isOpen()) call.sig.send({ type: 'hangup' });
  });

  /* ------------------------------------------------------------ ending */

  els.restart.addEventListener('click', () => {
    call.finished = false;
    detaineeName = '';
    els.code.value = '';
    P.clearText(els.joinError);
    P.showStep(rulesAccepted() ? 'step-code' : 'step-rules');
  });

  /* ------------------------------------------------------------- start */

  P.initLangToggle();
  updateRules();
  P.showStep('step-rules');
}());
