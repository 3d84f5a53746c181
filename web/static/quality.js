/* Parloir — "sound first" notices on the kiosk and relative pages (ES module).
 *
 * The gateway stops forwarding video to a participant whose link cannot carry it (audio goes
 * on) and says so with {"type": "quality", "side", "video": "paused"|"ok"} (docs/signaling.md).
 * The side whose incoming video is paused reads "Vidéo suspendue : connexion trop faible — le
 * son continue", the other side "Votre proche reçoit mal la vidéo — le son continue"; both are
 * cleared when video resumes. CallLeg (call.js) hands the message here.
 * window.parloir.quality holds the last state for automated tests. */
import { L } from './call.js';

function notice() { return document.getElementById('quality-notice'); }

/** `mySide` is the page's leg ('kiosk' or 'relative'). */
export function showQuality(mySide, msg) {
  const el = notice();
  const paused = msg.video === 'paused';
  const here = paused && msg.side === mySide;
  window.parloir.quality = { side: msg.side, video: paused ? 'paused' : 'ok', here };
  if (!el) return;
  const stage = el.closest('.stage');
  if (stage) stage.classList.toggle('video-paused', here);
  if (!paused) { clearQuality(); return; }
  L.setText(el, here ? 'quality.paused_here' : 'quality.paused_there', null, msg.message);
  el.dataset.side = msg.side;
  el.hidden = false;
}

export function clearQuality() {
  const el = notice();
  if (!el) return;
  const stage = el.closest('.stage');
  if (stage) stage.classList.remove('video-paused');
  L.clearText(el);
  delete el.dataset.side;
  el.hidden = true;
}
