"""A whole call through the gateway with real aiortc peers as kiosk and relative."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import aiohttp

from gateway.http import appkeys as keys
from gateway.media.calls import Call

from .callkit import (
    Client,
    join,
    join_connected,
    kiosk_login,
    read_codes,
    seeded,
    sound_held_back,
    start_calling,
    wait_for_code,
    wait_until,
)


async def test_call_relays_media_both_ways_and_ends_at_the_limit(gateway_factory, redis) -> None:
    gateway = await gateway_factory(call_max_seconds=6, warning_seconds=(3,))
    demo = await seeded(gateway)
    outbox = gateway.config.outbox_path
    async with aiohttp.ClientSession() as http:
        kiosk = Client(gateway.base_url, http)
        relative = Client(gateway.base_url, http)
        try:
            login = await kiosk_login(kiosk, demo["detainee"], demo["access_code"])
            assert login["booking"]["correspondent"]["name"] == "Marie Martin"
            await kiosk.connect()
            await kiosk.send({"type": "call"})
            await kiosk.expect("state", call__state="waiting_relative")
            await kiosk.start_media()

            code, ref = await wait_for_code(outbox)
            status, body = await join(relative, code)
            assert status == 200, body
            await relative.connect()
            await relative.start_media()
            connected = await relative.expect("state", call__state="connected")
            assert connected["call"]["ends_at"] - connected["call"]["server_time"] <= 6000

            engine = gateway.app[keys.ENGINE]
            call: Call = engine.calls[body["call"]["id"]]
            await wait_until(
                lambda: (
                    min(kiosk.received["video"], relative.received["video"]) > 20
                    and min(kiosk.received["audio"], relative.received["audio"]) > 20
                )
            )
            assert kiosk.video_sizes == {(640, 480)} and relative.video_sizes == {(640, 480)}
            warning = await relative.expect("warning")
            assert warning["seconds_left"] == 3
            last_k = await kiosk.expect("state", call__state="ended", timeout=10)
            last_r = await relative.expect("state", call__state="ended", timeout=10)
            ended_k = await kiosk.expect("ended", timeout=10)
            ended_r = await relative.expect("ended", timeout=10)
            assert ended_k["reason"] == ended_r["reason"] == "time_limit"
            assert "durée maximale" in ended_r["message"]
            await call.finished.wait()
            # nothing left behind: the call, its code, the live index
            assert engine.calls == {}
            assert await redis.smembers("parloir:calls:live") == set()
            assert await redis.exists(f"parloir:code:{call.id}") == 0
            kinds = [e["type"] for e in await engine.events(call.id)]
            assert kinds[0] == "CodeSent" and kinds[-1] == "CallEnded"
            assert "CallConnected" in kinds and "RelativeJoined" in kinds
            assert all(pc is None for pc in (leg.pc for leg in call.legs.values()))
            # every key left without an expiry is a record, not a leftover of the call
            durable = [k for k in await redis.keys("*") if await redis.ttl(k) == -1]
            allowed = (
                "parloir:detainee",
                "parloir:correspondent:",
                "parloir:booking",
                "parloir:call:",
                "parloir:secret:code",
                "parloir:acct:",
                "parloir:hold:",
                "parloir:billing:",
                "parloir:recording",
                "parloir:audit",
                "parloir:gw:",  # the live process's heartbeat (expires once it stops)
                "parloir:kiosk:",  # the enrolled kiosk device and its credential
                "parloir:kioskcred:",
            )
            assert durable and all(k.startswith(allowed) for k in durable), durable
            # Billed once, for the connected time only: one started minute plus the fee.
            booking = await gateway.app[keys.DIRECTORY].booking(demo["booking"])
            assert booking is not None and booking.status == "done"
            assert 4000 <= booking.connected_ms <= 6500 and booking.charged == 14 + 30
            account = await gateway.app[keys.LEDGER].account(demo["detainee"])
            assert (account.balance, account.held) == (5000 - 44, 0)
            assert (await gateway.app[keys.LEDGER].verify(demo["detainee"])).ok
            # The kiosk's last view carries what the ledger charged (its end screen shows it);
            # the relative sees no money.
            settled = {"charged_cents": booking.charged, "balance_cents": account.balance}
            assert last_k["call"]["billing"]["settled"] == settled
            assert "billing" not in last_r["call"]
        finally:
            await kiosk.close()
            await relative.close()


async def test_no_answer_when_the_code_is_not_entered_in_time(gateway_factory, redis) -> None:
    gateway = await gateway_factory(code_validity_seconds=1)
    demo = await seeded(gateway)
    async with aiohttp.ClientSession() as http:
        kiosk = Client(gateway.base_url, http)
        try:
            await kiosk_login(kiosk, demo["detainee"], demo["access_code"])
            await kiosk.connect()
            await kiosk.send({"type": "call"})
            waiting = await kiosk.expect("state", call__state="waiting_relative")
            assert waiting["call"]["code_expires_at"] - waiting["call"]["server_time"] <= 1000
            await kiosk.start_media()
            last = await kiosk.expect("state", call__state="ended", timeout=10)
            ended = await kiosk.expect("ended", timeout=10)
            assert ended["reason"] == "no_answer"
            # Not settled yet (the slot is still open): the kiosk says it cost nothing.
            assert last["call"]["billing"]["settled"] is None
            assert last["call"]["connected_at"] is None
            code, _ref = await wait_for_code(gateway.config.outbox_path)
            status, body = await join(Client(gateway.base_url, http), code)
            assert (status, body["reason"]) == (403, "code.invalid")
            assert await redis.smembers("parloir:calls:live") == set()
            # Nothing charged; the hold stays for another try within the slot.
            booking = await gateway.app[keys.DIRECTORY].booking(demo["booking"])
            assert booking is not None and booking.status == "booked"
            assert booking.connected_ms == 0
            account = await gateway.app[keys.LEDGER].account(demo["detainee"])
            assert (account.balance, account.held) == (5000, booking.hold)
            # The slot ends: the sweeper closes the booking as no answer and releases the hold.
            closed = await gateway.app[keys.DESK].close_overdue(booking.end, set(), "test")
            assert closed == [booking.id]
            account = await gateway.app[keys.LEDGER].account(demo["detainee"])
            assert (account.balance, account.held) == (5000, 0)
        finally:
            await kiosk.close()


async def test_a_failed_leg_that_does_not_come_back_ends_the_call_for_both(
    gateway_factory,
) -> None:
    gateway = await gateway_factory(reconnect_grace_seconds=2)
    demo = await seeded(gateway)
    async with aiohttp.ClientSession() as http:
        kiosk = Client(gateway.base_url, http)
        relative = Client(gateway.base_url, http)
        try:
            code, _ref = await start_calling(kiosk, gateway, demo)
            assert (await join(relative, code))[0] == 200
            await relative.connect()
            await relative.start_media()
            await kiosk.expect("state", call__state="connected")
            assert relative.pc is not None
            await relative.pc.close()  # the relative's phone drops off, for good
            await kiosk.expect("state", call__state="reconnecting", timeout=10)
            ended = await kiosk.expect("ended", timeout=10)
            assert ended["reason"] == "media_failure"
            assert gateway.app[keys.ENGINE].calls == {}
        finally:
            await kiosk.close()
            await relative.close()


async def test_outside_a_booked_slot_the_kiosk_offers_no_call(gateway_factory) -> None:
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    directory = gateway.app[keys.DIRECTORY]
    booking = await directory.booking(demo["booking"])
    assert booking is not None
    await directory.put_booking(
        replace(booking, start=booking.start + 7200, end=booking.end + 7200)
    )
    async with aiohttp.ClientSession() as http:
        kiosk = Client(gateway.base_url, http)
        try:
            login = await kiosk_login(kiosk, demo["detainee"], demo["access_code"])
            assert login["booking"] is None
            assert login["message"] == "Vous n'avez pas de créneau réservé en ce moment."
            welcome = await kiosk.connect()
            assert welcome["call"] is None
            await kiosk.send({"type": "call"})
            refused = await kiosk.expect("error")
            assert refused["reason"] == "kiosk.no_booking"
            assert read_codes(gateway.config.outbox_path) == []
        finally:
            await kiosk.close()


async def test_sound_leaves_the_gateway_as_it_arrives(gateway_factory) -> None:
    """Through a real call, every Opus packet the gateway's receiver has taken from the kiosk
    has already gone on to the relay when the event loop turns (aiortc's audio buffer kept
    four back, 80 ms, on each hop)."""
    gateway = await gateway_factory(call_max_seconds=30)
    demo = await seeded(gateway)
    async with aiohttp.ClientSession() as http:
        kiosk = Client(gateway.base_url, http)
        relative = Client(gateway.base_url, http)
        try:
            code, _ref = await start_calling(kiosk, gateway, demo)
            await join_connected(relative, code)
            await wait_until(lambda: relative.received["audio"] > 25, timeout=15)
            behind = []
            for _ in range(20):
                held, _lost = sound_held_back(gateway, "kiosk")
                behind.append(held)
                await asyncio.sleep(0.05)
            assert behind == [0] * 20, behind
        finally:
            await kiosk.close()
            await relative.close()
