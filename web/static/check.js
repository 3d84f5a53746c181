/* Parloir — the relative's device check, before any call: camera preview, a sound meter, what
 * permission is missing and how to grant it, and a warning when the connection looks weak.
 * Everything stays on the phone: no socket, nothing sent to the gateway; the only request is
 * the download of a static file of the page's, timed to measure the connection. */
import { Parloir as P } from './call.js';
import { $ } from './dom.js';

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

/* The connection: a static file of PROBE_BYTES, downloaded and timed (on every phone;
 * Safari has no Network Information API). Slower than WEAK_KBIT, video would stall: the
 * gateway pauses it below 100 kbit/s and a watchable picture needs a few hundred. One
 * download of a few tens of kB underestimates a fast link (TCP's slow start) but never a
 * slow one, which is what the warning is for. */
const PROBE_URL = '/static/check-probe.bin';
const PROBE_BYTES = 49152;
const WEAK_KBIT = 256;
const PROBE_TIMEOUT_MS = 8000;
let measuring = 0;   // the latest measurement (an older one's answer is dropped)

async function measure() {
  const abort = typeof AbortController === 'function' ? new AbortController() : null;
  const timer = abort ? window.setTimeout(() => abort.abort(), PROBE_TIMEOUT_MS) : null;
  const started = performance.now();
  try {
    const response = await fetch(PROBE_URL + '?t=' + Date.now(),
      { cache: 'no-store', signal: abort ? abort.signal : undefined });
    if (!response.ok) return null;
    const size = (await response.arrayBuffer()).byteLength || PROBE_BYTES;
    return (size * 8) / (performance.now() - started);   // bits per ms = kbit/s
  } catch (err) {
    return err && err.name === 'AbortError' ? 0 : null;   // too slow, or no connection
  } finally {
    if (timer) window.clearTimeout(timer);
  }
}

/** What the phone says of its connection (Chrome on Android), and what it measures. */
async function network() {
  const el = $('check-network');
  const mine = ++measuring;
  P.setText(el, 'check.network.testing');
  let said = false;
  if (navigator.connection) {   // feature-detected: iOS Safari has none
    const c = navigator.connection;
    said = ['slow-2g', '2g'].includes(c.effectiveType)
      || (typeof c.downlink === 'number' && c.downlink > 0 && c.downlink < 0.4);
  }
  const kbit = await measure();
  if (mine !== measuring) return;
  el.dataset.kbit = kbit == null ? '' : String(Math.round(kbit));
  if (kbit == null) P.setText(el, 'check.network.none');
  else P.setText(el, said || kbit < WEAK_KBIT ? 'check.network.weak' : 'check.network.ok');
}

/** Which of the camera and the microphone the person refused: each asked alone. What was
 *  allowed is kept, so the other half of the test still runs. */
async function refused() {
  const kept = [];
  const denied = [];
  for (const kind of ['video', 'audio']) {
    try {
      kept.push(...(await P.getLocalMedia(kind)).getTracks());
    } catch (err) {
      denied.push(kind);
    }
  }
  return { denied, stream: kept.length ? new MediaStream(kept) : null };
}

async function start() {
  stop();
  P.clearText($('check-error'));
  P.clearText($('check-camera'));
  P.clearText($('check-mic'));
  $('check-help').hidden = true;
  $('check-retry').hidden = true;
  $('check-video').hidden = false;
  network();
  try {
    stream = await P.getLocalMedia();
  } catch (err) {
    let key = P.mediaErrorKey(err);
    if (key === 'media.denied') {
      const probe = await refused();
      stream = probe.stream;
      if (probe.denied.length === 2) key = 'check.denied.both';
      else if (probe.denied.length === 1) {
        key = probe.denied[0] === 'video' ? 'check.denied.camera' : 'check.denied.mic';
      }
    }
    P.setText($('check-error'), key);
    $('check-help').hidden = !(key === 'media.other' || key === 'media.denied'
      || key.startsWith('check.denied.'));
    $('check-retry').hidden = false;
    if (!stream) return;
  }
  const video = stream.getVideoTracks().length > 0;
  $('check-video').hidden = !video;   // no black box where a refused camera would be
  P.attachVideo($('check-video'), stream);
  if (video) P.setText($('check-camera'), 'check.camera.ok');
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
