"""/healthz says only "alive", /readyz says ready or why not, /metrics holds the details and
answers only the staff networks (issue 15; issue 19: no public call count nor process id)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from gateway.http import appkeys as keys

from .callkit import Client, join, seeded, start_calling

ROOT = Path(__file__).resolve().parent.parent


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


async def test_healthz_reveals_nothing_and_readyz_checks(gateway_factory, tmp_path) -> None:
    gateway = await gateway_factory()
    engine = gateway.app[keys.ENGINE]
    async with aiohttp.ClientSession() as http:
        async with http.get(gateway.base_url + "/healthz") as resp:
            assert resp.status == 200
            body = await resp.text()
        assert body.replace(" ", "") == '{"status":"ok"}'
        assert engine.owner not in body and str(os.getpid()) not in body
        assert "calls" not in body
        async with http.get(gateway.base_url + "/readyz") as resp:
            assert (resp.status, await resp.json()) == (200, {"status": "ready"})
        # The recordings folder becomes unwritable: not ready, with the reason.
        folder = gateway.config.recordings_path
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o500)
        try:
            if os.geteuid() != 0:  # root writes anyway: the check would prove nothing
                async with http.get(gateway.base_url + "/readyz") as resp:
                    body = await resp.json()
                    assert resp.status == 503 and body["reasons"] == ["ready.recordings"]
                    assert body["message"]
        finally:
            folder.chmod(0o700)
        # Redis does not answer (every client paused longer than the probe waits): not ready,
        # "ready.redis", answered within the probe's own timeout (no 500, no hang).
        await gateway.redis.execute_command("CLIENT", "PAUSE", "3000", "ALL")
        async with http.get(gateway.base_url + "/readyz") as resp:
            body = await resp.json()
            assert resp.status == 503 and "ready.redis" in body["reasons"], body
            assert body["reason"] == "ready.redis"
        await asyncio.sleep(1.5)  # the pause ends; the next beat reaches Redis again
        await gateway.app[keys.SUPERVISOR].heartbeat()
        # Heartbeat stale (as when Redis was away for three beats): not ready.
        supervisor = gateway.app[keys.SUPERVISOR]
        supervisor._last_beat -= 10 * supervisor.beat  # noqa: SLF001 - the age, as if in the past
        async with http.get(gateway.base_url + "/readyz") as resp:
            body = await resp.json()
            assert resp.status == 503 and body["reasons"] == ["ready.heartbeat"], body
        await supervisor.heartbeat()
        async with http.get(gateway.base_url + "/readyz") as resp:
            assert resp.status == 200


async def test_metrics_hold_the_details(gateway_factory) -> None:
    gateway = await gateway_factory()
    engine = gateway.app[keys.ENGINE]
    async with aiohttp.ClientSession() as http:
        async with http.get(gateway.base_url + "/metrics") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain")
            found = samples(await resp.text())
    [(labels, _)] = found["parloir_process_info"]
    assert labels == {"owner": engine.owner, "pid": str(os.getpid())}
    assert found["parloir_calls_live"] == [({}, 0.0)]
    [(_, age)] = found["parloir_heartbeat_age_seconds"]
    assert 0 <= age < 3 * gateway.app[keys.SUPERVISOR].beat


async def test_metrics_are_refused_outside_the_staff_networks(gateway_factory) -> None:
    gateway = await gateway_factory(staff_networks=("10.0.0.0/8",))
    async with aiohttp.ClientSession() as http:
        async with http.get(gateway.base_url + "/metrics") as resp:
            assert resp.status == 403
            assert (await resp.json())["reason"] == "staff.forbidden_network"
            assert gateway.app[keys.ENGINE].owner not in await resp.text()
        for path in ("/healthz", "/readyz"):  # probes come from anywhere
            async with http.get(gateway.base_url + path) as resp:
                assert resp.status == 200, path


async def scrape(http: aiohttp.ClientSession, base: str) -> dict[str, list[Any]]:
    async with http.get(base + "/metrics") as resp:
        assert resp.status == 200
        return samples(await resp.text())


def value(found: dict[str, list[Any]], name: str, **labels: str) -> float:
    return sum(v for got, v in found.get(name, []) if got == labels)


async def test_a_real_call_moves_its_series(gateway_factory) -> None:
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    base = gateway.base_url
    async with aiohttp.ClientSession() as http:
        before = await scrape(http, base)
        assert value(before, "parloir_calls_started_total") == 0
        kiosk, relative = Client(base, http), Client(base, http)
        try:
            code, _ref = await start_calling(kiosk, gateway, demo)
            during = await scrape(http, base)
            assert value(during, "parloir_calls_live") == 1
            assert value(during, "parloir_calls_started_total") == 1
            # A wrong code moves the refused counter (and nothing else about the call).
            wrong = f"{(int(code) + 1) % 1_000_000:06d}"
            status, _ = await join(relative, wrong)
            assert status != 200
            refused = await scrape(http, base)
            assert value(refused, "parloir_code_refused_total", outcome="code.invalid") == 1
            status, body = await join(relative, code)
            assert status == 200, body
            await relative.connect()
            await relative.start_media()
            await relative.expect("state", call__state="connected", timeout=20)
            await asyncio.sleep(1.5)
            await kiosk.send({"type": "hangup"})
            await relative.expect("ended", reason="kiosk_hangup", timeout=10)
        finally:
            await kiosk.close()
            await relative.close()
        after = await scrape(http, base)
    assert value(after, "parloir_calls_live") == 0
    assert value(after, "parloir_calls_ended_total", reason="kiosk_hangup") == 1
    assert value(after, "parloir_connected_seconds_total") >= 1.0


async def test_every_dashboard_query_names_an_exported_metric(gateway_factory) -> None:
    dashboard = json.loads((ROOT / "docs" / "grafana-parloir.json").read_text(encoding="utf-8"))
    gateway = await gateway_factory()
    async with aiohttp.ClientSession() as http:
        async with http.get(gateway.base_url + "/metrics") as resp:
            families = {f.name: f for f in text_string_to_metric_families(await resp.text())}
    exported = set()
    for name, family in families.items():  # the names a query may use, as Prometheus stores them
        exported |= {s.name for s in family.samples} | {name}
        if family.type == "counter":  # declared even before its first sample (no label yet)
            exported.add(name + "_total")
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            names = set(re.findall(r"\bparloir_[a-z_]+", target["expr"]))
            assert names and names <= exported, (panel["title"], names - exported)


async def test_a_busy_event_loop_shows_in_the_metrics(gateway_factory) -> None:
    """The loop's thread runs flat out for 0.8 s of CPU (as a saturated relay does): its CPU
    counter, its busy share and its late timer say so; process CPU and memory are there too."""
    gateway = await gateway_factory()
    url = gateway.base_url + "/metrics"
    async with aiohttp.ClientSession() as http:
        await asyncio.sleep(1.2)  # a few ticks of a quiet loop
        async with http.get(url) as resp:
            before = samples(await resp.text())
        time0, end = time.thread_time(), time.monotonic() + 5
        # 0.8 s of CPU on the loop's thread, no await (counted in CPU: a loaded CI machine may
        # preempt the spin, and the checks below compare CPU with CPU).
        while time.thread_time() - time0 < 0.8 and time.monotonic() < end:
            pass
        spun = time.thread_time() - time0
        await asyncio.sleep(1.2)
        async with http.get(url) as resp:
            after = samples(await resp.text())

    def one(found: dict[str, list[tuple[dict[str, str], float]]], name: str, **lab: str) -> float:
        [value] = [v for labels, v in found[name] if labels == lab]
        return value

    cpu = "parloir_event_loop_cpu_seconds_total"
    assert spun >= 0.8
    assert one(after, cpu) - one(before, cpu) >= spun
    assert one(before, "parloir_event_loop_busy_ratio") < 0.5
    assert one(after, "parloir_event_loop_busy_ratio") > 0.2
    lag = "parloir_event_loop_lag_seconds"
    late = one(after, lag + "_count") - one(after, lag + "_bucket", le="0.25")
    assert late >= 1  # the tick due during the spin, due at most 0.5 s into it
    assert one(after, lag + "_sum") - one(before, lag + "_sum") >= 0.25
    watch = gateway.app[keys.ENGINE].loop_watch
    assert one(after, "parloir_cpu_allowance_cores") == watch.allowance
    assert one(after, "parloir_overload_scale") == 1.0  # the tests' gateways run without the rule
    assert one(after, "parloir_overload_cuts_total") == 0  # one stall is not an overload
    assert one(after, "process_cpu_seconds_total") >= one(after, cpu)
    assert one(after, "process_resident_memory_bytes") > 10_000_000
