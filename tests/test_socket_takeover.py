"""One live socket per leg: a second device with the same token takes the call over.

The relative's join token opened on another phone (forwarded, copied): the new page gets the
call, the first page is told "Cet appel a été ouvert sur un autre appareil" and stops, and the
takeover is in the call's events. The same page opening a new socket while the gateway still
holds its old one (a network change) is a reconnection, not a takeover: each page load sends its
own random id in ``hello``. Real Chromium pages, and the protocol itself with aiohttp."""

from __future__ import annotations

import asyncio
import json
from typing import Any

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
        assert "SocketReconnected" not in kinds, kinds
        # Each page load has its own id (the token is the same).
        ids = [await p.evaluate("window.parloir.page") for p in (kiosk, phone, other)]
        assert len(set(ids)) == 3 and all(len(i) == 32 for i in ids), ids
        assert not await kiosk.is_visible("#ended")
        assert errors == []
        await other_ctx.close()


async def saved(engine: Any, call_id: str, kind: str) -> list[dict[str, str]]:
    """The call's events once one of ``kind`` is among them."""
    async with asyncio.timeout(10):
        while True:
            events = await engine.events(call_id)
            if kind in [e["type"] for e in events]:
                return events
            await asyncio.sleep(0.1)


# The page's socket goes mute as on a network change: its pings and its close frame are lost,
# so the gateway still holds it when the page, hearing nothing, opens a new one.
MUTE_SOCKET = """() => {
  const ws = window.parloir.ws;
  ws.send = () => {};
  ws.close = () => {};
  return ws;
}"""


async def test_the_same_page_reopening_its_socket_is_a_reconnection(gateway_factory) -> None:
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    engine = gateway.app[keys.ENGINE]
    async with chromium() as browser:
        kiosk, phone = await browser_call(gateway, browser, demo)
        (call_id,) = engine.calls
        errors: list[str] = []
        for page in (kiosk, phone):
            page.on("pageerror", lambda exc: errors.append(str(exc)))
        old = await phone.evaluate_handle(MUTE_SOCKET)
        # The page finds its socket silent and opens another (no timing assumed: wait for it).
        await phone.wait_for_function("(old) => window.parloir.ws !== old", arg=old, timeout=20_000)
        await phone.wait_for_function("(old) => old.readyState === WebSocket.CLOSED", arg=old,
                                      timeout=20_000)  # fmt: skip
        events = await saved(engine, call_id, "SocketReconnected")  # written after the close
        kinds = [e["type"] for e in events]
        assert kinds.count("SocketReconnected") == 1, kinds
        assert "SocketTakenOver" not in kinds, kinds
        assert [e["leg"] for e in events if e["type"] == "SocketReconnected"] == ["relative"]
        # The page goes on in the same call, without the takeover notice.
        await grows(phone, timeout=20)
        assert not await phone.is_visible("#ended")
        assert await phone.evaluate("window.sessionStorage.getItem('parloir.join')") is not None
        assert engine.calls.keys() == {call_id}
        assert errors == []


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


async def test_page_ids_tell_a_reconnection_from_a_takeover(gateway_factory) -> None:
    """The protocol: same page id, a reconnection; another, a takeover; both close the old
    socket with 4410. A malformed page id is refused (4400) and takes nothing over."""
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    engine = gateway.app[keys.ENGINE]
    base = gateway.base_url
    async with aiohttp.ClientSession() as http:
        kiosk = Client(base, http, page="kiosk-page-0001")
        first = Client(base, http, page="phone-page-0001")
        clients = [kiosk, first]
        try:
            code, _ref = await start_calling(kiosk, gateway, demo)
            assert (await join(first, code))[0] == 200
            await first.connect()
            (call_id,) = engine.calls
            again = Client(base, http, token=first.token, page=first.page)  # same page
            clients.append(again)
            assert (await again.connect())["call"]["id"] == call_id
            assert (await first.expect("_closed"))["code"] == 4410
            kiosk_again = Client(base, http, token=kiosk.token, page=kiosk.page)
            clients.append(kiosk_again)
            await kiosk_again.connect()
            assert (await kiosk.expect("_closed"))["code"] == 4410
            other = Client(base, http, token=first.token, page="phone-page-0002")  # another
            clients.append(other)
            await other.connect()
            assert (await again.expect("_closed"))["code"] == 4410
            # A bad page id: refused before anything, the live socket stays.
            for bad in ("short", "has space!", 12, "x" * 65):
                async with http.ws_connect(base.replace("http", "ws") + "/ws") as ws:
                    await ws.send_json({"type": "hello", "token": first.token, "page": bad})
                    assert (await ws.receive()).type == aiohttp.WSMsgType.CLOSE
                    assert ws.close_code == 4400, bad
            await other.send({"type": "ping"})
            await other.expect("pong")
            await saved(engine, call_id, "SocketTakenOver")  # written after the close
            socket_events = [(e["type"], e["leg"]) for e in await engine.events(call_id)
                             if e["type"].startswith("Socket")]  # fmt: skip
            assert socket_events == [
                ("SocketReconnected", "relative"),
                ("SocketReconnected", "kiosk"),
                ("SocketTakenOver", "relative"),
            ]
        finally:
            for client in clients:
                await client.close()
