"""Money survives a crash: SIGKILL the gateway in the middle of a connected call.

A real gateway subprocess, a real Redis with append-only persistence, real aiortc peers. The
call checkpoints its connected time every second; after the kill a new gateway process finds
the orphaned call (its owner's heartbeat is gone), ends it ``interrupted``, and when the slot
ends the booking is settled exactly once from the last checkpoint.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import av
import redis.asyncio as aioredis

from gateway.service.redis_server import EmbeddedRedis
from gateway.store.directory import Directory
from gateway.store.ledger import Ledger
from tests.callkit import (
    Client,
    enrol_kiosk,
    gateway_env,
    join,
    spawn_gateway,
    start_calling,
    started,
)

SLOT_LEFT = 30.0  # seconds between the call's start and the end of its slot


def spawn(
    command: str, data_dir: Path, redis_url: str
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    env = gateway_env(
        redis_url,
        PARLOIR_CHECKPOINT_SECONDS="1",
        PARLOIR_RECORDINGS_DIR=str(data_dir.parent / "recordings"),
    )
    proc = spawn_gateway(command, data_dir, env)
    return proc, started(proc)


async def test_sigkill_mid_call_charges_the_checkpointed_time_once(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    redis = aioredis.from_url(server.url, decode_responses=True)
    first = second = None
    try:
        first, demo = spawn("demo", tmp_path / "var", server.url)
        directory, ledger = Directory(redis), Ledger(redis)
        booking = await directory.booking(demo["booking"])
        assert booking is not None
        await directory.put_booking(replace(booking, end=time.time() + SLOT_LEFT))
        outbox = Path(demo["sms_outbox"])
        async with aiohttp.ClientSession() as http:
            await enrol_kiosk(http, demo["url"], demo["kiosk_enrolment_code"])
            kiosk, relative = Client(demo["url"], http), Client(demo["url"], http)
            try:
                code, _ref = await start_calling(kiosk, outbox, demo)
                status, body = await join(relative, code)
                assert status == 200, body
                await relative.connect()
                await relative.start_media()
                await relative.expect("state", call__state="connected", timeout=20)
                connected_at = time.time()
                await asyncio.sleep(4.5)
                call_id = body["call"]["id"]
                checkpoint = int(await redis.hget(f"parloir:call:{call_id}", "connected_ms") or 0)
                first.send_signal(signal.SIGKILL)
                killed_at = time.time()
                first.wait(timeout=10)
            finally:
                await kiosk.close()
                await relative.close()
        assert 2500 <= checkpoint <= 5000, checkpoint
        # The killed process's recording decodes up to its last second or so.
        for side in ("kiosk", "relative"):
            [path] = (tmp_path / "recordings").rglob(f"{call_id}/{side}.webm")
            with av.open(str(path)) as container:
                frames = [f for f in container.decode(video=0)]
            assert frames and float(frames[-1].time) > 2.0, (side, len(frames))
        # Before the restart: the call still looks live, nothing charged yet.
        assert await redis.sismember("parloir:calls:live", call_id)
        account = await ledger.account(demo["detainee"])
        assert (account.balance, account.held) == (5000, booking.hold)

        second, _info = spawn("serve", tmp_path / "var2", server.url)
        # Within a few heartbeats the orphan is ended as interrupted ...
        async with asyncio.timeout(10):
            while await redis.sismember("parloir:calls:live", call_id):
                await asyncio.sleep(0.2)
        record = await redis.hgetall(f"parloir:call:{call_id}")
        assert record["end_reason"] == "interrupted" and record["recovered_by"]
        saved = int(record["connected_ms"])
        assert checkpoint <= saved <= (killed_at - connected_at) * 1000 + 100
        # ... and once the slot is over the booking is settled, exactly once.
        async with asyncio.timeout(SLOT_LEFT + 10):
            while (b := await directory.booking(booking.id)) is None or b.status == "booked":
                await asyncio.sleep(0.3)
        assert b.status == "done" and b.connected_ms == saved
        # The recovering process sealed the orphan's recording as it was.
        rec = await redis.hgetall(f"parloir:recording:{call_id}")
        assert rec["state"] == "sealed", rec
        check = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway", "recordings", "verify",
            env={**os.environ, "PARLOIR_RECORDINGS_DIR": str(tmp_path / "recordings")},
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await check.communicate()
        assert check.returncode == 0 and json.loads(out)["checked"] == 1
        assert b.charged == 14 + 30  # the fee and one started minute, at the off-plan rate
        account = await ledger.account(demo["detainee"])
        assert (account.balance, account.held) == (5000 - 44, 0)
        entries = await ledger.entries(demo["detainee"])
        assert [e.kind for e in entries] == ["credit", "hold", "charge", "release"]
        audit = await ledger.verify(demo["detainee"])
        assert audit.ok, audit.problems
        # Redis's append-only file holds all of it: a Redis crash now would lose nothing.
        server.kill()
        server.start()
        await redis.aclose()
        redis = aioredis.from_url(server.url, decode_responses=True)
        assert (await Ledger(redis).verify(demo["detainee"])).ok
        assert (await Directory(redis).booking(booking.id)) == b
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)
        await redis.aclose()
        server.stop()
