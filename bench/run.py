"""``python -m bench run``: N recorded two-way calls through Parloir, through Janus (Debian's,
:mod:`bench.janus`, when installed) and through the stock aiortc relay, measured on the server
process only (with ``--processes P``, on the P gateway processes: their sum, and each one).

For each N: start the server (a fresh process), seed, start the load generator's worker
processes, set up every call, wait ``--warmup`` seconds (recordings started, keyframes through),
then measure for ``--seconds``: the server's CPU time and resident memory from ``/proc``, what
each receiver got, the delay of each video frame. Then hang up and stop everything.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import budget as cpu_budget
from . import janus, profile
from .clip import load_clip
from .loadgen import worker_main
from .targets import (
    Target,
    calls_per_owner,
    janus_specs,
    seed_parloir,
    start_janus_target,
    start_parloir,
    start_stock,
    stock_specs,
)

RESULTS = Path(__file__).resolve().parent / "results"
MIN_FPS = 28.0
MAX_LOSS = 0.005
TICK = os.sysconf("SC_CLK_TCK")
ORDER = {"parloir": 0, "janus": 1, "stock": 2}


# -- /proc ---------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its threads."""
    return sum(cpu_split(pid))


def cpu_split(pid: int) -> tuple[float, float]:
    """User and system (kernel: system calls, the loopback's delivery) CPU time of a process."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def thread_cpu_seconds(pid: int, tid: int) -> float:
    """CPU time of one thread (the main thread's id is the process id: the event loop)."""
    try:
        with open(f"/proc/{pid}/task/{tid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


# -- one measured point ------------------------------------------------------------------
class Workers:
    """The load generator's processes, driven over pipes."""

    def __init__(
        self,
        target: Target,
        specs: list[dict[str, Any]],
        count: int,
        clip: dict,
        cpus: set[int] | None = None,
    ) -> None:
        ctx = mp.get_context("spawn")
        self.pipes, self.procs = [], []
        for i in range(count):
            share = specs[i::count]
            if not share:
                continue
            parent, child = ctx.Pipe()
            params = {"target": target.name, "base": target.url, "outbox": target.outbox,
                      "calls": share, "ice_address": target.extra.get("ice_address"),
                      "cpus": cpus, **clip}  # fmt: skip
            proc = ctx.Process(target=worker_main, args=(child, params), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)
        self.ask_all(None, "loaded", timeout=60)

    def ask_all(self, command: str | None, answer: str, timeout: float) -> list[Any]:
        if command is not None:
            for pipe in self.pipes:
                pipe.send(command)
        out = []
        deadline = time.monotonic() + timeout
        for pipe in self.pipes:
            if not pipe.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"load generator: no {answer!r} within {timeout:.0f} s")
            kind, value = pipe.recv()
            assert kind == answer, (kind, answer)
            out.append(value)
        return out

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs if p.pid is not None)

    def close(self) -> None:
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()


