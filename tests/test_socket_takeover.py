"""One live socket per leg: a second device with the same token takes the call over.

The relative's join token opened on another phone (forwarded, copied): the new page gets the
call, the first page is told "Cet appel a été ouvert sur un autre appareil" and stops, and the
takeover is in the call's events. Real Chromium pages, and the protocol itself with aiohttp."""

from __future__ import annotations

import json

import aiohttp

from gateway.http import appkeys as keys

from .browser import chromium, screenshot
from .callkit import Client, join, seeded, start_calling
from .test_reconnect_browser import browser_call, grows


async def test_a_second_phone_with_the_same_token_takes_the_call_over(gateway_factory) -> None:
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    engine = gateway.app[keys.ENGINE]
    async with chromium() as browser:
        kiosk, phone = await browser_call(gateway, browser, demo)
        (call_id,) = engine.calls
        saved = await phone.evaluate("window.sessionStorage.getItem('parloir.join')")
        assert json.loads(saved)["token"]
        other_ctx = await browser.new_context(viewport={"width": 360, "height": 640})
        await other_ctx.add_init_script(
            f"window.sessionStorage.setItem('parloir.join', {json.dumps(saved)});"
        )
        other = await other_ctx.new_page()
        errors: list[str] = []
        for page in (kiosk, phone, other):
            page.on("pageerror", lambda exc: errors.append(str(exc)))
        await other.goto(f"{gateway.base_url}/join")

        # The first phone is told, in French, and stops.
        await phone.wait_for_selector("#ended", state="visible", timeout=10_000)
        assert "Cet appel a été ouvert sur un autre appareil" in await phone.inner_text("#ended")
        assert await phone.evaluate("window.sessionStorage.getItem('parloir.join')") is None
        await screenshot(phone, "join-taken-over")
        # The second one is in the same call, and the kiosk sees it.
        await other.wait_for_selector("#step-call", state="visible", timeout=10_000)
        await grows(other, timeout=20)
        await grows(kiosk, timeout=20)
        assert engine.calls.keys() == {call_id}
        assert engine.calls[call_id].state == "connected"
        kinds = [e["type"] for e in await engine.events(call_id)]
        assert kinds.count("SocketTakenOver") == 1, kinds
        assert not await kiosk.is_visible("#ended")
        assert errors == []
        await other_ctx.close()


async def test_a_taken_over_socket_is_closed_and_counts_no_more(gateway_factory) -> None:
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    async with aiohttp.ClientSession() as http:
        kiosk, first = Client(gateway.base_url, http), Client(gateway.base_url, http)
        second = None
        try:
            code, _ref = await start_calling(kiosk, gateway, demo)
            assert (await join(first, code))[0] == 200
            await first.connect()
            second = Client(gateway.base_url, http, token=first.token)
            welcome = await second.connect()
            assert welcome["call"]["state"] == "connecting"
            closed = await first.expect("_closed")
            assert closed["code"] == 4410
            # The kiosk's own socket is untouched; the second relative socket is live.
            await second.send({"type": "ping"})
            await second.expect("pong")
            await kiosk.send({"type": "ping"})
            await kiosk.expect("pong")
        finally:
            for client in (kiosk, first, second):
                if client is not None:
                    await client.close()
