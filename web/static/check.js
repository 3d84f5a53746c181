/* Parloir — the relative's device check, before any call: camera preview, a sound meter, what
 * permission is missing and how to grant it, and a warning when the connection looks weak.
 * Everything stays on the phone: no socket, no request to the gateway. */
'use strict';

(function () {
  const P = window.Parloir;
  const $ = (id) => document.getElementById(id);
  let stream = null;
  let audio = null;      // { context, timer }
  let back = 'step-code';
  let heard = false;

  function stop() {
    if (audio) {
      window.clearInterval(audio.timer);
      audio.context.close().catch(() => { /* ignore */ });
      audio = null;
    }
    P.stopStream(stream);
    stream = null;
    P.attachVideo($('check-video'), null);
  }

  function listen(media) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx || !media.getAudioTracks().length) return;
    const context = new Ctx();
    const analyser = context.createAnalyser();
    analyser.fftSize = 2048;   // 43 ms at 48 kHz: read every 40 ms, nothing is missed
    context.createMediaStreamSource(media).connect(analyser);
    const samples = new Uint8Array(analyser.fftSize);
    heard = false;
    P.setText($('check-mic'), 'check.mic.silent');
    const timer = window.setInterval(() => {
      analyser.getByteTimeDomainData(samples);
      let peak = 0;
      samples.forEach((v) => { peak = Math.max(peak, Math.abs(v - 128)); });
      const level = Math.min(100, Math.round((peak / 128) * 200));
      const meter = $('check-meter');
      meter.value = Math.max(level, Math.round(meter.value * 0.8));   // a peak that decays
      if (level > 5 && !heard) {
        heard = true;
        P.setText($('check-mic'), 'check.mic.ok');
      }
    }, 40);
    audio = { context, timer };
    if (context.state === 'suspended') context.resume().catch(() => { /* a tap resumes it */ });
  }

  /** What the phone itself says of its connection (Chrome on Android; Safari says nothing). */
  function network() {
    const el = $('check-network');
    P.clearText(el);
    if (navigator.connection) {   // feature-detected: iOS Safari has no Network Information API
      const c = navigator.connection;
      const weak = ['slow-2g', '2g'].includes(c.effectiveType)
        || (typeof c.downlink === 'number' && c.downlink > 0 && c.downlink < 0.4);
      P.setText(el, weak ? 'check.network.weak' : 'check.network.ok');
    }
  }

  async function start() {
    stop();
    P.clearText($('check-error'));
    P.clearText($('check-camera'));
    $('check-help').hidden = true;
    $('check-retry').hidden = true;
    network();
    try {
      stream = await P.getLocalMedia();
    } catch (err) {
      const key = P.mediaErrorKey(err);
      P.setText($('check-error'), key);
      $('check-help').hidden = key !== 'media.denied' && key !== 'media.other';
      $('check-retry').hidden = false;
      return;
    }
    P.attachVideo($('check-video'), stream);
    if (stream.getVideoTracks().length) P.setText($('check-camera'), 'check.camera.ok');
    listen(stream);
  }

  $('open-check').addEventListener('click', () => {
    back = P.getStep() || 'step-code';
    P.showStep('step-check');
    start();
  });
  $('check-retry').addEventListener('click', start);
  $('close-check').addEventListener('click', () => {
    stop();
    P.showStep(back);
  });
  window.addEventListener('pagehide', stop);
}());
