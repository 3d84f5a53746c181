"""Tests of gateway.core.booking_rules: real calendars, the Saturday rule, the 48-hour boundary,
summer-time changes, and property tests of the calendar and the quota.

Every date below was checked by hand: Easter Sunday is 20 April 2025, 5 April 2026 and
28 March 2027 (so Good Friday 18 Apr 2025 / 3 Apr 2026 / 26 Mar 2027, Easter Monday
21 Apr 2025 / 6 Apr 2026 / 29 Mar 2027, Ascension Thursday (Easter + 39) 29 May 2025 /
14 May 2026 / 6 May 2027, Whit Monday (Easter + 50) 9 Jun 2025 / 25 May 2026 / 17 May 2027).
Summer time starts on the last Sunday of March (30 Mar 2025, 29 Mar 2026, 28 Mar 2027) and ends
on the last Sunday of October (26 Oct 2025, 25 Oct 2026, 31 Oct 2027). The weekday of each date
is asserted as well, so that a wrong date in a table fails loudly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway.core.booking_rules import (
    COUNTED_STATUSES,
    DEFAULT_DAY_SLOTS,
    BookingStatus,
    CorrespondentFacts,
    CorrespondentStatus,
    DetaineeFacts,
    DetaineeStatus,
    ExistingBooking,
    Refusal,
    RefusalCode,
    SanctionFacts,
    SlotGrid,
    SlotReason,
    SlotTime,
    booking_deadline,
    check_booking,
    closed_day,
    slots,
)

PARIS = ZoneInfo("Europe/Paris")
METROPOLE = SlotGrid()
ALSACE_MOSELLE = SlotGrid(holiday_region="alsace-moselle")
ACTIVE = DetaineeFacts(DetaineeStatus.ACTIVE, charter_signed=True)
ADULT = CorrespondentFacts(CorrespondentStatus.AUTHORISED, minor=False, parental_consent=False)
SANCTIONED = CorrespondentFacts(CorrespondentStatus.AUTHORISED, False, False, sanctioned=True)
LONG_BEFORE = datetime(2024, 12, 1, 12, 0, tzinfo=PARIS)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def paris(*args: int) -> datetime:
    """A Paris wall-clock instant (never a skipped or repeated one in these tests)."""
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def book(
    start: datetime,
    now: datetime,
    *,
    grid: SlotGrid = METROPOLE,
    bookings: tuple[ExistingBooking, ...] = (),
    detainee: DetaineeFacts = ACTIVE,
    correspondent: CorrespondentFacts = ADULT,
    kiosk_free: bool = True,
    detainee_sanction: SanctionFacts | None = None,
) -> str | None:
    """The refusal code of a booking attempt, or None when accepted."""
    refusal = check_booking(
        grid,
        start,
        now,
        bookings=bookings,
        detainee=detainee,
        correspondent=correspondent,
        kiosk_free=kiosk_free,
        detainee_sanction=detainee_sanction,
    )
    return None if refusal is None else refusal.code


def booked(*starts: datetime, status: BookingStatus = BookingStatus.BOOKED) -> tuple:
    return tuple(ExistingBooking(start, status) for start in starts)


# --- Settings --------------------------------------------------------------------------------


def test_default_grid_is_the_note() -> None:
    assert METROPOLE.time_zone == "Europe/Paris"
    assert METROPOLE.notice == timedelta(hours=48)
    assert METROPOLE.saturday_cutoff == time(23, 59, 59)
    assert (METROPOLE.quota_count, METROPOLE.quota_window_days) == (1, 28)
    assert [(s.start, s.end) for s in DEFAULT_DAY_SLOTS] == [
        (time(8, 30), time(9, 15)),
        (time(9, 30), time(10, 15)),
        (time(10, 30), time(11, 15)),
        (time(13, 45), time(14, 30)),
        (time(14, 45), time(15, 30)),
        (time(15, 45), time(16, 30)),
    ]
    assert METROPOLE.weekly_slots[:6] == (DEFAULT_DAY_SLOTS,) * 6
    assert METROPOLE.weekly_slots[6] == ()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"time_zone": "Europe/Nowhere"},
        {"holiday_region": "bretagne"},
        {"weekly_slots": (DEFAULT_DAY_SLOTS,) * 6},
        {"weekly_slots": ((DEFAULT_DAY_SLOTS[1], DEFAULT_DAY_SLOTS[0]),) + ((),) * 6},
        {"notice": timedelta(hours=-1)},
        {"quota_count": 0},
        {"quota_window_days": 0},
        {"saturday_cutoff": time(12, 0, tzinfo=UTC)},
    ],
)
def test_bad_settings_are_refused_at_start_up(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        SlotGrid(**kwargs)


def test_bad_slot_times_are_refused() -> None:
    with pytest.raises(ValueError):
        SlotTime(time(9, 15), time(8, 30))
    with pytest.raises(ValueError):
        SlotTime(time(8, 30, tzinfo=UTC), time(9, 15, tzinfo=UTC))


def test_naive_datetimes_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        book(datetime(2026, 3, 11, 8, 30), LONG_BEFORE)
    with pytest.raises(ValueError):
        book(paris(2026, 3, 11, 8, 30), datetime(2026, 3, 1))
    with pytest.raises(ValueError):
        slots(METROPOLE, date(2026, 3, 9), 1, datetime(2026, 3, 1))


def test_alsace_moselle_subdivision_of_the_holidays_package() -> None:
    # The module uses "6AE" (Alsace); "57" (Moselle) must give the very same days.
    for year in (2025, 2026, 2027):
        alsace = set(holidays.France(subdiv="6AE", years=year))
        moselle = set(holidays.France(subdiv="57", years=year))
        mainland = set(holidays.France(years=year))
        assert alsace == moselle
        assert len(alsace - mainland) == 2


# --- Public holidays, table-driven -----------------------------------------------------------

CLOSED_EVERYWHERE = [
    # (day, weekday, what)
    (date(2026, 1, 1), "Thu", "1 January"),
    (date(2027, 1, 1), "Fri", "1 January"),
    (date(2025, 4, 21), "Mon", "Easter Monday"),
    (date(2026, 4, 6), "Mon", "Easter Monday"),
    (date(2027, 3, 29), "Mon", "Easter Monday"),
    (date(2025, 5, 29), "Thu", "Ascension"),
    (date(2026, 5, 14), "Thu", "Ascension"),
    (date(2027, 5, 6), "Thu", "Ascension"),
    (date(2025, 6, 9), "Mon", "Whit Monday"),
    (date(2026, 5, 25), "Mon", "Whit Monday"),
    (date(2027, 5, 17), "Mon", "Whit Monday"),
    (date(2025, 5, 1), "Thu", "1 May"),
    (date(2026, 5, 1), "Fri", "1 May"),
    (date(2027, 5, 1), "Sat", "1 May"),
    (date(2025, 5, 8), "Thu", "8 May"),
    (date(2026, 5, 8), "Fri", "8 May"),
    (date(2027, 5, 8), "Sat", "8 May"),
    (date(2025, 7, 14), "Mon", "14 July"),
    (date(2026, 7, 14), "Tue", "14 July"),
    (date(2027, 7, 14), "Wed", "14 July"),
    (date(2025, 8, 15), "Fri", "15 August"),
    (date(2026, 8, 15), "Sat", "15 August"),
    (date(2025, 11, 1), "Sat", "1 November"),
    (date(2027, 11, 1), "Mon", "1 November"),
    (date(2025, 11, 11), "Tue", "11 November"),
    (date(2026, 11, 11), "Wed", "11 November"),
    (date(2027, 11, 11), "Thu", "11 November"),
    (date(2025, 12, 25), "Thu", "25 December"),
    (date(2026, 12, 25), "Fri", "25 December"),
    (date(2027, 12, 25), "Sat", "25 December"),
]

CLOSED_IN_ALSACE_MOSELLE_ONLY = [
    (date(2025, 4, 18), "Fri", "Good Friday"),
    (date(2026, 4, 3), "Fri", "Good Friday"),
    (date(2027, 3, 26), "Fri", "Good Friday"),
    (date(2025, 12, 26), "Fri", "26 December"),
    (date(2026, 12, 26), "Sat", "26 December"),
]


def assert_closed_for_holiday(grid: SlotGrid, day: date) -> None:
    listed = slots(grid, day, 1, LONG_BEFORE)
    assert len(listed) == 6
    assert all(not s.bookable and s.reason is SlotReason.HOLIDAY for s in listed)
    assert closed_day(grid, day) is SlotReason.HOLIDAY
    for slot in listed:
        assert book(slot.start, LONG_BEFORE, grid=grid) == RefusalCode.HOLIDAY


def assert_open(grid: SlotGrid, day: date) -> None:
    listed = slots(grid, day, 1, LONG_BEFORE)
    assert len(listed) == 6
    assert all(s.bookable and s.reason is None for s in listed)
    assert closed_day(grid, day) is None
    for slot in listed:
        assert book(slot.start, LONG_BEFORE, grid=grid) is None


@pytest.mark.parametrize(("day", "weekday", "what"), CLOSED_EVERYWHERE)
@pytest.mark.parametrize("grid", [METROPOLE, ALSACE_MOSELLE], ids=["metropole", "alsace"])
def test_public_holidays_are_closed(grid: SlotGrid, day: date, weekday: str, what: str) -> None:
    assert WEEKDAYS[day.weekday()] == weekday
    assert_closed_for_holiday(grid, day)


@pytest.mark.parametrize(("day", "weekday", "what"), CLOSED_IN_ALSACE_MOSELLE_ONLY)
def test_good_friday_and_26_december(day: date, weekday: str, what: str) -> None:
    assert WEEKDAYS[day.weekday()] == weekday
    assert_closed_for_holiday(ALSACE_MOSELLE, day)
    assert_open(METROPOLE, day)


@pytest.mark.parametrize("day", [date(2026, 3, 10), date(2026, 4, 4), date(2026, 4, 7)])
def test_ordinary_days_are_open(day: date) -> None:
    assert_open(METROPOLE, day)


def test_a_sunday_lists_nothing_and_refuses_as_sunday() -> None:
    sunday = date(2026, 11, 1)  # also 1 November: Sunday wins
    assert WEEKDAYS[sunday.weekday()] == "Sun"
    assert slots(METROPOLE, sunday, 1, LONG_BEFORE) == []
    assert closed_day(METROPOLE, sunday) is SlotReason.SUNDAY
    assert book(paris(2026, 11, 1, 8, 30), LONG_BEFORE) == RefusalCode.SUNDAY
    assert book(paris(2026, 3, 8, 3, 17), LONG_BEFORE) == RefusalCode.SUNDAY


def test_sunday_slots_of_a_custom_grid_are_listed_closed() -> None:
    grid = SlotGrid(weekly_slots=(DEFAULT_DAY_SLOTS,) * 7)
    listed = slots(grid, date(2026, 3, 8), 1, LONG_BEFORE)
    assert len(listed) == 6
    assert all(s.reason is SlotReason.SUNDAY and not s.bookable for s in listed)
    assert book(paris(2026, 3, 8, 8, 30), LONG_BEFORE, grid=grid) == RefusalCode.SUNDAY


def test_a_week_listing() -> None:
    listed = slots(METROPOLE, date(2026, 3, 9), 7, LONG_BEFORE)  # Monday to Sunday
    assert len(listed) == 36
    assert {s.start.date() for s in listed} == {date(2026, 3, d) for d in range(9, 15)}
    assert all(s.start.tzinfo == PARIS and s.end - s.start == timedelta(minutes=45) for s in listed)
    assert [s.start for s in listed] == sorted(s.start for s in listed)


# --- Grid ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start",
    [
        paris(2026, 3, 11, 8, 31),
        paris(2026, 3, 11, 12, 0),
        paris(2026, 3, 11, 8, 30, 1),
        paris(2026, 3, 11, 9, 15),  # an end is not a start
        datetime(2026, 3, 11, 8, 30, 0, 500, tzinfo=PARIS),
    ],
)
def test_starts_outside_the_grid(start: datetime) -> None:
    assert book(start, LONG_BEFORE) == RefusalCode.NOT_IN_GRID


def test_a_slot_is_found_whatever_the_zone_of_the_request() -> None:
    assert book(utc(2026, 3, 11, 7, 30), LONG_BEFORE) is None  # 08:30 Paris (winter)
    assert book(utc(2026, 7, 15, 6, 30), LONG_BEFORE) is None  # 08:30 Paris (summer)
    assert book(utc(2026, 7, 15, 7, 30), LONG_BEFORE) is None  # 09:30 Paris (summer)
    assert book(utc(2026, 7, 15, 7, 0), LONG_BEFORE) == RefusalCode.NOT_IN_GRID


def test_per_weekday_grid() -> None:
    wednesday_only = tuple(
        (SlotTime(time(17, 0), time(17, 30)),) if weekday == 2 else () for weekday in range(7)
    )
    grid = SlotGrid(weekly_slots=wednesday_only)
    assert book(paris(2026, 3, 11, 17, 0), LONG_BEFORE, grid=grid) is None
    assert book(paris(2026, 3, 11, 8, 30), LONG_BEFORE, grid=grid) == RefusalCode.NOT_IN_GRID
    assert book(paris(2026, 3, 12, 17, 0), LONG_BEFORE, grid=grid) == RefusalCode.NOT_IN_GRID
    assert len(slots(grid, date(2026, 3, 9), 7, LONG_BEFORE)) == 1


# --- Notice: 48 hours ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "deadline"),
    [
        (paris(2026, 3, 11, 8, 30), paris(2026, 3, 9, 8, 30)),  # Wednesday
        (paris(2026, 3, 12, 10, 30), paris(2026, 3, 10, 10, 30)),  # Thursday
        (paris(2026, 3, 13, 13, 45), paris(2026, 3, 11, 13, 45)),  # Friday
        (paris(2026, 3, 14, 15, 45), paris(2026, 3, 12, 15, 45)),  # Saturday
    ],
)
def test_48_hour_boundary(start: datetime, deadline: datetime) -> None:
    assert booking_deadline(METROPOLE, start) == deadline
    second = timedelta(seconds=1)
    assert book(start, deadline - second) is None
    assert book(start, deadline) is None
    assert book(start, deadline + second) == RefusalCode.TOO_LATE
    assert book(start, start - second) == RefusalCode.TOO_LATE
    assert book(start, start) == RefusalCode.IN_PAST
    assert book(start, start + timedelta(hours=1)) == RefusalCode.IN_PAST
    [listed] = [s for s in slots(METROPOLE, start.date(), 1, deadline) if s.start == start]
    assert listed.bookable and listed.deadline == deadline
    [listed] = [s for s in slots(METROPOLE, start.date(), 1, deadline + second) if s.start == start]
    assert not listed.bookable and listed.reason is SlotReason.TOO_LATE


def test_notice_is_configurable() -> None:
    grid = SlotGrid(notice=timedelta(hours=24))
    start = paris(2026, 3, 12, 10, 30)
    assert book(start, paris(2026, 3, 11, 10, 30), grid=grid) is None
    assert book(start, paris(2026, 3, 11, 10, 30, 1), grid=grid) == RefusalCode.TOO_LATE


# --- Notice: the Saturday rule for Monday and Tuesday ------------------------------------------


@pytest.mark.parametrize(
    ("start", "saturday", "note"),
    [
        (paris(2026, 3, 9, 8, 30), date(2026, 3, 7), "Monday"),
        (paris(2026, 3, 9, 15, 45), date(2026, 3, 7), "Monday afternoon"),
        (paris(2026, 3, 10, 8, 30), date(2026, 3, 7), "Tuesday"),
        (paris(2026, 3, 10, 15, 45), date(2026, 3, 7), "Tuesday afternoon"),
        (paris(2026, 4, 7, 8, 30), date(2026, 4, 4), "Tuesday after Easter Monday 2026"),
        (paris(2025, 4, 22, 9, 30), date(2025, 4, 19), "Tuesday after Easter Monday 2025"),
        (paris(2025, 6, 10, 13, 45), date(2025, 6, 7), "Tuesday after Whit Monday 2025"),
        (paris(2026, 5, 26, 10, 30), date(2026, 5, 23), "Tuesday after Whit Monday 2026"),
        (paris(2027, 3, 30, 8, 30), date(2027, 3, 27), "Tuesday after Easter Monday 2027, DST"),
        (paris(2026, 7, 13, 8, 30), date(2026, 7, 11), "Monday before 14 July (a Tuesday)"),
    ],
)
def test_saturday_rule(start: datetime, saturday: date, note: str) -> None:
    assert WEEKDAYS[saturday.weekday()] == "Sat"
    assert WEEKDAYS[start.weekday()] in ("Mon", "Tue")
    cutoff = paris(saturday.year, saturday.month, saturday.day, 23, 59, 59)
    assert booking_deadline(METROPOLE, start) == cutoff
    assert book(start, cutoff - timedelta(days=3)) is None
    assert book(start, cutoff) is None
    assert book(start, cutoff + timedelta(seconds=1)) == RefusalCode.TOO_LATE  # Sunday 00:00
    assert book(start, cutoff + timedelta(hours=10)) == RefusalCode.TOO_LATE  # Sunday 10:00


def test_saturday_rule_replaces_48_hours_both_ways() -> None:
    monday = paris(2026, 3, 9, 8, 30)
    # Saturday 20:00 is 36.5 h before Monday 08:30: too late under 48 h, fine under the rule.
    assert book(monday, paris(2026, 3, 7, 20, 0)) is None
    tuesday = paris(2026, 3, 10, 15, 45)
    # Sunday 10:00 is 53 h 45 before Tuesday 15:45: fine under 48 h, too late under the rule.
    assert book(tuesday, paris(2026, 3, 8, 10, 0)) == RefusalCode.TOO_LATE
    # Monday 08:00, even 31 h 45 before.
    assert book(tuesday, paris(2026, 3, 9, 8, 0)) == RefusalCode.TOO_LATE


def test_tuesday_after_a_holiday_monday() -> None:
    tuesday = paris(2026, 4, 7, 8, 30)  # Easter Monday is 6 April 2026
    assert book(paris(2026, 4, 6, 8, 30), LONG_BEFORE) == RefusalCode.HOLIDAY
    assert book(tuesday, paris(2026, 4, 4, 23, 59, 59)) is None
    assert book(tuesday, paris(2026, 4, 5, 0, 0)) == RefusalCode.TOO_LATE
    assert book(tuesday, paris(2026, 4, 6, 8, 0)) == RefusalCode.TOO_LATE


def test_wednesday_after_easter_monday_keeps_48_hours() -> None:
    wednesday = paris(2026, 4, 8, 8, 30)
    assert booking_deadline(METROPOLE, wednesday) == paris(2026, 4, 6, 8, 30)
    assert book(wednesday, paris(2026, 4, 6, 8, 30)) is None
    assert book(wednesday, paris(2026, 4, 6, 8, 30, 1)) == RefusalCode.TOO_LATE


def test_saturday_cutoff_is_configurable_or_off() -> None:
    noon = SlotGrid(saturday_cutoff=time(12, 0))
    monday = paris(2026, 3, 9, 8, 30)
    assert book(monday, paris(2026, 3, 7, 12, 0), grid=noon) is None
    assert book(monday, paris(2026, 3, 7, 12, 0, 1), grid=noon) == RefusalCode.TOO_LATE
    off = SlotGrid(saturday_cutoff=None)
    assert booking_deadline(off, monday) == paris(2026, 3, 7, 8, 30)
    tuesday = paris(2026, 3, 10, 15, 45)
    assert book(tuesday, paris(2026, 3, 8, 15, 45), grid=off) is None


# --- Summer time -------------------------------------------------------------------------------


def offset_hours(when: datetime) -> float:
    delta = when.utcoffset()
    assert delta is not None
    return delta / timedelta(hours=1)


@pytest.mark.parametrize(
    ("change_sunday", "before", "after"),
    [
        (date(2025, 3, 30), 1, 2),
        (date(2026, 3, 29), 1, 2),
        (date(2027, 3, 28), 1, 2),
        (date(2025, 10, 26), 2, 1),
        (date(2026, 10, 25), 2, 1),
        (date(2027, 10, 31), 2, 1),
    ],
)
def test_slots_keep_their_wall_clock_time_across_the_change(
    change_sunday: date, before: int, after: int
) -> None:
    assert WEEKDAYS[change_sunday.weekday()] == "Sun"
    listed = slots(METROPOLE, change_sunday - timedelta(days=6), 13, LONG_BEFORE)
    assert len(listed) == 12 * 6
    assert [s.start.time() for s in listed] == [t.start for t in DEFAULT_DAY_SLOTS] * 12
    for slot in listed:
        assert offset_hours(slot.start) == (before if slot.start.date() < change_sunday else after)


@pytest.mark.parametrize(
    ("monday", "saturday_offset"),
    [
        (date(2025, 3, 31), 1),
        (date(2026, 3, 30), 1),
        (date(2026, 10, 26), 2),
        (date(2027, 11, 1), 2),
    ],
)
def test_saturday_rule_across_the_change(monday: date, saturday_offset: int) -> None:
    # The Saturday cut-off is 23:59:59 on the Saturday's own wall clock.
    saturday = monday - timedelta(days=2)
    cutoff_utc = datetime.combine(saturday, time(23, 59, 59), tzinfo=UTC) - timedelta(
        hours=saturday_offset
    )
    for start in (
        datetime.combine(monday, time(8, 30), tzinfo=PARIS),
        datetime.combine(monday + timedelta(days=1), time(8, 30), tzinfo=PARIS),
    ):
        deadline = booking_deadline(METROPOLE, start)
        assert deadline == cutoff_utc
        assert deadline.time() == time(23, 59, 59) and offset_hours(deadline) == saturday_offset
        expected = RefusalCode.HOLIDAY if start.date() == date(2027, 11, 1) else None
        assert book(start, cutoff_utc) == expected
        if expected is None:
            assert book(start, cutoff_utc + timedelta(seconds=1)) == RefusalCode.TOO_LATE


def test_48_hours_is_real_time_across_the_spring_change() -> None:
    # Saturday 28 March 2026 08:30 CET to Monday 30 March 08:30 CEST is only 47 hours.
    off = SlotGrid(saturday_cutoff=None)
    monday = paris(2026, 3, 30, 8, 30)
    assert monday.astimezone(UTC) == utc(2026, 3, 30, 6, 30)
    deadline = booking_deadline(off, monday)
    assert deadline == paris(2026, 3, 28, 7, 30)  # 07:30 on the wall clock
    assert book(monday, paris(2026, 3, 28, 7, 30), grid=off) is None
    assert book(monday, paris(2026, 3, 28, 7, 30, 1), grid=off) == RefusalCode.TOO_LATE
    assert book(monday, paris(2026, 3, 28, 8, 30), grid=off) == RefusalCode.TOO_LATE


def test_48_hours_is_real_time_across_the_autumn_change() -> None:
    # Saturday 24 October 2026 08:30 CEST to Monday 26 October 08:30 CET is 49 hours.
    off = SlotGrid(saturday_cutoff=None)
    monday = paris(2026, 10, 26, 8, 30)
    assert booking_deadline(off, monday) == paris(2026, 10, 24, 9, 30)
    assert book(monday, paris(2026, 10, 24, 9, 30), grid=off) is None
    assert book(monday, paris(2026, 10, 24, 9, 30, 1), grid=off) == RefusalCode.TOO_LATE


@pytest.mark.parametrize(
    ("wednesday", "monday"),
    [(date(2026, 4, 1), date(2026, 3, 30)), (date(2026, 10, 28), date(2026, 10, 26))],
)
def test_wednesday_after_the_change(wednesday: date, monday: date) -> None:
    # With 48 h, the window of a Wednesday slot (Monday to Wednesday) never holds the Sunday
    # change: the deadline is Monday 08:30 local, same wall clock.
    start = datetime.combine(wednesday, time(8, 30), tzinfo=PARIS)
    deadline = datetime.combine(monday, time(8, 30), tzinfo=PARIS)
    assert booking_deadline(METROPOLE, start) == deadline
    assert book(start, datetime.combine(monday - timedelta(days=3), time(12), tzinfo=PARIS)) is None
    assert book(start, deadline) is None
    assert book(start, deadline + timedelta(seconds=1)) == RefusalCode.TOO_LATE


@pytest.mark.parametrize(
    ("wednesday", "deadline"),
    [
        (paris(2026, 4, 1, 8, 30), paris(2026, 3, 28, 7, 30)),  # 96 h back across spring
        (paris(2026, 10, 28, 8, 30), paris(2026, 10, 24, 9, 30)),  # 96 h back across autumn
    ],
)
def test_wednesday_window_crossing_the_change(wednesday: datetime, deadline: datetime) -> None:
    grid = SlotGrid(notice=timedelta(hours=96))
    assert booking_deadline(grid, wednesday) == deadline
    # Same tzinfo: Python subtracts wall clocks, so compare in UTC (real elapsed time).
    assert wednesday.astimezone(UTC) - deadline.astimezone(UTC) == timedelta(hours=96)
    assert wednesday - deadline != timedelta(hours=96)
    assert book(wednesday, deadline, grid=grid) is None
    assert book(wednesday, deadline + timedelta(seconds=1), grid=grid) == RefusalCode.TOO_LATE


def test_the_clock_may_be_given_in_any_zone() -> None:
    start = paris(2026, 3, 12, 10, 30)
    assert book(start, utc(2026, 3, 10, 9, 30)) is None
    assert book(start, utc(2026, 3, 10, 9, 30, 1)) == RefusalCode.TOO_LATE
    new_york = ZoneInfo("America/New_York")  # on summer time since 8 March 2026: UTC-4
    assert book(start, datetime(2026, 3, 10, 5, 30, tzinfo=new_york)) is None
    assert book(start, datetime(2026, 3, 10, 5, 30, 1, tzinfo=new_york)) == RefusalCode.TOO_LATE


# --- Quota ---------------------------------------------------------------------------------------

FIRST = paris(2026, 3, 11, 10, 30)  # a Wednesday
NOW = paris(2026, 1, 5, 9, 0)


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        (paris(2026, 4, 8, 8, 30), None),  # Wednesday, 28 days later (across the spring change)
        (paris(2026, 4, 7, 15, 45), RefusalCode.QUOTA),  # 27 days later
        (paris(2026, 3, 11, 15, 45), RefusalCode.QUOTA),  # same day
        (paris(2026, 3, 11, 10, 30), RefusalCode.QUOTA),  # same slot
        (paris(2026, 2, 11, 15, 45), None),  # 28 days before
        (paris(2026, 2, 12, 8, 30), RefusalCode.QUOTA),  # 27 days before
    ],
)
def test_one_per_28_days(candidate: datetime, expected: str | None) -> None:
    assert book(candidate, NOW, bookings=booked(FIRST)) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (BookingStatus.BOOKED, RefusalCode.QUOTA),
        (BookingStatus.DONE, RefusalCode.QUOTA),
        (BookingStatus.NO_ANSWER, RefusalCode.QUOTA),
        (BookingStatus.CANCELLED, None),
    ],
)
def test_which_bookings_count(status: BookingStatus, expected: str | None) -> None:
    assert (status in COUNTED_STATUSES) == (expected is not None)
    candidate = paris(2026, 3, 20, 8, 30)
    assert book(candidate, NOW, bookings=booked(FIRST, status=status)) == expected


def test_quota_across_the_autumn_change() -> None:
    first = paris(2026, 10, 16, 8, 30)  # Friday, summer time; 28 days later is winter time
    later = paris(2026, 11, 13, 8, 30)
    assert later.astimezone(UTC) - first.astimezone(UTC) == timedelta(days=28, hours=1)
    assert book(later, NOW, bookings=booked(first)) is None
    assert book(paris(2026, 11, 12, 15, 45), NOW, bookings=booked(first)) == RefusalCode.QUOTA


def test_quota_across_the_spring_change() -> None:
    first = paris(2026, 3, 11, 15, 45)  # winter time; 28 days later at 08:30 is 671 h later
    later = paris(2026, 4, 8, 8, 30)
    assert later.astimezone(UTC) - first.astimezone(UTC) < timedelta(days=28)
    assert book(later, NOW, bookings=booked(first)) is None


def test_larger_quota() -> None:
    grid = SlotGrid(quota_count=2, quota_window_days=28)
    one = booked(paris(2026, 3, 2, 8, 30))
    two = one + booked(paris(2026, 3, 20, 8, 30))
    assert book(FIRST, NOW, grid=grid, bookings=one) is None
    assert book(FIRST, NOW, grid=grid, bookings=two) == RefusalCode.QUOTA
    cancelled = one + booked(paris(2026, 3, 20, 8, 30), status=BookingStatus.CANCELLED)
    assert book(FIRST, NOW, grid=grid, bookings=cancelled) is None
    # 2 March and 30 March are 28 days apart: no 28-day window holds both, so 11 March is
    # judged against each window separately.
    apart = one + booked(paris(2026, 3, 30, 8, 30))
    assert book(FIRST, NOW, grid=grid, bookings=apart) is None
    later = booked(paris(2026, 3, 30, 8, 30), paris(2026, 4, 1, 8, 30))
    assert book(FIRST, NOW, grid=grid, bookings=later) == RefusalCode.QUOTA


def test_quota_message_names_the_conflicting_day() -> None:
    refusal = check_booking(
        METROPOLE,
        paris(2026, 3, 20, 8, 30),
        NOW,
        bookings=booked(paris(2026, 2, 2, 8, 30), FIRST),
        detainee=ACTIVE,
        correspondent=ADULT,
        kiosk_free=True,
    )
    assert refusal is not None and refusal.code == RefusalCode.QUOTA
    assert "mercredi 11 mars 2026" in refusal.message_fr
    assert "un seul créneau par période de 28 jours" in refusal.message_fr
    assert "Wednesday 11 March 2026" in refusal.message_en


# --- People, kiosk, order of the checks -------------------------------------------------------


@pytest.mark.parametrize(
    ("detainee", "correspondent", "kiosk_free", "expected"),
    [
        (ACTIVE, ADULT, True, None),
        (DetaineeFacts(DetaineeStatus.RELEASED, True), ADULT, True, RefusalCode.DETAINEE_RELEASED),
        (
            DetaineeFacts(DetaineeStatus.SUSPENDED, True),
            ADULT,
            True,
            RefusalCode.DETAINEE_SUSPENDED,
        ),
        (DetaineeFacts(DetaineeStatus.ACTIVE, False), ADULT, True, RefusalCode.CHARTER_NOT_SIGNED),
        (
            ACTIVE,
            CorrespondentFacts(CorrespondentStatus.SUSPENDED, False, False),
            True,
            RefusalCode.CORRESPONDENT_NOT_AUTHORISED,
        ),
        (
            ACTIVE,
            CorrespondentFacts(CorrespondentStatus.WITHDRAWN, False, True),
            True,
            RefusalCode.CORRESPONDENT_NOT_AUTHORISED,
        ),
        (
            ACTIVE,
            CorrespondentFacts(CorrespondentStatus.AUTHORISED, True, False),
            True,
            RefusalCode.MINOR_WITHOUT_CONSENT,
        ),
        (ACTIVE, CorrespondentFacts(CorrespondentStatus.AUTHORISED, True, True), True, None),
        (ACTIVE, ADULT, False, RefusalCode.KIOSK_BUSY),
    ],
)
def test_people_and_kiosk(
    detainee: DetaineeFacts,
    correspondent: CorrespondentFacts,
    kiosk_free: bool,
    expected: str | None,
) -> None:
    start = paris(2026, 3, 11, 8, 30)
    result = book(start, NOW, detainee=detainee, correspondent=correspondent, kiosk_free=kiosk_free)
    assert result == expected


def test_statuses_may_be_plain_strings() -> None:
    detainee = DetaineeFacts("suspended", True)  # type: ignore[arg-type]
    assert book(FIRST, NOW, detainee=detainee) == RefusalCode.DETAINEE_SUSPENDED
    bookings = (ExistingBooking(FIRST, "cancelled"),)  # type: ignore[arg-type]
    assert book(paris(2026, 3, 12, 8, 30), NOW, bookings=bookings) is None


def test_first_refusal_wins() -> None:
    everything_wrong = dict(
        bookings=booked(FIRST),
        correspondent=CorrespondentFacts(CorrespondentStatus.WITHDRAWN, True, False),
        kiosk_free=False,
    )
    start = paris(2026, 3, 12, 8, 30)
    late = paris(2026, 3, 12, 8, 0)
    order = [
        (DetaineeFacts(DetaineeStatus.RELEASED, False), RefusalCode.DETAINEE_RELEASED),
        (DetaineeFacts(DetaineeStatus.SUSPENDED, False), RefusalCode.DETAINEE_SUSPENDED),
        (DetaineeFacts(DetaineeStatus.ACTIVE, False), RefusalCode.CHARTER_NOT_SIGNED),
        (ACTIVE, RefusalCode.CORRESPONDENT_NOT_AUTHORISED),
    ]
    for detainee, expected in order:
        assert book(start, late, detainee=detainee, **everything_wrong) == expected
    minor = CorrespondentFacts(CorrespondentStatus.AUTHORISED, True, False)
    assert book(start, late, correspondent=minor, kiosk_free=False) == (
        RefusalCode.MINOR_WITHOUT_CONSENT
    )
    rest = dict(bookings=booked(FIRST), kiosk_free=False)
    assert book(paris(2026, 3, 15, 8, 30), late, **rest) == RefusalCode.SUNDAY
    assert book(paris(2026, 4, 6, 8, 30), late, **rest) == RefusalCode.HOLIDAY
    assert book(paris(2026, 3, 12, 8, 31), late, **rest) == RefusalCode.NOT_IN_GRID
    assert book(paris(2026, 3, 11, 8, 30), late, **rest) == RefusalCode.IN_PAST
    assert book(start, late, **rest) == RefusalCode.TOO_LATE
    assert book(start, NOW, **rest) == RefusalCode.QUOTA
    assert book(start, NOW, kiosk_free=False) == RefusalCode.KIOSK_BUSY


def test_sanctions_are_judged_after_the_slot_and_say_until_when() -> None:
    start = paris(2026, 3, 12, 8, 30)
    suspended = SanctionFacts(datetime(2026, 4, 1, 0, 0, tzinfo=PARIS))  # until the 31st, incl.
    # The slot's own refusals come first; then the number; then the detainee's access.
    assert book(start, NOW, kiosk_free=False, correspondent=SANCTIONED) == RefusalCode.KIOSK_BUSY
    both = dict(correspondent=SANCTIONED, detainee_sanction=suspended)
    assert book(start, NOW, **both) == RefusalCode.NUMBER_SANCTIONED
    assert book(start, NOW, detainee_sanction=suspended) == RefusalCode.DETAINEE_SANCTIONED
    assert book(start, NOW) is None
    refusal = check_booking(
        METROPOLE, start, NOW, bookings=(), detainee=ACTIVE, correspondent=ADULT,
        kiosk_free=True, detainee_sanction=suspended,
    )  # fmt: skip
    assert refusal is not None
    assert refusal.message_fr.endswith("suspendu jusqu'au 31/03/2026 inclus.")
    assert refusal.message_en.endswith("suspended until 31/03/2026 included.")
    withdrawn = check_booking(
        METROPOLE, start, NOW, bookings=(), detainee=ACTIVE, correspondent=ADULT,
        kiosk_free=True, detainee_sanction=SanctionFacts(None),
    )  # fmt: skip
    assert withdrawn is not None and withdrawn.message_fr.endswith("est retiré.")


def test_every_refusal_can_be_read_out() -> None:
    cases: list[Refusal | None] = []
    for code_case in (
        dict(start=paris(2026, 3, 11, 8, 31)),
        dict(start=paris(2026, 3, 15, 8, 30)),
        dict(start=paris(2026, 4, 6, 8, 30)),
        dict(start=paris(2026, 3, 9, 8, 30), now=paris(2026, 3, 8, 9, 0)),
        dict(start=paris(2026, 3, 9, 8, 30), now=paris(2026, 3, 9, 9, 0)),
        dict(start=paris(2026, 3, 12, 8, 30), bookings=booked(FIRST)),
        dict(detainee=DetaineeFacts(DetaineeStatus.ACTIVE, False)),
        dict(detainee=DetaineeFacts(DetaineeStatus.SUSPENDED, True)),
        dict(detainee=DetaineeFacts(DetaineeStatus.RELEASED, True)),
        dict(correspondent=CorrespondentFacts(CorrespondentStatus.WITHDRAWN, False, False)),
        dict(correspondent=CorrespondentFacts(CorrespondentStatus.AUTHORISED, True, False)),
        dict(kiosk_free=False),
        dict(correspondent=SANCTIONED),
        dict(detainee_sanction=SanctionFacts(None)),
    ):
        arguments = dict(
            start=FIRST,
            now=NOW,
            bookings=(),
            detainee=ACTIVE,
            correspondent=ADULT,
            kiosk_free=True,
        )
        arguments.update(code_case)
        start, now = arguments.pop("start"), arguments.pop("now")
        cases.append(check_booking(METROPOLE, start, now, **arguments))  # type: ignore[arg-type]
    refusals = [case for case in cases if case is not None]
    assert {refusal.code for refusal in refusals} == set(RefusalCode)
    for refusal in refusals:
        assert refusal.message_fr.endswith(".") and refusal.message_en.endswith(".")
        assert refusal.code.startswith("booking.")
    [too_late] = [r for r in refusals if r.code == RefusalCode.TOO_LATE]
    assert "samedi 7 mars 2026 à 23 h 59" in too_late.message_fr
    [holiday] = [r for r in refusals if r.code == RefusalCode.HOLIDAY]
    assert "lundi 6 avril 2026" in holiday.message_fr


def test_full_slots_are_the_callers_word() -> None:
    taken = paris(2026, 3, 11, 9, 30)
    listed = slots(METROPOLE, date(2026, 3, 11), 1, NOW, full={taken.astimezone(UTC)})
    assert [s.reason for s in listed] == [None, SlotReason.FULL, None, None, None, None]
    # A closed or late slot says so rather than "full".
    listed = slots(METROPOLE, date(2026, 4, 6), 1, NOW, full={paris(2026, 4, 6, 9, 30)})
    assert {s.reason for s in listed} == {SlotReason.HOLIDAY}


# --- Property tests ----------------------------------------------------------------------------

SUBDIVISION_ORACLE = {"metropole": None, "alsace-moselle": "57"}

grids = st.builds(
    SlotGrid,
    holiday_region=st.sampled_from(["metropole", "alsace-moselle"]),
    notice=st.sampled_from([timedelta(0), timedelta(hours=24), timedelta(hours=48)]),
    saturday_cutoff=st.sampled_from([time(23, 59, 59), time(12, 0), None]),
    weekly_slots=st.sampled_from([(DEFAULT_DAY_SLOTS,) * 6 + ((),), (DEFAULT_DAY_SLOTS,) * 7]),
)


def expected_open(grid: SlotGrid, start: datetime, now: datetime) -> bool:
    """R3 restated independently, with the rule's own words."""
    if now >= start:
        return False
    local = start.astimezone(PARIS)
    if local.weekday() in (0, 1) and grid.saturday_cutoff is not None:
        saturday = local.date() - timedelta(days=local.weekday() + 2)
        assert saturday.weekday() == 5
        now_local = now.astimezone(PARIS)
        return (now_local.date(), now_local.time()) <= (saturday, grid.saturday_cutoff)
    return start.astimezone(UTC) - now.astimezone(UTC) >= grid.notice


