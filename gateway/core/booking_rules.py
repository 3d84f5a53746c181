"""Booking rules for video calls (visiophonie), sans-IO.

This module is the one place where the booking rules live: the pages, the API and the kiosk ask
it and none re-implements them. It does no I/O and never reads the clock: the establishment
settings (:class:`SlotGrid`), ``now`` and every fact about the people involved come in as
arguments, and decisions come out. Source: note de service n° 267-2020, « Modalités de
réservation », and the charte d'utilisation annexed to it.

Theory of operation
===================

All wall-clock times below are local times in the establishment's time zone (default
``Europe/Paris``). Inputs may be aware datetimes in any zone (naive ones are a programming error
and raise :class:`ValueError`); they are converted to the establishment's zone first.

R1. Slot grid. A call takes place in a slot of the grid. Each weekday has its own list of slots,
    given as local start and end times. Default, from the note: Monday to Saturday, 08:30-09:15,
    09:30-10:15, 10:30-11:15, 13:45-14:30, 14:45-15:30, 15:45-16:30; no slot on Sunday. A slot
    is named by its start instant. A requested start that is not the start of a grid slot of its
    local day is refused with ``booking.not_in_grid``. Slots keep their wall-clock time across a
    summer-time change (08:30 is 08:30 local on both sides of the change).

R2. Closed days. No call on a Sunday (``booking.sunday``) nor on a public holiday of the
    establishment's region (``booking.holiday``), whatever the grid says. Public holidays (not
    school holidays) come from the ``holidays`` package: for ``metropole``, 1 January, Easter
    Monday, 1 May, 8 May, Ascension Thursday, Whit Monday, 14 July, 15 August, 1 November,
    11 November and 25 December; ``alsace-moselle`` adds Good Friday and 26 December. Whit Monday
    is closed (it is a legal public holiday, even where it is worked as the journée de
    solidarité).

R3. Booking deadline. A slot can be booked up to and including its deadline:

    a. A slot on a Wednesday, Thursday, Friday or Saturday: 48 hours (``notice``) before its
       start. The 48 hours are real elapsed time, not wall-clock time: across a summer-time
       change the deadline shows one hour off on the wall clock (a slot at 08:30 on the Monday
       after the spring change, under rule a, would close at 07:30 on the Saturday before).
    b. A slot on a Monday or a Tuesday: the Saturday before the slot, at the cut-off time
       (``saturday_cutoff``, default 23:59:59). "The Saturday before" is the Saturday of the
       same week: 2 days before a Monday, 3 days before a Tuesday, also when that Monday is a
       public holiday. This REPLACES rule a, because the activities office is closed on Sunday:
       it is more lenient for Monday slots (Saturday night is less than 48 hours before) and
       stricter for Tuesday slots (no booking on Sunday or Monday, even with 48 hours to go).
       With ``saturday_cutoff=None``, Monday and Tuesday follow rule a.

    Past the deadline the booking is refused with ``booking.too_late``; a slot whose start is
    not strictly after ``now`` is refused with ``booking.in_past`` instead. A deadline that falls
    on a Sunday or a public holiday is not moved (the slot on the Wednesday after Easter Monday
    closes at 08:30 on Easter Monday): when and where a request can be made is not this
    module's business.

R4. Quota. A detainee may hold at most ``quota_count`` counted bookings in any
    ``quota_window_days`` consecutive calendar days. Counted: bookings whose status is booked,
    done or no_answer; a cancelled booking does not count. A booking falls on the local calendar
    date of its start; past and future bookings count alike, so the window reaches both ways.
    A new booking is accepted if every window of ``quota_window_days`` consecutive days that
    contains its date holds fewer than ``quota_count`` counted bookings; otherwise it is refused
    with ``booking.quota``. With the default (1 per 28 days), two counted bookings must be at
    least 28 calendar days apart: with a booking on Monday 2 March 2026, the next can be on
    Monday 30 March at the earliest, at any slot time, and none can fall between 3 February and
    1 March either. (Calendar days rather than 28 x 24 hours, so that the same slot four weeks
    later stays allowed across a summer-time change.)

R5. People. The detainee must be active: not released (``booking.detainee_released``) nor
    suspended (``booking.detainee_suspended``, also given for any other status than active), and
    must have signed the charter (``booking.charter_not_signed``). The correspondent must be
    authorised, as for the telephone; a suspended or withdrawn authorisation, or any other status,
    refuses with ``booking.correspondent_not_authorised``. A minor correspondent needs the
    recorded consent of the holders of parental authority (``booking.minor_without_consent``).

R6. Kiosk. The kiosk must be free for that slot (``booking.kiosk_busy``); the caller knows the
    kiosk's occupancy and passes it in.

:func:`check_booking` returns the first refusal in this order: released, suspended, charter,
correspondent not authorised, minor without consent, Sunday, holiday, not in grid, in the past,
too late, quota, kiosk busy; or ``None`` when the booking is accepted. :func:`slots` lists the
grid slots of a date range with the same verdicts on R1-R3 (a past slot is listed as
``too_late``), and ``full`` for the slot starts the caller says are taken.
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from gateway.core.reasons import sentences

__all__ = [
    "COUNTED_STATUSES",
    "DEFAULT_DAY_SLOTS",
    "DEFAULT_WEEKLY_SLOTS",
    "BookingStatus",
    "CorrespondentFacts",
    "CorrespondentStatus",
    "DetaineeFacts",
    "DetaineeStatus",
    "ExistingBooking",
    "HolidayRegion",
    "Refusal",
    "RefusalCode",
    "SlotGrid",
    "SlotInfo",
    "SlotReason",
    "SlotTime",
    "booking_deadline",
    "check_booking",
    "closed_day",
    "slots",
]

HolidayRegion = Literal["metropole", "alsace-moselle"]

# Subdivision codes of ``holidays.France``. "57" (Moselle) and "6AE" (Alsace) carry the same two
# extra days, Good Friday and 26 December; the old "Alsace-Moselle" code is deprecated.
_HOLIDAY_SUBDIVISIONS: dict[str, str | None] = {"metropole": None, "alsace-moselle": "6AE"}

_MONDAY, _TUESDAY, _SATURDAY, _SUNDAY = 0, 1, 5, 6


# --- Settings ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlotTime:
    """One slot of a day of the grid, in local wall-clock time."""

    start: time
    """Local start time, naive (e.g. ``time(8, 30)``)."""
    end: time
    """Local end time, naive, after ``start`` on the same day."""

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("slot times are local wall-clock times: give naive times")
        if not self.start < self.end:
            raise ValueError(f"slot ends before it starts: {self.start}-{self.end}")


DEFAULT_DAY_SLOTS: tuple[SlotTime, ...] = (
    SlotTime(time(8, 30), time(9, 15)),
    SlotTime(time(9, 30), time(10, 15)),
    SlotTime(time(10, 30), time(11, 15)),
    SlotTime(time(13, 45), time(14, 30)),
    SlotTime(time(14, 45), time(15, 30)),
    SlotTime(time(15, 45), time(16, 30)),
)
"""The six daily slots of note 267-2020."""

DEFAULT_WEEKLY_SLOTS: tuple[tuple[SlotTime, ...], ...] = (DEFAULT_DAY_SLOTS,) * 6 + ((),)
"""Monday to Saturday: :data:`DEFAULT_DAY_SLOTS`; Sunday: none."""


@dataclass(frozen=True, slots=True)
class SlotGrid:
    """The establishment's booking rules (R1-R4), built once at start-up and passed in."""

    time_zone: str = "Europe/Paris"
    """IANA time zone of the establishment; every wall-clock time of the rules is in it."""
    holiday_region: HolidayRegion = "metropole"
    """Public holidays: ``"metropole"``, or ``"alsace-moselle"`` (adds Good Friday, 26 Dec)."""
    weekly_slots: tuple[tuple[SlotTime, ...], ...] = DEFAULT_WEEKLY_SLOTS
    """Seven tuples of slots, Monday first; Sunday slots are listed but always closed (R2)."""
    notice: timedelta = timedelta(hours=48)
    """Rule R3a: booking closes this long (real elapsed time) before the slot starts."""
    saturday_cutoff: time | None = time(23, 59, 59)
    """Rule R3b: Monday and Tuesday slots close on the Saturday before at this local time."""
    quota_count: int = 1
    """Rule R4: at most this many counted bookings in any ``quota_window_days`` days."""
    quota_window_days: int = 28
    """Rule R4: length of the quota window, in consecutive calendar days."""

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone: {self.time_zone!r}") from exc
        if self.holiday_region not in get_args(HolidayRegion):
            raise ValueError(f"unknown holiday region: {self.holiday_region!r}")
        weekly = tuple(tuple(day) for day in self.weekly_slots)
        if len(weekly) != 7:
            raise ValueError("weekly_slots needs seven days, Monday first")
        for day in weekly:
            for before, after in zip(day, day[1:], strict=False):
                if not before.end <= after.start:
                    raise ValueError(f"slots overlap or are out of order: {before}, {after}")
        object.__setattr__(self, "weekly_slots", weekly)
        if self.notice < timedelta(0):
            raise ValueError("notice must not be negative")
        if self.saturday_cutoff is not None and self.saturday_cutoff.tzinfo is not None:
            raise ValueError("saturday_cutoff is a local wall-clock time: give a naive time")
        if self.quota_count < 1 or self.quota_window_days < 1:
            raise ValueError("quota_count and quota_window_days must be at least 1")

    @property
    def zone(self) -> ZoneInfo:
        """The establishment's time zone."""
        return ZoneInfo(self.time_zone)


