"""What the logs hold of an SMS: never its code, never the number in clear. A real send through
the Redis queue, every logger captured at DEBUG, once with the outbox and once over SMPP (the
tests' own SMSC: a refusal, a delivery receipt)."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from gateway.core.i18n import message
from gateway.core.sms_queue import RetryPolicy
from gateway.service.smpp import SmppSender
from gateway.service.sms import OutboxSender, QueuedSms, SmsWorker, make_transport
from gateway.store.sms_queue import SmsQueue
from tests.conftest import make_config
from tests.smsc import Smsc

NUMBER, REFUSED = "+33612345678", "+33699887766"
CODE, REFUSED_CODE = "482913", "907135"
FORMAT = logging.Formatter("%(name)s %(levelname)s %(message)s")


def _text(code: str) -> str:
    return message("sms.code").format(
        code=code, url="https://parloir.test/join?appel=ab12", minutes=5
    )


def _assert_clean(caplog: pytest.LogCaptureFixture, ids: list[str]) -> None:
    lines = [FORMAT.format(r) for r in caplog.records]
    logged = "\n".join(lines)
    # The capture works: each message's id and its masked number are there.
    assert all(i in logged for i in ids), logged
    assert "+33 6 •• •• •• 78" in logged
    for secret in (CODE, REFUSED_CODE):
        assert secret not in logged
    for number in (NUMBER, REFUSED):
        national = "0" + number[3:]
        for form in (number, number.lstrip("+"), national):
            assert form not in logged, [line for line in lines if form in line]


async def _settled(queue: SmsQueue, ids: list[str], final: set[str]) -> None:
    async with asyncio.timeout(20):
        while {(await queue.get(i))["status"] for i in ids} - final:
            await asyncio.sleep(0.05)


async def _ids(redis: aioredis.Redis, count: int) -> list[str]:
    async with asyncio.timeout(10):
        while len(keys := await redis.keys("parloir:sms:sms_*")) < count:
            await asyncio.sleep(0.02)
    return [k.removeprefix("parloir:sms:") for k in keys]


async def test_the_outbox_path_logs_neither_code_nor_number(
    redis: aioredis.Redis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    queue = SmsQueue(redis)
    outbox = tmp_path / "outbox.jsonl"
    worker = SmsWorker(queue, OutboxSender(outbox), "gw_a", RetryPolicy(), poll=0.05)
    worker.start()
    try:
        await QueuedSms(queue, worker, time.time).send(NUMBER, _text(CODE), call="call_1")
        ids = await _ids(redis, 1)
        await _settled(queue, ids, {"sent"})
    finally:
        await worker.stop()
    assert CODE in outbox.read_text()  # it was really sent, code and all
    _assert_clean(caplog, ids)


async def test_the_smpp_path_logs_neither_code_nor_number(
    redis: aioredis.Redis, redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    queue = SmsQueue(redis)
    async with Smsc(refuse={REFUSED.lstrip("+")}, receipt_delay=0.0) as smsc:
        config = make_config(
            tmp_path, redis_url, sms_sender="smpp", sms_smpp_host="127.0.0.1",
            sms_smpp_port=smsc.port, sms_smpp_system_id="parloir", sms_smpp_password="secret",
        )  # fmt: skip
        transport = make_transport(config, queue)  # with its receipt handler, which logs
        assert isinstance(transport, SmppSender)
        worker = SmsWorker(queue, transport, "gw_a", RetryPolicy(), poll=0.05)
        sms = QueuedSms(queue, worker, time.time)
        worker.start()
        try:
            await sms.send(NUMBER, _text(CODE), call="call_1")
            await sms.send(REFUSED, _text(REFUSED_CODE), call="call_2")
            ids = await _ids(redis, 2)
            await _settled(queue, ids, {"delivered", "failed"})
        finally:
            await worker.stop()
    assert smsc.taken[_text(CODE)] == 1 and smsc.submits == 2
    _assert_clean(caplog, ids)
