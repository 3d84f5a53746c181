"""``--server-cpu-share``: the server's processes get at most this share of one core.

Why: on a 2-core machine the load generator has one core, and it is written in Python like
Parloir, so it runs out when Parloir does (README, *Closing the gap*): it cannot load Janus, which
needs about a third of Parloir's CPU per call, to Janus's own limit. With both servers held to
the same small share of a core (a CFS bandwidth quota in a cgroup of their own), each runs out
of its budget at an N the load generator can still drive, so the largest N of each is its own,
measured at the same CPU budget.

The quota is given per :data:`PERIOD_US` (10 ms, not the kernel's 100 ms default), so that a
server over its budget is held for a few milliseconds at a time, not for most of 100 ms.
Works on cgroup v2 (``cpu.max``) and v1 (the ``cpu`` hierarchy's ``cpu.cfs_quota_us``); needs
root. Each measurement makes its own group and removes it, moving what is left back to the root.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PERIOD_US = 10_000
V2_ROOT = Path("/sys/fs/cgroup")
V1_ROOT = Path("/sys/fs/cgroup/cpu")


class BudgetError(RuntimeError):
    pass


def hierarchy() -> tuple[Path, int]:
    """The cgroup hierarchy that controls CPU bandwidth, and its version."""
    controllers = V2_ROOT / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        return V2_ROOT, 2
    if (V1_ROOT / "cpu.cfs_quota_us").exists():
        return V1_ROOT, 1
    raise BudgetError("no cgroup with CPU bandwidth control (cgroup v2 cpu.max or v1 cpu)")


def available() -> str | None:
    """None if a budget can be set here, else why not."""
    try:
        root, _version = hierarchy()
    except BudgetError as exc:
        return str(exc)
    if not os.access(root, os.W_OK):
        return f"{root} is not writable (needs root)"
    return None


class CpuBudget:
    """A cgroup whose processes share at most ``share`` of one core."""

    def __init__(self, share: float, name: str, period_us: int = PERIOD_US) -> None:
        if not 0 < share <= 64:
            raise BudgetError(f"CPU share must be in (0, 64], not {share}")
        root, self.version = hierarchy()
        self.root = root
        if self.version == 2:  # a child group has cpu.max only where the root hands it down
            subtree = root / "cgroup.subtree_control"
            if "cpu" not in subtree.read_text().split():
                subtree.write_text("+cpu")
        self.path = root / name
        self.path.mkdir()
        quota = max(1000, round(share * period_us))  # the kernel's minimum quota is 1 ms
        if self.version == 2:
            (self.path / "cpu.max").write_text(f"{quota} {period_us}")
        else:
            (self.path / "cpu.cfs_period_us").write_text(str(period_us))
            (self.path / "cpu.cfs_quota_us").write_text(str(quota))

    def add(self, pid: int) -> None:
        """Move a running process (every thread of it) into the group; later children and
        threads are born in it."""
        (self.path / "cgroup.procs").write_text(str(pid))

    def pids(self) -> list[int]:
        return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]

    def stats(self) -> dict[str, int]:
        """The kernel's counters: periods, periods throttled, time throttled (µs)."""
        raw = dict(
            line.split() for line in (self.path / "cpu.stat").read_text().splitlines() if line
        )
        throttled_us = (  # v2 counts microseconds, v1 nanoseconds
            int(raw.get("throttled_usec", 0))
            if self.version == 2
            else int(raw.get("throttled_time", 0)) // 1000
        )
        return {
            "periods": int(raw.get("nr_periods", 0)),
            "throttled_periods": int(raw.get("nr_throttled", 0)),
            "throttled_us": throttled_us,
        }

    def remove(self) -> None:
        """Move what is left back to the root group, then delete the group."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError, OSError):
                (self.root / "cgroup.procs").write_text(str(pid))
        with contextlib.suppress(FileNotFoundError):
            self.path.rmdir()