# --- Facts passed in -------------------------------------------------------------------------


class BookingStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    DONE = "done"
    NO_ANSWER = "no_answer"


COUNTED_STATUSES: frozenset[BookingStatus] = frozenset(
    {BookingStatus.BOOKED, BookingStatus.DONE, BookingStatus.NO_ANSWER}
)
"""Statuses that count towards the quota (R4)."""


class DetaineeStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    RELEASED = "released"


class CorrespondentStatus(StrEnum):
    AUTHORISED = "authorised"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class ExistingBooking:
    """One of the detainee's bookings, as far as the quota is concerned."""

    start: datetime
    """Start of the booked slot (aware)."""
    status: BookingStatus
    """Its status; see :data:`COUNTED_STATUSES`."""


@dataclass(frozen=True, slots=True)
class DetaineeFacts:
    """What the rules need to know about the detainee."""

    status: DetaineeStatus
    """``active``, ``suspended`` (access to video calls suspended) or ``released``."""
    charter_signed: bool
    """Whether the detainee has signed the charte d'utilisation."""


@dataclass(frozen=True, slots=True)
class CorrespondentFacts:
    """What the rules need to know about the person called."""

    status: CorrespondentStatus
    """``authorised`` to be called (same authorisation as the telephone), or not."""
    minor: bool
    """Whether the correspondent is under 18."""
    parental_consent: bool
    """Whether the consent of the holders of parental authority is recorded (minors only)."""
    sanctioned: bool = False
    """Whether the correspondent's number is under a sanction (since the incident)."""


