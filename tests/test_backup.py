"""Backup and restore (issue 15): a backup taken during a live, recorded call (aiortc peers)
restores into a fresh service (a new redis-server, a new recordings folder) whose bookings,
balances and ledger are the originals'. A gateway started on the restored data recovers the
call that was live at the backup (``interrupted``, its checkpointed time in its booking, no
money moved) and seals its recording as the backup holds it; then the ledger verifies and
``recordings verify`` passes on every recording, that one included."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from gateway.service.redis_server import EmbeddedRedis
from gateway.store.directory import Directory
from gateway.store.ledger import Ledger
from recorder.integrity import seal

from .callkit import (
    Client,
    enrol_kiosk,
    gateway_env,
    join_connected,
    spawn_gateway,
    start_calling,
    started,
    stop_gateway,
)


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def sealed_recordings(root: Path, count: int) -> None:
    recent = datetime.now(UTC) - timedelta(days=2)
    for i in range(count):
        folder = root / recent.date().isoformat() / f"call_past{i}"
        folder.mkdir(parents=True)
        for side in ("kiosk", "relative"):
            (folder / f"{side}.webm").write_bytes(os.urandom(3000))
        meta = {
            "call_id": f"call_past{i}",
            "started_at": recent,
            "ended_at": recent + timedelta(minutes=20),
            "end_reason": "kiosk_hangup",
        }
        seal(root, folder, meta, now=recent + timedelta(minutes=21))  # fmt: skip


async def test_backup_during_a_call_restores_into_a_fresh_service(
    tmp_path: Path, redis_url: str, redis: aioredis.Redis
) -> None:
    recordings, backup_dir = tmp_path / "recordings", tmp_path / "backup"
    sealed_recordings(recordings, 2)
    env = gateway_env(
        redis_url,
        PARLOIR_SMS_OUTBOX_PATH=str(tmp_path / "outbox.jsonl"),
        PARLOIR_RECORDINGS_DIR=str(recordings),
        PARLOIR_RECORD_CALLS="true",
        PARLOIR_CHECKPOINT_SECONDS="1",
    )
    proc = spawn_gateway("demo", tmp_path / "var", env)
    fresh = EmbeddedRedis(tmp_path / "redis2")
    try:
        demo = started(proc)
        async with aiohttp.ClientSession() as http:
            await enrol_kiosk(http, demo["url"], demo["kiosk_enrolment_code"])
            kiosk, relative = Client(demo["url"], http), Client(demo["url"], http)
            try:
                code, _ref = await start_calling(kiosk, tmp_path / "outbox.jsonl", demo)
                call_id = await join_connected(relative, code)
                await asyncio.sleep(2.0)
                assert await redis.hget(f"parloir:recording:{call_id}", "state") == "recording"

                # The backup, during the call.
                directory, ledger = Directory(redis), Ledger(redis)
                booking = await directory.booking(demo["booking"])
                account = await ledger.account(demo["detainee"])
                entries = await ledger.entries(demo["detainee"])
                keys = {k async for k in redis.scan_iter(match="parloir:*")}
                done = await asyncio.to_thread(
                    cli, "backup", str(backup_dir), REDIS_URL=redis_url,
                    PARLOIR_RECORDINGS_DIR=str(recordings),
                )  # fmt: skip
                assert done.returncode == 0, done.stderr
                summary = json.loads(done.stdout)
                assert summary["keys"] >= len(keys) - 2, (summary, len(keys))  # a code may expire
                await kiosk.send({"type": "hangup"})
                await relative.expect("ended", timeout=10)
            finally:
                await kiosk.close()
                await relative.close()

        await asyncio.to_thread(stop_gateway, proc)  # the old service is gone
        # A fresh service: a new redis-server, a new recordings folder.
        await asyncio.to_thread(fresh.start)
        restored_dir = tmp_path / "restored-recordings"
        done = await asyncio.to_thread(
            cli, "restore", str(backup_dir), REDIS_URL=fresh.url,
            PARLOIR_RECORDINGS_DIR=str(restored_dir),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["keys"] == summary["keys"]
        again = await asyncio.to_thread(
            cli, "restore", str(backup_dir), REDIS_URL=fresh.url,
            PARLOIR_RECORDINGS_DIR=str(tmp_path / "other"),
        )  # fmt: skip
        assert again.returncode == 1 and "already holds" in again.stderr  # fresh targets only

        copy = aioredis.from_url(fresh.url, decode_responses=True)
        try:
            assert await Directory(copy).booking(demo["booking"]) == booking
            restored_ledger = Ledger(copy)
            assert await restored_ledger.account(demo["detainee"]) == account
            assert await restored_ledger.entries(demo["detainee"]) == entries
            assert (await restored_ledger.verify(demo["detainee"])).ok
            record = await copy.hgetall(f"parloir:call:{call_id}")
            assert record["state"] == "connected"  # as it was at the backup
            live = await copy.hgetall(f"parloir:recording:{call_id}")
            assert live["state"] == "recording", live
            files = sorted((restored_dir / live["folder"]).glob("*.webm"))
            assert files and all(f.stat().st_size > 0 for f in files), files  # its first minutes
            assert (restored_dir / "chain.jsonl").read_bytes() == (
                backup_dir / "recordings" / "chain.jsonl"
            ).read_bytes()

            # A gateway started on the restored data: the call live at the backup has an owner
            # that no longer beats; the new process recovers it (interrupted, its checkpointed
            # time counted in its booking) and seals its recording as the backup holds it.
            restored = spawn_gateway("serve", tmp_path / "var2", gateway_env(
                fresh.url, PARLOIR_RECORDINGS_DIR=str(restored_dir), PARLOIR_RECORD_CALLS="true",
                PARLOIR_SMS_OUTBOX_PATH=str(tmp_path / "outbox2.jsonl"),
            ))  # fmt: skip
            try:
                info = started(restored)
                sealed = await _wait(lambda: _sealed(copy, call_id), timeout=30)
                async with aiohttp.ClientSession() as http:
                    async with http.get(info["url"] + "/readyz") as resp:
                        assert resp.status == 200, await resp.text()
            finally:
                stop_gateway(restored)
            record = await copy.hgetall(f"parloir:call:{call_id}")
            assert record["state"] == "ended" and record["end_reason"] == "interrupted", record
            assert record["recovered_by"] == info["owner"]
            assert not await copy.sismember("parloir:calls:live", call_id)
            after = await Directory(copy).booking(demo["booking"])
            assert after is not None and after.status == "booked"  # its slot is not over
            assert after.connected_ms == int(record["connected_ms"]) > 0, (after, record)
            assert await restored_ledger.entries(demo["detainee"]) == entries  # nothing moved
            assert await restored_ledger.account(demo["detainee"]) == account
            assert account.held == after.hold  # the booking's hold, and only it
            assert (await restored_ledger.verify(demo["detainee"])).ok
        finally:
            await copy.aclose()
        # Every recording verifies, the live call's sealed by the recovery among them.
        check = await asyncio.to_thread(
            cli, "recordings", "verify", PARLOIR_RECORDINGS_DIR=str(restored_dir)
        )
        report = json.loads(check.stdout)
        assert check.returncode == 0 and report["ok"] and report["checked"] == 3, report
        written = (restored_dir / live["folder"] / "manifest.json").read_bytes()
        assert hashlib.sha256(written).hexdigest() == sealed["manifest"], sealed
        manifest = json.loads(written)
        assert manifest["meta"]["call_id"] == call_id
        assert manifest["meta"]["end_reason"] == "interrupted"
        assert {f["name"] for f in manifest["files"]} == {f.name for f in files}, manifest
        print(f"\nrestored service: {summary['keys']} keys, recordings verify: {report}")
    finally:
        stop_gateway(proc)
        await asyncio.to_thread(fresh.stop)


async def _wait(check: Any, timeout: float) -> Any:
    async with asyncio.timeout(timeout):
        while not (value := await check()):
            await asyncio.sleep(0.2)
    return value


async def _sealed(redis: aioredis.Redis, call_id: str) -> dict[str, str] | None:
    rec = await redis.hgetall(f"parloir:recording:{call_id}")
    return rec if rec.get("state") == "sealed" else None
