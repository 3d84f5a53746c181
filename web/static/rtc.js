/* Parloir — the WebRTC helpers every page with media shares: the kiosk, the relative's page,
 * the monitoring tiles and the device check (ES module). The gateway relays the media
 * (gateway/media): no trickle ICE, a page sends its offer once gathering is over. */

const MEDIA_CONSTRAINTS = { audio: true, video: { width: 640, height: 480 } };

/** A peer connection with the configured ICE servers (/config.js, or those an answer gave). */
export function newPeer() {
  const config = window.PARLOIR_CONFIG || {};
  return new RTCPeerConnection({ iceServers: Array.isArray(config.iceServers) ? config.iceServers : [] });
}

/** The camera and the microphone (only: 'audio' or 'video' for one of them). */
export async function getLocalMedia(only) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    const err = new Error('getUserMedia unavailable');
    err.name = 'NotSupportedError';
    throw err;
  }
  const constraints = only ? { [only]: MEDIA_CONSTRAINTS[only] } : MEDIA_CONSTRAINTS;
  return navigator.mediaDevices.getUserMedia(constraints);
}

/** The text key explaining a getUserMedia failure. */
export function mediaErrorKey(err) {
  const name = err && err.name;
  if (name === 'NotAllowedError' || name === 'PermissionDeniedError' || name === 'SecurityError') {
    return 'media.denied';
  }
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') {
    return 'media.notfound';
  }
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') {
    return 'media.busy';
  }
  if (name === 'NotSupportedError' || name === 'TypeError') return 'media.unsupported';
  return 'media.other';
}

/** Put mimeType first in the transceiver's codecs (VP8 and Opus: what the relay forwards). */
export function preferCodec(transceiver, kind, mimeType) {
  if (!transceiver || typeof transceiver.setCodecPreferences !== 'function') return;
  const caps = (window.RTCRtpReceiver && RTCRtpReceiver.getCapabilities)
    ? RTCRtpReceiver.getCapabilities(kind) : null;
  if (!caps || !caps.codecs) return;
  const wanted = mimeType.toLowerCase();
  const first = caps.codecs.filter((c) => c.mimeType.toLowerCase() === wanted);
  if (!first.length) return;
  const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== wanted);
  try { transceiver.setCodecPreferences(first.concat(rest)); } catch (e) { /* keep defaults */ }
}

/** Resolves when ICE gathering is complete, or after timeoutMs with what was gathered. */
export function waitIceComplete(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      window.clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const timer = window.setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/** createOffer + setLocalDescription, ICE gathering (3 s at most); the SDP to send. */
export async function createOffer(pc) {
  await pc.setLocalDescription(await pc.createOffer());
  await waitIceComplete(pc, 3000);
  return pc.localDescription.sdp;
}

export async function acceptAnswer(pc, sdp) {
  if (!pc || pc.signalingState === 'closed') return;
  await pc.setRemoteDescription({ type: 'answer', sdp });
}

export function closePeer(pc) {
  if (!pc) return;
  try {
    pc.getSenders().forEach((s) => { if (s.track) s.track.stop(); });
  } catch (e) { /* ignore */ }
  try { pc.close(); } catch (e) { /* ignore */ }
}

export function stopStream(stream) {
  if (stream) stream.getTracks().forEach((track) => track.stop());
}

/** Show stream in video (or nothing); a refused autoplay waits for the next gesture. */
export function attachVideo(video, stream) {
  if (!video) return;
  video.srcObject = stream || null;
  if (stream) {
    const playing = video.play();
    if (playing && playing.catch) playing.catch(() => { /* ignore */ });
  }
}