@dataclass(frozen=True, slots=True)
class SanctionFacts:
    """A sanction of the detainee's video-call access covering the slot."""

    until: datetime | None
    """The end of a suspension (exclusive); ``None``: access withdrawn."""


# --- Decisions -----------------------------------------------------------------------------------


class SlotReason(StrEnum):
    """Why a listed slot cannot be booked."""

    SUNDAY = "sunday"
    HOLIDAY = "holiday"
    TOO_LATE = "too_late"
    FULL = "full"


@dataclass(frozen=True, slots=True)
class SlotInfo:
    """One grid slot as listed by :func:`slots`."""

    start: datetime
    """Start, aware, in the establishment's zone."""
    end: datetime
    """End, aware, in the establishment's zone."""
    deadline: datetime
    """Last instant at which it can be booked (R3), in the establishment's zone."""
    bookable: bool
    """Whether it can be booked now, as far as the calendar and the kiosk go."""
    reason: SlotReason | None
    """Why not, when not bookable; ``None`` otherwise."""


class RefusalCode(StrEnum):
    NOT_IN_GRID = "booking.not_in_grid"
    SUNDAY = "booking.sunday"
    HOLIDAY = "booking.holiday"
    TOO_LATE = "booking.too_late"
    IN_PAST = "booking.in_past"
    QUOTA = "booking.quota"
    CHARTER_NOT_SIGNED = "booking.charter_not_signed"
    DETAINEE_SUSPENDED = "booking.detainee_suspended"
    DETAINEE_RELEASED = "booking.detainee_released"
    CORRESPONDENT_NOT_AUTHORISED = "booking.correspondent_not_authorised"
    MINOR_WITHOUT_CONSENT = "booking.minor_without_consent"
    KIOSK_BUSY = "booking.kiosk_busy"
    NUMBER_SANCTIONED = "booking.number_sanctioned"
    DETAINEE_SANCTIONED = "booking.detainee_sanctioned"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused booking."""

    code: RefusalCode
    """Stable machine-readable reason."""
    message_fr: str
    """Sentence the guard can read out to the detainee."""
    message_en: str
    """The same in English."""


# --- Calendar --------------------------------------------------------------------------------


@functools.cache
def _holiday_dates(region: str, year: int) -> frozenset[date]:
    return frozenset(holidays.France(subdiv=_HOLIDAY_SUBDIVISIONS[region], years=year).keys())


def closed_day(grid: SlotGrid, day: date) -> SlotReason | None:
    """``SUNDAY`` or ``HOLIDAY`` if ``day`` is closed to video calls (R2), else ``None``."""
    if day.weekday() == _SUNDAY:
        return SlotReason.SUNDAY
    if day in _holiday_dates(grid.holiday_region, day.year):
        return SlotReason.HOLIDAY
    return None


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return value


def _wall(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant showing ``at`` on ``day`` in ``zone``.

    A wall time skipped by the spring change moves on by the gap; one repeated by the autumn
    change is its first occurrence (``fold=0``).
    """
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC).astimezone(zone)


