"""When the process runs out of CPU, have the browsers send less video (sans-IO).

Past its CPU a gateway process collapses rather than slowing down: its sockets overflow, the
drops break most video frames, each broken frame asks for a keyframe, the largest frame there
is, and every call falls to a few frames a second, seconds late (README, *Capacity*). Its work
is per packet, and video is most of the packets, so the way out is fewer video packets: the
gateway already tells each sending browser how much video to send (the REMB of
:class:`~gateway.media.aiortc_passthrough.UpstreamRate`, which the bandwidth rule uses for weak
links). :class:`OverloadRule` turns the loop's load into a :attr:`~OverloadRule.scale` of what
each sender sent before the overload, multiplied down while the loop is over its budget and
back up once it has room again (AIMD, as congestion control does, so that the process settles
just under its CPU instead of swinging). The picture gets softer; the call stays fluid.

The *load* is the loop thread's CPU share over the last :data:`MEASURE` seconds divided by what
the process may use (one core, or its container's quota); a loop that is starved of a core it
is allowed (other processes on the same CPU) shows as *lag* instead.
"""

from __future__ import annotations

from dataclasses import dataclass

HIGH = 0.85
"""Load above which the process sheds."""
LOW = 0.6
"""Load below which it gives back."""
LAG_HIGH = 0.05
"""Median lateness (s) of the loop's timer that counts as overloaded, whatever the CPU share."""
DOWN = 0.7
UP = 1.25
FLOOR = 0.2
"""The scale never goes under this (with :data:`FLOOR_BPS`: video stays legible)."""
FLOOR_BPS = 150_000
"""No sender is capped under this many bit/s for the CPU's sake."""
HOLD = 3.0
"""Seconds between two changes: a browser's encoder takes a second or two to follow a REMB,
and the load is measured over the last :data:`MEASURE` seconds."""
MEASURE = 2.0


@dataclass
class OverloadRule:
    scale: float = 1.0
    """What each sender may send, as a share of its rate before the overload (1: no cap)."""
    changed_at: float = float("-inf")
    sheds: int = 0
    """Times the scale was lowered (for /metrics)."""

    def update(self, now: float, load: float | None, lag: float) -> float:
        """One tick: ``load`` the loop's CPU share of its allowance (None: not known yet),
        ``lag`` the median lateness of its timer over the same seconds."""
        if load is None or now - self.changed_at < HOLD:
            return self.scale
        if (load > HIGH or lag > LAG_HIGH) and self.scale > FLOOR:
            self.scale = max(FLOOR, self.scale * DOWN)
            self.changed_at = now
            self.sheds += 1
        elif load < LOW and lag <= LAG_HIGH and self.scale < 1.0:
            self.scale = min(1.0, self.scale * UP)
            self.changed_at = now
        return self.scale


def sender_cap(scale: float, before_bps: int | None) -> int | None:
    """The REMB cap of one sender: ``scale`` of what it sent before the overload, never under
    :data:`FLOOR_BPS`; None (no cap) at full scale or when its rate is not known."""
    if scale >= 1.0 or before_bps is None:
        return None
    return max(FLOOR_BPS, int(before_bps * scale))