def measure(target_name: str, calls: int, args: argparse.Namespace) -> dict[str, Any]:
    viewers = math.ceil(calls * args.viewers) if target_name != "janus" else 0
    clip = {"clip_seconds": 10, "video_kbps": args.video_kbps}
    with tempfile.TemporaryDirectory(prefix=f"parloir-bench-{target_name}-") as tmp:
        work = Path(tmp)
        processes = args.processes if target_name == "parloir" else 1
        if target_name == "parloir":
            target = start_parloir(
                work, calls, record=args.record, processes=processes, cpus=args.server_cpus,
                event_loop=args.event_loop,
            )
        elif target_name == "janus":
            target = start_janus_target(work, cpus=args.server_cpus)
        else:
            target = start_stock(work, record=args.record, cpus=args.server_cpus)
        pids = target.pids
        workers: Workers | None = None
        per_owner: list[int] = []
        budget: cpu_budget.CpuBudget | None = None
        budget_stats: dict[str, int] | None = None
        try:
            if args.server_cpu_share:
                budget = cpu_budget.CpuBudget(
                    args.server_cpu_share, f"parloir-bench-{os.getpid()}-{target_name}-{calls}"
                )
                server = list(pids)
                if target.redis is not None and target.redis.process is not None:
                    server.append(target.redis.process.pid)  # Parloir's Redis shares the budget
                for pid in server:
                    budget.add(pid)
            time.sleep(1.0)  # imports and start-up done: the idle footprint
            rss_idle = sum(rss_bytes(pid) for pid in pids)
            if target_name == "parloir":
                specs = asyncio.run(seed_parloir(target, calls, viewers))
            elif target_name == "janus":
                specs = janus_specs(calls, work, args.record)
            else:
                specs = stock_specs(calls, viewers)
            if processes > 1:  # round robin, kiosk and relative on different processes
                for i, spec in enumerate(specs):
                    spec["kiosk_base"] = target.urls[i % processes]
                    spec["relative_base"] = target.urls[(i + 1) % processes]
            workers = Workers(target, specs, min(args.workers, calls), clip, args.loadgen_cpus)
            setup_started = time.monotonic()
            ready = workers.ask_all("setup", "ready", timeout=60 + 5 * calls)
            setup_seconds = time.monotonic() - setup_started
            time.sleep(args.warmup)
            workers.ask_all("mark", "marked", timeout=30)
            tag = "" if processes == 1 else f"-{processes}proc"
            spy_outs = [
                Path(args.out) / f"profile-{target_name}-{calls}{tag}{f'-p{k}' if k else ''}.txt"
                for k in range(len(pids))
            ]
            spy_out = spy_outs[0]
            spies = []
            if args.profile:
                Path(args.out).mkdir(parents=True, exist_ok=True)  # py-spy will not make it
                spies = [
                    profile.start(pid, args.seconds, spy_outs[k]) for k, pid in enumerate(pids)
                ]
            loop0 = [thread_cpu_seconds(pid, pid) for pid in pids]
            sys0 = sum(cpu_split(pid)[1] for pid in pids)
            cpu0, busy0, load0, t0 = (
                [cpu_seconds(pid) for pid in pids],
                machine_busy(),
                workers.cpu(),
                time.monotonic(),
            )
            time.sleep(args.seconds)
            cpu1, busy1, load1, t1 = (
                [cpu_seconds(pid) for pid in pids],
                machine_busy(),
                workers.cpu(),
                time.monotonic(),
            )
            loop1 = [thread_cpu_seconds(pid, pid) for pid in pids]
            sys1 = sum(cpu_split(pid)[1] for pid in pids)
            rss_each = [rss_bytes(pid) for pid in pids]
            rss = sum(rss_each)
            if budget is not None:
                budget_stats = {**budget.stats(), "processes": len(budget.pids())}
            if processes > 1 and target.redis is not None:
                per_owner = calls_per_owner(target.redis.url, target.owners)
            reports = workers.ask_all("report", "report", timeout=60)
            workers.ask_all("stop", "stopped", timeout=60)
            for spy in spies:
                if spy is not None:
                    profile.finish(spy)
        finally:
            if workers is not None:
                workers.close()
            target.stop()
            if budget is not None:
                budget.remove()
            recordings = _recordings(work / "recordings")
    elapsed = t1 - t0
    joins = [j for r in ready for j in r["joins"] if j is not None]
    errors = [e for r in ready for e in r["errors"]]
    connected = len(joins)
    rows = [row for rep in reports for row in rep["receivers"]]
    video = [r for r in rows if r["kind"] == "video"]
    audio = [r for r in rows if r["kind"] == "audio"]
    delays = sorted(d for rep in reports for d in rep["delays"])
    sender_fps = [f for rep in reports for f in rep["sender_fps"]]
    cpu_each = [b - a for a, b in zip(cpu0, cpu1, strict=True)]
    cpu = sum(cpu_each)
    loop_cpu = sum(b - a for a, b in zip(loop0, loop1, strict=True))

    def loss(group: list[dict[str, Any]]) -> float:
        expected = sum(r["expected"] for r in group)
        return (expected - sum(r["frames"] for r in group)) / expected if expected else 1.0

    packets = sum(r["packets"] + r["packets_lost"] for r in rows)
    result = {
        "target": target_name, "calls": calls, "connected": connected, "viewers": viewers,
        "errors": errors[:10], "seconds": round(elapsed, 2),
        "setup_seconds": round(setup_seconds, 2), "cpu_seconds": round(cpu, 3),
        "cpu_percent": round(100 * cpu / elapsed, 1),
        "cpu_kernel_share": round((sys1 - sys0) / cpu, 3) if cpu else None,
        "event_loop_cpu_percent": round(100 * loop_cpu / elapsed, 1),
        "record": args.record,
        "cpu_s_per_call_minute": round(cpu / (connected * elapsed / 60), 3) if connected else None,
        "rss_mb": round(rss / 2**20, 1), "rss_idle_mb": round(rss_idle / 2**20, 1),
        "rss_mb_per_call": round((rss - rss_idle) / 2**20 / connected, 2) if connected else None,
        "video_receivers": len(video),
        "fps_min": round(min((r["per_second"] for r in video), default=0.0), 2),
        "fps_mean": round(statistics.fmean(r["per_second"] for r in video), 2) if video else 0.0,
        "audio_pps_min": round(min((r["per_second"] for r in audio), default=0.0), 2),
        "video_frames": sum(r["frames"] for r in video),
        "video_frames_lost": sum(r["expected"] - r["frames"] for r in video),
        "video_frame_loss": round(loss(video), 5),
        "audio_frame_loss": round(loss(audio), 5),
        "packets": packets,
        "packets_lost": sum(r["packets_lost"] for r in rows),
        "packet_loss": round(sum(r["packets_lost"] for r in rows) / packets, 5) if packets else 1.0,
        "join_s_median": round(statistics.median(joins), 3) if joins else None,
        "join_s_max": round(max(joins), 3) if joins else None,
        "delay_ms_p50": _pct(delays, 0.50), "delay_ms_p95": _pct(delays, 0.95),
        "delay_ms_max": _pct(delays, 1.0), "delay_samples": len(delays),
        "sender_fps_min": round(min(sender_fps, default=0.0), 2),
        "recordings": recordings,
        "keyframe_restarts": sum(rep["restarts"] for rep in reports),
        "loadgen_cpu_percent": round(100 * (load1 - load0) / elapsed, 1),
        "machine_busy_percent": round(100 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]), 1),
        "receivers": rows if args.keep_receivers else None,
    }  # fmt: skip
    if target.extra.get("event_loop"):
        result["event_loop"] = target.extra["event_loop"]
    if budget is not None:
        # The kernel's counters for the whole run (setup included): how often the quota bit.
        result["cpu_budget"] = {"share": args.server_cpu_share, **(budget_stats or {})}
    if processes > 1:
        result.update({
            "processes": processes,
            "cpu_percent_per_process": [round(100 * c / elapsed, 1) for c in cpu_each],
            "event_loop_cpu_percent_per_process": [
                round(100 * (b - a) / elapsed, 1) for a, b in zip(loop0, loop1, strict=True)
            ],
            "rss_mb_per_process": [round(r / 2**20, 1) for r in rss_each],
            "calls_per_process": per_owner,
        })  # fmt: skip
    if args.profile and spy_out.exists():
        result["profile"] = profile.summarise(spy_out)
    result["ok"] = (
        connected == calls
        and bool(video)
        and result["fps_min"] >= MIN_FPS
        and result["video_frame_loss"] < MAX_LOSS
        and result["packet_loss"] < MAX_LOSS
    )
    return result


