"""The life of one video call, as a sans-IO state machine.

Theory of operation
-------------------
Inputs are method calls carrying ``now`` (epoch seconds); each returns the past-tense events it
caused. :meth:`CallLifecycle.next_deadline` says when :meth:`tick` must be called next (the
adapter re-arms one timer, as aioquic's ``get_timer``/``handle_timer``). Nothing here reads a
clock, touches the network or Redis.

States::

    WAITING_RELATIVE --code accepted--> CONNECTING --both legs up--> CONNECTED --> ENDED
          |  (kiosk leg may connect early)      |               leg lost |  ^ leg back
          |                                     |                        v  |
          |                                     |                   RECONNECTING
          +-------- any state may end ----------+------------------------+

Rules that live here:

* The relative has until the code expires to enter it; otherwise the call ends ``no_answer``.
  A burned code (too many wrong tries) keeps the call waiting: the kiosk may send a new code,
  which restarts the code's validity.
* Once the code is accepted, both legs must be connected within ``connect_timeout``; otherwise
  the call ends ``no_answer`` if the relative's leg never came up, ``media_failure`` if it did.
* The call is *connected* when both legs are connected and media flows from each; from then on
  it lasts ``max_duration`` and never past ``slot_end``. Warnings fall due at the configured
  offsets before the end (only those still ahead when the call connects).
* Either side may hang up at any time.
* A leg lost while connected (its media stopped, its peer connection failed, its page reloaded)
  puts the call in ``RECONNECTING`` for ``reconnect_grace`` seconds: the leg may come back (a new
  peer connection, same call, no new code). The gap is not connected time, so it is neither
  billed nor taken from the call's length: the end moves by the gap, never past ``slot_end``.
  Past the grace the call ends ``media_failure``, billed for its connected time only. The gap
  starts when the media stopped (``since``), which the adapter may know before it is told.
* Nothing happens after the end: every input on an ended call returns no events.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace


class CallState(enum.StrEnum):
    WAITING_RELATIVE = "waiting_relative"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    "A leg was lost while connected; it has ``reconnect_grace`` seconds to come back."
    ENDED = "ended"


class EndReason(enum.StrEnum):
    TIME_LIMIT = "time_limit"
    KIOSK_HANGUP = "kiosk_hangup"
    RELATIVE_HANGUP = "relative_hangup"
    NO_ANSWER = "no_answer"
    MEDIA_FAILURE = "media_failure"
    INTERRUPTED = "interrupted"
    CUT = "cut"
    "Cut by the monitoring staff; both sides get a neutral message."


class Leg(enum.StrEnum):
    KIOSK = "kiosk"
    RELATIVE = "relative"


@dataclass(frozen=True)
class CallLimits:
    max_duration: float
    "Longest connected time, in seconds."
    slot_end: float
    "End of the booked slot (epoch seconds): the call never runs past it."
    code_validity: float = 300.0
    "Seconds the relative has to enter a code after it is sent."
    connect_timeout: float = 120.0
    "Seconds, after the code is accepted, for both legs to come up."
    warnings: tuple[float, ...] = (300.0, 60.0)
    "Warn this many seconds before the end."
    reconnect_grace: float = 60.0
    "Seconds a lost leg has to come back before the call ends ``media_failure``."


# Events: what happened, in the past tense.
@dataclass(frozen=True)
class CodeSent:
    at: float
    expires_at: float


@dataclass(frozen=True)
class CodeBurned:
    at: float


@dataclass(frozen=True)
class RelativeJoined:
    at: float


@dataclass(frozen=True)
class LegConnected:
    at: float
    leg: Leg


@dataclass(frozen=True)
class LegLost:
    at: float
    leg: Leg
    since: float
    "When its media stopped (the gap starts there)."
    grace_ends_at: float | None
    "When the call ends unless the lost legs are back (None: not connected yet, no grace)."


@dataclass(frozen=True)
class CallResumed:
    at: float
    ends_at: float
    gap: float
    "Seconds of the gap just closed (not connected time)."


@dataclass(frozen=True)
class CallConnected:
    at: float
    ends_at: float


@dataclass(frozen=True)
class CallExtended:
    at: float
    ends_at: float | None


@dataclass(frozen=True)
class TimeWarningDue:
    at: float
    seconds_left: int


@dataclass(frozen=True)
class CallEnded:
    at: float
    reason: EndReason


Event = (
    CodeSent
    | CodeBurned
    | RelativeJoined
    | LegConnected
    | LegLost
    | CallResumed
    | CallConnected
    | CallExtended
    | TimeWarningDue
    | CallEnded
)


class LifecycleError(Exception):
    """An input that the current state does not allow (the adapter maps it to out-of-order)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class CallLifecycle:
    limits: CallLimits
    state: CallState = CallState.WAITING_RELATIVE
    code_expires_at: float | None = None
    joined_at: float | None = None
    connected_at: float | None = None
    ends_at: float | None = None
    ended_at: float | None = None
    end_reason: EndReason | None = None
    legs_up: set[Leg] = field(default_factory=set)
    lost_legs: set[Leg] = field(default_factory=set)
    lost_since: float | None = None
    "Start of the open gap (RECONNECTING, or ended while in it)."
    gaps: float = 0.0
    "Seconds of closed gaps since the call connected."
    _warnings_due: list[float] = field(default_factory=list)

    @property
    def reconnect_until(self) -> float | None:
        """While a leg is lost: when the call ends unless it is back."""
        return self._grace_deadline() if self.lost_legs else None

    # -- inputs -------------------------------------------------------------------------------
    def code_sent(self, now: float) -> list[Event]:
        """The kiosk asked for a (new) code and it was sent."""
        if self.state is not CallState.WAITING_RELATIVE:
            raise LifecycleError("call.code_not_expected")
        self.code_expires_at = now + self.limits.code_validity
        return [CodeSent(at=now, expires_at=self.code_expires_at)]

    def code_burned(self, now: float) -> list[Event]:
        if self.state is not CallState.WAITING_RELATIVE:
            return []
        return [CodeBurned(at=now)]

    def relative_joined(self, now: float) -> list[Event]:
        """The relative entered the right code in time."""
        if self.state is not CallState.WAITING_RELATIVE:
            raise LifecycleError("call.join_not_expected")
        self.state = CallState.CONNECTING
        self.joined_at = now
        events: list[Event] = [RelativeJoined(at=now)]
        return events + self._maybe_connect(now)

    def leg_connected(self, leg: Leg, now: float) -> list[Event]:
        """The leg's peer connection is up and its media reaches the gateway."""
        if self.state is CallState.ENDED or leg in self.legs_up:
            return []
        if leg is Leg.RELATIVE and self.state is CallState.WAITING_RELATIVE:
            raise LifecycleError("call.join_not_expected")
        self.legs_up.add(leg)
        if self.state is CallState.RECONNECTING:
            self.lost_legs.discard(leg)
            return [LegConnected(at=now, leg=leg), *self._maybe_resume(now)]
        return [LegConnected(at=now, leg=leg), *self._maybe_connect(now)]

    def leg_lost(self, leg: Leg, now: float, since: float | None = None) -> list[Event]:
        """The leg's media stopped at ``since`` (default ``now``) or its connection failed.

        Connected: the call waits ``reconnect_grace`` for it. Not yet connected: the leg is
        simply down again (the connect timeout still runs)."""
        if self.state is CallState.ENDED or leg not in self.legs_up:
            return []
        self.legs_up.discard(leg)
        start = now if since is None else min(since, now)
        if self.state is CallState.CONNECTED:
            assert self.connected_at is not None
            self.state = CallState.RECONNECTING
            self.lost_since = max(start, self.connected_at)
            self._warnings_due = []
        if self.state is CallState.RECONNECTING:
            self.lost_legs.add(leg)
            assert self.lost_since is not None
            return [LegLost(at=now, leg=leg, since=self.lost_since,
                            grace_ends_at=self._grace_deadline())]  # fmt: skip
        return [LegLost(at=now, leg=leg, since=start, grace_ends_at=None)]

    def leg_failed(self, leg: Leg, now: float) -> list[Event]:
        """A leg that cannot come back (nothing to wait for): the call ends."""
        return self._end(now, EndReason.MEDIA_FAILURE)

    def hangup(self, leg: Leg, now: float) -> list[Event]:
        reason = EndReason.KIOSK_HANGUP if leg is Leg.KIOSK else EndReason.RELATIVE_HANGUP
        return self._end(now, reason)

    def extend(self, max_duration: float, now: float) -> list[Event]:
        """The head of the prison allowed a longer call (never past the slot's end)."""
        if self.state is CallState.ENDED or max_duration <= self.limits.max_duration:
            return []
        self.limits = replace(self.limits, max_duration=max_duration)
        if self.state in (CallState.CONNECTED, CallState.RECONNECTING):
            self.ends_at = self._call_end()
            if self.state is CallState.CONNECTED:
                self._arm_warnings(now)
        return [CallExtended(at=now, ends_at=self.ends_at)]

    def cut(self, now: float) -> list[Event]:
        """The monitoring staff cut the call."""
        if self.state is CallState.ENDED:
            return []
        return self._end(now, EndReason.CUT)

    def interrupt(self, now: float) -> list[Event]:
        """The gateway owning the call stopped or died."""
        return self._end(now, EndReason.INTERRUPTED)

    def tick(self, now: float) -> list[Event]:
        """Fire every deadline that has passed."""
        if self.state is CallState.WAITING_RELATIVE:
            deadline = self._waiting_deadline()
            if deadline is not None and now >= deadline:
                return self._end(now, EndReason.NO_ANSWER)
        elif self.state is CallState.CONNECTING:
            assert self.joined_at is not None
            if now >= self.joined_at + self.limits.connect_timeout:
                reason = (
                    EndReason.MEDIA_FAILURE if Leg.RELATIVE in self.legs_up else EndReason.NO_ANSWER
                )
                return self._end(now, reason)
        elif self.state is CallState.CONNECTED:
            assert self.ends_at is not None
            if now >= self.ends_at:
                return self._end(now, EndReason.TIME_LIMIT)
            events: list[Event] = []
            while self._warnings_due and now >= self._warnings_due[0]:
                self._warnings_due.pop(0)
                events.append(
                    TimeWarningDue(at=now, seconds_left=max(0, round(self.ends_at - now)))
                )
            return events
        elif self.state is CallState.RECONNECTING:
            if now >= self.limits.slot_end:
                return self._end(now, EndReason.TIME_LIMIT)
            if now >= self._grace_deadline():
                return self._end(now, EndReason.MEDIA_FAILURE)
        return []

    def connected_seconds(self, now: float) -> float:
        """Connected time so far (what is billed): from both legs up to the end, or ``now``,
        less the gaps while a leg was lost."""
        if self.connected_at is None:
            return 0.0
        until = self.ended_at if self.ended_at is not None else now
        open_gap = max(0.0, until - self.lost_since) if self.lost_since is not None else 0.0
        return max(0.0, until - self.connected_at - self.gaps - open_gap)

    def next_deadline(self) -> float | None:
        if self.state is CallState.WAITING_RELATIVE:
            return self._waiting_deadline()
        if self.state is CallState.CONNECTING:
            assert self.joined_at is not None
            return self.joined_at + self.limits.connect_timeout
        if self.state is CallState.CONNECTED:
            assert self.ends_at is not None
            return min([self.ends_at, *self._warnings_due])
        if self.state is CallState.RECONNECTING:
            return min(self._grace_deadline(), self.limits.slot_end)
        return None

    # -- helpers ------------------------------------------------------------------------------
    def _waiting_deadline(self) -> float | None:
        if self.code_expires_at is None:
            return self.limits.slot_end
        return min(self.code_expires_at, self.limits.slot_end)

    def _maybe_connect(self, now: float) -> list[Event]:
        if self.state is not CallState.CONNECTING or self.legs_up != {Leg.KIOSK, Leg.RELATIVE}:
            return []
        self.state = CallState.CONNECTED
        self.connected_at = now
        self.ends_at = self._call_end()
        self._arm_warnings(now)
        return [CallConnected(at=now, ends_at=self.ends_at)]

    def _maybe_resume(self, now: float) -> list[Event]:
        if self.lost_legs or self.legs_up != {Leg.KIOSK, Leg.RELATIVE}:
            return []
        assert self.lost_since is not None
        gap = max(0.0, now - self.lost_since)
        self.gaps += gap
        self.lost_since = None
        self.state = CallState.CONNECTED
        self.ends_at = self._call_end()
        self._arm_warnings(now)
        return [CallResumed(at=now, ends_at=self.ends_at, gap=gap)]

    def _call_end(self) -> float:
        """Connected time runs ``max_duration`` (gaps excluded), never past the slot."""
        assert self.connected_at is not None
        end = self.connected_at + self.limits.max_duration + self.gaps
        return min(end, self.limits.slot_end)

    def _arm_warnings(self, now: float) -> None:
        assert self.ends_at is not None
        ends_at = self.ends_at
        self._warnings_due = sorted(ends_at - w for w in self.limits.warnings if ends_at - w > now)

    def _grace_deadline(self) -> float:
        assert self.lost_since is not None
        return self.lost_since + self.limits.reconnect_grace

    def _end(self, now: float, reason: EndReason) -> list[Event]:
        if self.state is CallState.ENDED:
            return []
        self.state = CallState.ENDED
        self.ended_at = now
        self.end_reason = reason
        self._warnings_due = []
        return [CallEnded(at=now, reason=reason)]
