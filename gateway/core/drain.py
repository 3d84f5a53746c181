"""What a gateway process does on a stop request (SIGTERM, ``python -m gateway drain``): sans-IO.

* Serving, no live call: stop at once (nothing to wait for).
* Serving, live calls: drain. The process takes no new call (its placement weight is gone, so
  other processes take them) and waits for its calls to end by themselves, at most ``timeout``
  seconds.
* Draining, and its last call ended: stop.
* Draining, and a second request or the timeout: stop now; the calls left end ``interrupted``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Phase(StrEnum):
    SERVING = "serving"
    DRAINING = "draining"
    STOPPING = "stopping"


class Action(StrEnum):
    WAIT = "wait"
    "Go on (serving, or draining with calls left)."
    DRAIN = "drain"
    "Stop taking new calls; wait for the live ones."
    STOP = "stop"
    "Exit; no call is live."
    INTERRUPT = "interrupt"
    "Exit now; the calls left end interrupted."


@dataclass(frozen=True)
class Drain:
    phase: Phase = Phase.SERVING
    deadline: float | None = None


def on_request(state: Drain, now: float, live_calls: int, timeout: float) -> tuple[Drain, Action]:
    """A stop request (a signal, the drain command) arrived."""
    if state.phase is Phase.SERVING:
        if live_calls == 0:
            return Drain(Phase.STOPPING), Action.STOP
        return Drain(Phase.DRAINING, now + timeout), Action.DRAIN
    if state.phase is Phase.DRAINING:
        return Drain(Phase.STOPPING), Action.INTERRUPT if live_calls else Action.STOP
    return state, Action.WAIT


def on_tick(state: Drain, now: float, live_calls: int) -> tuple[Drain, Action]:
    """Time passed while draining: the last call ended, or the timeout came."""
    if state.phase is not Phase.DRAINING:
        return state, Action.WAIT
    if live_calls == 0:
        return Drain(Phase.STOPPING), Action.STOP
    if state.deadline is not None and now >= state.deadline:
        return Drain(Phase.STOPPING), Action.INTERRUPT
    return state, Action.WAIT
