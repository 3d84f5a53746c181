"""The two systems under test, each started as its own process: Parloir's gateway and the stock
reference relay. Seeding writes Parloir's records straight into its Redis with the gateway's own
classes (like ``gateway.cli.seed_demo``): a detainee, an authorised correspondent, credit, and a
booking whose slot covers now, per call.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from gateway.core.pricing import max_hold
from gateway.core.records import Booking, Correspondent, Detainee
from gateway.service.redis_server import EmbeddedRedis
from gateway.store.directory import Directory, hash_access_code
from gateway.store.ledger import Ledger

ROOT = Path(__file__).resolve().parent.parent
SLOT_SECONDS = 45 * 60
GATEWAY_KIOSK = "kiosk-1"
"The gateway's configured kiosk (``kiosk_id``) while kiosks are not enrolled devices."


@dataclass
class Target:
    name: str
    process: subprocess.Popen[str]
    url: str
    workdir: Path
    outbox: str = ""
    redis: EmbeddedRedis | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    more: list[subprocess.Popen[str]] = field(default_factory=list)
    "Further gateway processes (``--processes``), on the same Redis as the first."
    urls: list[str] = field(default_factory=list)
    "Every process's address, the first one's (``url``) first."
    owners: list[str] = field(default_factory=list)
    "Every process's cluster id (``gw_…``), in the order of ``urls``."

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def processes(self) -> list[subprocess.Popen[str]]:
        return [self.process, *self.more]

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self.processes]

    def stop(self) -> None:
        live = [proc for proc in self.processes if proc.poll() is None]
        for proc in live:
            proc.send_signal(signal.SIGTERM)
        for proc in live:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.redis is not None:
            self.redis.stop()


def pinned(cpus: set[int] | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that pins the child to ``cpus`` before it runs (so every thread it
    starts inherits them), or None to leave it on every CPU."""
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def pin_all(pid: int, cpus: set[int] | None) -> None:
    """Pin a running process, every thread of it (``sched_setaffinity`` is per thread)."""
    if not cpus:
        return
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(tid), cpus)


def _spawn(
    argv: list[str], env: dict[str, str], log: Path, cpus: set[int] | None = None
) -> tuple[subprocess.Popen[str], dict]:
    with log.open("w") as err:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, env=env, text=True,
                                cwd=ROOT, preexec_fn=pinned(cpus))  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait()
        raise RuntimeError(f"{argv[2]} did not start: see {log}\n{log.read_text()[-2000:]}")
    return proc, json.loads(line)


def kiosk_ids(count: int) -> list[str]:
    return [f"bench-{i}" for i in range(count)]


def kiosks_enrolled() -> bool:
    """Kiosks are enrolled devices once ``gateway.store.kiosks`` exists (issue 6)."""
    return importlib.util.find_spec("gateway.store.kiosks") is not None


def start_parloir(
    workdir: Path,
    calls: int,
    record: bool = True,
    processes: int = 1,
    cpus: set[int] | None = None,
    event_loop: str = "asyncio",
) -> Target:
    """``processes`` gateway processes on one Redis (embedded here, but external to each of
    them: ``REDIS_URL``), one recordings folder and one SMS outbox, each with its own port and
    data folder: the cluster of ``docs/deploy-cluster.md`` on one machine."""
    workdir.mkdir(parents=True, exist_ok=True)
    redis = EmbeddedRedis(workdir / "redis")
    redis.start()
    if redis.process is not None:  # the server's Redis goes on the server's cores
        pin_all(redis.process.pid, cpus)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLOIR_")}
    env.update(
        REDIS_URL=redis.url,
        PARLOIR_ICE_HOST_ADDRESSES="127.0.0.1",
        # Every relative comes from 127.0.0.1 here: the per-address limit would refuse them.
        PARLOIR_JOIN_ATTEMPTS_PER_MINUTE="100000",
        PARLOIR_LOG_LEVEL="WARNING",
        PARLOIR_RECORD_CALLS="true" if record else "false",
        PARLOIR_RECORDINGS_DIR=str(workdir / "recordings"),
        PARLOIR_EVENT_LOOP=event_loop,
    )
    if processes > 1:  # whichever process sends a code, the load generator reads one file
        env["PARLOIR_SMS_OUTBOX_PATH"] = str(workdir / "sms-outbox.jsonl")
    if kiosks_enrolled():
        env["PARLOIR_KIOSKS"] = ",".join(f"{k}=Salle {k}" for k in kiosk_ids(calls))
    started: list[tuple[subprocess.Popen[str], dict]] = []
    try:
        for i in range(processes):
            suffix = "" if processes == 1 else str(i)
            argv = [sys.executable, "-m", "gateway", "serve", "--json", "--port", "0",
                    "--data-dir", str(workdir / f"var{suffix}")]  # fmt: skip
            started.append(_spawn(argv, env, workdir / f"gateway{suffix}.log", cpus))
        if processes > 1:
            _wait_all_beating(redis.url, [info["owner"] for _p, info in started])
    except BaseException:
        for proc, _info in started:
            proc.kill()
            proc.wait()
        redis.stop()
        raise
    (proc, info), rest = started[0], started[1:]
    return Target("parloir", proc, info["url"], workdir, info["sms_outbox"], redis,
                  extra={"event_loop": info.get("event_loop")}, more=[p for p, _i in rest],
                  urls=[i["url"] for _p, i in started],
                  owners=[i.get("owner", "") for _p, i in started])  # fmt: skip


