"""How loaded a process's event loop is, from periodic ticks (sans-IO: the caller reads the clocks).

A gateway process relays all its calls' media on one event loop thread (the benchmark measures
96 % of a process's CPU there), so that thread's share of one core is the process's load. Past
about one core a process does not slow down gently: its sockets and relay queues fill, every
call's delay grows to seconds and its frame rate falls (README, *Capacity*). IT needs to see
the climb before that, hence two signals:

* **busy**: the loop thread's CPU time over the wall time of the last :data:`WINDOW` seconds
  (1.0: a full core);
* **lag**: how late each tick woke up against when it was due: a loop that has more work than
  time is late for everything, timers and packets alike.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

WINDOW = 10.0
"""Seconds over which :attr:`LoopLoad.busy` is measured."""
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Upper bounds (seconds) of the lag histogram's buckets."""


@dataclass
class LoopLoad:
    window: float = WINDOW
    lag_counts: list[int] = field(default_factory=lambda: [0] * len(LAG_BUCKETS))
    """Ticks per bucket (not cumulative; the last bucket of the export is every tick)."""
    lag_sum: float = 0.0
    ticks: int = 0
    _samples: collections.deque[tuple[float, float, float]] = field(
        default_factory=collections.deque
    )
    """(wall, thread CPU, lag) of recent ticks, oldest first, spanning at least the window."""

    def tick(self, wall: float, cpu: float, due: float) -> None:
        """One tick: ``wall`` (monotonic seconds) when it ran, ``cpu`` the loop thread's CPU
        seconds then, ``due`` when it was meant to run."""
        lag = max(0.0, wall - due)
        self.ticks += 1
        self.lag_sum += lag
        for i, bound in enumerate(LAG_BUCKETS):
            if lag <= bound:
                self.lag_counts[i] += 1
                break
        samples = self._samples
        samples.append((wall, cpu, lag))
        # Keep one sample at or before the window's start, so the window is always covered.
        while len(samples) > 2 and samples[1][0] <= wall - self.window:
            samples.popleft()

    @property
    def busy(self) -> float | None:
        """Share of one core the loop thread used over the window; None before two ticks."""
        return self.busy_over(self.window)

    def busy_over(self, seconds: float) -> float | None:
        """The same over the last ``seconds`` (at most the window; from the tick at or just
        before its start); None before two ticks."""
        samples = self._samples
        if len(samples) < 2:
            return None
        wall1, cpu1, _ = samples[-1]
        wall0, cpu0, _ = samples[0]
        for wall, cpu, _ in reversed(samples):
            wall0, cpu0 = wall, cpu
            if wall <= wall1 - seconds:
                break
        if wall1 <= wall0:
            return None
        return max(0.0, (cpu1 - cpu0) / (wall1 - wall0))

    def lag_over(self, seconds: float) -> float:
        """The median lag of the ticks of the last ``seconds`` (0 before any): a loop late for
        most of its ticks, not one stall (a certificate made or a hash checked on the loop)."""
        samples = self._samples
        if not samples:
            return 0.0
        end = samples[-1][0]
        lags = sorted(lag for wall, _, lag in samples if wall > end - seconds)
        return lags[(len(lags) - 1) // 2]

    def lag_buckets(self) -> list[tuple[str, float]]:
        """Cumulative buckets as Prometheus wants them, ``+Inf`` last."""
        out: list[tuple[str, float]] = []
        total = 0
        for bound, n in zip(LAG_BUCKETS, self.lag_counts, strict=True):
            total += n
            out.append((str(bound), float(total)))
        out.append(("+Inf", float(self.ticks)))
        return out
