"""Booking notices: their texts (one GSM-7 segment, nothing but a date and a time), the rules,
and the real thing: bookings made and cancelled through the desk API of a real gateway, the SMS
counted in its outbox; reminders with an injected clock, three notifiers on one real Redis."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from string import Formatter
from typing import Any

from gateway.core import booking_sms
from gateway.core.booking_sms import NoticeFacts, should_send
from gateway.core.i18n import MESSAGES
from gateway.core.sms_text import segments
from gateway.http import appkeys as keys
from gateway.store.sanctions import Sanctions

from .callkit import seeded
from .staffkit import staff_http

START = datetime(2026, 8, 17, 14, 30)


def test_every_notice_is_one_gsm7_segment_without_money_or_place() -> None:
    for kind in ("booked", "reminder", "cancelled"):
        for lang in ("fr", "en"):
            text = booking_sms.text(kind, START, 30, lang)  # type: ignore[arg-type]
            assert segments(text).encoding == "gsm7", (kind, lang, text)
            assert segments(text).count == 1, (kind, lang, len(text))
            assert "17/08/2026" in text and "14h30" in text
            # Nothing but the date, the time and the lead goes in: no money, no place, no name.
            template = MESSAGES[f"sms.booking.{kind}"][lang]
            fields = {f for _, f, _, _ in Formatter().parse(template) if f}
            assert fields <= {"date", "time", "minutes"}, fields
            assert "€" not in text and "Établissement" not in text
    assert "code à 6 chiffres" in booking_sms.text("booked", START, 30)
    assert {"fr", "en"} <= set(MESSAGES["sms.booking.reminder"])


def test_the_rules() -> None:
    base = NoticeFacts(True, "booked", "booked", 10_000.0, 1_000.0, False, 1800.0)
    assert should_send(base)
    assert not should_send(NoticeFacts(False, "booked", "booked", 10_000.0, 1_000.0, False))
    assert not should_send(NoticeFacts(True, "booked", "booked", 10_000.0, 1_000.0, True))
    early = NoticeFacts(True, "reminder", "booked", 10_000.0, 8_000.0, False, 1800.0)
    due = NoticeFacts(True, "reminder", "booked", 10_000.0, 8_300.0, False, 1800.0)
    gone = NoticeFacts(True, "reminder", "cancelled", 10_000.0, 8_300.0, False, 1800.0)
    assert (should_send(early), should_send(due), should_send(gone)) == (False, True, False)
    assert should_send(NoticeFacts(True, "cancelled", "cancelled", 10_000.0, 8_300.0, False))
    assert not should_send(NoticeFacts(True, "cancelled", "booked", 10_000.0, 8_300.0, False))


def _outbox(gateway: Any) -> list[dict[str, Any]]:
    path = gateway.config.outbox_path
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def _wait_outbox(gateway: Any, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    async with asyncio.timeout(timeout):
        while len(_outbox(gateway)) < count:
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # and no more than that
    return _outbox(gateway)


async def test_booked_cancelled_and_reminded_once(gateway_factory, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    gateway = await gateway_factory(sms_booking_notices=True, sms_poll_seconds=0.1, quota_count=10)
    demo = await seeded(gateway)
    desk = gateway.app[keys.DESK]
    now = time.time()
    slots = [
        s
        for s in await desk.establishment_slots(date.today() + timedelta(days=3), 10, now)
        if s.bookable
    ]
    starts = [s.start for s in slots[:3]]
    mother, son = "corr_demo", "corr_demo_2"
    made = []
    async with staff_http(gateway) as http:
        for start, corr in zip(starts, (mother, mother, son), strict=True):
            body = {"detainee": demo["detainee"], "correspondent": corr,
                    "kiosk": gateway.config.kiosk_id, "start": start.isoformat()}  # fmt: skip
            async with http.post(f"{gateway.base_url}/api/desk/bookings", json=body) as resp:
                assert resp.status == 201, await resp.text()
                made.append((await resp.json())["id"])
        sent = await _wait_outbox(gateway, 3)
        assert [m["to"] for m in sent] == ["+33612345678", "+33612345678", "+33698765432"]
        assert all("Vous recevrez un code à 6 chiffres" in m["text"] for m in sent)
        # The second booking is cancelled: one cancellation SMS, even if cancelled twice.
        for _ in range(2):
            url = f"{gateway.base_url}/api/desk/bookings/{made[1]}/cancel"
            async with http.post(url, json={"reason": "Transfert"}) as resp:
                assert resp.status == 200, await resp.text()
        sent = await _wait_outbox(gateway, 4)
        assert len(sent) == 4 and "est annulée" in sent[3]["text"]
    # The son's number is sanctioned now: his reminder must not go.
    await Sanctions(gateway.app[keys.REDIS]).sanction_number(
        "+33698765432", now, now + 30 * 86400, "test", "test"
    )
    # Three processes, each its own notifier and Redis connection, the same injected clock
    # stepped minute by minute from before the first slot to past the last, started together.
    first = min(s.timestamp() for s in starts) - 3 * 3600.0
    last = max(s.timestamp() for s in starts) + 60.0
    go_at = time.time() + 2.0
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.reminder_proc",
            redis_url,
            str(first),
            str(last),
            str(go_at),
            stdout=asyncio.subprocess.PIPE,
            cwd=str(Path(__file__).parent.parent),
        )  # fmt: skip
        for _ in range(3)
    ]
    outputs = [await asyncio.wait_for(p.communicate(), 60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    counts = sorted(int(out.decode()) for out, _ in outputs)
    queued = sum(counts)
    assert queued == 1  # the mother's remaining booking only: not the cancelled, not the son
    sent = await _wait_outbox(gateway, 5)
    assert len(sent) == 5
    reminder = sent[4]
    assert reminder["to"] == "+33612345678" and "rappel" in reminder["text"]
    assert (
        "dans 30 min" in reminder["text"]
        and desk.local(starts[0].timestamp()).strftime("%Hh%M") in reminder["text"]
    )


async def test_a_notice_that_could_not_be_queued_is_sent_on_the_next_pass(  # type: ignore[no-untyped-def]
    gateway_factory, redis
) -> None:
    """Claim and queueing are one script: a queue that refuses the message leaves the claim free,
    so the next pass queues the reminder (before, the claim was taken first and it was lost)."""
    from gateway.http.sms_api import BOOKING_NOTICES

    gateway = await gateway_factory(
        sms_booking_notices=True, sms_poll_seconds=0.1, quota_count=10
    )
    demo = await seeded(gateway)
    desk = gateway.app[keys.DESK]
    day = date.today() + timedelta(days=3)
    [slot, *_] = [s for s in await desk.establishment_slots(day, 10, time.time()) if s.bookable]
    async with staff_http(gateway) as http:
        body = {"detainee": demo["detainee"], "correspondent": "corr_demo",
                "kiosk": gateway.config.kiosk_id, "start": slot.start.isoformat()}  # fmt: skip
        async with http.post(f"{gateway.base_url}/api/desk/bookings", json=body) as resp:
            assert resp.status == 201, await resp.text()
    await _wait_outbox(gateway, 1)  # the "booked" notice
    notices = gateway.app[BOOKING_NOTICES]
    ten_before = slot.start.timestamp() - 600
    due = "parloir:sms:due"
    saved = await redis.zrange(due, 0, -1, withscores=True)
    await redis.delete(due)
    await redis.set(due, "not a sorted set")  # the queue cannot take a message now
    try:
        assert await notices.remind(ten_before) == 0
    finally:
        await redis.delete(due)
        if saved:
            await redis.zadd(due, dict(saved))
    assert not await redis.keys("parloir:smsnotice:*:reminder")  # the claim is still free
    assert await notices.remind(ten_before + 60) == 1
    assert await notices.remind(ten_before + 120) == 0  # and then taken, with the message
    sent = await _wait_outbox(gateway, 2)
    assert len(sent) == 2 and "rappel" in sent[1]["text"]