def _recordings(folder: Path) -> dict[str, Any]:
    """What the server recorded: file count, MB, and the kinds of file (``.webm``, ``.mjr``)."""
    files = [f for f in folder.rglob("*") if f.is_file()] if folder.exists() else []
    return {"files": len(files), "mb": round(sum(f.stat().st_size for f in files) / 2**20, 2),
            "kinds": sorted({f.suffix for f in files})}  # fmt: skip


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(1000 * values[min(len(values) - 1, int(q * len(values)))], 1)


# -- output -------------------------------------------------------------------------------
COLUMNS = [
    ("N", "calls", "{}"), ("server", "target", "{}"), ("ok", "ok", "{}"),
    ("CPU %", "cpu_percent", "{:.0f}"), ("CPU s/call-min", "cpu_s_per_call_minute", "{:.2f}"),
    ("RSS MB", "rss_mb", "{:.0f}"), ("MB/call", "rss_mb_per_call", "{:.1f}"),
    ("fps min", "fps_min", "{:.1f}"), ("fps mean", "fps_mean", "{:.1f}"),
    ("frame loss %", "video_frame_loss", "{:.2%}"), ("pkt loss %", "packet_loss", "{:.2%}"),
    ("join s (max)", "join_s_max", "{:.2f}"), ("delay ms p50/p95", "delay", "{}"),
    ("loadgen CPU %", "loadgen_cpu_percent", "{:.0f}"),
]  # fmt: skip


