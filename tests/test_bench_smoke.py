"""The benchmark (``python -m bench``) still runs end to end: one recorded, watched call for 3 s
through Parloir, and one recorded call through Janus where Debian's ``janus`` is installed
(``./run test`` installs it).

Only that it works and reports sane fields; no timing is asserted (the numbers belong to the
benchmark's own runs, not to the test suite)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import budget, janus


def test_bench_runs_one_call_and_reports_both_directions(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "bench", "run", "--calls", "1", "--seconds", "3",
            "--warmup", "1", "--viewers", "1", "--no-baseline", "--no-janus", "--keep-receivers",
            "--out", str(tmp_path)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "last.json").read_text())
    (point,) = report["points"]
    assert point["target"] == "parloir" and point["connected"] == 1, point.get("errors")
    assert point["event_loop"] == "asyncio"  # the default
    frames = {row["label"]: row["frames"] for row in point["receivers"]}
    assert frames["call0/kiosk/video"] > 0 and frames["call0/relative/video"] > 0, frames
    assert frames["call0/kiosk/audio"] > 0 and frames["call0/relative/audio"] > 0, frames
    assert any(label.startswith("call0/viewer/") and n > 0 for label, n in frames.items())
    assert point["cpu_seconds"] > 0 and point["rss_mb"] > 0
    assert point["join_s_max"] is not None and point["delay_samples"] > 0
    assert "| 1 | parloir |" in done.stdout


@pytest.mark.skipif(importlib.util.find_spec("uvloop") is None, reason="uvloop not installed")
def test_the_gateway_carries_a_call_on_uvloop(tmp_path: Path) -> None:
    """event_loop = uvloop (the bench's --event-loop): the gateway runs on libuv's loop (it says
    so when it starts) and a recorded call's media flows both ways through it."""
    argv = [sys.executable, "-m", "bench", "run", "--calls", "1", "--seconds", "3",
            "--warmup", "1", "--viewers", "0", "--no-baseline", "--no-janus", "--keep-receivers",
            "--event-loop", "uvloop", "--out", str(tmp_path)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    (point,) = json.loads((tmp_path / "last.json").read_text())["points"]
    assert point["event_loop"] == "uvloop" and point["connected"] == 1, point.get("errors")
    frames = {row["label"]: row["frames"] for row in point["receivers"]}
    for label in ("kiosk/video", "relative/video", "kiosk/audio", "relative/audio"):
        assert frames[f"call0/{label}"] > 0, frames
    assert point["recordings"]["kinds"] and point["recordings"]["mb"] > 0


@pytest.mark.skipif(not janus.available(), reason="Debian's janus is not installed")
def test_bench_runs_one_call_through_janus_both_ways(tmp_path: Path) -> None:
    """Janus (the native baseline) with one recorded call: frames flow both ways, each leg is
    recorded by Janus's own recorder (.mjr), and the table shows the Janus row."""
    argv = [sys.executable, "-m", "bench", "run", "--calls", "1", "--seconds", "3",
            "--warmup", "1", "--only-janus", "--keep-receivers",
            "--out", str(tmp_path)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "last.json").read_text())
    (point,) = report["points"]
    assert point["target"] == "janus" and point["connected"] == 1, point.get("errors")
    frames = {row["label"]: row["frames"] for row in point["receivers"]}
    for label in ("kiosk/video", "relative/video", "kiosk/audio", "relative/audio"):
        assert frames[f"call0/{label}"] > 0, frames
    assert point["recordings"]["kinds"] == [".mjr"] and point["recordings"]["files"] == 4
    assert point["cpu_seconds"] > 0 and point["rss_mb"] > 0 and point["delay_samples"] > 0
    assert "| 1 | janus |" in done.stdout


def test_cpu_lists_and_pinning_reach_a_spawned_server() -> None:
    """--server-cpus/--loadgen-cpus: taskset's list syntax, and a child started pinned is on
    those CPUs only (every thread it starts inherits it)."""
    from bench.run import cpu_list
    from bench.targets import pinned

    assert cpu_list("0") == {0} and cpu_list("0-2,5") == {0, 1, 2, 5}
    one = {min(os.sched_getaffinity(0))}
    child = subprocess.Popen(["sleep", "10"], preexec_fn=pinned(one))
    try:
        assert os.sched_getaffinity(child.pid) == one
    finally:
        child.kill()
        child.wait()
    assert pinned(None) is None


def test_repeated_runs_pair_each_ratio_within_its_run_and_report_the_median() -> None:
    """--repeat: each Parloir/Janus ratio pairs the two servers' points of one run (measured one
    after the other), and the table ends with the median and range of the runs' ratios."""
    from bench.run import ratio_rows, ratio_summary, table

    def point(target: str, run: int, cpu: float) -> dict:
        return {"target": target, "calls": 10, "repeat": run, "ok": True, "fps_min": 30.0,
                "cpu_percent": 30.0, "cpu_s_per_call_minute": cpu}  # fmt: skip

    points = [point("parloir", 0, 2.0), point("janus", 0, 0.5), point("parloir", 1, 2.4),
              point("janus", 1, 0.4), point("parloir", 2, 2.1), point("janus", 2, 0.7)]  # fmt: skip
    ratios = ratio_rows(points, "parloir", "janus")
    assert [(run, round(r, 2)) for _n, run, _p, _j, r in ratios] == [(0, 4.0), (1, 6.0), (2, 3.0)]
    ((n, median, low, high, runs),) = ratio_summary(points, "parloir", "janus")
    assert (n, runs) == (10, 3) and [round(x, 2) for x in (median, low, high)] == [4.0, 3.0, 6.0]
    text = table(points)
    assert "| 10 | 2 | 2.40 | 0.40 | 6.0× |" in text  # runs are counted from 1 for people
    assert "| 10 | median of 3 | | | **4.0×** (3.0 to 6.0×) |" in text
    # A single run keeps the table it always had: no run column, no median line.
    single = [dict(p, repeat=0) for p in points[:2]]
    assert "| 10 | 2.00 | 0.50 | 4.0× |" in table(single) and "median" not in table(single)


def test_the_floor_relays_every_packet_in_each_loop(tmp_path: Path) -> None:
    """``bench floor``: each relay loop (asyncio, uvloop when installed, blocking) takes every
    SRTP packet, unprotects, rewrites and protects it, and the sink decrypts every one with the
    relay's outgoing key and finds the new SSRC; the CPU per packet is reported, not judged."""
    argv = [sys.executable, "-m", "bench", "floor", "--packets", "2000", "--rate", "4000",
            "--out", str(tmp_path)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads((tmp_path / "floor.json").read_text())["rows"]
    expected = ["asyncio", "uvloop", "blocking"]
    if importlib.util.find_spec("uvloop") is None:
        expected.remove("uvloop")
    assert [r["variant"] for r in rows] == expected
    for row in rows:
        assert row["relayed"] == row["delivered"] == 2000, row
        assert row["us_per_packet"] > 0, row
    assert "| asyncio | 2000 of 2000 |" in done.stdout


@pytest.mark.skipif(budget.available() is not None, reason=str(budget.available()))
def test_a_cpu_budget_holds_a_busy_process_to_its_share_and_is_removed() -> None:
    """--server-cpu-share's cgroup: a process spinning on a core gets about its share (the
    kernel throttles it), and the group is gone afterwards with the process back at the root."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        held = budget.CpuBudget(0.1, f"parloir-test-{os.getpid()}")
        try:
            held.add(spinner.pid)
            assert held.pids() == [spinner.pid]
            before = _cpu_seconds(spinner.pid)
            time.sleep(2.0)
            used = (_cpu_seconds(spinner.pid) - before) / 2.0
            stats = held.stats()
        finally:
            held.remove()
        assert stats["throttled_periods"] > 0 and stats["throttled_us"] > 0, stats
        assert used < 0.5, f"a spinning process held to 0.1 of a core used {used:.2f}"
        assert not held.path.exists()
        assert str(spinner.pid) in (held.root / "cgroup.procs").read_text().split()
    finally:
        spinner.kill()
        spinner.wait()


@pytest.mark.skipif(budget.available() is not None, reason=str(budget.available()))
def test_a_bench_run_with_a_cpu_budget_reports_it(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "bench", "run", "--calls", "1", "--seconds", "3",
            "--warmup", "1", "--viewers", "0", "--no-baseline", "--no-janus",
            "--server-cpu-share", "0.6", "--out", str(tmp_path)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "last.json").read_text())
    (point,) = report["points"]
    assert point["connected"] == 1 and point["fps_min"] > 0, point.get("errors")
    held = point["cpu_budget"]
    assert held["share"] == 0.6 and held["periods"] > 0
    assert held["processes"] == 2, held  # the gateway and its Redis
    assert report["machine"]["server_cpu_share"] == 0.6
    left = [p.name for p in budget.hierarchy()[0].glob("parloir-bench-*-parloir-1") if p.is_dir()]
    assert not left, left


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
