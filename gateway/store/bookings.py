"""The booking desk's operations in Redis: book, cancel, close and settle, list the calendar.

The rules are decided by :mod:`gateway.core.booking_rules` and prices by
:mod:`gateway.core.pricing`;
this module gathers the facts from Redis, asks them, and writes the outcome in one atomic step:

* **Book**: WATCH the kiosk's slot, the detainee's booking version, the detainee, the
  correspondent and the phone account; read the facts; check every rule and the available
  credit; then one MULTI/EXEC writes the booking, claims the kiosk's slot
  (``kioskslot:{kiosk}:{start}``), bumps the version and takes the hold (the ledger's Lua script
  queued in the same transaction). If anything watched changed meanwhile (another guard booked
  the same kiosk, the account moved) the transaction is retried from fresh facts. So two guards
  booking the same kiosk and slot at the same moment produce exactly one booking, and a booking
  never exists without its hold.
* **Cancel**: the booking turns ``cancelled``, the kiosk's slot is freed and the hold released,
  in one MULTI/EXEC.
* **Calls of a booking**: each call of the booking adds its connected time once
  (``add_connected``, keyed by call id). A call that fails or is cut may be followed by another
  one in the same slot; the connection fee and the rounding apply once per booking.
* **Close**: when the booking's call ended normally, or its slot is over, the booking turns
  ``done`` (some connected time) or ``no_answer`` (none) and, in the same MULTI/EXEC, the hold is
  settled: the cost of the connected time is charged (capped to the hold) and the rest released.
  Closing twice changes nothing.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from gateway.core import reasons
from gateway.core.booking_rules import (
    BookingStatus,
    CorrespondentFacts,
    CorrespondentStatus,
    DetaineeFacts,
    DetaineeStatus,
    ExistingBooking,
    SanctionFacts,
    cancellation,
    check_booking,
    closed_day,
    extension_refusal,
    slots,
)
from gateway.core.establishment import Establishment
from gateway.core.pricing import call_cost, max_hold
from gateway.core.reasons import sentences
from gateway.core.records import Booking, Correspondent, Detainee
from gateway.core.text import clean
from gateway.store.directory import PREFIX, Directory, _dump, _load
from gateway.store.ledger import Ledger, LedgerError
from gateway.store.sanctions import DetaineeSanctions, Sanctions

log = logging.getLogger(__name__)

class DeskError(Exception):
    """A refused desk operation: stable ``reason``, sentences for the guard, HTTP status: the
    table's (:mod:`gateway.core.reasons`), its ``variant`` filled with ``values``, unless
    ``given`` brings the sentences already made (a booking rule's)."""

    def __init__(
        self,
        reason: str,
        variant: str = "",
        *,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        given: tuple[str, str] | None = None,
        **values: object,
    ) -> None:
        self.reason = reason
        self.message_fr, self.message_en = given or sentences(reason, variant, **values)
        self.status = status or reasons.status(reason)
        self.details = details or {}
        super().__init__(f"{reason}: {self.message_fr}")

    def message(self, lang: str) -> str:
        return self.message_en if lang == "en" else self.message_fr


# Adds one call's connected time to its booking, once per call id.
_ADD_CONNECTED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'connected_ms', ARGV[2])
end
return tonumber(redis.call('HGET', KEYS[1], 'connected_ms'))
"""


@dataclass(frozen=True)
class KioskSlot:
    """One slot of a kiosk's calendar."""

    start: datetime
    end: datetime
    deadline: datetime
    state: str
    "``free``, ``booked`` or ``closed``."
    reason: str | None
    "Why closed: ``sunday``, ``holiday``, ``too_late``; or ``None``."
    booking: Booking | None


@dataclass(frozen=True)
class CalendarDay:
    day: date
    closed: str | None
    "``sunday`` or ``holiday`` for a day without calls."
    slots: tuple[KioskSlot, ...]


def _epoch(value: datetime) -> float:
    return value.astimezone(UTC).timestamp()


