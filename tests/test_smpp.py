"""SMPP for real: the gateway's client against the tests' own SMSC (tests/smsc.py) over TCP on
loopback, with a real Redis queue; then the kiosk page (headless Chromium) on an SMPP gateway."""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

from gateway.core.sms_queue import RetryPolicy, offers_new_code
from gateway.service.smpp import SmppSender, SmppSettings
from gateway.service.sms import SmsWorker
from gateway.store.sms_queue import SmsQueue
from tests.smsc import Smsc

from .browser import chromium, screenshot
from .test_sms_kiosk_browser import _call

REFUSED = "+33699999999"


def _settings(smsc: Smsc, **changes: object) -> SmppSettings:
    values: dict[str, object] = {
        "host": "127.0.0.1", "port": smsc.port, "system_id": "parloir", "password": "secret",
        "window": 4, "enquire_seconds": 0.3, "response_seconds": 5.0, "bind_wait_seconds": 10.0,
    }  # fmt: skip
    values.update(changes)
    return SmppSettings(**values)  # type: ignore[arg-type]


async def _settled(queue: SmsQueue, ids: list[str], timeout: float = 30.0) -> dict[str, dict]:
    async with asyncio.timeout(timeout):
        while True:
            got = {i: await queue.get(i) for i in ids}
            if all(v["status"] in ("delivered", "failed") for v in got.values()):
                return got
            await asyncio.sleep(0.1)


async def test_every_code_once_across_a_drop_refusal_and_receipts(redis: aioredis.Redis) -> None:
    queue = SmsQueue(redis)

    async def on_receipt(provider_id: str, status: str, reason: str) -> None:
        await queue.receipt(provider_id, status, reason, time.time())

    async with Smsc(refuse={REFUSED.lstrip("+")}, drop_after=3) as smsc:
        sender = SmppSender(_settings(smsc), on_receipt)
        policy = RetryPolicy(first_delay=0.2, max_delay=1.0, max_attempts=8)
        worker = SmsWorker(queue, sender, "gw_a", policy, lease=30, poll=0.1)
        texts = [f"Parloir : code {100000 + i}" for i in range(11)]
        texts.append("Parloir : code 200000, reçu ? ")  # ç is not GSM-7: UCS-2
        ids = [
            await queue.enqueue(f"+336123456{i:02d}", t, time.time()) for i, t in enumerate(texts)
        ]
        refused = await queue.enqueue(REFUSED, "Parloir : code 999999", time.time())
        worker.start()
        try:
            got = await _settled(queue, [*ids, refused])
        finally:
            await worker.stop()
        # Every code taken by the SMSC exactly once, although the link dropped with some in flight.
        assert {t: smsc.taken[t] for t in texts} == dict.fromkeys(texts, 1)
        assert smsc.drops == 1 and smsc.binds == 2
        assert smsc.submits > len(texts)  # some had been written when the link dropped
        # The refused destination is given up at once, as unreachable, never retried.
        assert (got[refused]["status"], got[refused]["reason"]) == ("failed", "sms.unreachable")
        assert got[refused]["attempts"] == "1"
        # Every receipt came back (also those queued by the SMSC across the drop): "remis".
        assert [got[i]["status"] for i in ids] == ["delivered"] * len(ids)
        assert all("text" not in got[i] and "to" not in got[i] for i in ids)
        assert smsc.enquiries >= 1  # the keep-alive ran


async def test_a_receipt_that_overtakes_its_answer_is_kept_and_applied(
    redis: aioredis.Redis,
) -> None:
    """The SMSC writes each receipt before the submit_sm_resp carrying the id it refers to: the
    queue cannot match it yet, keeps it, and applies it once the id is stored."""
    queue = SmsQueue(redis)
    receipts: list[str | None] = []

    async def on_receipt(provider_id: str, status: str, reason: str) -> None:
        receipts.append(await queue.receipt(provider_id, status, reason, time.time()))

    async with Smsc(receipt_first=True) as smsc:
        sender = SmppSender(_settings(smsc), on_receipt)
        worker = SmsWorker(queue, sender, "gw_a", RetryPolicy(), lease=30, poll=0.1)
        texts = [f"Parloir : code {300000 + i}" for i in range(3)]
        ids = [
            await queue.enqueue(f"+336123456{i:02d}", t, time.time()) for i, t in enumerate(texts)
        ]
        worker.start()
        try:
            got = await _settled(queue, ids, timeout=15)
        finally:
            await worker.stop()
    assert receipts == [None, None, None]  # each came before its id was known
    assert [got[i]["status"] for i in ids] == ["delivered"] * 3
    assert {t: smsc.taken[t] for t in texts} == dict.fromkeys(texts, 1)
    assert not await redis.keys("parloir:smsearly:*")  # taken when applied