def _day_slots(grid: SlotGrid, day: date) -> list[tuple[datetime, datetime]]:
    zone = grid.zone
    return [
        (_wall(day, slot.start, zone), _wall(day, slot.end, zone))
        for slot in grid.weekly_slots[day.weekday()]
    ]


def booking_deadline(grid: SlotGrid, start: datetime) -> datetime:
    """Last instant at which the slot starting at ``start`` can be booked (R3), local time."""
    zone = grid.zone
    local = _aware(start, "start").astimezone(zone)
    weekday = local.weekday()
    if grid.saturday_cutoff is not None and weekday in (_MONDAY, _TUESDAY):
        saturday = local.date() - timedelta(days=weekday + 2)
        return _wall(saturday, grid.saturday_cutoff, zone)
    return (local.astimezone(UTC) - grid.notice).astimezone(zone)


def _open(start: datetime, deadline: datetime, now: datetime) -> bool:
    # Aware datetimes sharing a tzinfo compare by wall clock; compare instants in UTC.
    now_utc = now.astimezone(UTC)
    return now_utc < start.astimezone(UTC) and now_utc <= deadline.astimezone(UTC)


def slots(
    grid: SlotGrid,
    start_date: date,
    days: int,
    now: datetime,
    full: Collection[datetime] = (),
) -> list[SlotInfo]:
    """Every grid slot of the ``days`` days from ``start_date`` on, in order, with its verdict.

    A slot is bookable unless its day is closed (``sunday``, ``holiday``), its deadline has
    passed or it has started (``too_late``), or its start is in ``full`` (``full``), checked in
    that order. The default grid has no Sunday slot, so nothing is listed for a Sunday.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    _aware(now, "now")
    taken = {_aware(when, "full").astimezone(UTC) for when in full}
    listed: list[SlotInfo] = []
    for offset in range(days):
        day = start_date + timedelta(days=offset)
        closed = closed_day(grid, day)
        for begin, end in _day_slots(grid, day):
            deadline = booking_deadline(grid, begin)
            reason: SlotReason | None = closed
            if reason is None and not _open(begin, deadline, now):
                reason = SlotReason.TOO_LATE
            if reason is None and begin.astimezone(UTC) in taken:
                reason = SlotReason.FULL
            listed.append(SlotInfo(begin, end, deadline, reason is None, reason))
    return listed


# --- Booking check -------------------------------------------------------------------------------

_FR_WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_FR_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
_EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _fr_date(day: date) -> str:
    number = "1er" if day.day == 1 else str(day.day)
    return f"{_FR_WEEKDAYS[day.weekday()]} {number} {_FR_MONTHS[day.month - 1]} {day.year}"


def _en_date(day: date) -> str:
    return f"{_EN_WEEKDAYS[day.weekday()]} {day.day} {_EN_MONTHS[day.month - 1]} {day.year}"


def _fr_datetime(when: datetime) -> str:
    return f"{_fr_date(when.date())} à {when.hour} h {when.minute:02d}"


def _en_datetime(when: datetime) -> str:
    return f"{_en_date(when.date())} at {when.hour:02d}:{when.minute:02d}"


def _refusal(code: RefusalCode, variant: str = "", **values: object) -> Refusal:
    """The refusal ``code`` with the table's sentences (:mod:`gateway.core.reasons`)."""
    return Refusal(code, *sentences(code, variant, **values))


