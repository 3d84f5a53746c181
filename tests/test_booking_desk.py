"""The booking desk against a real Redis: rules, atomic kiosk claim, hold, cancel, close."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.config import GatewayConfig
from gateway.http.app import establishment_of
from gateway.store.bookings import BookingDesk, DeskError
from gateway.store.directory import Correspondent, Detainee, Directory, hash_access_code
from gateway.store.ledger import Ledger

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=PARIS).timestamp()  # a Monday
THURSDAY_0830 = datetime(2026, 12, 3, 8, 30, tzinfo=PARIS)
THURSDAY_0930 = datetime(2026, 12, 3, 9, 30, tzinfo=PARIS)
HOLD = 14 + 30 * 30  # off-plan fee + 30 minutes at 30 c


def make_desk(redis: aioredis.Redis, **config: object) -> BookingDesk:
    changes: dict[str, object] = {"kiosks": ("kiosk-1=Salle 1", "kiosk-2=Salle 2")}
    changes.update(config)
    est = establishment_of(GatewayConfig(**changes))  # type: ignore[arg-type]
    return BookingDesk(redis, Directory(redis), Ledger(redis, tariffs=est.tariffs), est)


async def people(desk: BookingDesk, number: str = "100001", credit: int = 5000) -> None:
    directory = desk.directory
    await directory.put_detainee(
        Detainee(
            number=number,
            first_name="Jean",
            last_name="Martin",
            code_hash=hash_access_code("1234"),
            charter_signed_at=NOW - 86400,
            charter_signed_by="agent",
        )
    )
    await directory.put_correspondent(
        Correspondent(id=f"c{number}", detainee=number, name="Marie", phone="+33612345678")
    )
    if credit:
        await desk.ledger.credit(number, credit, "regie", f"init-{number}", int(NOW * 1000))


async def book(desk: BookingDesk, start: datetime = THURSDAY_0830, number: str = "100001",
               kiosk: str = "kiosk-1", guard: str = "agent A"):  # fmt: skip
    return await desk.book(
        detainee=number, correspondent=f"c{number}", kiosk=kiosk, start=start, guard=guard,
        now=NOW,
    )  # fmt: skip


async def test_booking_holds_the_most_the_call_can_cost(redis: aioredis.Redis) -> None:
    desk = make_desk(redis)
    await people(desk)
    booking = await book(desk)
    assert booking.hold == HOLD and booking.status == "booked"
    assert booking.end - booking.start == 45 * 60
    assert booking.receipt == "2026-000001"
    account = await desk.ledger.account("100001")
    assert (account.balance, account.held) == (5000, HOLD)
    stored = await desk.directory.booking(booking.id)
    assert stored == booking


async def test_refusals_change_nothing(redis: aioredis.Redis) -> None:
    desk = make_desk(redis)
    await people(desk, credit=HOLD - 1)
    with pytest.raises(DeskError) as refused:
        await book(desk)
    assert refused.value.reason == "booking.insufficient_credit"
    assert refused.value.details == {"needed": HOLD, "available": HOLD - 1}
    assert "9,14 €" in refused.value.message_fr
    sunday = datetime(2026, 12, 6, 8, 30, tzinfo=PARIS)
    with pytest.raises(DeskError) as refused:
        await book(desk, sunday)
    assert refused.value.reason == "booking.sunday"
    with pytest.raises(DeskError) as refused:
        await book(desk, datetime(2026, 12, 1, 8, 30, tzinfo=PARIS))  # Tuesday: too late
    assert refused.value.reason == "booking.too_late"
    assert await desk.directory.bookings_of("100001") == []
    assert (await desk.ledger.account("100001")).held == 0
    assert await redis.keys("parloir:kioskslot:*") == []


async def test_two_guards_same_kiosk_same_slot_make_one_booking(
    redis: aioredis.Redis, redis_url: str
) -> None:
    desk = make_desk(redis)
    numbers = [f"2000{i:02d}" for i in range(8)]
    for number in numbers:
        await people(desk, number)
    # Separate clients: separate connections, so the WATCHes really race.
    clients = [aioredis.from_url(redis_url, decode_responses=True) for _ in numbers]
    try:
        desks = [make_desk(c) for c in clients]
        results = await asyncio.gather(
            *(book(d, number=n) for d, n in zip(desks, numbers, strict=True)),
            return_exceptions=True,
        )
    finally:
        for c in clients:
            await c.aclose()
    booked = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, DeskError)]
    assert len(booked) == 1, results
    assert len(refused) == 7 and {r.reason for r in refused} == {"booking.kiosk_busy"}
    held = [(await desk.ledger.account(n)).held for n in numbers]
    assert sorted(held) == [0] * 7 + [HOLD]
    assert await redis.get(desk.kiosk_key("kiosk-1", booked[0].start)) == booked[0].id


async def test_quota_counts_booked_not_cancelled(redis: aioredis.Redis) -> None:
    desk = make_desk(redis)
    await people(desk)
    first = await book(desk)
    with pytest.raises(DeskError) as refused:
        await book(desk, THURSDAY_0930, kiosk="kiosk-2")
    assert refused.value.reason == "booking.quota"
    cancelled = await desk.cancel(first.id, "agent B", "transfert", NOW + 60)
    assert cancelled.status == "cancelled" and cancelled.cancel_reason == "transfert"
    assert (await desk.ledger.account("100001")).held == 0
    again = await book(desk, THURSDAY_0830, kiosk="kiosk-1")  # the kiosk slot is free again
    assert again.receipt == "2026-000002"
    # Cancelling twice is a no-op; a closed booking cannot be cancelled.
    assert (await desk.cancel(first.id, "agent B", "x", NOW)).cancelled_by == "agent B"
    audit = await desk.ledger.verify("100001")
    assert audit.ok, audit.problems


async def test_close_charges_connected_time_once(redis: aioredis.Redis) -> None:
    desk = make_desk(redis)
    await people(desk)
    booking = await book(desk)
    # Two calls in the slot: the first failed after 61 s, the second ran 5 min.
    assert await desk.add_connected(booking.id, "call_a", 61_000) == 61_000
    assert await desk.add_connected(booking.id, "call_a", 61_000) == 61_000  # replay
    assert await desk.add_connected(booking.id, "call_b", 300_000) == 361_000
    closed = await desk.close(booking.id, booking.end, "gateway")
    assert closed is not None and closed.status == "done"
    assert closed.charged == 14 + 7 * 30  # 361 s: 7 started minutes, fee once
    again = await desk.close(booking.id, booking.end + 5, "gateway")
    assert again == closed
    account = await desk.ledger.account("100001")
    assert (account.balance, account.held) == (5000 - 224, 0)
    assert (await desk.ledger.verify("100001")).ok
    with pytest.raises(DeskError) as refused:
        await desk.cancel(booking.id, "agent", "trop tard", booking.end + 10)
    assert refused.value.reason == "booking.not_cancellable"


async def test_slot_without_connection_costs_nothing(redis: aioredis.Redis) -> None:
    desk = make_desk(redis)
    await people(desk)
    booking = await book(desk)
    await desk.add_connected(booking.id, "call_a", 0)
    closed_ids = await desk.close_overdue(booking.end + 1, set(), "sweeper")
    assert closed_ids == [booking.id]
    closed = await desk.directory.booking(booking.id)
    assert closed is not None and closed.status == "no_answer" and closed.charged == 0
    account = await desk.ledger.account("100001")
    assert (account.balance, account.held) == (5000, 0)
    kinds = [e.kind for e in await desk.ledger.entries("100001")]
    assert kinds == ["credit", "hold", "release"]


async def test_calendar_shows_free_booked_and_closed(redis: aioredis.Redis) -> None:
    desk = make_desk(redis)
    await people(desk)
    booking = await book(desk)
    monday = datetime(2026, 11, 30, tzinfo=PARIS).date()
    week = await desk.kiosk_calendar("kiosk-1", monday, 7, NOW)
    assert [d.closed for d in week] == [None] * 6 + ["sunday"]
    thursday = week[3]
    assert thursday.slots[0].state == "booked" and thursday.slots[0].booking == booking
    assert thursday.slots[1].state == "free"
    assert {s.reason for s in week[0].slots} == {"too_late"}  # Monday, already past deadline
    other = await desk.kiosk_calendar("kiosk-2", monday, 7, NOW)
    assert other[3].slots[0].state == "free"
    listed = await desk.establishment_slots(monday, 7, NOW)
    assert all(s.reason != "full" for s in listed)
    await people(desk, "100002")
    await book(desk, number="100002", kiosk="kiosk-2")
    listed = await desk.establishment_slots(monday, 7, NOW)
    assert [s.reason for s in listed if s.start == THURSDAY_0830] == ["full"]


async def test_redis_killed_during_settlements_loses_and_doubles_nothing(tmp_path) -> None:
    """Close 40 bookings while Redis is SIGKILLed mid-way, restart it, close again."""
    from gateway.service.redis_server import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    redis = aioredis.from_url(server.url, decode_responses=True)
    try:
        desk = make_desk(redis)
        await people(desk, credit=100_000)
        bookings = []
        for i in range(40):
            b = await book(desk)
            # A booking per "week" would break the quota: write the next ones as copies.
            bookings.append(b)
            await redis.delete(desk.kiosk_key("kiosk-1", b.start))
            await redis.hset(
                f"parloir:booking:{b.id}", "start", repr(b.start - 86400 * 60 * (i + 1))
            )
            await desk.add_connected(b.id, f"call_{i}", 61_000)
        expected_per_call = 14 + 2 * 30

        async def close_all() -> list[str]:
            done = []
            for b in bookings:
                try:
                    await desk.close(b.id, b.end, "gateway")
                    done.append(b.id)
                except Exception:
                    pass
            return done

        closing = asyncio.create_task(close_all())
        await asyncio.sleep(0.02)
        server.kill()
        first = await closing
        assert len(first) < 40  # the kill did cut the batch
        server.start()
        await redis.aclose()
        redis = aioredis.from_url(server.url, decode_responses=True)
        desk = make_desk(redis)
        for b in bookings:  # the gateway's next round: closing is idempotent
            await desk.close(b.id, b.end, "gateway")
        closed = [await desk.directory.booking(b.id) for b in bookings]
        assert all(c is not None and c.status == "done" for c in closed)
        account = await desk.ledger.account("100001")
        assert account.held == 0
        assert account.balance == 100_000 - 40 * expected_per_call
        entries = await desk.ledger.entries("100001")
        assert sum(e.kind == "charge" for e in entries) == 40
        assert (await desk.ledger.verify("100001")).ok
    finally:
        await redis.aclose()
        server.stop()


SLOT_STARTS = [
    datetime(2026, 12, day, hour, minute, tzinfo=PARIS)
    for day in (3, 4, 9, 16, 23, 30)
    for hour, minute in ((8, 30), (14, 45))
] + [datetime(2027, 1, day, 8, 30, tzinfo=PARIS) for day in (6, 13, 20, 27)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=st.lists(
        st.tuples(st.sampled_from(["book", "cancel"]), st.integers(0, len(SLOT_STARTS) - 1)),
        min_size=1,
        max_size=14,
    )
)
def test_quota_holds_whatever_the_order_of_bookings_and_cancels(redis_url: str, ops) -> None:
    """Against a real Redis: never two counted bookings within 28 days, and the hold follows."""

    async def scenario() -> None:
        client = aioredis.from_url(redis_url, decode_responses=True)
        try:
            await client.flushdb()
            desk = make_desk(client)
            await people(desk, credit=100_000)
            live: list[str] = []
            for op, index in ops:
                if op == "book":
                    try:
                        b = await book(desk, SLOT_STARTS[index])
                        live.append(b.id)
                    except DeskError as exc:
                        assert exc.reason in ("booking.quota", "booking.kiosk_busy")
                elif live:
                    await desk.cancel(live.pop(index % len(live)), "agent", "essai", NOW)
            counted = sorted(
                b.start for b in await desk.directory.bookings_of("100001")
                if b.status == "booked"
            )  # fmt: skip
            days = [datetime.fromtimestamp(s, PARIS).date() for s in counted]
            assert all((b - a).days >= 28 for a, b in zip(days, days[1:], strict=False))
            account = await desk.ledger.account("100001")
            assert account.held == HOLD * len(counted)
            assert (await desk.ledger.verify("100001")).ok
        finally:
            await client.aclose()

    asyncio.run(scenario())