async def test_expired_and_undelivered_receipts_fail_with_their_reason(
    redis: aioredis.Redis,
) -> None:
    queue = SmsQueue(redis)

    async def on_receipt(provider_id: str, status: str, reason: str) -> None:
        await queue.receipt(provider_id, status, reason, time.time())

    stats = {"33611110001": "EXPIRED", "33611110002": "UNDELIV", "33611110003": "REJECTD"}
    async with Smsc(receipt_stats=stats, receipt_delay=0.0) as smsc:
        worker = SmsWorker(queue, SmppSender(_settings(smsc), on_receipt), "gw_a", RetryPolicy(),
                           poll=0.1)  # fmt: skip
        ids = [await queue.enqueue(f"+{n}", f"Parloir : code {n[-6:]}", time.time()) for n in stats]
        worker.start()
        try:
            got = await _settled(queue, ids, timeout=15)
        finally:
            await worker.stop()
    reasons = [(got[i]["status"], got[i]["reason"]) for i in ids]
    assert reasons == [("failed", "sms.expired"), ("failed", "sms.undeliverable"),
                       ("failed", "sms.refused")]  # fmt: skip
    # What the kiosk is told: a new code for the first two, not for a refusal.
    assert [offers_new_code(s, r) for s, r in reasons] == [True, True, False]


async def test_no_bind_with_a_wrong_password_and_sends_wait_transient(
    redis: aioredis.Redis,
) -> None:
    async with Smsc() as smsc:
        sender = SmppSender(_settings(smsc, password="wrong", bind_wait_seconds=0.5))
        sender.start()
        try:
            outcome = await sender.deliver("sms_x", "+33612345678", "Parloir : code 123456")
        finally:
            await sender.stop()
        assert (outcome.kind, outcome.reason) == ("transient", "sms.smpp_unbound")
        assert smsc.binds == 0 and not smsc.taken


def _smpp(smsc: Smsc) -> dict[str, object]:
    return {
        "sms_sender": "smpp", "sms_smpp_host": "127.0.0.1", "sms_smpp_port": smsc.port,
        "sms_smpp_system_id": "parloir", "sms_smpp_password": "secret",
        "sms_poll_seconds": 0.2,
    }  # fmt: skip


async def test_the_kiosk_shows_the_receipt_as_delivered(gateway_factory) -> None:  # type: ignore[no-untyped-def]
    async with Smsc() as smsc:
        gateway = await gateway_factory(**_smpp(smsc))
        async with chromium() as browser:
            kiosk, errors = await _call(gateway, browser)
            await kiosk.wait_for_selector("#sms-status[data-status=delivered]", timeout=15_000)
            assert await kiosk.inner_text("#sms-status") == "SMS remis au téléphone"
            await screenshot(kiosk, "kiosk-smpp-delivered")
            assert errors == []
        assert sum(smsc.taken.values()) == 1


async def test_a_refused_number_reaches_the_kiosk_page(gateway_factory) -> None:  # type: ignore[no-untyped-def]
    async with Smsc(refuse={"33612345678"}) as smsc:  # the demo relative's number
        gateway = await gateway_factory(**_smpp(smsc))
        async with chromium() as browser:
            kiosk, errors = await _call(gateway, browser)
            await kiosk.wait_for_selector("#sms-status[data-status=failed]", timeout=15_000)
            assert await kiosk.inner_text("#sms-status") == "échec : numéro injoignable"
            # The operator refused the number: no second code to that number (kiosk.js).
            assert not await kiosk.is_visible("#new-code")
            await screenshot(kiosk, "kiosk-smpp-refused")
            assert errors == []
        assert smsc.submits == 1 and not smsc.taken
