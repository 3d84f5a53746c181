"""The rules taken out of the adapters (issue 17, step 2), with an injected clock: whether a
call may start (gateway/core/call_rules.py), and cancelling and extending a booking
(gateway/core/booking_rules.py). The engine and the desk only gather facts and ask these."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.core.booking_rules import cancellation, extension_refusal
from gateway.core.call_rules import (
    CallStartFacts,
    closes_booking,
    may_offer,
    may_start,
    people_refusal,
)
from gateway.core.lifecycle import CallState, EndReason, Leg

START, END = 1_800_000_000.0, 1_800_000_000.0 + 45 * 60
FACTS = CallStartFacts(
    slot_start=START, slot_end=END, status="booked", max_seconds=0,
    default_max_seconds=1200, connected_ms=0,
)  # fmt: skip


@pytest.mark.parametrize(
    ("now", "refusal"),
    [(START - 1, "call.outside_slot"), (START, None), (END - 0.001, None),
     (END, "call.outside_slot"), (END + 3600, "call.outside_slot")],
)  # fmt: skip
def test_the_slot_window_is_half_open(now: float, refusal: str | None) -> None:
    assert may_start(FACTS, now).refusal == refusal


@pytest.mark.parametrize("status", [None, "cancelled", "done", "no_answer"])
def test_only_a_booked_booking_starts_a_call(status: str | None) -> None:
    assert may_start(replace(FACTS, status=status), START + 60).refusal == "kiosk.no_booking"


def test_calls_of_a_booking_share_its_time() -> None:
    now = START + 600
    assert may_start(FACTS, now).remaining == 1200
    used = replace(FACTS, connected_ms=1_000_000)
    assert may_start(used, now).remaining == 200
    assert may_start(replace(FACTS, connected_ms=1_199_001), now).refusal == "call.time_used"
    assert may_start(replace(FACTS, connected_ms=1_199_000), now).remaining == 1
    longer = replace(used, max_seconds=1800)  # extended by the direction
    assert may_start(longer, now).remaining == 800


def test_sanctions_refuse_and_the_order_of_refusals_holds() -> None:
    now = START + 60
    barred = replace(FACTS, number_sanctioned=True)
    assert may_start(barred, now).refusal == "call.number_sanctioned"
    both = replace(FACTS, number_sanctioned=True, detainee_suspended=True)
    assert may_start(both, now).refusal == "call.number_sanctioned"
    suspended = replace(FACTS, detainee_suspended=True)
    assert may_start(suspended, now).refusal == "call.detainee_suspended"
    # outside the slot first, then the booking, then the time, then the sanctions
    assert may_start(replace(both, status="done"), now).refusal == "kiosk.no_booking"
    assert may_start(both, END).refusal == "call.outside_slot"
    spent = replace(both, connected_ms=1_200_000)
    assert may_start(spent, now).refusal == "call.time_used"
    assert may_start(FACTS, now).allowed


@pytest.mark.parametrize(
    ("status", "now", "verdict"),
    [("booked", START - 1, "cancel"), ("booked", START, "booking.not_cancellable"),
     ("cancelled", START + 99, "done"), ("done", START - 1, "booking.not_cancellable"),
     ("no_answer", START - 1, "booking.not_cancellable")],
)  # fmt: skip
def test_cancellation(status: str, now: float, verdict: str) -> None:
    assert cancellation(status, START, now) == verdict


@pytest.mark.parametrize(
    ("status", "current", "requested", "now", "refusal"),
    [("booked", 1200, 1800, START + 60, None),
     ("booked", 1200, 2700, START - 1, None),  # the whole slot, before it starts
     ("booked", 1200, 2701, START, "booking.bad_extension"),  # longer than the slot
     ("booked", 1200, 1200, START, "booking.bad_extension"),  # not longer
     ("booked", 1200, 1800, END, "booking.not_extendable"),  # slot over
     ("done", 1200, 1800, START, "booking.not_extendable")],
)  # fmt: skip
def test_extension(status: str, current: int, requested: int, now: float,
                   refusal: str | None) -> None:  # fmt: skip
    assert extension_refusal(status, START, END, current, requested, now) == refusal


def test_which_leg_may_offer_in_which_state() -> None:
    kiosk = {s for s in CallState if may_offer(Leg.KIOSK, s)}
    relative = {s for s in CallState if may_offer(Leg.RELATIVE, s)}
    assert kiosk == {CallState.WAITING_RELATIVE, CallState.CONNECTING}
    assert relative == {CallState.CONNECTING}
    # Coming back: a leg that offered before may offer again, once the relative has joined
    # (the kiosk also while waiting for them); never on an ended call.
    kiosk_again = {s for s in CallState if may_offer(Leg.KIOSK, s, has_leg=True)}
    relative_again = {s for s in CallState if may_offer(Leg.RELATIVE, s, has_leg=True)}
    live = {CallState.CONNECTING, CallState.CONNECTED, CallState.RECONNECTING}
    assert kiosk_again == live | {CallState.WAITING_RELATIVE}
    assert relative_again == live


def test_which_ends_close_the_booking() -> None:
    closing = {EndReason.TIME_LIMIT, EndReason.KIOSK_HANGUP, EndReason.RELATIVE_HANGUP,
               EndReason.CUT}  # fmt: skip
    for reason in EndReason:
        # connected, ended before the slot's end: only a normal end closes
        assert closes_booking(reason, 60_000, START + 600, END) == (reason in closing)
        # never connected: the kiosk may call again within the slot
        assert not closes_booking(reason, 0, START + 600, END)
        # at or after the slot's end, any end closes
        assert closes_booking(reason, 0, END, END)


@pytest.mark.parametrize(
    ("detainee", "correspondent", "refusal"),
    [("active", "authorised", None), ("suspended", "authorised", "kiosk.no_booking"),
     ("released", "authorised", "kiosk.no_booking"), ("active", None, "kiosk.no_booking"),
     ("active", "suspended", "kiosk.no_booking"), (None, "authorised", "kiosk.no_booking")],
)  # fmt: skip
def test_the_kiosk_re_checks_the_people(detainee: str | None, correspondent: str | None,
                                        refusal: str | None) -> None:  # fmt: skip
    assert people_refusal(detainee, correspondent) == refusal
