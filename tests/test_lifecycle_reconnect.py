"""A leg lost and back within the grace period, with an injected clock (no I/O)."""

from __future__ import annotations

from gateway.core.lifecycle import (
    CallEnded,
    CallExtended,
    CallLifecycle,
    CallResumed,
    CallState,
    EndReason,
    Leg,
    LegConnected,
    LegLost,
    TimeWarningDue,
)

from .test_lifecycle import T0, connected_call

C = T0 + 60  # connected_call's connection time: ends_at C + 1800, slot end T0 + 2700


def test_a_lost_leg_waits_the_grace_and_the_gap_is_neither_billed_nor_taken_from_the_call() -> None:
    lc = connected_call()
    assert lc.ends_at == C + 1800
    # The relative's media stopped at C+100; the gateway notices 1.5 s later.
    events = lc.leg_lost(Leg.RELATIVE, C + 101.5, since=C + 100)
    assert events == [LegLost(at=C + 101.5, leg=Leg.RELATIVE, since=C + 100,
                              grace_ends_at=C + 160)]  # fmt: skip
    assert lc.state is CallState.RECONNECTING
    assert lc.next_deadline() == C + 160
    assert lc.connected_seconds(C + 120) == 100  # frozen during the gap
    assert lc.tick(C + 159.9) == []
    # Back after 20 s: the call's end moves by the gap.
    events = lc.leg_connected(Leg.RELATIVE, C + 120)
    assert events == [LegConnected(at=C + 120, leg=Leg.RELATIVE),
                      CallResumed(at=C + 120, ends_at=C + 1820, gap=20)]  # fmt: skip
    assert lc.state is CallState.CONNECTED and lc.ends_at == C + 1820
    assert lc.connected_seconds(C + 130) == 110
    # Warnings follow the moved end (300 s and 60 s before it).
    assert lc.next_deadline() == C + 1820 - 300
    assert lc.tick(C + 1520) == [TimeWarningDue(at=C + 1520, seconds_left=300)]
    # The call still lasts 30 connected minutes.
    assert lc.tick(C + 1820) == [CallEnded(at=C + 1820, reason=EndReason.TIME_LIMIT)]
    assert lc.connected_seconds(C + 9999) == 1800


def test_past_the_grace_the_call_ends_media_failure_billed_for_connected_time_only() -> None:
    lc = connected_call(reconnect_grace=30)
    lc.leg_lost(Leg.KIOSK, C + 50)
    assert lc.next_deadline() == C + 80
    assert lc.tick(C + 80) == [CallEnded(at=C + 80, reason=EndReason.MEDIA_FAILURE)]
    assert lc.connected_seconds(C + 80) == 50
    # Nothing after the end: a leg that comes back late changes nothing.
    assert lc.leg_connected(Leg.KIOSK, C + 81) == []
    assert lc.connected_seconds(C + 500) == 50


def test_both_legs_lost_resume_only_when_both_are_back_one_gap() -> None:
    lc = connected_call()
    lc.leg_lost(Leg.RELATIVE, C + 10)
    events = lc.leg_lost(Leg.KIOSK, C + 12)
    assert events == [LegLost(at=C + 12, leg=Leg.KIOSK, since=C + 10, grace_ends_at=C + 70)]
    assert lc.leg_connected(Leg.RELATIVE, C + 20) == [LegConnected(at=C + 20, leg=Leg.RELATIVE)]
    assert lc.state is CallState.RECONNECTING
    events = lc.leg_connected(Leg.KIOSK, C + 25)
    assert events[-1] == CallResumed(at=C + 25, ends_at=C + 1815, gap=15)
    assert lc.connected_seconds(C + 25) == 10
    # Lost twice: both gaps excluded.
    lc.leg_lost(Leg.RELATIVE, C + 35)
    lc.leg_connected(Leg.RELATIVE, C + 40)
    assert lc.connected_seconds(C + 50) == 30 and lc.ends_at == C + 1820


def test_the_gap_never_pushes_the_call_past_the_slot() -> None:
    lc = connected_call()  # slot ends T0 + 2700 = C + 2640
    lc.leg_lost(Leg.RELATIVE, C + 100)
    lc.leg_connected(Leg.RELATIVE, C + 159)  # 59 s gap
    assert lc.ends_at == C + 1859
    # The slot's end during a gap ends the call at the time limit.
    late = connected_call(max_duration=2640)
    assert late.ends_at == C + 2640
    late.leg_lost(Leg.RELATIVE, C + 2620)
    assert late.next_deadline() == C + 2640
    assert late.tick(C + 2640) == [CallEnded(at=C + 2640, reason=EndReason.TIME_LIMIT)]
    assert late.connected_seconds(C + 2640) == 2620


def test_hangup_and_extension_during_a_gap() -> None:
    lc = connected_call()
    lc.leg_lost(Leg.RELATIVE, C + 100)
    assert lc.extend(2400, C + 110) == [CallExtended(at=C + 110, ends_at=C + 2400)]
    lc.leg_connected(Leg.RELATIVE, C + 130)
    assert lc.ends_at == C + 2430
    lc.leg_lost(Leg.RELATIVE, C + 200, since=C + 195)
    assert lc.hangup(Leg.KIOSK, C + 210) == [CallEnded(at=C + 210, reason=EndReason.KIOSK_HANGUP)]
    assert lc.connected_seconds(C + 210) == 165  # 195 - 30 of the first gap


def test_before_the_call_connects_a_lost_leg_is_simply_down_again() -> None:
    lc = CallLifecycle(connected_call().limits)
    lc.code_sent(T0)
    lc.leg_connected(Leg.KIOSK, T0 + 1)
    assert lc.leg_lost(Leg.KIOSK, T0 + 5) == [
        LegLost(at=T0 + 5, leg=Leg.KIOSK, since=T0 + 5, grace_ends_at=None)
    ]
    assert lc.state is CallState.WAITING_RELATIVE and lc.legs_up == set()
    assert lc.leg_lost(Leg.KIOSK, T0 + 6) == []  # already down
    lc.relative_joined(T0 + 10)
    lc.leg_connected(Leg.KIOSK, T0 + 11)
    lc.leg_connected(Leg.RELATIVE, T0 + 12)
    assert lc.state is CallState.CONNECTED and lc.connected_seconds(T0 + 20) == 8


def test_a_gap_never_starts_before_the_connection() -> None:
    lc = connected_call()
    lc.leg_lost(Leg.RELATIVE, C + 2, since=C - 30)
    assert lc.lost_since == C and lc.connected_seconds(C + 10) == 0
