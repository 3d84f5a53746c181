"""/metrics during a call between two real browsers (issue 15): the call's series appear and
move while the kiosk's and the relative's Chromium talk through the gateway, a wrong code typed
on the relative's page moves its counter, and the call's series go with the call."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from .browser import accept_rules, chromium, enrolled_kiosk_context, frames_decoded, kiosk_signs_in
from .callkit import seeded, wait_for_code
from .test_health import scrape, value


async def _decoding(page: Any, above: int, timeout: float = 20.0) -> int:
    async with asyncio.timeout(timeout):
        while (n := await frames_decoded(page)) <= above:
            await asyncio.sleep(0.2)
    return n


async def test_a_browser_call_moves_its_series_and_they_go_with_it(gateway_factory) -> None:
    gateway = await gateway_factory(call_max_seconds=120)
    demo = await seeded(gateway)
    base = gateway.base_url
    async with aiohttp.ClientSession() as http, chromium() as browser:
        kiosk = await (await enrolled_kiosk_context(browser, gateway)).new_page()
        phone = await (await browser.new_context(viewport={"width": 360, "height": 640})).new_page()
        await kiosk_signs_in(kiosk, base, demo)
        await kiosk.click("#call")
        code, _ref = await wait_for_code(gateway.config.outbox_path, timeout=10)
        before = await scrape(http, base)
        assert value(before, "parloir_calls_live") == 1
        assert value(before, "parloir_code_refused_total", outcome="code.invalid") == 0

        # The relative first mistypes the code on the bare address, then types it right.
        await phone.goto(f"{base}/join")
        await accept_rules(phone)
        await phone.fill("#code", f"{(int(code) + 1) % 1_000_000:06d}")
        await phone.click("#connect")
        await phone.wait_for_function("document.getElementById('join-error').textContent")
        await phone.fill("#code", code)
        await phone.click("#connect")
        await phone.click("#accept-call")
        await _decoding(kiosk, 10)
        await _decoding(phone, 10)

        first = await scrape(http, base)
        # 3 s: a loaded machine may thin a leg to its base layer (5 fps: 15 frames, not 30).
        await asyncio.sleep(3.0)
        second = await scrape(http, base)
        assert value(second, "parloir_code_refused_total", outcome="code.invalid") == 1
        assert value(second, "parloir_join_seconds_count") == 1
        (call,) = {labels["call"] for labels, _v in second["parloir_leg_packets_total"]}
        for leg in ("kiosk", "relative"):
            for kind in ("audio", "video"):
                labels = {"call": call, "leg": leg, "kind": kind}
                # What the gateway received from this leg's browser, and sent it, moved.
                got = [value(s, "parloir_leg_packets_total", **labels) for s in (first, second)]
                sent = [
                    value(s, "parloir_leg_frames_sent_total", **labels) for s in (first, second)
                ]
                assert got[1] - got[0] > 10, (leg, kind, got)
                assert sent[1] - sent[0] > 10, (leg, kind, sent)
            asked = value(second, "parloir_keyframe_requests_total", call=call, leg=leg,
                          kind="video")  # fmt: skip
            assert asked >= 1, leg

        await phone.click("#hangup")
        await kiosk.wait_for_selector("#ended", state="visible", timeout=10_000)
        async with asyncio.timeout(10):
            while value(after := await scrape(http, base), "parloir_calls_live") != 0:
                await asyncio.sleep(0.2)
    assert value(after, "parloir_calls_ended_total", reason="relative_hangup") == 1
    for family in ("parloir_leg_packets_total", "parloir_leg_frames_sent_total"):
        assert not [s for s in after.get(family, []) if s[0]["call"] == call], family