class BookingDesk:
    def __init__(
        self,
        redis: aioredis.Redis,
        directory: Directory,
        ledger: Ledger,
        establishment: Establishment,
    ) -> None:
        self.redis = redis
        self.directory = directory
        self.ledger = ledger
        self.establishment = establishment
        self._add_connected = redis.register_script(_ADD_CONNECTED)

    # -- keys -------------------------------------------------------------------------------
    @staticmethod
    def kiosk_key(kiosk: str, start: float) -> str:
        return f"{PREFIX}kioskslot:{kiosk}:{int(start)}"

    @staticmethod
    def version_key(number: str) -> str:
        return f"{PREFIX}detainee:{number}:bver"

    def local(self, epoch: float) -> datetime:
        return datetime.fromtimestamp(epoch, self.establishment.zone)

    # -- booking ----------------------------------------------------------------------------
    async def book(
        self,
        *,
        detainee: str,
        correspondent: str,
        kiosk: str,
        start: datetime,
        guard: str,
        now: float,
    ) -> Booking:
        """Book the slot starting at ``start`` (aware) or raise :class:`DeskError`."""
        guard = guard.strip()
        if not guard or len(guard) > 128:
            raise DeskError("booking.bad_guard")
        if kiosk not in self.establishment.rooms:
            raise DeskError("booking.unknown_kiosk")
        start_epoch = _epoch(start)
        receipt = ""
        for _attempt in range(20):
            try:
                return await self._try_book(
                    detainee, correspondent, kiosk, start, start_epoch, guard, now, receipt
                )
            except WatchError:
                continue
            except _NeedReceipt:
                year = self.local(now).year
                seq = await self.redis.incr(f"{PREFIX}receipt:{year}")
                receipt = f"{year}-{seq:06d}"
        raise DeskError("booking.contended")

    async def _try_book(
        self,
        number: str,
        cid: str,
        kiosk: str,
        start: datetime,
        start_epoch: float,
        guard: str,
        now: float,
        receipt: str,
    ) -> Booking:
        est = self.establishment
        kkey = self.kiosk_key(kiosk, start_epoch)
        dkey = f"{PREFIX}detainee:{number}"
        ckey = f"{PREFIX}correspondent:{cid}"
        akey = self.ledger.account_key(number)
        async with self.redis.pipeline(transaction=True) as pipe:
            await pipe.watch(kkey, self.version_key(number), dkey, ckey, akey)
            raw_detainee = await pipe.hgetall(dkey)
            if not raw_detainee:
                raise DeskError("booking.unknown_detainee")
            person = _load(Detainee, raw_detainee)
            raw_corr = await pipe.hgetall(ckey)
            if not raw_corr or raw_corr.get("detainee") != number:
                raise DeskError("booking.unknown_correspondent")
            corr = _load(Correspondent, raw_corr)
            busy = bool(await pipe.exists(kkey))
            ids = await pipe.zrange(f"{PREFIX}detainee:{number}:bookings", 0, -1)
            existing = []
            for bid in ids:
                raw = await pipe.hmget(f"{PREFIX}booking:{bid}", ["start", "status"])
                if raw[0] and raw[1] in set(BookingStatus):
                    existing.append(
                        ExistingBooking(self.local(float(raw[0])), BookingStatus(raw[1]))
                    )
            slot_end = start_epoch + est.call_max_seconds
            sanction = await DetaineeSanctions(self.redis).blocking(number, start_epoch, slot_end)
            refusal = check_booking(
                est.grid,
                start,
                datetime.fromtimestamp(now, UTC),
                bookings=existing,
                detainee=DetaineeFacts(
                    _status(DetaineeStatus, person.status, DetaineeStatus.SUSPENDED),
                    person.charter_signed_at is not None,
                ),
                correspondent=CorrespondentFacts(
                    _status(CorrespondentStatus, corr.status, CorrespondentStatus.SUSPENDED),
                    corr.minor,
                    corr.parental_consent,
                    sanctioned=await Sanctions(self.redis).active_on(corr.phone, now) is not None,
                ),
                kiosk_free=not busy,
                detainee_sanction=None
                if sanction is None
                else SanctionFacts(
                    None
                    if sanction.until == float("inf")
                    else datetime.fromtimestamp(sanction.until, UTC)
                ),
            )
            if refusal is not None:
                raise DeskError(
                    str(refusal.code), given=(refusal.message_fr, refusal.message_en)
                )
            balance, held, tariff_name = await pipe.hmget(akey, ["balance", "held", "tariff"])
            tariff = est.tariffs.get(tariff_name or est.default_tariff)
            max_seconds = est.call_max_seconds
            amount = max_hold(tariff, -(-max_seconds // 60))
            available = int(balance or 0) - int(held or 0)
            if available < amount:
                raise DeskError(
                    "booking.insufficient_credit", "amounts",
                    details={"needed": amount, "available": available},
                    needed=_euros(amount), available=_euros(available),
                )  # fmt: skip
            if not receipt:
                raise _NeedReceipt
            booking = Booking(
                id=f"bk_{secrets.token_hex(6)}",
                detainee=number,
                correspondent=cid,
                kiosk=kiosk,
                start=start_epoch,
                end=_epoch(_slot_end(est, start)),
                receipt=receipt,
                booked_by=guard,
                booked_at=now,
                tariff=tariff.name,
                hold=amount,
                max_seconds=max_seconds,
            )
            pipe.multi()
            pipe.set(kkey, booking.id)
            pipe.hset(f"{PREFIX}booking:{booking.id}", mapping=_dump(booking))
            pipe.zadd(f"{PREFIX}detainee:{number}:bookings", {booking.id: booking.start})
            pipe.zadd(f"{PREFIX}bookings", {booking.id: booking.start})
            pipe.incr(self.version_key(number))
            await self.ledger.queue_hold(
                pipe, number, booking.id, amount, f"guard:{guard}", _ms(now)
            )
            replies = await pipe.execute()
        try:
            self.ledger.hold_result(number, replies[-1])
        except LedgerError:
            # Cannot happen with the account watched; never leave a booking without its hold.
            log.exception("hold of %s failed after booking: cancelling it", booking.id)
            await self.cancel(booking.id, "parloir", "échec de la réservation du crédit", now)
            raise
        await self._replicated(booking.id)
        log.info("booked %s (%s) for %s at %s", booking.id, receipt, number, kiosk)
        return booking

    async def _replicated(self, booking_id: str) -> None:
        """The booking's ledger operation is on the replicas (Sentinel), or the guard is told it
        is not confirmed: a failover may still lose it, and checking the planning shows which."""
        try:
            await self.ledger.replicated()
        except LedgerError as exc:
            log.warning("%s: ledger operation not confirmed by a replica", booking_id)
            raise DeskError("booking.unreplicated", details=exc.details) from exc

    async def cancel(self, booking_id: str, guard: str, reason: str, now: float) -> Booking:
        """Cancel a booking whose slot has not started; frees the kiosk, releases the hold."""
        guard = guard.strip()
        if not guard or len(guard) > 128:
            raise DeskError("booking.bad_guard")
        reason = clean(reason, "reason", limit=200, lines=True)  # TextRefused: nothing written
        bkey = f"{PREFIX}booking:{booking_id}"
        for _attempt in range(20):
            try:
                async with self.redis.pipeline(transaction=True) as pipe:
                    await pipe.watch(bkey)
                    raw = await pipe.hgetall(bkey)
                    if not raw:
                        raise DeskError("booking.not_found")
                    booking = _load(Booking, raw)
                    verdict = cancellation(booking.status, booking.start, now)
                    if verdict == "done":
                        return booking
                    if verdict != "cancel":
                        raise DeskError(verdict)
                    kkey = self.kiosk_key(booking.kiosk, booking.start)
                    await pipe.watch(kkey)
                    holder = await pipe.get(kkey)
                    done = replace(
                        booking,
                        status=BookingStatus.CANCELLED.value,
                        cancelled_by=guard,
                        cancelled_at=now,
                        cancel_reason=reason,
                    )
                    pipe.multi()
                    pipe.hset(bkey, mapping=_dump(done))
                    if holder == booking.id:
                        pipe.delete(kkey)
                    pipe.incr(self.version_key(booking.detainee))
                    if booking.hold:
                        await self.ledger.queue_release(
                            pipe, booking.detainee, booking.id, f"guard:{guard}", _ms(now)
                        )
                    replies = await pipe.execute()
                if booking.hold:
                    self.ledger.hold_result(booking.detainee, replies[-1])
                    await self._replicated(booking.id)  # a retry finds it cancelled: idempotent
                return done
            except WatchError:
                continue
        raise DeskError("booking.contended")

    async def extend(
        self, booking_id: str, max_seconds: int, staff: str, reason: str, now: float
    ) -> Booking:
        """Allow a longer call for one booking: the hold grows first (idempotent), then the
        booking; never longer than the slot. The reason follows the text rule (refused before
        anything is held or written)."""
        reason = clean(reason, "reason", limit=500, lines=True)
        bkey = f"{PREFIX}booking:{booking_id}"
        for _attempt in range(20):
            try:
                async with self.redis.pipeline(transaction=True) as pipe:
                    await pipe.watch(bkey)
                    raw = await pipe.hgetall(bkey)
                    if not raw:
                        raise DeskError("booking.not_found")
                    booking = _load(Booking, raw)
                    current = booking.max_seconds or self.establishment.call_max_seconds
                    refusal = extension_refusal(
                        booking.status, booking.start, booking.end, current, max_seconds, now
                    )
                    if refusal is not None:
                        raise DeskError(refusal)
                    est = self.establishment
                    tariff = est.tariffs.get(booking.tariff or est.default_tariff)
                    new_hold = max_hold(tariff, -(-max_seconds // 60))
                    if booking.hold and new_hold > booking.hold:
                        try:
                            await self.ledger.top_up(
                                booking.detainee, booking.id, new_hold - booking.hold,
                                f"direction:{staff}", f"extend:{booking.id}:{max_seconds}",
                                _ms(now),
                            )  # fmt: skip
                        except LedgerError as exc:
                            if exc.reason == "booking.insufficient_credit":
                                raise DeskError(
                                    "booking.insufficient_credit", details=exc.details
                                ) from exc
                            if exc.reason == "ledger.unreplicated":  # a retry is a replay
                                raise DeskError(
                                    "booking.unreplicated", status=503, details=exc.details
                                ) from exc
                            raise
                    longer = replace(booking, max_seconds=max_seconds, hold=new_hold)
                    pipe.multi()
                    pipe.hset(bkey, mapping=_dump(longer))
                    pipe.hset(bkey, mapping={"extended_by": staff, "extension_reason": reason})
                    await pipe.execute()
                return longer
            except WatchError:
                continue
        raise DeskError("booking.contended")

    # -- calls of a booking -----------------------------------------------------------------
    async def add_connected(self, booking_id: str, call_id: str, connected_ms: int) -> int:
        """Count one call's connected time in its booking (once per call); the new total."""
        total = await self._add_connected(
            keys=[f"{PREFIX}booking:{booking_id}", f"{PREFIX}booking:{booking_id}:calls"],
            args=[call_id, str(max(0, int(connected_ms)))],
        )
        return int(total)

    async def close(self, booking_id: str, now: float, actor: str) -> Booking | None:
        """Close a booked booking and settle its hold in one step (idempotent)."""
        bkey = f"{PREFIX}booking:{booking_id}"
        for _attempt in range(20):
            try:
                async with self.redis.pipeline(transaction=True) as pipe:
                    await pipe.watch(bkey)
                    raw = await pipe.hgetall(bkey)
                    if not raw:
                        return None
                    booking = _load(Booking, raw)
                    if booking.status != BookingStatus.BOOKED:
                        return booking
                    est = self.establishment
                    connected = booking.connected_ms > 0
                    charge = 0
                    if connected:
                        tariff = est.tariffs.get(booking.tariff or est.default_tariff)
                        cost = call_cost(tariff, booking.connected_ms / 1000, est.rounding)
                        charge = min(cost.amount, booking.hold) if booking.hold else 0
                    status = BookingStatus.DONE if connected else BookingStatus.NO_ANSWER
                    closed = replace(booking, status=status.value, charged=charge, closed_at=now)
                    pipe.multi()
                    pipe.hset(bkey, mapping=_dump(closed))
                    if booking.hold and connected:
                        await self.ledger.queue_settle(
                            pipe, booking.detainee, booking.id, charge, actor, booking.id, _ms(now)
                        )
                    elif booking.hold:
                        await self.ledger.queue_release(
                            pipe, booking.detainee, booking.id, actor, _ms(now)
                        )
                    replies = await pipe.execute()
                if booking.hold:
                    self.ledger.hold_result(booking.detainee, replies[-1])
                    try:
                        await self.ledger.replicated()
                    except LedgerError:  # no one to tell: if a failover loses it, the booking
                        # is "booked" again and the overdue sweep closes it (settled once)
                        log.warning("closing of %s not confirmed by a replica", booking.id)
                log.info("closed %s: %s, %s c", booking.id, closed.status, charge)
                return closed
            except WatchError:
                continue
        raise DeskError("booking.contended")

    async def close_overdue(self, now: float, live_bookings: set[str], actor: str) -> list[str]:
        """Close every booked booking whose slot is over and has no live call."""
        ids = await self.redis.zrangebyscore(f"{PREFIX}bookings", now - 30 * 86400, now)
        closed = []
        for booking in await self.directory._bookings(ids):
            if booking.status == BookingStatus.BOOKED and booking.end <= now:
                if booking.id not in live_bookings:
                    await self.close(booking.id, now, actor)
                    closed.append(booking.id)
        return closed

    # -- calendar ---------------------------------------------------------------------------
    async def kiosk_calendar(
        self, kiosk: str, first: date, days: int, now: float
    ) -> list[CalendarDay]:
        """A kiosk's slots over ``days`` days: free, booked (with the booking) or closed."""
        if kiosk not in self.establishment.rooms:
            raise DeskError("booking.unknown_kiosk")
        grid = self.establishment.grid
        zone = grid.zone
        begin = datetime.combine(first, datetime.min.time(), zone)
        end = datetime.combine(first + timedelta(days=days), datetime.min.time(), zone)
        booked = {
            int(b.start): b
            for b in await self.directory.bookings_between(_epoch(begin), _epoch(end))
            if b.kiosk == kiosk and b.status != BookingStatus.CANCELLED
        }
        listed = slots(grid, first, days, datetime.fromtimestamp(now, UTC))
        out = []
        for offset in range(days):
            day = first + timedelta(days=offset)
            closed = closed_day(grid, day)
            day_slots = []
            for info in listed:
                if info.start.date() != day:
                    continue
                booking = booked.get(int(_epoch(info.start)))
                if booking is not None:
                    state, reason = "booked", None
                elif info.bookable:
                    state, reason = "free", None
                else:
                    state, reason = "closed", str(info.reason)
                day_slots.append(
                    KioskSlot(info.start, info.end, info.deadline, state, reason, booking)
                )
            out.append(CalendarDay(day, str(closed) if closed else None, tuple(day_slots)))
        return out

    async def establishment_slots(self, first: date, days: int, now: float) -> list[Any]:
        """Every grid slot with its verdict; ``full`` when every kiosk is booked."""
        grid = self.establishment.grid
        zone = grid.zone
        begin = datetime.combine(first, datetime.min.time(), zone)
        end = datetime.combine(first + timedelta(days=days), datetime.min.time(), zone)
        taken: dict[int, set[str]] = {}
        for b in await self.directory.bookings_between(_epoch(begin), _epoch(end)):
            if b.status != BookingStatus.CANCELLED:
                taken.setdefault(int(b.start), set()).add(b.kiosk)
        kiosks = set(self.establishment.rooms)
        full = [datetime.fromtimestamp(start, UTC) for start, ks in taken.items() if kiosks <= ks]
        return slots(grid, first, days, datetime.fromtimestamp(now, UTC), full)


class _NeedReceipt(Exception):
    """Every check passed: allocate a receipt number (outside the watch), then try again."""


def _status(kind: Any, value: str, fallback: Any) -> Any:
    try:
        return kind(value)
    except ValueError:
        return fallback


def _slot_end(est: Establishment, start: datetime) -> datetime:
    local = start.astimezone(est.zone)
    for slot in est.grid.weekly_slots[local.weekday()]:
        if slot.start == local.time().replace(tzinfo=None):
            return datetime.combine(local.date(), slot.end, est.zone)
    raise DeskError("booking.not_in_grid")


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _euros(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100},{cents % 100:02d} €"
