"""Calls on the networks relatives really have: real browsers, real kernel shaping (netlab).

The relative's Chromium runs in its own network namespace (tests/netlab.py); the gateway and
the kiosk's Chromium on the host. Figures are read from the relative's getStats().
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.core.lifecycle import Leg
from gateway.http import appkeys as keys

from .netlab import network_lab, observe, received_kbit, resumed_within, start_browser_call

# ==========================================================================================
# Bandwidth follows the weakest receiver; sound first (issue 13, items 1 and 2)
# ==========================================================================================

CAP_KBIT = 400
SHAPED_SECONDS = 40
MAX_CONCEALED = 0.05
MIN_FPS = 10.0
MAX_FREEZES_S = 2.0
"""Total freezes over the 40 s, the issue's figure. Before the gateway thinned temporal layers
(gateway/core/temporal.py): 1.2 to 3.8 s, all in the first seconds of the cap, while the
kiosk's encoder came down (about 2 s at 35-50 % loss); with them, see the test's docstring.
What the family lives with afterwards is held tighter: SETTLED_FREEZES_S."""
SETTLE_S = 6.0
SETTLED_FREEZES_S = 1.0
"Freezes once the link has settled (after SETTLE_S seconds of the cap)."
RESUME_WITHIN_S = 10.0

QUALITY_JS = """() => {
  const el = document.getElementById('quality-notice');
  return {state: window.parloir.quality, shown: !!el && !el.hidden, text: el ? el.textContent : ''};
}"""


async def shaped_downlink_figures(
    lab: Any, call: Any, cap_kbit: int = CAP_KBIT, seconds: float = SHAPED_SECONDS
) -> dict[str, Any]:
    """Shape the relative's downlink to ``cap_kbit`` for ``seconds``, then lift it; return
    what the relative's page lived through (also used by ``python -m bench net``)."""
    phone = call.phone
    before = await observe(phone)
    lab.shape(cap_kbit)
    loop = asyncio.get_running_loop()
    start = loop.time()
    notices: list[dict[str, Any]] = []
    fps: list[float] = []
    timeline: list[tuple[float, int, float]] = []
    while loop.time() - start < seconds:
        await asyncio.sleep(1.0)
        notice = await phone.evaluate(QUALITY_JS)
        if notice["shown"]:
            notices.append(notice)
        now = await observe(phone)
        fps.append(now.get("framesPerSecond", 0.0))
        timeline.append(
            (round(loop.time() - start, 1), now["framesDecoded"], now["totalFreezesDuration"])
        )
    after = await observe(phone)
    received = await received_kbit(phone, 2.0)
    drops = lab.downlink_stats()["drops"]  # what the link dropped (reset by unshape)
    lab.unshape()
    paused = bool(notices) or (await phone.evaluate(QUALITY_JS))["shown"]
    resume_s = None
    if paused:
        # Resumed: the notice goes and frames flow again.
        resume_s = await resumed_within(phone, RESUME_WITHIN_S, frames=10)
    total = after["totalSamplesReceived"] - before["totalSamplesReceived"]
    concealed = after["concealedSamples"] - before["concealedSamples"]
    elapsed = (after["timestamp"] - before["timestamp"]) / 1000
    return {
        "cap_kbit": cap_kbit,
        "seconds": round(elapsed, 1),
        "concealed": concealed / total if total else 1.0,
        "frames": after["framesDecoded"] - before["framesDecoded"],
        "fps": (after["framesDecoded"] - before["framesDecoded"]) / elapsed,
        "min_fps_1s": min(fps) if fps else 0.0,
        "freezes": after["freezeCount"] - before["freezeCount"],
        "freezes_s": after["totalFreezesDuration"] - before["totalFreezesDuration"],
        "received_kbit_end": round(received, 1),
        "paused": paused,
        "notice": notices[0]["text"] if notices else "",
        "resume_s": resume_s,
        "drops": drops,
        "timeline": timeline,
    }


