"""A reload of either page mid-call: the same call comes back, no new code, the gap unbilled.

Two real headless Chromiums (kiosk and phone) through a real gateway on loopback."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from gateway.http import appkeys as keys

from .browser import chromium, frames_decoded, screenshot
from .callkit import read_codes, seeded
from .netlab import start_browser_call


async def grows(page: Any, by: int = 15, timeout: float = 20.0) -> float:
    """Seconds until the page's current connection has decoded ``by`` more frames."""
    started = time.monotonic()
    base = max(0, await frames_decoded(page))
    async with asyncio.timeout(timeout):
        while await frames_decoded(page) < base + by:
            await asyncio.sleep(0.1)
    return time.monotonic() - started


async def browser_call(gateway: Any, browser: Any, demo: dict[str, Any]) -> tuple[Any, Any]:
    """The kiosk and the phone in one Chromium (two contexts), both decoding video."""
    call = await start_browser_call(gateway, browser, browser, demo)
    return call.kiosk, call.phone


async def test_reloading_either_page_resumes_the_same_call(gateway_factory, codec_spy) -> None:
    gateway = await gateway_factory(reconnect_grace_seconds=30)
    demo = await seeded(gateway)
    engine = gateway.app[keys.ENGINE]
    async with chromium() as browser:
        kiosk, phone = await browser_call(gateway, browser, demo)
        errors: list[str] = []
        consoles: list[str] = []
        for page in (kiosk, phone):
            page.on("pageerror", lambda exc: errors.append(str(exc)))
        for name, page in (("kiosk", kiosk), ("phone", phone)):
            page.on("console", lambda m, n=name: consoles.append(f"{time.time():.2f} {n} {m.text}"))
        (call_id,) = engine.calls
        call = engine.calls[call_id]

        # The relative's phone reloads the page: the kiosk is told, then the call comes back.
        started = time.monotonic()
        await phone.reload()
        await kiosk.wait_for_selector("#link-notice:not([hidden])", timeout=5000)
        assert "Connexion de votre proche perdue" in await kiosk.inner_text("#link-notice")
        await screenshot(kiosk, "kiosk-relative-reconnecting")
        await phone.wait_for_selector("#step-call", state="visible", timeout=10_000)
        await grows(phone, timeout=20)
        await grows(kiosk, timeout=20)
        resumed = time.monotonic() - started
        await kiosk.wait_for_selector("#link-notice", state="hidden", timeout=5000)
        assert call.state == "connected" and engine.calls.keys() == {call_id}
        assert resumed < 15, resumed

        # The kiosk page reloads too (the same tab): the detainee is back in the call.
        await kiosk.reload()
        await kiosk.wait_for_selector("#step-call", state="visible", timeout=10_000)
        await grows(kiosk, timeout=20)
        await grows(phone, timeout=20)
        await screenshot(phone, "join-after-kiosk-reload")
        assert call.state == "connected"
        log = await engine.events(call_id)
        events = [e["type"] for e in log]
        assert events.count("LegLost") == 2 and events.count("CallResumed") == 2, "\n".join(
            [f"{e['type']} {e.get('leg')} {e.get('at')}" for e in log] + consoles
        )
        gaps = call.lifecycle.gaps
        assert gaps > 0.5, gaps
        assert len(read_codes(gateway.config.outbox_path)) == 1  # never a second SMS

        await phone.click("#hangup")
        await kiosk.wait_for_selector("#ended", state="visible", timeout=10_000)
        assert errors == []
    # Billed for the connected time, without the two gaps.
    booking = await gateway.app[keys.DIRECTORY].booking(demo["booking"])
    assert booking is not None and booking.status == "done"
    wall = call.lifecycle.ended_at - call.lifecycle.connected_at
    assert abs(booking.connected_ms / 1000 - (wall - gaps)) < 0.01
    assert codec_spy == {"decoders": 0, "encoders": 0}
