"""The SMS queue: its rules with a fake clock, then against a real Redis with real workers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import redis.asyncio as aioredis

from gateway.cli import start
from gateway.core.i18n import MESSAGES
from gateway.core.sms_queue import (
    EARLY_RECEIPT_SECONDS,
    Decision,
    Outcome,
    RetryPolicy,
    after_attempt,
    claim_limit,
    failure_kind,
    moves_forward,
    offers_new_code,
    renew_every,
    status_message,
)
from gateway.http import appkeys as keys
from gateway.service.cluster import channel
from gateway.service.sms import OutboxSender, SmsWorker
from gateway.store.keys import PREFIX
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


def test_a_claim_takes_no_more_than_half_a_lease_can_send() -> None:
    assert renew_every(30.0) == 10.0
    assert claim_limit(30.0, 0.0) == 10  # no throttle: the window bounds what is in flight
    assert claim_limit(30.0, 0.1) == 1  # one every 10 s: one per claim, kept by renewals
    assert claim_limit(30.0, 0.5) == 7
    assert claim_limit(30.0, 100.0) == 10


def test_each_failure_has_its_own_words_and_a_new_code_only_where_it_helps() -> None:
    cases = {
        "sms.unreachable": ("unreachable", False),  # SMPP RINVDSTADR, HTTPS 400/404/422
        "sms.refused": ("refused", False),  # SMPP RX_P_APPN, REJECTD receipts
        "sms.refused:409": ("refused", False),
        "sms.refused:401": ("account", False),  # the provider refuses the prison's token
        "sms.refused:403": ("account", False),
        "sms.retries_exhausted": ("retries", True),  # an outbox or a link that stayed down
        "sms.expired": ("expired", True),  # EXPIRED receipt
        "sms.undeliverable": ("undelivered", True),  # UNDELIV, DELETED receipts
        "": ("other", False),
    }
    assert {r: (failure_kind(r), offers_new_code("failed", r)) for r in cases} == cases
    assert not offers_new_code("sent", "sms.retries_exhausted")
    assert status_message("failed", "sms.expired") == "sms.failed.expired"
    assert status_message("delivered", "") == "sms.status.delivered"
    sentences = set()
    for kind, _ in cases.values():
        texts = MESSAGES[f"sms.failed.{kind}"]
        assert texts["fr"].startswith("échec") and texts["en"].startswith("failed")
        sentences.add(texts["fr"])
    assert len(sentences) == len({k for k, _ in cases.values()})  # each its own sentence


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


class Held:
    """A transport whose send lasts until the test releases it (an operator's slow throttle)."""

    def __init__(self, released: bool = False) -> None:
        self.started, self.release = asyncio.Event(), asyncio.Event()
        if released:
            self.release.set()
        self.delivered: list[str] = []

    async def deliver(self, msg_id: str, to: str, text: str) -> Outcome:
        self.started.set()
        await self.release.wait()
        self.delivered.append(msg_id)
        return Outcome("sent", provider_id=msg_id)


async def _two_queues(redis_url: str) -> list[aioredis.Redis]:
    return [aioredis.from_url(redis_url, decode_responses=True) for _ in range(2)]


async def test_a_send_that_outlasts_its_lease_is_sent_once(
    redis: aioredis.Redis, redis_url: str
) -> None:
    """Two processes, one clock: A's send lasts four leases; B, polling meanwhile, never takes
    it because A renews the lease while it sends."""
    ca, cb = await _two_queues(redis_url)
    try:
        now = [1000.0]
        slow_a, fast_b = Held(), Held(released=True)
        a = SmsWorker(SmsQueue(ca), slow_a, "gw_a", POLICY, lease=30, clock=lambda: now[0],
                      renew_interval=0.05)  # fmt: skip
        b = SmsWorker(SmsQueue(cb), fast_b, "gw_b", POLICY, lease=30, clock=lambda: now[0])
        msg_id = await SmsQueue(redis).enqueue("+33612345678", "Code : 424242", now[0])
        run_a = asyncio.create_task(a.run_once())
        await asyncio.wait_for(slow_a.started.wait(), 10)
        for _ in range(6):  # 6 × 20 s = 120 s, four leases
            now[0] += 20
            async with asyncio.timeout(10):  # A's next renewal moves the lease past the clock
                while (await redis.zscore(f"{PREFIX}sms:leased", msg_id) or 0) < now[0] + 29:
                    await asyncio.sleep(0.02)
            assert await b.run_once() == 0
        slow_a.release.set()
        assert await asyncio.wait_for(run_a, 10) == 1
        now[0] += 100
        assert await b.run_once() == 0
        assert (slow_a.delivered, fast_b.delivered) == ([msg_id], [])
        record = await SmsQueue(redis).get(msg_id)
        assert (record["status"], record["owner"], record["attempts"]) == ("sent", "gw_a", "1")
        assert await redis.zcard(f"{PREFIX}sms:leased") == 0
    finally:
        for c in (ca, cb):
            await c.aclose()


async def test_a_send_whose_lease_was_taken_over_is_abandoned(
    redis: aioredis.Redis, redis_url: str
) -> None:
    """A stalls past its lease (its clock stands still, as when Redis was out of reach); B takes
    the message over and sends it; A's next renewal finds it lost and drops its own send."""
    ca, cb = await _two_queues(redis_url)
    try:
        now = [1000.0]
        slow_a, fast_b = Held(), Held(released=True)
        a = SmsWorker(SmsQueue(ca), slow_a, "gw_a", POLICY, lease=30, clock=lambda: 1000.0,
                      renew_interval=0.05)  # fmt: skip
        b = SmsWorker(SmsQueue(cb), fast_b, "gw_b", POLICY, lease=30, clock=lambda: now[0])
        msg_id = await SmsQueue(redis).enqueue("+33612345678", "Code : 434343", now[0])
        run_a = asyncio.create_task(a.run_once())
        await asyncio.wait_for(slow_a.started.wait(), 10)
        now[0] += 31
        assert await b.run_once() == 1  # A's lease (renewed to 1030 at most) ran out
        assert await asyncio.wait_for(run_a, 10) == 1  # A's renewal cancelled its send
        slow_a.release.set()
        await asyncio.sleep(0.1)
        assert (slow_a.delivered, fast_b.delivered) == ([], [msg_id])
        record = await SmsQueue(redis).get(msg_id)
        assert (record["status"], record["owner"], record["attempts"]) == ("sent", "gw_b", "2")
    finally:
        for c in (ca, cb):
            await c.aclose()


async def test_a_receipt_before_its_id_is_kept_a_minute_then_applied(
    redis: aioredis.Redis,
) -> None:
    queue = SmsQueue(redis)
    msg_id = await queue.enqueue("+33612345678", "Code : 515151", 0.0)
    [claimed] = await queue.claim("gw_a", 0.0, lease=30)
    assert await queue.receipt("op-1", "delivered", "", 1.0) is None  # the id is not stored yet
    assert 0 < await redis.ttl(f"{PREFIX}smsearly:op-1") <= EARLY_RECEIPT_SECONDS == 60
    assert (await queue.get(msg_id))["status"] == "sending"
    assert await queue.settle(msg_id, "gw_a", Decision("sent"), 2.0, provider_id="op-1")
    record = await queue.get(msg_id)
    assert (record["status"], record["provider_id"]) == ("delivered", "op-1")
    assert not await redis.exists(f"{PREFIX}smsearly:op-1")
    # A receipt nobody's id claims changes nothing and goes after its minute.
    assert await queue.receipt("op-unknown", "failed", "sms.expired", 3.0) is None
    assert 0 < await redis.ttl(f"{PREFIX}smsearly:op-unknown") <= 60
    assert (await queue.get(msg_id))["status"] == "delivered"
    # Later receipts match straight away.
    assert await queue.receipt("op-1", "failed", "sms.expired", 4.0) == msg_id


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


async def test_the_status_feed_listens_before_the_gateway_serves(
    tmp_path: Path, redis_url: str, redis: aioredis.Redis
) -> None:
    """Pub/sub keeps nothing: a status published before the feed subscribed would never reach
    the kiosk (CI once lost the first "SMS envoyé" so). Once start() returns, it listens."""
    running = await start(make_config(tmp_path, redis_url))
    try:
        [(_, listening)] = await redis.pubsub_numsub(STATUS_CHANNEL)
        assert listening == 1
    finally:
        await running.stop()


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
