"""The call lifecycle with an injected clock: no I/O, milliseconds per test."""

from __future__ import annotations

import pytest

from gateway.core.lifecycle import (
    CallConnected,
    CallEnded,
    CallLifecycle,
    CallLimits,
    CallState,
    CodeBurned,
    CodeSent,
    EndReason,
    Leg,
    LegConnected,
    LifecycleError,
    RelativeJoined,
    TimeWarningDue,
)

T0 = 1_000_000.0


def limits(**changes: float) -> CallLimits:
    values = {"max_duration": 1800.0, "slot_end": T0 + 2700.0}
    values.update(changes)
    return CallLimits(**values)  # type: ignore[arg-type]


def connected_call(at: float = T0 + 60, **changes: float) -> CallLifecycle:
    lc = CallLifecycle(limits(**changes))
    lc.code_sent(T0)
    lc.leg_connected(Leg.KIOSK, T0 + 1)
    lc.relative_joined(at - 10)
    lc.leg_connected(Leg.RELATIVE, at)
    assert lc.state is CallState.CONNECTED
    return lc


def test_code_sent_then_no_answer_after_five_minutes() -> None:
    lc = CallLifecycle(limits())
    assert lc.code_sent(T0) == [CodeSent(at=T0, expires_at=T0 + 300)]
    assert lc.next_deadline() == T0 + 300
    assert lc.tick(T0 + 299.9) == []
    assert lc.tick(T0 + 300) == [CallEnded(at=T0 + 300, reason=EndReason.NO_ANSWER)]
    assert lc.state is CallState.ENDED and lc.next_deadline() is None


def test_full_call_connects_warns_and_ends_at_the_limit() -> None:
    lc = CallLifecycle(limits())
    lc.code_sent(T0)
    assert lc.leg_connected(Leg.KIOSK, T0 + 2) == [LegConnected(at=T0 + 2, leg=Leg.KIOSK)]
    assert lc.relative_joined(T0 + 100) == [RelativeJoined(at=T0 + 100)]
    assert lc.state is CallState.CONNECTING
    events = lc.leg_connected(Leg.RELATIVE, T0 + 110)
    assert events == [
        LegConnected(at=T0 + 110, leg=Leg.RELATIVE),
        CallConnected(at=T0 + 110, ends_at=T0 + 110 + 1800),
    ]
    end = T0 + 1910
    assert lc.next_deadline() == end - 300
    assert lc.tick(end - 300) == [TimeWarningDue(at=end - 300, seconds_left=300)]
    assert lc.next_deadline() == end - 60
    assert lc.tick(end - 60) == [TimeWarningDue(at=end - 60, seconds_left=60)]
    assert lc.tick(end - 1) == []
    assert lc.tick(end) == [CallEnded(at=end, reason=EndReason.TIME_LIMIT)]


def test_the_call_never_runs_past_the_slot() -> None:
    lc = connected_call(at=T0 + 2000, slot_end=T0 + 2700)
    assert lc.ends_at == T0 + 2700  # 700 s left in the slot, not 1800


def test_warnings_already_past_at_connection_are_skipped() -> None:
    lc = connected_call(at=T0 + 2500, slot_end=T0 + 2700)  # 200 s left: no 5-minute warning
    assert lc.next_deadline() == T0 + 2700 - 60


def test_relative_must_connect_after_the_code() -> None:
    lc = CallLifecycle(limits(connect_timeout=120))
    lc.code_sent(T0)
    lc.relative_joined(T0 + 10)
    assert lc.tick(T0 + 129) == []
    assert lc.tick(T0 + 130) == [CallEnded(at=T0 + 130, reason=EndReason.NO_ANSWER)]


def test_connect_timeout_after_the_relative_leg_came_up_is_a_media_failure() -> None:
    lc = CallLifecycle(limits(connect_timeout=120))
    lc.code_sent(T0)
    lc.relative_joined(T0 + 10)
    lc.leg_connected(Leg.RELATIVE, T0 + 20)  # the kiosk's leg never comes up
    assert lc.tick(T0 + 130)[0].reason is EndReason.MEDIA_FAILURE  # type: ignore[union-attr]


def test_burned_code_keeps_waiting_and_a_new_code_restarts_validity() -> None:
    lc = CallLifecycle(limits())
    lc.code_sent(T0)
    assert lc.code_burned(T0 + 60) == [CodeBurned(at=T0 + 60)]
    assert lc.state is CallState.WAITING_RELATIVE
    assert lc.code_sent(T0 + 200) == [CodeSent(at=T0 + 200, expires_at=T0 + 500)]
    assert lc.tick(T0 + 300) == []
    assert lc.next_deadline() == T0 + 500


@pytest.mark.parametrize(
    "leg,reason", [(Leg.KIOSK, "kiosk_hangup"), (Leg.RELATIVE, "relative_hangup")]
)
def test_either_side_hangs_up(leg: Leg, reason: str) -> None:
    lc = connected_call()
    assert lc.hangup(leg, T0 + 500) == [CallEnded(at=T0 + 500, reason=EndReason(reason))]
    # nothing happens after the end
    assert lc.hangup(Leg.KIOSK, T0 + 501) == []
    assert lc.tick(T0 + 10_000) == []
    assert lc.leg_connected(Leg.KIOSK, T0 + 502) == []


def test_failed_leg_ends_the_call() -> None:
    lc = connected_call()
    assert lc.leg_failed(Leg.RELATIVE, T0 + 70)[0].reason is EndReason.MEDIA_FAILURE  # type: ignore[union-attr]


def test_out_of_order_inputs_are_refused() -> None:
    lc = CallLifecycle(limits())
    lc.code_sent(T0)
    with pytest.raises(LifecycleError):
        lc.leg_connected(Leg.RELATIVE, T0 + 1)  # the relative has not entered the code
    lc.relative_joined(T0 + 2)
    with pytest.raises(LifecycleError):
        lc.relative_joined(T0 + 3)
    with pytest.raises(LifecycleError):
        lc.code_sent(T0 + 4)
