"""VP8 temporal layers end to end: two real Chromium pages through the gateway.

The pages send L1T3 (web/static/call.js); the gateway reads each frame's layer and thins
what it forwards to one receiver (gateway/core/temporal.py, gateway/media/relay.py). The
receiving Chromium must decode the thinned stream at the lower frame rate at once, with no
loss, no keyframe request and no keyframe but those the kiosk's encoder sends of its own
accord (its decoder needs none: the gateway's sequence numbers and PictureIDs stay
contiguous), and get the full rate back without a keyframe."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.core.lifecycle import Leg
from gateway.core.temporal import TOP
from gateway.http import appkeys as keys

from .browser import chromium
from .netlab import start_browser_call

STATS_JS = """async () => {
  const out = {};
  (await window.parloir.pc.getStats()).forEach((s) => {
    if (s.kind !== 'video') return;
    if (s.type === 'inbound-rtp') {
      Object.assign(out, {frames: s.framesDecoded, keyframes: s.keyFramesDecoded, pli: s.pliCount,
        fir: s.firCount, nack: s.nackCount, lost: s.packetsLost, freezes: s.freezeCount,
        frozen: s.totalFreezesDuration});
    }
    if (s.type === 'outbound-rtp') {
      Object.assign(out, {mode: s.scalabilityMode, sent: s.framesEncoded,
        keysSent: s.keyFramesEncoded});
    }
  });
  out.t = performance.now() / 1000;
  return out;
}"""

SECONDS = 4.0


async def _rates(kiosk: Any, phone: Any) -> tuple[float, float, dict[str, Any], dict[str, Any]]:
    """Frames the kiosk encoded and the phone decoded per second over SECONDS, and the
    phone's counters before and after (``keysSent``: the kiosk's keyframes encoded)."""
    k0, p0 = await kiosk.evaluate(STATS_JS), await phone.evaluate(STATS_JS)
    await asyncio.sleep(SECONDS)
    k1, p1 = await kiosk.evaluate(STATS_JS), await phone.evaluate(STATS_JS)
    sent = (k1["sent"] - k0["sent"]) / (k1["t"] - k0["t"])
    decoded = (p1["frames"] - p0["frames"]) / (p1["t"] - p0["t"])
    p0["keysSent"], p1["keysSent"] = k0["keysSent"], k1["keysSent"]
    return sent, decoded, p0, p1


def _no_keyframe_needed(before: dict[str, Any], after: dict[str, Any], asked: int) -> None:
    """The phone asked for nothing and lost nothing, the gateway asked the kiosk for no
    keyframe (``asked``: its requests in between), and every keyframe the phone decoded is
    one the kiosk's encoder chose to send (it may, when it adapts to the machine's load)."""
    for counter in ("pli", "fir", "lost", "nack"):
        assert after[counter] == before[counter], (counter, before, after)
    assert asked == 0
    assert after["keyframes"] - before["keyframes"] <= after["keysSent"] - before["keysSent"], (
        before,
        after,
    )


async def test_the_gateway_thins_a_receivers_video_to_its_base_layer_and_back(
    gateway_factory, codec_spy
) -> None:
    gateway = await gateway_factory(call_max_seconds=120)
    async with chromium() as browser:
        call = await start_browser_call(gateway, browser, browser)
        try:
            kiosk, phone = call.kiosk, call.phone
            assert (await kiosk.evaluate(STATS_JS))["mode"] == "L1T3"
            (live,) = gateway.app[keys.ENGINE].calls.values()
            # The rule is stopped so that the layer is the test's (on loopback it is TOP).
            await live.quality.stop()
            track = live.quality.legs[Leg.RELATIVE].video_track
            await asyncio.sleep(1.0)
            layers = track.source.layer_bytes
            assert all(layers), layers  # the gateway read three layers from the kiosk's stream

            sent, full, _, before = await _rates(kiosk, phone)
            print(f"\nall layers: kiosk encodes {sent:.1f} fps, the phone decodes {full:.1f}")
            assert full > 0.8 * sent

            track.layers.aim(0)
            thinned_before = track.thinned
            asked = track.source.keyframe_requests
            sent, base, p0, p1 = await _rates(kiosk, phone)
            print(f"TL0 only: kiosk encodes {sent:.1f} fps, the phone decodes {base:.1f}; {p1}")
            assert track.thinned > thinned_before
            assert 0.15 * sent < base < 0.4 * sent  # a quarter of the frames
            _no_keyframe_needed(before, p1, track.source.keyframe_requests - asked)
            # Chromium counts a freeze when one frame interval exceeds max(3x, +150 ms) of its
            # running average: the first 200 ms intervals of a quarter-rate stream may trip it
            # while that average still says 50 ms, and a base-layer frame the kiosk's encoder
            # skips leaves 400 ms. A decoder waiting for a keyframe would stall for good (the
            # kiosk sends one only when asked), far beyond this bound.
            assert p1["frozen"] - before["frozen"] < 1.2, (before, p1)

            track.layers.aim(TOP)
            sent, back, p0, p1 = await _rates(kiosk, phone)
            print(f"all layers again: kiosk encodes {sent:.1f} fps, the phone decodes {back:.1f}")
            assert back > 0.8 * sent
            assert track.layers.current == TOP  # risen at a layer-sync frame, not a keyframe
            _no_keyframe_needed(before, p1, track.source.keyframe_requests - asked)
            assert call.errors == []
        finally:
            await call.close()
    assert codec_spy == {"decoders": 0, "encoders": 0}