def _quota_refusal(grid: SlotGrid, conflict: date) -> Refusal:
    count, window = grid.quota_count, grid.quota_window_days
    allowed = {
        "fr": "un seul créneau" if count == 1 else f"au plus {count} créneaux",
        "en": "one slot" if count == 1 else f"at most {count} slots",
    }
    day = {"fr": _fr_date(conflict), "en": _en_date(conflict)}
    return _refusal(RefusalCode.QUOTA, allowed=allowed, window=window, date=day)


def _quota_conflict(grid: SlotGrid, day: date, bookings: Iterable[ExistingBooking]) -> date | None:
    """A counted booking date in a full window containing ``day`` (the closest), else ``None``."""
    zone = grid.zone
    counted = sorted(
        _aware(booking.start, "booking start").astimezone(zone).date()
        for booking in bookings
        if booking.status in COUNTED_STATUSES
    )
    span = grid.quota_window_days - 1
    full_window: list[date] = []
    for lag in range(span + 1):
        first = day - timedelta(days=lag)
        low, high = bisect_left(counted, first), bisect_right(counted, first + timedelta(span))
        if high - low >= grid.quota_count:
            full_window.extend(counted[low:high])
    if not full_window:
        return None
    return min(full_window, key=lambda other: (abs((other - day).days), other))


