"""Drain for upgrades (issue 15): the core rule, then two real gateway processes on one Redis.

A connected call (aiortc peers) on process D; ``python -m gateway drain --owner D``: D's
``/readyz`` says ``ready.draining``, a kiosk whose socket is on D gets its new call placed on the
other process, D's own call goes on to its slot's end (``time_limit``, billed once), and D exits
by itself when that call has ended.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

from gateway.core.drain import Action, Drain, Phase, on_request, on_tick
from gateway.store.directory import Directory, new_id
from gateway.store.kiosks import KioskRegistry
from gateway.store.ledger import Ledger

from .callkit import (
    Client,
    enrol_kiosk,
    gateway_env,
    join_connected,
    kiosk_login,
    start_calling,
    wait_for_code,
)
from .test_cluster import Gateways, owner_of_next_call, wait_for


def test_drain_rule() -> None:
    idle, action = on_request(Drain(), 10.0, 0, 60)
    assert (idle.phase, action) == (Phase.STOPPING, Action.STOP)
    draining, action = on_request(Drain(), 10.0, 2, 60)
    assert (draining, action) == (Drain(Phase.DRAINING, 70.0), Action.DRAIN)
    assert on_tick(draining, 69.9, 1) == (draining, Action.WAIT)
    assert on_tick(draining, 50.0, 0) == (Drain(Phase.STOPPING), Action.STOP)
    assert on_tick(draining, 70.0, 1) == (Drain(Phase.STOPPING), Action.INTERRUPT)
    assert on_request(draining, 20.0, 1, 60) == (Drain(Phase.STOPPING), Action.INTERRUPT)
    assert on_request(draining, 20.0, 0, 60) == (Drain(Phase.STOPPING), Action.STOP)
    assert on_tick(Drain(), 99.0, 3) == (Drain(), Action.WAIT)


SLOT_LEFT = 14.0


async def test_draining_process_finishes_its_call_and_exits_new_call_elsewhere(
    tmp_path: Path, redis_url: str, redis: aioredis.Redis
) -> None:
    gateways = Gateways(tmp_path, redis_url, PARLOIR_KIOSKS="kiosk-1=A,kiosk-2=B")
    try:
        infos = gateways.start("demo", "serve")
        demo = infos[0]
        drained_id = owner_of_next_call(infos, demo["booking"])
        drained = next(i for i in infos if i["owner"] == drained_id)
        other = next(i for i in infos if i is not drained)
        proc = gateways.procs[infos.index(drained)]
        directory, ledger = Directory(redis), Ledger(redis)
        booking = await directory.booking(demo["booking"])
        assert booking is not None
        await directory.put_booking(replace(booking, end=time.time() + SLOT_LEFT))
        credential2 = await second_booking(redis, demo["booking"])
        async with aiohttp.ClientSession() as http:
            await enrol_kiosk(http, drained["url"], demo["kiosk_enrolment_code"])
            kiosk, relative = Client(drained["url"], http), Client(drained["url"], http)
            kiosk2 = Client(drained["url"], http)
            try:
                await kiosk_login(kiosk, demo["detainee"], demo["access_code"])
                await kiosk.connect()
                await kiosk.send({"type": "call"})
                waiting = await kiosk.expect("state", call__state="waiting_relative")
                call_id = waiting["call"]["id"]
                assert await redis.hget(f"parloir:call:{call_id}", "owner") == drained_id
                await kiosk.start_media()
                code, _ref = await wait_for_code(gateways.outbox, timeout=10)
                await join_connected(relative, code)
                async with http.get(drained["url"] + "/readyz") as resp:
                    assert resp.status == 200

                # Drain D through the command (a drain envelope on its channel).
                done = await asyncio.to_thread(
                    subprocess.run,
                    [sys.executable, "-m", "gateway", "drain", "--owner", drained_id],
                    env=gateway_env(redis_url), capture_output=True, text=True, timeout=30,
                )  # fmt: skip
                assert done.returncode == 0, done.stderr
                assert await wait_for(lambda: _draining(redis, drained_id), timeout=5)
                async with http.get(drained["url"] + "/readyz") as resp:
                    ready = await resp.json()
                    assert resp.status == 503 and "ready.draining" in ready["reasons"], ready
                assert proc.poll() is None  # its call is live: it waits

                # A new call from a kiosk whose socket is on D goes to the other process.
                await kiosk_login(kiosk2, demo["detainee"], demo["access_code"], credential2)
                await kiosk2.connect()
                await kiosk2.send({"type": "call"})
                waiting2 = await kiosk2.expect("state", call__state="waiting_relative")
                owner2 = await redis.hget(f"parloir:call:{waiting2['call']['id']}", "owner")
                assert owner2 == other["owner"]
                await kiosk2.send({"type": "hangup"})
                await kiosk2.expect("ended", timeout=10)

                # D's call goes on to its slot's end and ends normally; then D exits.
                ended = await kiosk.expect("ended", timeout=SLOT_LEFT + 10)
                assert ended["reason"] == "time_limit", ended
                ended_at = time.monotonic()
                rc = await asyncio.to_thread(proc.wait, 15)
                assert rc == 0 and time.monotonic() - ended_at < 10
            finally:
                for client in (kiosk, relative, kiosk2):
                    await client.close()
        record = await redis.hgetall(f"parloir:call:{call_id}")
        assert record["end_reason"] == "time_limit" and "recovered_by" not in record
        closed = await wait_for(lambda: _closed(redis, demo["booking"]), timeout=15)
        assert closed.status == "done" and closed.connected_ms == int(record["connected_ms"])
        entries = await ledger.entries(demo["detainee"])
        charges = [e for e in entries if e.kind == "charge" and e.hold_id == demo["booking"]]
        assert len(charges) == 1 and charges[0].amount == closed.charged > 0, entries
        assert (await ledger.verify(demo["detainee"])).ok
        assert not await redis.exists(f"parloir:gw:{drained_id}")
    finally:
        gateways.stop()


async def second_booking(redis: aioredis.Redis, booking_id: str) -> str:
    """A second booking, same time, same detainee, on kiosk-2 (enrolled): its credential."""
    directory, ledger = Directory(redis), Ledger(redis)
    booking = await directory.booking(booking_id)
    assert booking is not None
    second = replace(booking, id=new_id("bk"), kiosk="kiosk-2", receipt="DRAIN-2")
    await directory.put_booking(second)
    await ledger.hold(booking.detainee, second.id, second.hold, "test", int(time.time() * 1e3))
    return await KioskRegistry(redis).enrol("kiosk-2", "test", time.time())


async def _draining(redis: aioredis.Redis, owner: str) -> bool:
    return await redis.hget(f"parloir:gw:{owner}", "draining") == "1"


async def _closed(redis: aioredis.Redis, booking_id: str) -> object:
    booking = await Directory(redis).booking(booking_id)
    return booking if booking is not None and booking.status != "booked" else None


async def test_second_sigterm_interrupts_the_calls_left(
    tmp_path: Path, redis_url: str, redis: aioredis.Redis
) -> None:
    gateways = Gateways(tmp_path, redis_url, PARLOIR_KIOSKS="kiosk-1=A,kiosk-2=B")
    try:
        [demo] = gateways.start("demo")
        credential2 = await second_booking(redis, demo["booking"])
        proc = gateways.procs[0]
        async with aiohttp.ClientSession() as http:
            await enrol_kiosk(http, demo["url"], demo["kiosk_enrolment_code"])
            kiosk = Client(demo["url"], http)
            try:
                await kiosk_login(kiosk, demo["detainee"], demo["access_code"])
                await kiosk.connect()
                await kiosk.send({"type": "call"})
                waiting = await kiosk.expect("state", call__state="waiting_relative")
                proc.send_signal(signal.SIGTERM)  # drains: the call waits for its relative
                assert await wait_for(lambda: _draining(redis, demo["owner"]), timeout=5)
                await asyncio.sleep(1.0)
                assert proc.poll() is None
                # A lone draining process takes no new call: it says so.
                kiosk2 = Client(demo["url"], http)
                try:
                    await kiosk_login(kiosk2, demo["detainee"], demo["access_code"], credential2)
                    await kiosk2.connect()
                    await kiosk2.send({"type": "call"})
                    refused = await kiosk2.expect("error")
                    assert refused["reason"] == "call.draining", refused
                    assert refused["message"].startswith("Le service redémarre")
                finally:
                    await kiosk2.close()
                proc.send_signal(signal.SIGTERM)  # the second one: interrupted, and out
                ended = await kiosk.expect("ended", timeout=10)
                assert ended["reason"] == "interrupted"
                assert await asyncio.to_thread(proc.wait, 15) == 0
            finally:
                await kiosk.close()
        record = await redis.hgetall(f"parloir:call:{waiting['call']['id']}")
        assert record["end_reason"] == "interrupted"
    finally:
        gateways.stop()


DRAIN_TIMEOUT = 4


async def test_drain_timeout_interrupts_a_connected_call_and_the_process_exits(
    tmp_path: Path, redis_url: str, redis: aioredis.Redis
) -> None:
    """One SIGTERM only, a connected call (aiortc peers) whose slot lasts beyond the drain
    timeout: past ``drain_timeout_seconds`` the call ends ``interrupted`` for both sides, its
    connected time is counted in its booking once, and the process exits by itself."""
    gateways = Gateways(tmp_path, redis_url, PARLOIR_DRAIN_TIMEOUT_SECONDS=str(DRAIN_TIMEOUT))
    try:
        [demo] = gateways.start("demo")
        proc = gateways.procs[0]
        async with aiohttp.ClientSession() as http:
            await enrol_kiosk(http, demo["url"], demo["kiosk_enrolment_code"])
            kiosk, relative = Client(demo["url"], http), Client(demo["url"], http)
            try:
                code, _ref = await start_calling(kiosk, gateways.outbox, demo)
                call_id = await join_connected(relative, code)
                signalled = time.monotonic()
                proc.send_signal(signal.SIGTERM)  # one only: the timeout ends the call
                assert await wait_for(lambda: _draining(redis, demo["owner"]), timeout=5)
                frames = relative.received["video"]
                await asyncio.sleep(DRAIN_TIMEOUT / 2)
                assert proc.poll() is None  # draining: the call goes on, media too
                assert relative.received["video"] > frames
                ended = await kiosk.expect("ended", timeout=DRAIN_TIMEOUT + 15)
                assert ended["reason"] == "interrupted", ended
                waited = time.monotonic() - signalled
                other = await relative.expect("ended", timeout=5)
                assert other["reason"] == "interrupted", other
                assert await asyncio.to_thread(proc.wait, 15) == 0  # out by itself
            finally:
                await kiosk.close()
                await relative.close()
        print(f"\ncall interrupted {waited:.1f} s after SIGTERM (drain timeout {DRAIN_TIMEOUT} s)")
        assert waited >= DRAIN_TIMEOUT - 0.5  # not before the timeout (a tick is 0.5 s)
        record = await redis.hgetall(f"parloir:call:{call_id}")
        assert record["end_reason"] == "interrupted" and "recovered_by" not in record, record
        booking = await Directory(redis).booking(demo["booking"])
        assert booking is not None and booking.status == "booked"  # its slot goes on
        assert booking.connected_ms == int(record["connected_ms"]) > 0, (booking, record)
        assert await redis.hgetall(f"parloir:booking:{demo['booking']}:calls") == {
            call_id: record["connected_ms"]
        }  # counted once, by the process that ended it
        assert not await redis.exists(f"parloir:gw:{demo['owner']}")
    finally:
        gateways.stop()
