"""A leg that drops comes back on a new peer connection, within the grace, without a new code.

Real aiortc peers through a real gateway (and its Redis): the relative's connection dies, the
gateway notices the silence, the kiosk is told, the relative offers again on the same socket,
media flows again both ways, and neither the gap nor a second code costs anything.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from gateway.http import appkeys as keys

from .callkit import Client, join, read_codes, seeded, start_calling, wait_until


async def _connected_call(gateway, http):  # type: ignore[no-untyped-def]
    demo = await seeded(gateway)
    kiosk = Client(gateway.base_url, http)
    relative = Client(gateway.base_url, http)
    code, _ref = await start_calling(kiosk, gateway, demo)
    status, body = await join(relative, code)
    assert status == 200
    await relative.connect()
    await relative.start_media()
    await kiosk.expect("state", call__state="connected")
    return demo, kiosk, relative, body["call"]["id"]


async def test_a_dropped_relative_comes_back_on_a_new_connection(gateway_factory) -> None:
    gateway = await gateway_factory(media_silence_seconds=1.0, reconnect_grace_seconds=30)
    engine = gateway.app[keys.ENGINE]
    async with aiohttp.ClientSession() as http:
        demo, kiosk, relative, call_id = await _connected_call(gateway, http)
        try:
            await wait_until(
                lambda: kiosk.received["video"] > 10 and relative.received["video"] > 10
            )
            assert relative.pc is not None
            dropped_at = time.time()
            await relative.pc.close()  # the phone's path is gone (no goodbye)
            lost = await kiosk.expect("state", call__state="reconnecting", timeout=10)
            noticed = time.time() - dropped_at
            assert lost["call"]["lost"] == ["relative"]
            assert lost["call"]["reconnect_until"] > lost["call"]["server_time"]
            assert noticed < 3.0, noticed  # the silence, not aiortc's 30 s consent checks
            frozen = lost["call"]["connected_ms"]
            await asyncio.sleep(2.0)
            # Back, on the same socket, with a new peer connection: no new code.
            before = kiosk.received["video"]
            relative.received["video"] = 0
            await relative.start_media()
            back = await kiosk.expect("state", call__state="connected", timeout=15)
            assert back["call"]["lost"] == []
            await wait_until(lambda: kiosk.received["video"] > before + 10, timeout=15)
            await wait_until(lambda: relative.received["video"] > 10, timeout=15)
            # The gap (about 3 s) is not connected time; the call's end moved by as much.
            call = engine.calls[call_id]
            gap = call.lifecycle.gaps
            assert 2.0 < gap < 6.0, gap
            assert back["call"]["connected_ms"] - frozen < 1500
            assert abs(back["call"]["ends_at"] - lost["call"]["ends_at"] - gap * 1000) < 2
            events = [e["type"] for e in await engine.events(call_id)]
            assert "LegLost" in events and "CallResumed" in events
            assert len(read_codes(gateway.config.outbox_path)) == 1  # one SMS only
            await kiosk.send({"type": "hangup"})
            ended = await kiosk.expect("ended")
            assert ended["reason"] == "kiosk_hangup"
        finally:
            await kiosk.close()
            await relative.close()
    booking = await gateway.app[keys.DIRECTORY].booking(demo["booking"])
    assert booking is not None and booking.status == "done"


async def test_past_the_grace_the_call_ends_media_failure_without_the_gap(gateway_factory) -> None:
    gateway = await gateway_factory(media_silence_seconds=1.0, reconnect_grace_seconds=3)
    async with aiohttp.ClientSession() as http:
        demo, kiosk, relative, call_id = await _connected_call(gateway, http)
        try:
            await asyncio.sleep(1.5)
            assert relative.pc is not None
            await relative.pc.close()
            lost = await kiosk.expect("state", call__state="reconnecting", timeout=10)
            ended = await kiosk.expect("ended", timeout=10)
            assert ended["reason"] == "media_failure"
            assert gateway.app[keys.ENGINE].calls == {}
        finally:
            await kiosk.close()
            await relative.close()
    booking = await gateway.app[keys.DIRECTORY].booking(demo["booking"])
    assert booking is not None
    # Billed for the connected time before the silence only, not the 3 s of grace.
    assert abs(booking.connected_ms - lost["call"]["connected_ms"]) < 1200, booking.connected_ms


async def test_leaving_marks_the_leg_lost_at_once(gateway_factory) -> None:
    """A page that reloads says so: the gap starts then, not at the silence."""
    gateway = await gateway_factory(media_silence_seconds=5.0)
    async with aiohttp.ClientSession() as http:
        _demo, kiosk, relative, _call_id = await _connected_call(gateway, http)
        try:
            started = time.monotonic()
            await relative.send({"type": "leaving"})
            lost = await kiosk.expect("state", call__state="reconnecting", timeout=5)
            assert time.monotonic() - started < 2.0
            assert lost["call"]["lost"] == ["relative"]
            # The reloaded page: a new socket with the same join token, a new offer with an id.
            again = Client(gateway.base_url, http, token=relative.token)
            welcome = await again.connect()
            assert welcome["call"]["state"] == "reconnecting"
            await relative.close()
            again.pc = None
            await again.start_media()
            await kiosk.expect("state", call__state="connected", timeout=15)
            await again.close()
        finally:
            await kiosk.close()
            await relative.close()
