"""The call's rules outside the lifecycle, sans-IO: whether a call may start for a booking,
whether the kiosk's people may still call, which leg may send its offer in which state, and
whether a call's end closes its booking.

The engine (:mod:`gateway.service.engine`) gathers the facts (the booking as stored, the sanctions
found) and asks :func:`may_start`; the rule itself never reads the clock or Redis, so it is
tested with any ``now``. Order of the refusals, first match wins:

1. ``call.outside_slot``: ``now`` is not in ``[slot_start, slot_end)``.
2. ``kiosk.no_booking``: the booking is gone or no longer ``booked`` (cancelled, closed).
3. ``call.time_used``: the booking's calls already used its allowed time (less than 1 s left);
   calls of one booking share its time, so a failed call leaves the rest to the next.
4. ``call.number_sanctioned``: the relative's number is under a sanction (no code is sent).
5. ``call.detainee_suspended``: the detainee is under a blocking sanction.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.core.lifecycle import CallState, EndReason, Leg


@dataclass(frozen=True, slots=True)
class CallStartFacts:
    slot_start: float
    slot_end: float
    status: str | None
    "The booking's stored status, ``None`` when it no longer exists."
    max_seconds: int
    "The booking's own limit (0: the gateway default)."
    default_max_seconds: int
    connected_ms: int
    "Connected time of this booking's earlier calls."
    number_sanctioned: bool = False
    detainee_suspended: bool = False


@dataclass(frozen=True, slots=True)
class CallStartDecision:
    refusal: str | None
    "``None``: the call may start."
    remaining: float = 0.0
    "Seconds of connected time left for this call (when allowed)."

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def remaining_seconds(facts: CallStartFacts) -> float:
    allowed = facts.max_seconds or facts.default_max_seconds
    return allowed - facts.connected_ms / 1000


def may_start(facts: CallStartFacts, now: float) -> CallStartDecision:
    if not facts.slot_start <= now < facts.slot_end:
        return CallStartDecision("call.outside_slot")
    if facts.status != "booked":
        return CallStartDecision("kiosk.no_booking")
    remaining = remaining_seconds(facts)
    if remaining < 1:
        return CallStartDecision("call.time_used")
    if facts.number_sanctioned:
        return CallStartDecision("call.number_sanctioned")
    if facts.detainee_suspended:
        return CallStartDecision("call.detainee_suspended")
    return CallStartDecision(None, remaining)


def people_refusal(detainee_status: str | None, correspondent_status: str | None) -> str | None:
    """Re-checked when the kiosk asks for a call (the login may be hours old): the detainee
    must still be ``active`` and the correspondent ``authorised`` (``None``: gone)."""
    if detainee_status != "active" or correspondent_status != "authorised":
        return "kiosk.no_booking"
    return None


def may_offer(leg: Leg, state: CallState, has_leg: bool = False) -> bool:
    """The kiosk's leg may come up while the relative is still typing the code; the
    relative's offer is their acceptance, once the code was right (``connecting``).

    A leg that already has a peer connection may offer again (a new peer connection for the
    same leg, after a network change or a reload) once the relative has joined: aiortc takes
    no ICE restart, so coming back is a new connection."""
    if has_leg:
        if leg is Leg.KIOSK and state is CallState.WAITING_RELATIVE:
            return True
        return state in (CallState.CONNECTING, CallState.CONNECTED, CallState.RECONNECTING)
    if leg is Leg.KIOSK:
        return state in (CallState.WAITING_RELATIVE, CallState.CONNECTING)
    return state is CallState.CONNECTING


CLOSING_REASONS: frozenset[EndReason] = frozenset(
    {EndReason.TIME_LIMIT, EndReason.KIOSK_HANGUP, EndReason.RELATIVE_HANGUP, EndReason.CUT}
)
"End reasons of a call that ended normally."


def closes_booking(reason: EndReason | str, connected_ms: int, ended_at: float,
                   slot_end: float) -> bool:  # fmt: skip
    """A call that connected and ended normally closes its booking, and so does any end at or
    after the slot's end; after a failure (or no answer) the kiosk may call again within the
    slot, and the sweeper closes the booking when the slot ends."""
    return (connected_ms > 0 and reason in CLOSING_REASONS) or ended_at >= slot_end
