"""Probes and metrics of one process: ``/healthz``, ``/readyz`` (public) and ``/metrics`` (staff
networks only, through ``STAFF_PREFIXES``).

``/healthz`` says only that the process answers: it reveals nothing (no call count, no process
id; issue 19). ``/readyz`` says whether this process can take work: Redis answers, the
recordings folder is writable, its heartbeat is current; otherwise 503 with the failed checks as
machine-readable reasons. Every detail (process id, live calls, heartbeat age) is on
``/metrics``, in Prometheus text format, one set per process.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client import ProcessCollector as OsProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from gateway.core.i18n import message
from gateway.http import appkeys as keys
from gateway.service.loop_watch import LoopWatch
from gateway.store.ledger import COUNTS as LEDGER_COUNTS

REDIS_TIMEOUT = 2.0
JOIN_BUCKETS = (1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
"Seconds from the code accepted to both legs connected."


def join_histogram(counts: Any) -> tuple[list[tuple[str, float]], float]:
    """Cumulative buckets and the sum, from the engine's ``("join_ds", tenths)`` counts."""
    seen = [(int(label) / 10, n) for (event, label), n in counts.items() if event == "join_ds"]
    buckets = [(str(b), float(sum(n for s, n in seen if s <= b))) for b in JOIN_BUCKETS]
    buckets.append(("+Inf", float(sum(n for _s, n in seen))))
    return buckets, sum(s * n for s, n in seen)


async def healthz(request: web.Request) -> web.Response:
    """The process is alive (its event loop answers). Nothing else, for anyone."""
    return web.json_response({"status": "ok"})


def _recordings_writable(folder: Any) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".readyz-{secrets.token_hex(4)}"
        probe.write_bytes(b"")
        probe.unlink()
        return True
    except OSError:
        return False


async def readyz(request: web.Request) -> web.Response:
    """Ready for new work: Redis answers, recordings writable, heartbeat current."""
    app = request.app
    failed: list[str] = []
    try:
        await asyncio.wait_for(app[keys.REDIS].ping(), REDIS_TIMEOUT)
    except Exception:  # any failure to answer is "not ready", never a 500
        failed.append("ready.redis")
    folder = app[keys.CONFIG].recordings_path
    if not await asyncio.to_thread(_recordings_writable, folder):
        failed.append("ready.recordings")
    supervisor = app[keys.SUPERVISOR]
    age = supervisor.heartbeat_age()
    if age is None or age > 3 * supervisor.beat:  # the others take it for dead after three
        failed.append("ready.heartbeat")
    if app[keys.ENGINE].cluster.draining:  # the proxy should send new work elsewhere
        failed.append("ready.draining")
    if not failed:
        return web.json_response({"status": "ready"})
    return web.json_response(
        {
            "status": "not_ready",
            "reason": failed[0],
            "reasons": failed,
            "message": " ".join(message(r) for r in failed),
        },
        status=503,
    )