@settings(max_examples=300, deadline=None)
@given(
    grid=grids,
    start_date=st.dates(date(2025, 1, 1), date(2027, 12, 20)),
    days=st.integers(0, 16),
    lead=st.integers(-5 * 86400, 16 * 86400),
    now_zone=st.sampled_from([UTC, PARIS]),
    full_every=st.integers(2, 7),
)
def test_listing_matches_the_rules_and_check_booking(
    grid: SlotGrid,
    start_date: date,
    days: int,
    lead: int,
    now_zone: ZoneInfo,
    full_every: int,
) -> None:
    base = datetime.combine(start_date, time(0), tzinfo=UTC)
    now = (base + timedelta(seconds=lead)).astimezone(now_zone)
    listed_days = [
        d for d in range(days) if grid.weekly_slots[(start_date + timedelta(d)).weekday()]
    ]
    every = slots(grid, start_date, days, now)
    assert len(every) == 6 * len(listed_days)
    full = {slot.start for slot in every[::full_every]}
    listed = slots(grid, start_date, days, now, full=full)
    public = holidays.France(
        subdiv=SUBDIVISION_ORACLE[grid.holiday_region], years=range(2025, 2029)
    )
    for slot in listed:
        day = slot.start.date()
        closed = day.weekday() == 6 or day in public
        open_now = expected_open(grid, slot.start, now)
        assert slot.bookable == (not closed and open_now and slot.start not in full)
        assert slot.bookable == (slot.reason is None)
        if slot.bookable:  # the property of the brief, in plain words
            assert day.weekday() != 6 and day not in public
            assert slot.start.astimezone(UTC) > now.astimezone(UTC)
            assert now <= slot.deadline
        refusal = book(slot.start, now, grid=grid, kiosk_free=slot.start not in full)
        expected = {
            None: {None},
            SlotReason.SUNDAY: {RefusalCode.SUNDAY},
            SlotReason.HOLIDAY: {RefusalCode.HOLIDAY},
            SlotReason.TOO_LATE: {RefusalCode.TOO_LATE, RefusalCode.IN_PAST},
            SlotReason.FULL: {RefusalCode.KIOSK_BUSY},
        }[slot.reason]
        assert refusal in expected
        event(f"slot {slot.reason or 'bookable'}")