def _cell(row: dict[str, Any], key: str, fmt: str) -> str:
    if key == "delay":
        p50, p95 = row.get("delay_ms_p50"), row.get("delay_ms_p95")
        return "—" if p50 is None else f"{p50:.0f}/{p95:.0f}"
    value = row.get(key)
    if value is None:
        return "—"
    if key == "video_frame_loss" or key == "packet_loss":
        return f"{100 * value:.2f}"
    if key == "ok":
        return "yes" if value else "NO"
    if key == "repeat":  # counted from 0 in the JSON, from 1 for people
        return str(value + 1)
    if isinstance(value, list):
        return " + ".join(fmt.format(v) for v in value)
    return fmt.format(value)


def table(points: list[dict[str, Any]]) -> str:
    """A Markdown table: every point, then the stock/Parloir and Parloir/Janus CPU ratios per
    N (per run with ``--repeat``, and their median)."""
    columns = COLUMNS
    if any(p.get("processes", 1) > 1 for p in points):  # several gateway processes
        columns = [*COLUMNS[:4], ("CPU % per process", "cpu_percent_per_process", "{:.0f}"),
                   ("calls per process", "calls_per_process", "{}"), *COLUMNS[4:]]  # fmt: skip
    repeated = any(p.get("repeat", 0) > 0 for p in points)
    if repeated:
        columns = [columns[0], ("run", "repeat", "{}"), *columns[1:]]
    head = [c[0] for c in columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in points:
        lines.append("| " + " | ".join(_cell(row, k, f) for _h, k, f in columns) + " |")
    for num, den in RATIOS:
        ratios = ratio_rows(points, num, den)
        if not ratios:
            continue
        a, b = LABELS[num], LABELS[den]
        run_head, run_rule = ("run | ", "---|") if repeated else ("", "")
        lines += ["", f"| N | {run_head}{a} CPU s/call-min | {b} CPU s/call-min | {a} / {b} |",
                  f"|---|{run_rule}---|---|---|"]  # fmt: skip
        by = {_key(p): p for p in points}
        medians = {row[0]: row[1:] for row in ratio_summary(points, num, den)}
        for i, (n, run, x, y, ratio) in enumerate(ratios):
            # A saturated server's CPU per call understates what the load would need.
            notes = [f"{LABELS[t]} saturated: {by[(t, n, run)]['fps_min']:.0f} fps min"
                     for t in (num, den) if not by[(t, n, run)]["ok"]]  # fmt: skip
            note = f" ({'; '.join(notes)})" if notes else ""
            cell = f"{run + 1} | " if repeated else ""
            lines.append(f"| {n} | {cell}{x:.2f} | {y:.2f} | {ratio:.1f}×{note} |")
            if repeated and (i + 1 == len(ratios) or ratios[i + 1][0] != n):  # N's last run
                median, low, high, count = medians[n]
                lines.append(f"| {n} | median of {count} | | | **{median:.1f}×** "
                             f"({low:.1f} to {high:.1f}×) |")  # fmt: skip
    return "\n".join(lines)


def _key(point: dict[str, Any]) -> tuple[str, int, int]:
    """A point's place: server, N and repetition (``--repeat``; 0 for a single run)."""
    return point["target"], point["calls"], point.get("repeat", 0)


LABELS = {"parloir": "Parloir", "janus": "Janus", "stock": "stock"}
RATIOS = (("stock", "parloir"), ("parloir", "janus"))
"The ratios of CPU per call-minute the table shows: stock / Parloir, Parloir / Janus."


def ratio_rows(
    points: list[dict[str, Any]], num: str = "stock", den: str = "parloir"
) -> list[tuple[int, int, float, float, float]]:
    """(N, run, num's CPU s/call-min, den's, num / den) for every N and run (``--repeat``) both
    were measured in: each ratio pairs two points of the same repetition, measured one after
    the other."""
    by = {_key(p): p for p in points}
    out = []
    for (name, n, run), a in sorted(by.items(), key=lambda kv: (kv[0][1], kv[0][2])):
        b = by.get((den, n, run))
        if name != num or b is None:
            continue
        x, y = a.get("cpu_s_per_call_minute"), b.get("cpu_s_per_call_minute")
        if x and y:
            out.append((n, run, x, y, x / y))
    return out


def ratio_summary(
    points: list[dict[str, Any]], num: str = "stock", den: str = "parloir"
) -> list[tuple[int, float, float, float, int]]:
    """(N, median, lowest, highest, runs) of the ratios :func:`ratio_rows` finds at each N."""
    per_n: dict[int, list[float]] = {}
    for n, _run, _x, _y, ratio in ratio_rows(points, num, den):
        per_n.setdefault(n, []).append(ratio)
    return [(n, statistics.median(r), min(r), max(r), len(r)) for n, r in sorted(per_n.items())]


def plot(points: list[dict[str, Any]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing (pip install -e '.[bench]'): no plot", file=sys.stderr)
        return False
    fig, (ax_cpu, ax_fps) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, label, style, color in (
        ("parloir", "Parloir (forwarding)", "o-", "tab:blue"),
        ("janus", "Janus VideoCall + .mjr recorder (C)", "^-.", "tab:green"),
        ("stock", "stock aiortc relay + recorder", "s--", "tab:orange"),
    ):
        rows = _medians([p for p in points if p["target"] == name])
        if not rows:
            continue
        n = [p["calls"] for p in rows]
        ax_cpu.plot(n, [p["cpu_percent"] for p in rows], style, color=color, label=label)
        ax_fps.plot(n, [p["fps_min"] for p in rows], style, color=color, label=f"{label}, min")
        ax_fps.plot(n, [p["fps_mean"] for p in rows], style, color=color, alpha=0.35,
                    label=f"{label}, mean")  # fmt: skip
    ax_cpu.set(xlabel="concurrent recorded two-way calls (N)", ylabel="server CPU (% of one core)",
               title="Server CPU")  # fmt: skip
    ax_fps.axhline(MIN_FPS, color="grey", linewidth=0.8, linestyle=":")
    ax_fps.set(xlabel="concurrent recorded two-way calls (N)", ylabel="video frames/s per receiver",
               title="Delivered frame rate", ylim=(0, 32))  # fmt: skip
    for ax in (ax_cpu, ax_fps):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Parloir benchmark: 640x480 30 fps VP8 + Opus both ways, every call recorded",
                 fontsize=10)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _medians(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One point per N, in N order: with ``--repeat``, the median of the runs' CPU and fps."""
    per_n: dict[int, list[dict[str, Any]]] = {}
    for p in points:
        if p.get("cpu_percent") is not None:  # a point that failed to set up has no figures
            per_n.setdefault(p["calls"], []).append(p)
    return [
        {"calls": n, **{k: statistics.median(p[k] for p in group)
                        for k in ("cpu_percent", "fps_min", "fps_mean")}}
        for n, group in sorted(per_n.items())
    ]  # fmt: skip


def save(points: list[dict[str, Any]], args: argparse.Namespace, extra: dict[str, Any]) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    clip = load_clip(10, args.video_kbps)
    doc = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_generator": "same machine",
            "server_cpus": sorted(args.server_cpus) if args.server_cpus else "all",
            "loadgen_cpus": sorted(args.loadgen_cpus) if args.loadgen_cpus else "all",
            "server_cpu_share": args.server_cpu_share,
            # The gateway runs on this interpreter (sys.executable): say which.
            "python": f"{platform.python_implementation()} {platform.python_version()}",
            "python_executable": sys.executable,
        },
        "settings": {
            k: sorted(v) if isinstance(v, set) else v
            for k, v in vars(args).items()
            if k not in ("func",)
        },
        "clip": {
            "video": "VP8 640x480 30 fps",
            "video_kbps": round(clip.measured_video_kbps),
            "audio": "Opus 48 kHz 20 ms",
            "sha256": clip.sha256,
        },  # fmt: skip
        "criteria": {"fps_min": MIN_FPS, "max_loss": MAX_LOSS},
        "points": points,
        "ratios": [
            {"calls": n, "repeat": k, "stock": s, "parloir": o, "ratio": round(r, 2)}
            for n, k, s, o, r in ratio_rows(points)
        ],
        "ratios_parloir_janus": [
            {"calls": n, "repeat": k, "parloir": o, "janus": j, "ratio": round(r, 2)}
            for n, k, o, j, r in ratio_rows(points, "parloir", "janus")
        ],
        "ratios_parloir_janus_median": [
            {"calls": n, "median": round(m, 2), "min": round(lo, 2), "max": round(hi, 2), "runs": k}
            for n, m, lo, hi, k in ratio_summary(points, "parloir", "janus")
        ],
        **extra,
    }
    stem = results_stem(args)
    (out / f"{stem}.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    plot(points, out / f"{stem}.png")


def results_stem(args: argparse.Namespace) -> str:
    """``last``, or ``last-Pproc`` with several gateway processes (the single-process results
    stay where they are)."""
    return "last" if args.processes == 1 else f"last-{args.processes}proc"


def run_point(
    name: str, n: int, args: argparse.Namespace, points: list[dict[str, Any]], repeat: int = 0
) -> dict:
    run = f", run {repeat + 1}/{args.repeat}" if args.repeat > 1 else ""
    print(f"… {name}: {n} call(s), {args.seconds:g} s{run}", file=sys.stderr, flush=True)
    try:
        point = measure(name, n, args)
    except Exception as exc:  # a point that cannot even be set up is a failed point
        point = {"target": name, "calls": n, "connected": 0, "ok": False,
                 "errors": [f"{type(exc).__name__}: {exc}"]}  # fmt: skip
    if args.repeat > 1:
        point["repeat"] = repeat
    points.append(point)
    print("  " + _summary(point), file=sys.stderr, flush=True)
    groups = (point.get("profile") or {}).get("groups", [])
    for group, share in groups:
        print(f"    {share:5.1f}%  {group}", file=sys.stderr)
    if groups and point.get("cpu_percent"):
        # py-spy's shares are of wall-clock samples (see bench/profile.py); /proc's are CPU time.
        loop_share = point["event_loop_cpu_percent"] / point["cpu_percent"]
        print(f"    (by /proc: the event loop's thread {loop_share:.0%} of the server's CPU, "
              f"the kernel {point['cpu_kernel_share']:.0%})", file=sys.stderr)  # fmt: skip
    return point


def _summary(p: dict[str, Any]) -> str:
    if p.get("cpu_percent") is None:
        return f"failed: {p['errors']}"
    text = (f"ok={p['ok']} connected={p['connected']} cpu={p['cpu_percent']}% "
            f"fps_min={p['fps_min']} loss={p['video_frame_loss']:.2%} "
            f"pkt_loss={p['packet_loss']:.2%} join_max={p['join_s_max']} "
            f"sender_fps_min={p['sender_fps_min']} loop={p['event_loop_cpu_percent']}% "
            f"machine={p['machine_busy_percent']}%")  # fmt: skip
    if p.get("processes", 1) > 1:
        text += (f" per_process_cpu={p['cpu_percent_per_process']}%"
                 f" per_process_calls={p['calls_per_process']}")  # fmt: skip
    return text + (f" errors={p['errors']}" if p["errors"] else "")


def find_max(args: argparse.Namespace, points: list[dict[str, Any]], name: str = "parloir") -> int:
    """Largest N with every receiver >= 28 fps and loss < 0.5%: step up, then bisect."""
    good, bad, n = 0, None, args.start
    while n <= args.max_calls:
        if run_point(name, n, args, points)["ok"]:
            good, n = n, n + args.step
        else:
            bad = n
            break
    while bad is not None and bad - good > 1:
        mid = (good + bad) // 2
        if run_point(name, mid, args, points)["ok"]:
            good = mid
        else:
            bad = mid
    return good


def cpu_list(text: str) -> set[int]:
    """``taskset -c``'s list syntax: ``0``, ``0,1``, ``0-3``."""
    cpus: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    if not cpus:
        raise argparse.ArgumentTypeError(f"no CPU in {text!r}")
    return cpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("run", help="measure Parloir, Janus and the stock baseline")
    cmd.add_argument("--calls", default="1,5,10,20", help="comma-separated N (default 1,5,10,20)")
    cmd.add_argument("--seconds", type=float, default=30, help="measuring window per point")
    cmd.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure each N this many times, the servers taking turns; the table adds each "
        "ratio's median (a run's CPU varies by up to 20%% on a shared machine)",
    )
    cmd.add_argument("--warmup", type=float, default=3, help="seconds between setup and window")
    cmd.add_argument(
        "--viewers",
        type=float,
        default=0.25,
        help="share of calls with a monitoring viewer (default 0.25)",
    )
    cmd.add_argument("--workers", type=int, default=2, help="load generator processes")
    cmd.add_argument(
        "--processes",
        type=int,
        default=1,
        help="gateway processes on one Redis (kiosk of call i on process i %% P, its relative "
        "on (i+1) %% P); results in last-Pproc.json when P > 1",
    )
    cmd.add_argument(
        "--baseline-max",
        type=int,
        default=2,
        help="run the stock baseline only up to this N (it saturates 2 cores fast)",
    )
    cmd.add_argument("--no-baseline", action="store_true", help="no stock aiortc baseline")
    cmd.add_argument(
        "--no-janus",
        dest="janus",
        action="store_false",
        help="no Janus baseline (it runs whenever /usr/bin/janus exists)",
    )
    cmd.add_argument("--only-janus", action="store_true", help="Janus alone (no Parloir, no stock)")
    cmd.add_argument(
        "--no-record",
        dest="record",
        action="store_false",
        help="diagnosis only: no recording on either server",
    )
    cmd.add_argument("--video-kbps", type=int, default=800, help="the clip's VP8 bitrate")
    cmd.add_argument("--event-loop", choices=("asyncio", "uvloop"), default="asyncio",
                     help="Parloir's event loop (event_loop: uvloop needs the extra)")  # fmt: skip
    cmd.add_argument(
        "--find-max",
        action="store_true",
        help="also find the largest N at >= 28 fps and < 0.5%% loss",
    )
    cmd.add_argument("--start", type=int, default=10, help="--find-max: first N")
    cmd.add_argument("--step", type=int, default=5, help="--find-max: N step before bisecting")
    cmd.add_argument("--max-calls", type=int, default=80, help="--find-max: give up above this")
    cmd.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the server during each window (results/profile-*.txt)",
    )
    cmd.add_argument(
        "--server-cpus",
        type=cpu_list,
        default=None,
        help="pin the server's processes (and Parloir's Redis) to these CPUs, e.g. 1 or 0-1",
    )
    cmd.add_argument(
        "--loadgen-cpus",
        type=cpu_list,
        default=None,
        help="pin the load generator (and this orchestrator) to these CPUs, e.g. 0",
    )
    cmd.add_argument(
        "--server-cpu-share",
        type=float,
        default=None,
        help="hold the server's processes (and Parloir's Redis) to this share of one core, e.g. "
        "0.25 (a cgroup CPU quota, root): both servers then run out of CPU at an N the load "
        "generator can still drive (bench/budget.py)",
    )
    cmd.add_argument("--keep-receivers", action="store_true", help="every receiver in the JSON")
    cmd.add_argument("--out", default=str(RESULTS), help="folder for last.json and last.png")
    net = sub.add_parser("net", help="one browser call, the relative's downlink shaped (root)")
    net.add_argument("--cap", type=int, default=400, help="downlink cap, kbit/s (default 400)")
    net.add_argument("--seconds", type=float, default=40, help="how long the cap holds")
    net.add_argument("--out", default=str(RESULTS), help="folder for net.json")
    floor = sub.add_parser(
        "floor", help="the least CPU per packet a relay in Python spends here (bench/floor.py)"
    )
    floor.add_argument("--packets", type=int, default=60_000, help="packets per relay loop")
    floor.add_argument("--rate", type=float, default=2830, help="packets a second (N = 10's)")
    floor.add_argument("--server-cpus", type=cpu_list, default=None, help="the relay's CPUs")
    floor.add_argument("--loadgen-cpus", type=cpu_list, default=None,
                       help="the sender's and the sink's CPUs")  # fmt: skip
    floor.add_argument("--out", default=str(RESULTS), help="folder for floor.json")
    args = parser.parse_args(argv)
    if args.command == "net":
        from . import net as net_mode

        return net_mode.main(args)
    if args.command == "floor":
        from . import floor as floor_mode

        return floor_mode.main(args)
    if args.processes < 1:
        parser.error("--processes must be at least 1")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    for option in ("server_cpus", "loadgen_cpus"):
        cpus = getattr(args, option)
        if cpus and not cpus <= os.sched_getaffinity(0):
            parser.error(f"--{option.replace('_', '-')}: CPUs {sorted(cpus)} not all available")
    if args.server_cpu_share is not None:
        if args.server_cpu_share <= 0:
            parser.error("--server-cpu-share must be above 0")
        if (why := cpu_budget.available()) is not None:
            parser.error(f"--server-cpu-share: {why}")
    if args.loadgen_cpus:
        os.sched_setaffinity(0, args.loadgen_cpus)
    calls = [int(n) for n in args.calls.split(",") if n.strip()] if args.calls else []
    load_clip(10, args.video_kbps)  # encode once, before any worker needs it
    points: list[dict[str, Any]] = []
    with_janus = args.janus and janus.available()
    if args.janus and not with_janus:
        print(f"{janus.JANUS} missing (apt-get install janus): no Janus baseline", file=sys.stderr)
    for n in calls:  # with --repeat, the servers take turns at each N: run k of each, k + 1…
        for k in range(args.repeat):
            if not args.only_janus:
                run_point("parloir", n, args, points, k)
            if with_janus:
                run_point("janus", n, args, points, k)
            if not args.no_baseline and not args.only_janus and n <= args.baseline_max:
                run_point("stock", n, args, points, k)
    extra: dict[str, Any] = {}
    if args.find_max:
        if not args.only_janus:
            extra["max_calls"] = find_max(args, points)
        if with_janus:
            extra["janus_max_calls"] = find_max(args, points, "janus")
    points.sort(key=lambda p: (p["calls"], p.get("repeat", 0), ORDER.get(p["target"], 9)))
    save(points, args, extra)
    print(table([p for p in points if p.get("cpu_percent") is not None]))
    for key, label in (("max_calls", "Parloir"), ("janus_max_calls", "Janus")):
        if key in extra:
            print(f"\nLargest N at >= {MIN_FPS:g} fps and < {MAX_LOSS:.1%} loss, {label}: "
                  f"{extra[key]}")  # fmt: skip
    stem = results_stem(args)
    print(f"\nSaved {Path(args.out) / f'{stem}.json'} and {stem}.png", file=sys.stderr)
    return 0
