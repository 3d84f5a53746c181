"""Sound only, by choice (issue 18): the relative turns their camera off, asks for sound only,
and back, in real headless Chromium through the gateway; the kiosk is told; the relay forwards
no video to a phone that chose sound only (no probe), and never decodes or encodes."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.core import bandwidth
from gateway.core.pricing import call_cost
from gateway.http import appkeys as keys

from .browser import chromium, screenshot
from .callkit import seeded
from .netlab import observe, start_browser_call


async def _still(page: Any, field: str, seconds: float) -> tuple[int, int]:
    """``field`` of the page's receive side now and ``seconds`` later."""
    first = int((await observe(page)).get(field, 0))
    await asyncio.sleep(seconds)
    return first, int((await observe(page)).get(field, 0))


async def _grows(page: Any, field: str, by: int, timeout: float = 15.0) -> None:
    base = int((await observe(page)).get(field, 0))
    async with asyncio.timeout(timeout):
        while int((await observe(page)).get(field, 0)) < base + by:
            await asyncio.sleep(0.2)


async def _notice(page: Any) -> str:
    return (await page.inner_text("#media-notice")).strip()


async def _pressed(page: Any, selector: str) -> str | None:
    return await page.get_attribute(selector, "aria-pressed")


async def test_the_relative_turns_the_camera_off_and_chooses_sound_only(
    gateway_factory, codec_spy
) -> None:
    gateway = await gateway_factory(reconnect_grace_seconds=30)
    demo = await seeded(gateway)
    engine = gateway.app[keys.ENGINE]
    async with chromium() as browser:
        call_pages = await start_browser_call(gateway, browser, browser, demo)
        kiosk, phone = call_pages.kiosk, call_pages.phone
        (call_id,) = engine.calls
        call = engine.calls[call_id]
        await phone.wait_for_selector("#camera-toggle", state="visible")
        await screenshot(phone, "join-media-buttons-360")
        # Big enough to hit on a 320 px phone too (WCAG 2.5.5's 44 px), and labelled.
        for selector in ("#camera-toggle", "#audio-only"):
            box = await phone.locator(selector).bounding_box()
            assert box is not None and box["height"] >= 44 and box["width"] >= 120, box
        assert await _pressed(phone, "#camera-toggle") == "false"

        # 1. Camera off: the kiosk says so, its picture stops, the sound goes on.
        await phone.click("#camera-toggle")
        assert await _pressed(phone, "#camera-toggle") == "true"
        await kiosk.wait_for_selector("#media-notice", state="visible", timeout=5000)
        assert await _notice(kiosk) == "Votre proche a coupé sa caméra"
        assert "ne vous voit plus" in await phone.inner_text("#media-status")
        await asyncio.sleep(1.0)  # what was on its way
        before, after = await _still(kiosk, "framesDecoded", 4.0)
        assert after == before, (before, after)
        await _grows(kiosk, "audioBytesReceived", 5000)
        await _grows(phone, "framesDecoded", 20)  # the phone still sees the kiosk
        await screenshot(kiosk, "kiosk-relative-camera-off")
        await screenshot(phone, "join-camera-off-360")
        assert call.state == "connected"

        # 2. Camera back on: the kiosk's picture moves again, the notice goes.
        await phone.click("#camera-toggle")
        await kiosk.wait_for_selector("#media-notice", state="hidden", timeout=5000)
        await _grows(kiosk, "framesDecoded", 20)
        assert "rétablie" in await phone.inner_text("#media-status")

        # 3. Sound only: no video reaches the phone, not even a probe (one comes every
        #    PROBE_EVERY s for PROBE_FOR s on a weak link); the kiosk is told; sound flows.
        await phone.click("#audio-only")
        assert await _pressed(phone, "#audio-only") == "true"
        assert await _pressed(phone, "#camera-toggle") == "true"
        await kiosk.wait_for_selector("#media-notice", state="visible", timeout=5000)
        assert await _notice(kiosk) == "Votre proche a choisi l’appel audio seulement"
        await asyncio.sleep(1.0)
        quiet = bandwidth.PROBE_EVERY + bandwidth.PROBE_FOR + 1
        before, after = await _still(phone, "videoBytesReceived", quiet)
        assert after == before, (before, after)
        await _grows(phone, "audioBytesReceived", 5000)
        before, after = await _still(kiosk, "framesDecoded", 2.0)
        assert after == before, (before, after)
        await screenshot(phone, "join-audio-only-360")
        await screenshot(kiosk, "kiosk-relative-audio-only")

        # 4. The phone reloads: the call resumes with the same choice, on the new connection.
        await phone.reload()
        await phone.wait_for_selector("#step-call", state="visible", timeout=10_000)
        await _grows(phone, "audioBytesReceived", 5000, timeout=20)
        assert await _pressed(phone, "#audio-only") == "true"
        await asyncio.sleep(1.0)
        before, after = await _still(phone, "videoBytesReceived", 3.0)
        assert after == before, (before, after)
        assert await _notice(kiosk) == "Votre proche a choisi l’appel audio seulement"
        await kiosk.wait_for_selector("#link-notice", state="hidden", timeout=10_000)

        # 5. Back to video, both ways.
        await phone.click("#audio-only")
        await kiosk.wait_for_selector("#media-notice", state="hidden", timeout=5000)
        await _grows(phone, "framesDecoded", 20)
        await _grows(kiosk, "framesDecoded", 20)
        assert await _pressed(phone, "#camera-toggle") == "false"

        # The monitoring staff see every choice in the call's events; only the reload lost
        # the leg (a camera turned off is not a silence).
        log = await engine.events(call_id)
        chosen = [e["mode"] for e in log if e["type"] == "MediaChosen"]
        assert chosen == ["camera_off", "video", "audio_only", "video"], chosen
        assert [e["type"] for e in log].count("LegLost") == 1
        await phone.click("#hangup")
        await kiosk.wait_for_selector("#ended", state="visible", timeout=10_000)
        assert call_pages.errors == []
        await call_pages.close()

    assert codec_spy == {"decoders": 0, "encoders": 0}
    # Billing does not change: the same per-minute rule on the connected time, which the
    # camera off and sound only did not shorten (only the reload's gap is out of it).
    booking = await gateway.app[keys.DIRECTORY].booking(demo["booking"])
    assert booking is not None and booking.status == "done"
    lc = call.lifecycle
    assert lc.ended_at is not None and lc.connected_at is not None
    wall = lc.ended_at - lc.connected_at
    assert abs(booking.connected_ms / 1000 - (wall - lc.gaps)) < 0.01
    assert lc.gaps < 10, lc.gaps
    tariff = gateway.app[keys.DESK].establishment.tariffs.get(call.billing["tariff"])
    cost = call_cost(tariff, booking.connected_ms / 1000, call.billing["rounding"])
    assert booking.charged == cost.amount and cost.amount > 0
