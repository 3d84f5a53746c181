"""The SMS queue: its rules with a fake clock, then against a real Redis with real workers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import redis.asyncio as aioredis

from gateway.cli import start
from gateway.core.sms_queue import Outcome, RetryPolicy, after_attempt, moves_forward
from gateway.http import appkeys as keys
from gateway.service.cluster import channel
from gateway.service.sms import OutboxSender, SmsWorker
from gateway.store.sms_queue import STATUS_CHANNEL, SmsQueue
from tests.conftest import make_config

POLICY = RetryPolicy(first_delay=2.0, factor=2.0, max_delay=10.0, max_attempts=4)


def test_backoff_doubles_up_to_the_cap_then_gives_up() -> None:
    transient = Outcome("transient", reason="sms.provider_unavailable")
    waits = [after_attempt(transient, n, 100.0, POLICY).retry_at for n in (1, 2, 3)]
    assert waits == [102.0, 104.0, 108.0]
    assert RetryPolicy(max_delay=10.0).delay(9) == 10.0
    last = after_attempt(transient, 4, 100.0, POLICY)
    assert (last.status, last.reason) == ("failed", "sms.retries_exhausted")


def test_permanent_is_given_up_at_once_and_statuses_only_move_forward() -> None:
    refused = after_attempt(Outcome("permanent", reason="sms.unreachable"), 1, 0.0, POLICY)
    assert (refused.status, refused.retry_at) == ("failed", None)
    assert after_attempt(Outcome("sent"), 1, 0.0, POLICY).status == "sent"
    assert moves_forward("sent", "delivered") and moves_forward("sending", "sent")
    assert not moves_forward("delivered", "sent") and not moves_forward("failed", "delivered")


class Scripted:
    """A transport that answers from a list, and counts what it really handed over."""

    def __init__(self, answers: list[Outcome]) -> None:
        self.answers, self.delivered = answers, []

    async def deliver(self, msg_id: str, to: str, text: str) -> Outcome:
        outcome = self.answers.pop(0) if self.answers else Outcome("sent", provider_id=msg_id)
        if outcome.kind == "sent":
            self.delivered.append((msg_id, to, text))
        return outcome


async def test_transient_failures_are_retried_after_the_backoff(redis: aioredis.Redis) -> None:
    now = [1000.0]
    queue = SmsQueue(redis)
    transport = Scripted([Outcome("transient"), Outcome("transient")])
    worker = SmsWorker(queue, transport, "gw_a", POLICY, lease=30, clock=lambda: now[0])
    msg_id = await queue.enqueue("+33612345678", "Code : 123456", now[0], call="c1")
    assert await worker.run_once() == 1  # fails, due again at +2 s
    assert (await queue.get(msg_id))["status"] == "queued"
    now[0] += 1.9
    assert await worker.run_once() == 0  # not yet
    now[0] += 0.2
    assert await worker.run_once() == 1  # fails, due again at +4 s
    now[0] += 4.1
    assert await worker.run_once() == 1
    record = await queue.get(msg_id)
    assert record["status"] == "sent" and record["attempts"] == "3"
    assert "text" not in record and "to" not in record  # only the status is kept
    assert record["to_masked"] == "+33 6 •• •• •• 78"
    assert transport.delivered == [(msg_id, "+33612345678", "Code : 123456")]


async def test_a_permanent_refusal_is_not_tried_again(redis: aioredis.Redis) -> None:
    now = [0.0]
    queue = SmsQueue(redis)
    transport = Scripted([Outcome("permanent", reason="sms.unreachable")])
    worker = SmsWorker(queue, transport, "gw_a", POLICY, clock=lambda: now[0])
    msg_id = await queue.enqueue("+33612345678", "Code : 654321", now[0])
    await worker.run_once()
    now[0] += 1000
    assert await worker.run_once() == 0
    record = await queue.get(msg_id)
    assert (record["status"], record["reason"]) == ("failed", "sms.unreachable")
    assert "text" not in record and transport.delivered == []


async def test_three_processes_send_each_message_once(redis_url: str, tmp_path: Path) -> None:
    clients = [aioredis.from_url(redis_url, decode_responses=True) for _ in range(3)]
    try:
        await clients[0].flushdb()
        outbox = tmp_path / "outbox.jsonl"
        workers = [
            SmsWorker(SmsQueue(c), OutboxSender(outbox), f"gw_{i}", POLICY, poll=0.05)
            for i, c in enumerate(clients)
        ]
        queue = SmsQueue(clients[0])
        ids = [await queue.enqueue(f"+336000000{i:02d}", f"n{i}", 0.0) for i in range(30)]
        for w in workers:
            w.start()
        async with asyncio.timeout(10):
            while len(outbox.read_text().splitlines() if outbox.exists() else []) < 30:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # any second send would land by now
        for w in workers:
            await w.stop()
        lines = [json.loads(x) for x in outbox.read_text().splitlines()]
        assert sorted(x["id"] for x in lines) == sorted(ids)
        assert {(await queue.get(i))["status"] for i in ids} == {"sent"}
    finally:
        for c in clients:
            await c.aclose()


async def test_a_lost_lease_is_taken_over_with_the_same_idempotency_key(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    """A process that died after writing but before settling: the next one does not resend."""
    now = [0.0]
    queue = SmsQueue(redis)
    outbox = tmp_path / "outbox.jsonl"
    msg_id = await queue.enqueue("+33612345678", "Code : 111111", now[0])
    [claimed] = await queue.claim("gw_dead", now[0], lease=5)
    await OutboxSender(outbox).deliver(claimed.id, claimed.to, claimed.text)  # then it died
    survivor = SmsWorker(queue, OutboxSender(outbox), "gw_b", POLICY, clock=lambda: now[0])
    assert await survivor.run_once() == 0  # the lease still holds
    now[0] += 5.1
    assert await survivor.run_once() == 1
    assert len(outbox.read_text().splitlines()) == 1
    record = await queue.get(msg_id)
    assert (record["status"], record["owner"], record["attempts"]) == ("sent", "gw_b", "2")
    # The dead process's late settle changes nothing.
    late = after_attempt(Outcome("transient"), 1, now[0], POLICY)
    assert not await queue.settle(msg_id, "gw_dead", late, now[0])
    assert (await queue.get(msg_id))["status"] == "sent"


async def test_an_unwritable_outbox_is_a_transient_failure(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    queue = SmsQueue(redis)
    worker = SmsWorker(queue, OutboxSender(blocker / "out.jsonl"), "gw_a", POLICY)
    msg_id = await queue.enqueue("+33612345678", "x", 0.0)
    await worker.run_once()
    record = await queue.get(msg_id)
    assert record["status"] == "queued" and record["reason"].startswith("sms.outbox_unwritable")


async def test_the_kiosk_is_told_the_sms_was_sent(gateway_factory) -> None:  # type: ignore[no-untyped-def]
    """The status reaches the kiosk over its signaling socket and the call's events."""
    from tests.callkit import Client, seeded, start_calling

    gateway = await gateway_factory()
    demo = await seeded(gateway)
    import aiohttp

    async with aiohttp.ClientSession() as http:
        kiosk = Client(gateway.base_url, http)
        try:
            await start_calling(kiosk, gateway, demo)
            msg = await kiosk.expect("sms", status="sent", timeout=10)
            assert msg["message"] == "SMS envoyé"
            engine = gateway.app[keys.ENGINE]
            [call] = engine.calls.values()
            async with asyncio.timeout(5):
                while "SmsStatus" not in [e["type"] for e in await engine.events(call.id)]:
                    await asyncio.sleep(0.05)
        finally:
            await kiosk.close()


async def test_a_stopped_gateway_leaves_no_subscriber(
    tmp_path: Path, redis_url: str, redis: aioredis.Redis
) -> None:
    # The SMS status feed and the cluster channel are subscriptions: once the process has stopped
    # neither may still listen (nor subscribe again), or the next process's loop never closes.
    running = await start(make_config(tmp_path, redis_url))
    feeds = [STATUS_CHANNEL, channel(running.app[keys.ENGINE].owner)]
    for _ in range(50):  # the feed subscribes from a task of its own
        if [n for _, n in await redis.pubsub_numsub(*feeds)] == [1, 1]:
            break
        await asyncio.sleep(0.1)
    assert [n for _, n in await redis.pubsub_numsub(*feeds)] == [1, 1]
    await running.stop()
    for _ in range(3):  # the old feed subscribed again a second after an error
        assert [n for _, n in await redis.pubsub_numsub(*feeds)] == [0, 0]
        await asyncio.sleep(0.6)