async def test_downlink_capped_at_400_kbits(gateway_factory, codec_spy) -> None:
    """Measured (2 cores, other tests running), 40 s at 400 kbit/s. Before the gateway thinned
    temporal layers: 2.4 to 3.8 s of freezes, 19.9 fps, 120 to 170 packets dropped by the link.
    Thinned (gateway/core/temporal.py): 0 to 1.5 s of freezes, 16.9 to 18.8 fps, 0 to 112
    packets dropped, 0.3 to 1.0 % of the sound concealed (8 runs; 0 to 1.4 s at 14 to 16 fps
    in 9 runs with a readier thinning). The 1.5 s: a deeper onset (from 530 kbit/s), where
    the layers kept still filled the link for 2 s."""
    async with network_lab() as lab:
        gateway = await gateway_factory(**lab.gateway_config(), call_max_seconds=300)
        base = gateway.base_url
        async with lab.chromium_outside(base) as kb, lab.chromium_inside(base) as pb:
            call = await start_browser_call(gateway, kb, pb)
            try:
                # The kiosk's stream first climbs above the cap (else nothing is tested).
                async with asyncio.timeout(40):
                    while await received_kbit(call.phone, 2) < 1.2 * CAP_KBIT:
                        pass
                figures = await shaped_downlink_figures(lab, call)
                engine = gateway.app[keys.ENGINE]
                (live,) = engine.calls.values()
                history = live.quality.history
                thinned = live.quality.legs[Leg.RELATIVE].video_track.thinned
                for row in live.quality.trace:
                    if row[1] == "relative":
                        print(row)
                print(f"\n{CAP_KBIT} kbit/s {SHAPED_SECONDS} s: {figures}; {history}; {thinned=}")
                assert figures["concealed"] < MAX_CONCEALED, figures
                if figures["paused"]:
                    assert figures["notice"] == (
                        "Vidéo suspendue : connexion trop faible — le son continue"
                    )
                    assert figures["resume_s"] is not None
                    assert figures["resume_s"] < RESUME_WITHIN_S, figures
                    state = await call.phone.evaluate(QUALITY_JS)
                    assert not state["shown"]  # cleared on resume
                else:
                    assert figures["fps"] >= MIN_FPS, figures
                    assert figures["freezes_s"] < MAX_FREEZES_S, figures
                    at_settle = max(
                        (f for t, _n, f in figures["timeline"] if t <= SETTLE_S), default=0.0
                    )
                    settled = figures["timeline"][-1][2] - at_settle  # both since page load
                    assert settled < SETTLED_FREEZES_S, (settled, figures)
                # The call goes on, and both pages are still connected.
                assert (await observe(call.kiosk))["connectionState"] == "connected"
                assert await resumed_within(call.phone, 5, frames=10) < 5
                assert call.errors == []
            finally:
                await call.close()
    assert codec_spy == {"decoders": 0, "encoders": 0}


async def test_downlink_at_100_kbits_pauses_video_says_so_and_resumes(
    gateway_factory, codec_spy
) -> None:
    """Too weak for video: it pauses for the relative only, both pages say so in French,
    and it comes back by itself once the link does."""
    async with network_lab() as lab:
        gateway = await gateway_factory(**lab.gateway_config(), call_max_seconds=300)
        base = gateway.base_url
        async with lab.chromium_outside(base) as kb, lab.chromium_inside(base) as pb:
            call = await start_browser_call(gateway, kb, pb)
            try:
                lab.shape(100)
                here = await _notice(call.phone, shown=True, timeout=20)
                there = await _notice(call.kiosk, shown=True, timeout=5)
                assert here["text"] == "Vidéo suspendue : connexion trop faible — le son continue"
                assert there["text"] == "Votre proche reçoit mal la vidéo — le son continue"
                assert here["state"] == {"side": "relative", "video": "paused", "here": True}
                # Only the relative's incoming video stops: the kiosk still gets the relative.
                assert await resumed_within(call.kiosk, 5, frames=20) < 5
                before = await observe(call.phone)
                await asyncio.sleep(8)
                after = await observe(call.phone)
                total = after["totalSamplesReceived"] - before["totalSamplesReceived"]
                concealed = (after["concealedSamples"] - before["concealedSamples"]) / total
                print(f"\n100 kbit/s, paused: audio concealed {concealed:.1%} over 8 s (probes)")
                assert total > 8 * 48000 * 0.9  # the sound goes on
                lab.unshape()
                loop = asyncio.get_running_loop()
                lifted = loop.time()
                await _notice(call.phone, shown=False, timeout=RESUME_WITHIN_S)
                await _notice(call.kiosk, shown=False, timeout=3)
                resumed = await resumed_within(call.phone, RESUME_WITHIN_S, frames=20)
                print(f"resumed {loop.time() - lifted:.1f} s after the cap was lifted")
                assert loop.time() - lifted < RESUME_WITHIN_S + 2
                assert resumed < RESUME_WITHIN_S
                assert call.errors == []
            finally:
                for row in _trace(gateway)[-40:]:
                    print(row)
                await call.close()
    assert codec_spy == {"decoders": 0, "encoders": 0}


def _trace(gateway: Any) -> list[tuple[Any, ...]]:
    """The gateway's quality steps for the relative (printed with -s: what it decided)."""
    calls = list(gateway.app[keys.ENGINE].calls.values())
    return [r for c in calls for r in c.quality.trace if r[1] == "relative"]


async def _notice(page: Any, shown: bool, timeout: float) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while (state := await page.evaluate(QUALITY_JS))["shown"] is not shown:
            await asyncio.sleep(0.2)
    return state


# ==========================================================================================
# (end of the bandwidth section)
# ==========================================================================================
