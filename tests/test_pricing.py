"""Billing arithmetic: every tariff, every rounding edge, the connected-time clock."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.core.pricing import (
    CHARTER_TARIFFS,
    OFF_PLAN,
    CallCost,
    ConnectedClock,
    PricingError,
    Rounding,
    Tariff,
    TariffTable,
    call_cost,
    max_hold,
)

# The charter's table ("Est payant"): name -> (cents per minute, connection fee).
CHARTER = {
    "hors_forfait": (30, 14),
    "forfait_20": (26, 0),
    "forfait_30": (25, 0),
    "forfait_40": (20, 0),
    "forfait_50": (27, 0),
    "forfait_70": (25, 0),
    "forfait_100": (20, 0),
}
TARIFFS = [CHARTER_TARIFFS.get(name) for name in CHARTER]
MINUTE = Rounding.PER_STARTED_MINUTE
SECOND = Rounding.PER_SECOND

# connected seconds -> minutes billed, per started minute
MINUTE_EDGES = [(0, 0), (1, 1), (59, 1), (60, 1), (61, 2), (119, 2), (120, 2), (1800, 30)]


def test_charter_table_matches_the_charter() -> None:
    assert CHARTER_TARIFFS.names == tuple(CHARTER)
    assert CHARTER_TARIFFS.default == OFF_PLAN == "hors_forfait"
    for tariff in CHARTER_TARIFFS:
        assert (tariff.per_minute_cents, tariff.connection_fee_cents) == CHARTER[tariff.name]


@pytest.mark.parametrize("tariff", TARIFFS, ids=lambda t: t.name)
@pytest.mark.parametrize(("seconds", "minutes"), MINUTE_EDGES)
def test_per_started_minute_edges(tariff: Tariff, seconds: int, minutes: int) -> None:
    rate, fee = CHARTER[tariff.name]
    cost = call_cost(tariff, seconds)
    assert cost.rounding is MINUTE  # the default
    assert cost.billed_minutes == minutes
    assert cost.billed_seconds == minutes * 60
    assert cost.fee == (fee if seconds else 0)
    assert cost.usage == minutes * rate
    assert cost.amount == cost.fee + cost.usage
    assert all(type(v) is int for v in (cost.billed_minutes, cost.fee, cost.usage, cost.amount))


@pytest.mark.parametrize("tariff", TARIFFS, ids=lambda t: t.name)
@pytest.mark.parametrize("seconds", [0, 1, 59, 60, 61, 119, 120, 1800])
def test_per_second_edges(tariff: Tariff, seconds: int) -> None:
    rate, fee = CHARTER[tariff.name]
    cost = call_cost(tariff, seconds, SECOND)
    assert cost.billed_seconds == seconds
    assert cost.billed_minutes == math.ceil(seconds / 60)
    assert cost.usage == math.ceil(rate * seconds / 60)
    assert cost.fee == (fee if seconds else 0)
    assert cost.amount == cost.fee + cost.usage


def test_off_plan_worked_examples() -> None:
    off = CHARTER_TARIFFS.get("hors_forfait")
    assert call_cost(off, 0).amount == 0
    assert call_cost(off, 1).amount == 14 + 30
    assert call_cost(off, 60).amount == 14 + 30
    assert call_cost(off, 61).amount == 14 + 60
    assert call_cost(off, 1800).amount == 14 + 900
    assert call_cost(off, 1, SECOND).amount == 14 + 1  # 0.5 c rounded up
    assert call_cost(off, 61, SECOND).amount == 14 + 31  # 30.5 c rounded up
    assert call_cost(off, 120, SECOND).amount == 14 + 60


def test_per_second_rounds_up_once_per_call_not_per_minute() -> None:
    f50 = CHARTER_TARIFFS.get("forfait_50")  # 27 c/min = 0.45 c/s
    assert call_cost(f50, 1, SECOND).usage == 1
    assert call_cost(f50, 2, SECOND).usage == 1  # 0.9 c
    assert call_cost(f50, 3, SECOND).usage == 2  # 1.35 c
    assert call_cost(f50, 20, SECOND).usage == 9  # exactly 9 c
    assert call_cost(f50, 21, SECOND).usage == 10  # 9.45 c
    # 90 s = 40.5 c: rounded up once, for the whole call
    assert call_cost(f50, 90, SECOND).usage == 41
    # a fraction of a second is a started second
    assert call_cost(f50, 20.2, SECOND).billed_seconds == 21
    assert call_cost(f50, 20.2, SECOND).usage == 10


def test_fee_only_when_connected() -> None:
    off = CHARTER_TARIFFS.get(OFF_PLAN)
    for rounding in Rounding:
        assert call_cost(off, 0, rounding) == CallCost(OFF_PLAN, rounding, 0, 0, 0, 0, 0, 0)
        assert call_cost(off, 0.0, rounding).amount == 0
        assert call_cost(off, 0.001, rounding).fee == 14
        assert call_cost(off, 3600, rounding).fee == 14  # once, however long
    for tariff in TARIFFS[1:]:
        assert call_cost(tariff, 600).fee == 0


def test_float_noise_from_clock_subtraction_is_not_an_extra_minute() -> None:
    off = CHARTER_TARIFFS.get(OFF_PLAN)
    noisy = (1000.3 + 1800) - 1000.3  # a 30-minute call measured on a monotonic clock
    assert noisy > 1800  # the float really is off: 1800.0000000000002
    assert call_cost(off, noisy).billed_minutes == 30
    assert call_cost(off, noisy, SECOND).billed_seconds == 1800
    assert call_cost(off, 59.9996).billed_minutes == 1
    assert call_cost(off, 60.0004).billed_minutes == 1  # < half a millisecond
    assert call_cost(off, 60.001).billed_minutes == 2
    assert call_cost(off, 0.0004).amount == 0  # below a millisecond: never connected


@pytest.mark.parametrize("tariff", TARIFFS, ids=lambda t: t.name)
@pytest.mark.parametrize("limit", [20, 30])
def test_call_exactly_at_the_limit_costs_the_hold(tariff: Tariff, limit: int) -> None:
    rate, fee = CHARTER[tariff.name]
    assert max_hold(tariff, limit) == fee + limit * rate
    for rounding in Rounding:
        assert call_cost(tariff, limit * 60, rounding).amount == max_hold(tariff, limit)
        assert call_cost(tariff, limit * 60 - 1, rounding).amount <= max_hold(tariff, limit)
    # one second over the limit is over the hold (the ledger caps it)
    assert call_cost(tariff, limit * 60 + 1).amount == max_hold(tariff, limit) + rate


def test_max_hold_30_minutes_off_plan() -> None:
    assert max_hold(CHARTER_TARIFFS.get(OFF_PLAN), 30) == 914


@given(
    seconds=st.floats(min_value=0, max_value=4 * 3600, allow_nan=False),
    tariff=st.sampled_from(TARIFFS),
)
def test_properties(seconds: float, tariff: Tariff) -> None:
    by_minute = call_cost(tariff, seconds, MINUTE)
    by_second = call_cost(tariff, seconds, SECOND)
    assert 0 <= by_second.amount <= by_minute.amount
    assert by_second.fee == by_minute.fee
    assert by_minute.billed_seconds >= by_second.billed_seconds >= seconds - 0.0005
    limit = max(1, by_minute.billed_minutes)
    assert by_minute.amount <= max_hold(tariff, limit)
    # monotonic: one more second never costs less
    assert call_cost(tariff, seconds + 1, MINUTE).amount >= by_minute.amount
    assert call_cost(tariff, seconds + 1, SECOND).amount >= by_second.amount


@pytest.mark.parametrize("bad", [-1, -0.001, math.nan, math.inf, "60", None, True])
def test_bad_durations_are_refused(bad: object) -> None:
    with pytest.raises(PricingError) as info:
        call_cost(TARIFFS[0], bad)  # type: ignore[arg-type]
    assert info.value.reason == "pricing.bad_duration"
    assert info.value.message


def test_bad_rounding_and_max_minutes() -> None:
    with pytest.raises(PricingError, match="pricing.bad_rounding"):
        call_cost(TARIFFS[0], 10, "per_hour")
    assert call_cost(TARIFFS[0], 10, "per_second").rounding is SECOND
    for bad in (0, -5, 1.5, True):
        with pytest.raises(PricingError, match="pricing.bad_duration"):
            max_hold(TARIFFS[0], bad)  # type: ignore[arg-type]


def test_tariff_table_is_configurable_and_validated() -> None:
    table = TariffTable.from_mapping(
        {
            "hors_forfait": {"per_minute_cents": 35, "connection_fee_cents": 10},
            "promo": {"per_minute_cents": 5},
        }
    )
    assert table.get("promo") == Tariff("promo", 5, 0)
    assert "promo" in table and "forfait_20" not in table
    with pytest.raises(PricingError) as info:
        table.get("forfait_20")
    assert info.value.reason == "pricing.unknown_tariff"
    with pytest.raises(PricingError, match="pricing.bad_tariff"):
        TariffTable((Tariff("a", 1), Tariff("a", 2)), default="a")
    with pytest.raises(PricingError, match="pricing.bad_tariff"):
        TariffTable((Tariff("a", 1),))  # default hors_forfait missing
    for rate, fee in ((-1, 0), (1, -1), (1.5, 0), (True, 0)):
        with pytest.raises(PricingError, match="pricing.bad_tariff"):
            Tariff("x", rate, fee)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        CHARTER_TARIFFS.default = "forfait_20"  # type: ignore[misc]


# ----------------------------------------------------------------------- ConnectedClock


def test_clock_never_connected() -> None:
    clock = ConnectedClock()
    assert clock.total(100.0) == 0
    assert clock.checkpoint(200.0) == 0
    assert not clock.disconnected(300.0)
    assert not clock.ever_connected and not clock.is_connected
    assert call_cost(TARIFFS[0], clock.total(400.0)).amount == 0


def test_clock_single_segment() -> None:
    clock = ConnectedClock()
    assert clock.connected(10.0)
    assert clock.is_connected and clock.ever_connected
    assert clock.total(40.0) == 30.0
    assert clock.checkpoint(70.0) == 60.0
    assert clock.total(70.0) == 60.0
    assert clock.disconnected(71.0)
    assert clock.total(1000.0) == 61.0
    assert call_cost(TARIFFS[0], clock.total(1000.0)).billed_minutes == 2


def test_clock_gap_is_not_billed() -> None:
    clock = ConnectedClock()
    clock.connected(0.0)
    clock.disconnected(50.0)  # the relative's leg drops...
    assert clock.total(80.0) == 50.0  # ...the gap does not count...
    clock.connected(90.0)  # ...and it comes back
    assert clock.total(100.0) == 60.0
    clock.disconnected(100.0)
    assert call_cost(TARIFFS[0], clock.total(500.0)).billed_minutes == 1


def test_clock_repeated_events_are_no_ops() -> None:
    clock = ConnectedClock()
    assert clock.connected(0.0)
    assert not clock.connected(5.0)  # second leg's "connected" does not restart the segment
    assert clock.total(10.0) == 10.0
    assert clock.disconnected(10.0)
    assert not clock.disconnected(20.0)
    assert clock.total(30.0) == 10.0


def test_clock_checkpoints_do_not_change_the_total() -> None:
    clock = ConnectedClock()
    clock.connected(1000.3)
    for t in range(1, 60):
        clock.checkpoint(1000.3 + t)
    clock.disconnected(1000.3 + 60)
    assert call_cost(TARIFFS[0], clock.total(2000.0)).billed_minutes == 1


def test_clock_refuses_time_going_backwards() -> None:
    clock = ConnectedClock()
    clock.connected(10.0)
    with pytest.raises(PricingError) as info:
        clock.disconnected(9.0)
    assert info.value.reason == "clock.went_backwards"
    with pytest.raises(PricingError, match="clock.went_backwards"):
        clock.total(5.0)
    with pytest.raises(PricingError, match="clock.bad_time"):
        clock.total(math.nan)
    assert clock.total(10.0) == 0.0
