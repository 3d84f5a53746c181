"""The adapter of :mod:`gateway.core.loop_load` and :mod:`gateway.core.overload`: a task that
ticks them on the event loop, and what the process may use of the CPU (its cgroup's quota)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

from gateway.aio import cancel_and_wait
from gateway.core.loop_load import LoopLoad
from gateway.core.overload import MEASURE, OverloadRule

INTERVAL = 0.5
"""Seconds between ticks: fine enough to catch a stall, a negligible cost (two clock reads)."""
ALLOWANCE_EVERY = 4
"""Ticks between two readings of the cgroup's quota (an operator may change it live, and a
process moved into a group meets its quota at once; two small files every 2 s)."""
CGROUP = Path("/sys/fs/cgroup")


def _quota_v2(group: Path) -> float | None:
    with contextlib.suppress(OSError, ValueError):
        quota, period = (group / "cpu.max").read_text().split()
        return None if quota == "max" else int(quota) / int(period)
    return None


def _quota_v1(group: Path) -> float | None:
    with contextlib.suppress(OSError, ValueError):
        quota = int((group / "cpu.cfs_quota_us").read_text())
        period = int((group / "cpu.cfs_period_us").read_text())
        return None if quota < 0 else quota / period
    return None


def cpu_allowance(proc_cgroup: Path = Path("/proc/self/cgroup"), root: Path = CGROUP) -> float:
    """The cores this process's event loop may use: one (a thread uses one at most), or less
    under a CPU quota of its cgroup or of one above it (cgroup v2 ``cpu.max``, v1
    ``cpu.cfs_quota_us``); 1.0 when none can be read."""
    allowance = 1.0
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return allowance
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue  # not a cgroup line: nothing to read, and never a reason not to start
        _id, controllers, path = parts
        if controllers == "":  # v2's unified hierarchy
            base, read = root, _quota_v2
        elif "cpu" in controllers.split(","):
            base, read = root / controllers, _quota_v1
            if not base.exists():
                base = root / "cpu"
        else:
            continue
        group = base / path.lstrip("/")
        while True:
            quota = read(group)
            if quota is not None:
                allowance = min(allowance, quota)
            if group == base or base not in group.parents:
                break
            group = group.parent
    return allowance


class LoopWatch:
    """Ticks :attr:`load` and :attr:`overload` every :data:`INTERVAL` from the event loop."""

    def __init__(self, interval: float = INTERVAL, governor: bool = True) -> None:
        self.load = LoopLoad()
        self.overload = OverloadRule()
        self.governor = governor
        """False: measure only, never cap a sender for the CPU's sake (``overload_governor``)."""
        self.interval = interval
        self.allowance = cpu_allowance()
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def cpu() -> float:
        """The CPU seconds of the calling thread: the loop's, when called on it."""
        return time.thread_time()

    @property
    def scale(self) -> float:
        """What each sender may send, as a share of its rate before an overload (1: no cap)."""
        return self.overload.scale if self.governor else 1.0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def tick(self, now: float, cpu: float, due: float) -> None:
        load = self.load
        load.tick(now, cpu, due)
        if load.ticks % ALLOWANCE_EVERY == 0:
            self.allowance = cpu_allowance()
        busy = load.busy_over(MEASURE)
        share = None if busy is None else busy / max(self.allowance, 0.01)
        self.overload.update(now, share, load.lag_over(MEASURE))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        self.load.tick(loop.time(), self.cpu(), loop.time())
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            self.tick(loop.time(), self.cpu(), due)