def _wait_all_beating(url: str, owners: list[str], within: float = 15.0) -> None:
    """Until every process has a heartbeat: a call is placed only on processes that have one,
    and before that a process places every call on itself
    (``gateway.service.cluster.Cluster.place``)."""
    import redis as sync_redis

    from gateway.service.cluster import alive_key

    client = sync_redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + within
        while not all(client.exists(alive_key(owner)) for owner in owners):
            if time.monotonic() > deadline:
                raise RuntimeError(f"gateway processes without a heartbeat after {within:g} s")
            time.sleep(0.1)
    finally:
        client.close()


def calls_per_owner(url: str, owners: list[str]) -> list[int]:
    """Live calls of each process, from its heartbeat (``gw:{owner}`` ``calls``)."""
    import redis as sync_redis

    from gateway.service.cluster import alive_key

    client = sync_redis.Redis.from_url(url, decode_responses=True)
    try:
        return [int(client.hget(alive_key(owner), "calls") or 0) for owner in owners]
    finally:
        client.close()


def start_stock(workdir: Path, record: bool = True, cpus: set[int] | None = None) -> Target:
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "bench.reference_relay", "--port", "0",
            "--recordings", str(workdir / "recordings")]  # fmt: skip
    if not record:
        argv.append("--no-record")
    proc, info = _spawn(argv, dict(os.environ), workdir / "reference.log", cpus)
    return Target("stock", proc, info["url"], workdir)


async def enrol_kiosk(redis: aioredis.Redis, kiosk_id: str) -> str | None:
    """The device credential of an enrolled kiosk, or None before kiosk enrolment exists.

    The one place that knows ``gateway.store.kiosks``; the credential goes in the kiosk login's
    ``X-Parloir-Kiosk`` header (:func:`bench.loadgen.kiosk_login`)."""
    if not kiosks_enrolled():
        return None
    from gateway.store import kiosks

    return str(await kiosks.KioskRegistry(redis).enrol(kiosk_id, "bench", time.time()))


async def monitoring_account(redis: aioredis.Redis) -> dict[str, str] | None:
    """A monitoring staff account for the viewers, or None before staff accounts exist."""
    if importlib.util.find_spec("gateway.store.staff") is None:
        return None
    from gateway.core.roles import Role  # type: ignore[import-not-found]
    from gateway.store.staff import StaffAccounts  # type: ignore[import-not-found]

    login, password = "bench-surveillance", secrets.token_urlsafe(18)
    await StaffAccounts(redis).create(
        login, "Banc d'essai", [Role.MONITORING], password, "bench", time.time()
    )
    return {"login": login, "password": password}


async def seed_parloir(target: Target, calls: int, viewers: int) -> list[dict[str, Any]]:
    """One detainee, correspondent, credit and booking (slot covering now) per call."""
    assert target.redis is not None
    redis = aioredis.from_url(target.redis.url, decode_responses=True)
    directory, ledger = Directory(redis), Ledger(redis)
    now = time.time()
    start = float(int(now // 60 * 60))
    tariff = ledger.tariffs.get((await ledger.account("000000")).tariff)
    hold = max_hold(tariff, 30)
    specs = []
    try:
        staff = await monitoring_account(redis) if viewers else None
        for i in range(calls):
            number, code = f"9{i:05d}", f"{secrets.randbelow(10**4):04d}"
            phone = f"+3360{i:07d}"
            enrolled = kiosks_enrolled()
            kiosk = kiosk_ids(calls)[i] if enrolled else GATEWAY_KIOSK
            credential = await enrol_kiosk(redis, kiosk)
            await directory.put_detainee(Detainee(
                number=number, first_name="Banc", last_name=f"Essai{i}",
                code_hash=hash_access_code(code), building="B", floor="1", cell=str(100 + i),
                charter_signed_at=now - 86400, charter_signed_by="bench",
            ))  # fmt: skip
            await directory.put_correspondent(Correspondent(
                id=f"corr_bench_{i}", detainee=number, name=f"Proche {i}", phone=phone,
                relationship="mère",
            ))  # fmt: skip
            await ledger.credit(number, 5000, "bench", f"bench-credit-{i}", int(now * 1000))
            booking = Booking(
                id=f"bk_bench_{i}", detainee=number, correspondent=f"corr_bench_{i}",
                kiosk=kiosk, start=start, end=start + SLOT_SECONDS, receipt=f"BENCH-{i}",
                booked_by="bench", booked_at=now, tariff=tariff.name, hold=hold,
            )  # fmt: skip
            await directory.put_booking(booking)
            await ledger.hold(number, booking.id, hold, "bench", int(now * 1000))
            specs.append({"name": f"call{i}", "number": number, "access_code": code,
                          "phone": phone, "credential": credential,
                          "viewer": i < viewers, "staff": staff})  # fmt: skip
    finally:
        await redis.aclose()
    return specs


def stock_specs(calls: int, viewers: int) -> list[dict[str, Any]]:
    return [{"name": f"call{i}", "viewer": i < viewers} for i in range(calls)]


def start_janus_target(workdir: Path, cpus: set[int] | None = None) -> Target:
    """Debian's Janus with bench/janus/'s configuration (:mod:`bench.janus`)."""
    from .janus import local_address, start_janus

    address = local_address()
    proc, base = start_janus(workdir, address, pinned(cpus))
    return Target("janus", proc, base, workdir, extra={"ice_address": address})


def janus_specs(calls: int, workdir: Path, record: bool) -> list[dict[str, Any]]:
    """VideoCall has no third party to watch a call: no viewers through Janus."""
    folder = str(workdir / "recordings")
    return [{"name": f"call{i}", "viewer": False, "record": record, "recordings": folder}
            for i in range(calls)]  # fmt: skip