def check_booking(
    grid: SlotGrid,
    start: datetime,
    now: datetime,
    *,
    bookings: Iterable[ExistingBooking],
    detainee: DetaineeFacts,
    correspondent: CorrespondentFacts,
    kiosk_free: bool,
    detainee_sanction: SanctionFacts | None = None,
) -> Refusal | None:
    """The first rule that refuses booking the slot starting at ``start``, or ``None`` (R1-R6).

    ``bookings`` are the detainee's existing bookings, whatever their status; ``kiosk_free``
    says whether the kiosk is free for that slot; ``detainee_sanction`` is the sanction of the
    detainee's access that covers the slot, if any. Sanctions are judged last, as before the
    rules were gathered here, so that a guard hears the slot's own refusals first.
    """
    _aware(now, "now")
    zone = grid.zone
    local = _aware(start, "start").astimezone(zone)

    if detainee.status == DetaineeStatus.RELEASED:
        return _refusal(RefusalCode.DETAINEE_RELEASED)
    if detainee.status != DetaineeStatus.ACTIVE:
        return _refusal(RefusalCode.DETAINEE_SUSPENDED)
    if not detainee.charter_signed:
        return _refusal(RefusalCode.CHARTER_NOT_SIGNED)
    if correspondent.status != CorrespondentStatus.AUTHORISED:
        return _refusal(RefusalCode.CORRESPONDENT_NOT_AUTHORISED)
    if correspondent.minor and not correspondent.parental_consent:
        return _refusal(RefusalCode.MINOR_WITHOUT_CONSENT)

    day = local.date()
    closed = closed_day(grid, day)
    if closed is SlotReason.SUNDAY:
        return _refusal(RefusalCode.SUNDAY)
    if closed is SlotReason.HOLIDAY:
        return _refusal(RefusalCode.HOLIDAY, date={"fr": _fr_date(day), "en": _en_date(day)})
    instant = local.astimezone(UTC)
    if all(begin.astimezone(UTC) != instant for begin, _ in _day_slots(grid, day)):
        return _refusal(RefusalCode.NOT_IN_GRID)
    if now.astimezone(UTC) >= instant:
        return _refusal(RefusalCode.IN_PAST)
    deadline = booking_deadline(grid, local)
    if not _open(local, deadline, now):
        when = {"fr": _fr_datetime(deadline), "en": _en_datetime(deadline)}
        return _refusal(RefusalCode.TOO_LATE, deadline=when)

    conflict = _quota_conflict(grid, day, bookings)
    if conflict is not None:
        return _quota_refusal(grid, conflict)
    if not kiosk_free:
        return _refusal(RefusalCode.KIOSK_BUSY)
    if correspondent.sanctioned:
        return _refusal(RefusalCode.NUMBER_SANCTIONED)
    if detainee_sanction is not None:
        return _sanction_refusal(detainee_sanction, zone)
    return None


def _sanction_refusal(sanction: SanctionFacts, zone: ZoneInfo) -> Refusal:
    if sanction.until is None:
        return _refusal(RefusalCode.DETAINEE_SANCTIONED, "withdrawn")
    # ``until`` is exclusive: the last day of the suspension is the day before it, locally.
    last = (sanction.until.astimezone(zone) - timedelta(seconds=1)).strftime("%d/%m/%Y")
    return _refusal(RefusalCode.DETAINEE_SANCTIONED, last=last)


# --- After booking: cancelling and extending (the desk's adapter asks these) ---------------


def cancellation(status: str, start: float, now: float) -> Literal["cancel", "done"] | str:
    """``"cancel"``: may be cancelled; ``"done"``: already cancelled (idempotent, nothing to
    do); otherwise the refusal ``booking.not_cancellable`` (not booked, or the slot started)."""
    if status == BookingStatus.CANCELLED:
        return "done"
    if status != BookingStatus.BOOKED or start <= now:
        return "booking.not_cancellable"
    return "cancel"


def extension_refusal(
    status: str, start: float, end: float, current_max: int, requested: int, now: float
) -> str | None:
    """``None`` when a booked booking whose slot is not over may allow ``requested`` seconds:
    longer than ``current_max`` and never longer than the slot. Refusals:
    ``booking.not_extendable`` (not booked, slot over), ``booking.bad_extension`` (400)."""
    if status != BookingStatus.BOOKED or end <= now:
        return "booking.not_extendable"
    if not current_max < requested <= end - start:
        return "booking.bad_extension"
    return None
