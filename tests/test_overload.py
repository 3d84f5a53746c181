"""The overload rule (sans-IO) and what the process may use of the CPU (its cgroup's quota)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.budget import CpuBudget, available
from gateway.core.overload import (
    DOWN,
    FLOOR,
    FLOOR_BPS,
    HOLD,
    LAG_HIGH,
    UP,
    OverloadRule,
    sender_cap,
)
from gateway.service.loop_watch import LoopWatch, cpu_allowance


def test_over_its_budget_the_scale_comes_down_step_by_step_then_back_up() -> None:
    rule = OverloadRule()
    assert rule.update(0.0, None, 0.0) == 1.0  # nothing measured yet
    assert rule.update(0.0, 0.5, 0.0) == 1.0
    assert rule.update(1.0, 1.2, 0.0) == pytest.approx(DOWN)
    # Held while the browsers follow: the next cut only after HOLD seconds.
    assert rule.update(1.0 + HOLD / 2, 1.2, 0.0) == pytest.approx(DOWN)
    assert rule.update(1.0 + HOLD, 1.2, 0.0) == pytest.approx(DOWN * DOWN)
    assert rule.sheds == 2
    # In between (load 0.7): stays.
    assert rule.update(1.0 + 2 * HOLD, 0.7, 0.0) == pytest.approx(DOWN * DOWN)
    # Room again: up by UP per HOLD, to 1 and no further.
    now = 1.0 + 3 * HOLD
    assert rule.update(now, 0.3, 0.0) == pytest.approx(DOWN * DOWN * UP)
    for _ in range(10):
        now += HOLD
        rule.update(now, 0.3, 0.0)
    assert rule.scale == 1.0


def test_a_late_loop_counts_as_overloaded_and_the_scale_has_a_floor() -> None:
    rule = OverloadRule()
    now = 0.0
    for _ in range(30):
        rule.update(now, 0.4, 2 * LAG_HIGH)  # CPU share low, but the loop is starved
        now += HOLD
    assert rule.scale == FLOOR
    # A late loop is not room: no raise while it lags, whatever the share.
    assert rule.update(now, 0.1, 2 * LAG_HIGH) == FLOOR


def test_sender_cap_scales_what_the_sender_sent_before() -> None:
    assert sender_cap(1.0, 1_500_000) is None
    assert sender_cap(0.5, None) is None
    assert sender_cap(0.5, 1_500_000) == 750_000
    assert sender_cap(0.2, 300_000) == FLOOR_BPS


def _fake_v1(tmp_path: Path, quota: int, parent_quota: int = -1) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    group = root / "cpu" / "site" / "gw"
    group.mkdir(parents=True)
    for folder, q in ((group, quota), (group.parent, parent_quota), (root / "cpu", -1)):
        (folder / "cpu.cfs_quota_us").write_text(f"{q}\n")
        (folder / "cpu.cfs_period_us").write_text("100000\n")
    proc = tmp_path / "cgroup-of-self"
    proc.write_text("9:memory:/x\n1:cpu:/site/gw\n0::/\n")
    return proc, root


def test_the_allowance_reads_the_quota_of_the_group_and_of_those_above(tmp_path: Path) -> None:
    proc, root = _fake_v1(tmp_path, 25_000)
    assert cpu_allowance(proc, root) == 0.25
    proc, root = _fake_v1(tmp_path / "b", -1, parent_quota=50_000)
    assert cpu_allowance(proc, root) == 0.5
    proc, root = _fake_v1(tmp_path / "c", 300_000)  # three cores: the loop uses one at most
    assert cpu_allowance(proc, root) == 1.0
    v2 = tmp_path / "v2"
    (v2 / "svc").mkdir(parents=True)
    (v2 / "cpu.max").write_text("max 100000\n")
    (v2 / "svc" / "cpu.max").write_text("15000 100000\n")
    (tmp_path / "v2-self").write_text("0::/svc\n")
    assert cpu_allowance(tmp_path / "v2-self", v2) == 0.15
    assert cpu_allowance(tmp_path / "missing", v2) == 1.0
    (tmp_path / "odd-self").write_text("garbage\n0::/svc\n")
    assert cpu_allowance(tmp_path / "odd-self", v2) == 0.15


@pytest.mark.skipif(os.geteuid() != 0 or available() is not None, reason="needs a CPU cgroup")
def test_the_allowance_of_a_process_held_to_a_quota() -> None:
    """A real cgroup, as a container's CPU limit: the process reads its own quota."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; from gateway.service.loop_watch import cpu_allowance;"
         "sys.stdin.readline(); print(cpu_allowance())"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    budget = CpuBudget(0.3, f"parloir-test-allowance-{os.getpid()}")
    try:
        budget.add(child.pid)
        out, _ = child.communicate("go\n", timeout=30)
    finally:
        budget.remove()
    assert float(out) == pytest.approx(0.3)


def test_the_watch_sheds_on_a_busy_loop_and_not_when_told_not_to() -> None:
    """The adapter's arithmetic: CPU over wall time over the allowance, into the rule."""
    for governor, expected in ((True, DOWN), (False, 1.0)):
        watch = LoopWatch(governor=governor)
        watch.allowance = 0.5
        now = cpu = 0.0
        watch.load.tick(now, cpu, now)
        for _ in range(6):  # 0.45 of a core, 0.9 of the allowance, for 3 s
            now, cpu = now + 0.5, cpu + 0.225
            watch.tick(now, cpu, now)
        assert watch.scale == pytest.approx(expected)
        assert watch.overload.sheds == 1  # measured either way; applied only with the governor