class ProcessCollector:
    """Read at each scrape from the live objects: nothing to keep in step."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    def collect(self) -> Any:
        engine = self.app[keys.ENGINE]
        supervisor = self.app[keys.SUPERVISOR]
        info = InfoMetricFamily("parloir_process", "This gateway process (one set per process).")
        info.add_metric([], {"owner": engine.owner, "pid": str(os.getpid())})
        yield info
        live = GaugeMetricFamily("parloir_calls_live", "Calls owned by this process now.")
        live.add_metric([], len(engine.calls))
        yield live
        age = supervisor.heartbeat_age()
        beat = GaugeMetricFamily(
            "parloir_heartbeat_age_seconds",
            "Seconds since this process's heartbeat last reached Redis (-1 before the first).",
        )
        beat.add_metric([], -1.0 if age is None else age)
        yield beat
        counts = engine.counts
        started = CounterMetricFamily("parloir_calls_started", "Calls this process started.")
        started.add_metric([], counts["calls_started", ""])
        yield started
        ended = CounterMetricFamily(
            "parloir_calls_ended", "Calls this process ended, by reason.", labels=["reason"]
        )
        refused = CounterMetricFamily(
            "parloir_code_refused", "Codes typed and refused here, by outcome.", labels=["outcome"]
        )
        for (event, label), value in sorted(counts.items()):
            if event == "calls_ended":
                ended.add_metric([label], value)
            elif event == "code_refused":
                refused.add_metric([label], value)
        yield ended
        yield refused
        minutes = CounterMetricFamily(
            "parloir_connected_seconds", "Connected time of the calls this process ended."
        )
        minutes.add_metric([], counts["connected_ms", ""] / 1000)
        yield minutes
        buckets, total = join_histogram(counts)
        join = HistogramMetricFamily(
            "parloir_join_seconds", "From the code accepted to both legs connected."
        )
        join.add_metric([], buckets, total)
        yield join
        yield from self.legs(engine)
        sms = CounterMetricFamily(
            "parloir_sms_attempts",
            "SMS sending attempts of this process, by the status they led to.",
            labels=["status"],
        )
        worker = getattr(engine.sms, "worker", None)
        for status, n in sorted(getattr(worker, "counts", {}).items()):
            sms.add_metric([status], n)
        yield sms
        # What became of the codes' SMS in the end, receipts included (counted by the call's
        # own process, once each): sent, delivered (the operator's receipt) or failed.
        outcomes = CounterMetricFamily(
            "parloir_sms_outcomes",
            "Code SMS of this process's calls, by their latest word: sent, delivered, failed.",
            labels=["status"],
        )
        for (event, label), value in sorted(counts.items()):
            if event == "sms_outcome":
                outcomes.add_metric([label], value)
        yield outcomes
        failed = CounterMetricFamily(
            "parloir_recording_failures", "Recordings abandoned here, by reason.", labels=["reason"]
        )
        for (event, label), value in sorted(counts.items()):
            if event == "recording_failed":
                failed.add_metric([label], value)
        yield failed
        backlog = GaugeMetricFamily(
            "parloir_recorder_backlog_packets",
            "Packets of this process's recordings not yet on disk (the writers' queues).",
        )
        backlog.add_metric(
            [], sum(c.recorder.backlog for c in list(engine.calls.values()) if c.recorder)
        )
        yield backlog
        ops = CounterMetricFamily(
            "parloir_ledger_operations",
            "Ledger operations of this process (done, or replayed by idempotency), by kind.",
            labels=["result", "op"],
        )
        refusals = CounterMetricFamily(
            "parloir_ledger_refusals", "Ledger operations refused, by reason.", labels=["reason"]
        )
        for (result, label), n in sorted(LEDGER_COUNTS.items()):
            if result == "refused":
                refusals.add_metric([label], n)
            else:
                ops.add_metric([result, label], n)
        yield ops
        yield refusals
        yield from self.loop(engine.loop_watch)

    def loop(self, watch: LoopWatch) -> Any:
        """The event loop's load (:mod:`gateway.core.loop_load`): the thread that relays every
        call of this process; past a full core its calls lag and freeze, so alert below it."""
        cpu = CounterMetricFamily(
            "parloir_event_loop_cpu_seconds",
            "CPU time of this process's event loop thread (rate(): the share of a core it uses).",
        )
        cpu.add_metric([], watch.cpu())  # a scrape runs on the loop's thread
        yield cpu
        load = watch.load
        busy = GaugeMetricFamily(
            "parloir_event_loop_busy_ratio",
            "Share of one core the event loop thread used over the last 10 s (1: saturated).",
        )
        if load.busy is not None:
            busy.add_metric([], load.busy)
        yield busy
        lag = HistogramMetricFamily(
            "parloir_event_loop_lag_seconds",
            "How late the event loop ran a timer due every 0.5 s (a saturated loop is late).",
        )
        lag.add_metric([], load.lag_buckets(), load.lag_sum)
        yield lag
        allowance = GaugeMetricFamily(
            "parloir_cpu_allowance_cores",
            "The CPU the event loop may use: 1, or less under its cgroup's quota.",
        )
        allowance.add_metric([], watch.allowance)
        yield allowance
        scale = GaugeMetricFamily(
            "parloir_overload_scale",
            "What each browser may send, as a share of its rate before the process ran out of "
            "CPU (1: no cap; gateway/core/overload.py).",
        )
        scale.add_metric([], watch.scale)
        yield scale
        cuts = CounterMetricFamily(
            "parloir_overload_cuts", "Times the load lowered the overload scale (or would have)."
        )
        cuts.add_metric([], watch.overload.sheds)
        yield cuts

    def legs(self, engine: Any) -> Any:
        """Per live call, leg and kind: what the relay received (packets, bytes: rate() of it is
        the leg's bitrate) and the keyframes it asked that leg for; what it sent the leg
        (frames: rate() is its fps) and what the leg's receiver reports say of that path
        (loss, round trip). Nothing decoded."""
        labels = ["call", "leg", "kind"]
        packets = CounterMetricFamily(
            "parloir_leg_packets", "Encoded frames received from a leg.", labels=labels
        )
        size = CounterMetricFamily(
            "parloir_leg_bytes", "Encoded bytes received from a leg.", labels=labels
        )
        keyframes = CounterMetricFamily(
            "parloir_keyframe_requests", "Keyframe requests sent to a leg.", labels=labels
        )
        frames = CounterMetricFamily(
            "parloir_leg_frames_sent",
            "Encoded frames the relay sent to a leg (rate(): the fps it receives).",
            labels=labels,
        )
        loss = GaugeMetricFamily(
            "parloir_leg_loss_ratio",
            "Fraction of the relay's packets lost on the way to a leg, in its last receiver "
            "report (RTCP).",
            labels=labels,
        )
        lost = GaugeMetricFamily(
            "parloir_leg_packets_lost",
            "Packets lost on the way to a leg since its stream began, as its receiver reports "
            "say (cumulative; a duplicate may lower it).",
            labels=labels,
        )
        rtt = GaugeMetricFamily(
            "parloir_leg_rtt_seconds",
            "Round trip between the relay and a leg's browser (RTCP LSR/DLSR, smoothed).",
            labels=labels,
        )
        for call in list(engine.calls.values()):
            for (leg, kind), source in call.sources.items():
                key = [call.id, str(leg), kind]
                packets.add_metric(key, source.packets)
                size.add_metric(key, source.bytes)
                if kind == "video":
                    keyframes.add_metric(key, source.keyframe_requests)
            for leg, media in list(call.quality.legs.items()):
                for kind, out in (("video", media.video_out), ("audio", media.audio_out)):
                    if out is None:
                        continue
                    key = [call.id, str(leg), kind]
                    frames.add_metric(key, out.frames_packed)
                    if out.reports:
                        loss.add_metric(key, out.loss or 0.0)
                        lost.add_metric(key, out.packets_lost)
                    if out.rtt is not None:
                        rtt.add_metric(key, out.rtt)
        yield packets
        yield size
        yield keyframes
        yield frames
        yield loss
        yield lost
        yield rtt


def registry_for(app: web.Application) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProcessCollector(app))
    # process_cpu_seconds_total, process_resident_memory_bytes, open files: read from /proc.
    OsProcessCollector(registry=registry)
    return registry


METRICS_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format; the staff-network guard applies (``/metrics`` is a staff prefix)."""
    body = generate_latest(request.app[METRICS_REGISTRY])
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def setup(app: web.Application) -> None:
    """The registry of ``/metrics`` (the routes are in :mod:`gateway.core.routes`)."""
    app[METRICS_REGISTRY] = registry_for(app)
