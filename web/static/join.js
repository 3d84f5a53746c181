/* Parloir — relative's page (follows the "Comment utiliser Avisio ?" flyer).
 * Protocol: docs/signaling.md. */
'use strict';

(function () {
  const P = window.Parloir;
  const $ = (id) => document.getElementById(id);

  const HANGUP_GRACE_MS = 3000;

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
  let sig = null;
  let pc = null;
  let localStream = null;
  let offerPromise = null;
  let offerSent = false;
  let finished = false;
  let connectedShown = false;
  let hangupTimer = null;
  let reconnecting = false;

  const callTimer = new P.Countdown(els.remaining, P.minuteAnnouncer(els.minuteAnnounce));

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
      localStream = await P.getLocalMedia();
    } catch (err) {
      console.warn('getUserMedia failed', err);
      P.clearText(els.incomingStatus);
      P.setText(els.mediaError, P.mediaErrorKey(err));
      P.setText(els.acceptCall, 'join.incoming.retry');
      els.acceptCall.disabled = false;
      return;
    }
    P.clearText(els.incomingStatus);
    finished = false;
    offerSent = false;
    connectedShown = false;
    P.setState(null);
    P.attachVideo(els.localVideo, localStream);
    showCallStep();
    P.setText(els.callStatus, 'common.connecting');

    // Gather ICE while the socket opens; the offer is sent after `welcome`.
    try {
      pc = P.createPeer(localStream, els.remoteVideo);
    } catch (err) {
      console.error('RTCPeerConnection failed', err);
      P.stopStream(localStream);
      localStream = null;
      P.showStep('step-incoming');
      P.setText(els.mediaError, 'media.unsupported');
      els.acceptCall.disabled = false;
      return;
    }
    pc.addEventListener('connectionstatechange', () => {
      if (!pc || finished) return;
      if (pc.connectionState === 'disconnected' || pc.connectionState === 'failed') {
        P.setText(els.callStatus, 'common.media.unstable');
      } else if (pc.connectionState === 'connected' && connectedShown) {
        P.setText(els.callStatus, 'common.connected');
      }
    });
    offerPromise = P.createOffer(pc);
    offerPromise.catch(() => { /* reported when awaited */ });

    sig = new P.Signaling(token, {
      onMessage: handleMessage,
      onClose: handleClose,
      onReconnecting: () => {
        reconnecting = true;
        P.setText(els.callStatus, 'common.reconnecting');
      },
    });
    sig.connect();
  }

  async function sendOffer() {
    if (offerSent) return;
    offerSent = true;
    try {
      const sdp = await offerPromise;
      if (!finished && sig) sig.send({ type: 'offer', sdp });
    } catch (err) {
      console.error('offer failed', err);
      P.setText(els.callStatus, 'reason.signaling.bad_sdp');
    }
  }

  function handleMessage(msg) {
    switch (msg.type) {
      case 'welcome': {
        const view = msg.call || null;
        if (reconnecting) {
          reconnecting = false;
          P.setText(els.callStatus, view && view.state === 'connected' ? 'common.connected' : 'common.connecting');
        }
        if (view && view.state === 'ended') {
          handleView(view);
          break;
        }
        if (!offerSent) {
          if (view) handleView(view);
          sendOffer();           // the relative's offer is the acceptance of the call
        } else if (view) {
          handleView(view);      // reconnected
        } else {
          finish('interrupted');
        }
        break;
      }
      case 'state':
        if (msg.call) handleView(msg.call);
        break;
      case 'answer':
        P.acceptAnswer(pc, msg.sdp).catch((err) => {
          console.error('setRemoteDescription failed', err);
          P.setText(els.callStatus, 'reason.signaling.bad_sdp');
        });
        break;
      case 'warning':
        P.showWarning(els.warning, msg.seconds_left);
        break;
      case 'ended':
        P.setState('ended');
        finish(msg.reason, msg.message);
        break;
      case 'error':
        P.setReason(els.callStatus, msg.reason, msg.message);
        break;
      default:
        break;
    }
  }

  function handleView(view) {
    P.setState(view.state);
    if (view.detainee_name) detaineeName = view.detainee_name;
    switch (view.state) {
      case 'waiting_relative':
      case 'connecting':
        showCallStep();
        if (!connectedShown) P.setText(els.callStatus, 'common.connecting');
        break;
      case 'connected':
        showCallStep();
        if (!connectedShown) {
          connectedShown = true;
          P.setText(els.callStatus, 'common.connected');
        }
        if (typeof view.ends_at === 'number') callTimer.start(view.ends_at, view.server_time);
        break;
      case 'ended':
        finish(view.end_reason || 'interrupted');
        break;
      default:
        break;
    }
  }

  function showCallStep() {
    if (detaineeName) P.setText(els.callTitle, 'join.call.title', { name: detaineeName });
    else P.setText(els.callTitle, 'join.call.title.generic');
    P.showStep('step-call');
  }

  function handleClose(info) {
    if (finished) return;
    if (info.reason === 'call.ended') finish('interrupted');
    else finishWithText('reason.' + info.reason, info.message);
  }

  /* ----------------------------------------------------------- hang up */

  els.hangup.addEventListener('click', () => {
    if (finished) return;
    els.hangup.disabled = true;
    if (sig && sig.isOpen()) {
      sig.send({ type: 'hangup' });
      hangupTimer = window.setTimeout(() => finish('relative_hangup'), HANGUP_GRACE_MS);
    } else {
      finish('relative_hangup');
    }
  });

  // Closing the tab during a call hangs up instead of leaving the kiosk waiting.
  window.addEventListener('pagehide', () => {
    if (!finished && sig && sig.isOpen()) sig.send({ type: 'hangup' });
  });

  /* ------------------------------------------------------------ ending */

  function finish(reason, message) {
    finishWithText('ended.join.' + (reason || 'interrupted'), message || P.t('common.ended.generic'));
  }

  function finishWithText(key, fallback) {
    if (finished) return;
    finished = true;
    teardown();
    P.setText(els.endedReason, key, null, fallback || P.t('common.ended.generic'));
    P.showStep('ended');
  }

  function teardown() {
    if (hangupTimer) window.clearTimeout(hangupTimer);
    hangupTimer = null;
    callTimer.stop();
    if (sig) sig.close();
    sig = null;
    P.closePeer(pc);
    pc = null;
    P.stopStream(localStream);
    localStream = null;
    offerPromise = null;
    P.attachVideo(els.localVideo, null);
    P.attachVideo(els.remoteVideo, null);
    P.clearText(els.warning);
    els.warning.classList.remove('urgent');
    P.clearText(els.callStatus);
    P.clearText(els.minuteAnnounce);
    els.hangup.disabled = false;
    token = null;
  }

  els.restart.addEventListener('click', () => {
    finished = false;
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