def bookable_pool() -> list[datetime]:
    # Every open slot from February to May 2025 (spring change on 30 March, Easter, 1 and 8 May).
    return [s.start for s in slots(METROPOLE, date(2025, 2, 1), 120, LONG_BEFORE) if s.bookable]


POOL = bookable_pool()


@dataclass
class Held:
    start: datetime
    status: BookingStatus


def quota_holds(grid: SlotGrid, held: list[Held]) -> bool:
    """R4 restated: no run of window_days consecutive days holds more than quota_count."""
    days = sorted(h.start.astimezone(PARIS).date() for h in held if h.status in COUNTED_STATUSES)
    n, window = grid.quota_count, grid.quota_window_days
    return all((days[i + n] - days[i]).days >= window for i in range(len(days) - n))


operations = st.lists(
    st.one_of(
        st.tuples(st.just("book"), st.integers(0, len(POOL) - 1), st.sampled_from([UTC, PARIS])),
        st.tuples(st.just("cancel"), st.integers(0, 10_000), st.none()),
        st.tuples(st.just("finish"), st.integers(0, 10_000), st.none()),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(1, 3),
    window=st.integers(1, 45),
    ops=operations,
)
def test_quota_is_never_exceeded(count: int, window: int, ops: list) -> None:
    grid = SlotGrid(quota_count=count, quota_window_days=window)
    held: list[Held] = []
    for action, index, zone in ops:
        if action == "book":
            start = POOL[index].astimezone(zone)
            existing = tuple(ExistingBooking(h.start, h.status) for h in held)
            result = book(start, LONG_BEFORE, grid=grid, bookings=existing)
            would_hold = quota_holds(grid, [*held, Held(start, BookingStatus.BOOKED)])
            assert result == (None if would_hold else RefusalCode.QUOTA)
            event("booking accepted" if result is None else "booking refused (quota)")
            if result is None:
                held.append(Held(start, BookingStatus.BOOKED))
        elif held:
            target = held[index % len(held)]
            if action == "cancel":
                target.status = BookingStatus.CANCELLED
            elif target.status == BookingStatus.BOOKED:
                target.status = (BookingStatus.DONE, BookingStatus.NO_ANSWER)[index % 2]
        assert quota_holds(grid, held)
