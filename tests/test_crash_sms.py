"""No code lost, none sent twice: SIGKILL the gateway between queueing an SMS and sending it.

The first gateway subprocess's outbox is a named pipe nobody reads, so its worker claims the
message and then blocks before a byte leaves: the SMS is queued and leased, not sent. It is
killed there. A second gateway takes the message over once the lease runs out and sends it;
exactly one SMS reaches the outbox, and Redis is left with its status only (no code, no number).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from gateway.service.redis_server import EmbeddedRedis
from tests.callkit import (
    Client,
    enrol_kiosk,
    gateway_env,
    kiosk_login,
    read_codes,
    spawn_gateway,
    started,
)


def spawn(command: str, data_dir: Path, redis_url: str, **extra: str) -> tuple[Any, Any]:
    env = gateway_env(
        redis_url,
        PARLOIR_SMS_LEASE_SECONDS="2",
        PARLOIR_SMS_POLL_SECONDS="0.2",
        PARLOIR_RECORDINGS_DIR=str(data_dir.parent / "recordings"),
        **extra,
    )
    proc = spawn_gateway(command, data_dir, env)
    return proc, started(proc)


async def sms_records(redis: aioredis.Redis) -> dict[str, dict[str, str]]:
    out = {}
    async for key in redis.scan_iter("parloir:sms:sms_*"):
        out[key] = await redis.hgetall(key)
    return out


async def everything_in_redis(redis: aioredis.Redis) -> str:
    """Every key and value, as one string, to look for what must not be there."""
    parts = []
    async for key in redis.scan_iter("*"):
        kind = await redis.type(key)
        parts.append(key)
        if kind == "string":
            parts.append(str(await redis.get(key)))
        elif kind == "hash":
            parts.append(json.dumps(await redis.hgetall(key), ensure_ascii=False))
        elif kind == "set":
            parts.append(str(await redis.smembers(key)))
        elif kind == "zset":
            parts.append(str(await redis.zrange(key, 0, -1, withscores=True)))
        elif kind == "list":
            parts.append(str(await redis.lrange(key, 0, -1)))
        elif kind == "stream":
            parts.append(str(await redis.xrange(key)))
    return "\n".join(parts)


async def test_sigkill_between_queueing_and_sending_sends_once_after_restart(
    tmp_path: Path,
) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    redis = aioredis.from_url(server.url, decode_responses=True)
    stuck = tmp_path / "stuck-outbox"
    os.mkfifo(stuck)
    first = second = None
    try:
        first, demo = spawn("demo", tmp_path / "var", server.url,
                            PARLOIR_SMS_OUTBOX_PATH=str(stuck))  # fmt: skip
        async with aiohttp.ClientSession() as http:
            await enrol_kiosk(http, demo["url"], demo["kiosk_enrolment_code"])
            kiosk = Client(demo["url"], http)
            try:
                await kiosk_login(kiosk, demo["detainee"], demo["access_code"])
                await kiosk.connect()
                await kiosk.send({"type": "call"})
                await kiosk.expect("state", call__state="waiting_relative")
                async with asyncio.timeout(10):
                    while not (records := await sms_records(redis)) or any(
                        r.get("status") != "sending" for r in records.values()
                    ):
                        await asyncio.sleep(0.05)
            finally:
                await kiosk.close()
        [(key, record)] = records.items()
        assert record["text"] and record["owner"]  # queued, claimed, held until it is sent
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

        second, _info = spawn("serve", tmp_path / "var2", server.url)
        outbox = tmp_path / "var2" / "sms-outbox.jsonl"  # the default outbox of its data dir
        async with asyncio.timeout(15):
            while not read_codes(outbox):
                await asyncio.sleep(0.1)
        await asyncio.sleep(3)  # longer than a lease: a second send would be there by now
        [sms] = read_codes(outbox)
        assert sms["id"] == key.removeprefix("parloir:sms:")
        assert "Code : " in sms["text"] and "appel=" in sms["text"]
        code = sms["text"].split("Code : ")[1][:6]
        final = await redis.hgetall(key)
        assert final["status"] == "sent" and final["attempts"] == "2", final
        assert final["owner"] != record["owner"]
        assert "text" not in final and "to" not in final
        assert code not in await everything_in_redis(redis)
        # The directory knows the relative's number; the SMS queue keeps it masked only.
        assert sms["to"] not in json.dumps(await sms_records(redis), ensure_ascii=False)
        assert final["to_masked"].endswith(sms["to"][-2:])
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        await redis.aclose()
        server.stop()
