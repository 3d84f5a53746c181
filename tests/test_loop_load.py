"""The event loop's load as /metrics shows it: busy share over a window, lag of the ticks."""

from __future__ import annotations

import pytest

from gateway.core.loop_load import LAG_BUCKETS, LoopLoad


def test_busy_is_the_loop_threads_cpu_over_the_wall_clock_of_the_window() -> None:
    load = LoopLoad(window=10.0)
    assert load.busy is None
    load.tick(100.0, 5.0, 100.0)
    assert load.busy is None  # one tick measures nothing
    load.tick(100.5, 5.1, 100.5)
    assert load.busy == pytest.approx(0.2)
    # Saturated for 10 s: the window forgets the quiet start.
    wall, cpu = 100.5, 5.1
    for _ in range(20):
        wall += 0.5
        cpu += 0.5
        load.tick(wall, cpu, wall)
    assert load.busy == pytest.approx(1.0)
    # Idle again: the busy share falls back as the window moves on.
    for _ in range(21):
        wall += 0.5
        load.tick(wall, cpu, wall)
    assert load.busy == pytest.approx(0.0)


def test_the_window_always_spans_its_length_even_with_sparse_ticks() -> None:
    load = LoopLoad(window=10.0)
    load.tick(0.0, 0.0, 0.0)
    load.tick(30.0, 3.0, 0.5)  # the loop stalled for half a minute
    assert load.busy == pytest.approx(0.1)
    load.tick(30.5, 3.5, 30.5)
    # Kept: the tick at 0.0 until one at or before 20.5 exists (the window's start).
    assert load.busy == pytest.approx(3.5 / 30.5)


def test_lag_lands_in_its_bucket_and_the_export_is_cumulative() -> None:
    load = LoopLoad()
    load.tick(1.0, 0.0, 1.0)  # on time
    load.tick(2.003, 0.0, 2.0)  # 3 ms late
    load.tick(3.2, 0.0, 3.0)  # 200 ms
    load.tick(10.0, 0.0, 4.0)  # 6 s: above every bucket
    load.tick(11.0, 0.0, 11.5)  # early counts as on time
    assert load.ticks == 5
    assert load.lag_sum == pytest.approx(0.003 + 0.2 + 6.0)
    buckets = dict(load.lag_buckets())
    assert list(buckets) == [str(b) for b in LAG_BUCKETS] + ["+Inf"]
    assert buckets["0.005"] == 3
    assert buckets["0.1"] == 3
    assert buckets["0.25"] == 4
    assert buckets["2.5"] == 4
    assert buckets["+Inf"] == 5


def test_the_lag_the_overload_rule_reads_is_the_median_not_one_stall() -> None:
    load = LoopLoad()
    wall = 0.0
    for lag in (0.001, 0.001, 0.6, 0.001):  # each tick due 0.5 s after the previous one ran
        due = wall + 0.5
        wall = due + lag
        load.tick(wall, 0.0, due)
    assert load.lag_over(2.5) == pytest.approx(0.001)  # one stall among four ticks
    for _ in range(4):
        due = wall + 0.5
        wall = due + 0.08
        load.tick(wall, 0.0, due)
    assert load.lag_over(2.5) == pytest.approx(0.08)  # late at every tick: overloaded
