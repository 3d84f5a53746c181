"""Redis high availability (issue 15): a real master, a replica and three sentinels, started by
the test on loopback; a gateway connected through Sentinel; ``kill -9`` of the master during a
connected call (aiortc peers) and a burst of ledger credits and holds.

* The call's media goes on through the failover (it never needed Redis): frames keep arriving.
* After the failover the gateway's heartbeat, its cluster channel and its SMS status feed work
  on the new master, and a kiosk's new call is accepted; the time is measured and printed.
* Money: every credit or hold that returned is in the ledger exactly once; those that raised
  are retried with the same id (replayed or done once); ``verify()`` passes. With the only
  replica promoted, a ledger operation is refused ``ledger.unreplicated`` (nothing could keep
  a copy of it) until the old master, restarted, is a replica again.
* A manual failover (``SENTINEL FAILOVER``: the old master alive, a master for some seconds
  more, a split brain): the gateway's connections, heartbeat and subscriptions move to the new
  master within a beat or two, and the credits made meanwhile on the old one (lost when it is
  demoted) were never acknowledged: retried, each is in the ledger once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from gateway.cli import start
from gateway.config import ConfigError, load_config
from gateway.http import appkeys as keys
from gateway.service.cluster import channel
from gateway.service.redis_server import EmbeddedRedisError, find_redis_binary
from gateway.store.directory import new_id
from gateway.store.kiosks import KioskRegistry
from gateway.store.ledger import Ledger, LedgerError
from gateway.store.sms_queue import STATUS_CHANNEL

from .callkit import Client, join, kiosk_login, seeded, start_calling
from .conftest import make_config
from .test_tls_proxy import free_port

MASTER = "parloir"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000


def redis_binary() -> str:
    try:
        return find_redis_binary()
    except EmbeddedRedisError as exc:
        pytest.fail(f"no redis-server for the Sentinel test ({exc}): ./run test installs it")


class SentinelLab:
    """``redis-server`` master and replica and three ``redis-server --sentinel``, each in its
    own folder of ``root`` on a free loopback port; :meth:`stop` kills whatever is left."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.binary = redis_binary()
        self.ports = {"a": free_port(), "b": free_port()}
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def _spawn(self, name: str, args: list[str]) -> None:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        log = (folder / "log").open("ab")
        self.procs[name] = subprocess.Popen(
            [self.binary, *args], cwd=folder, stdout=log, stderr=subprocess.STDOUT
        )

    def start_node(self, name: str, replica_of: str | None = None) -> None:
        # AOF on, as in production: a master restarted by systemd comes back with its data
        # (an empty one would be replicated over the others before Sentinel notices).
        args = ["--port", str(self.ports[name]), "--bind", "127.0.0.1", "--dir",
                str(self.root / name), "--save", "", "--appendonly", "yes",
                "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]  # fmt: skip
        if replica_of:
            args += ["--replicaof", "127.0.0.1", str(self.ports[replica_of])]
        self._spawn(name, args)

    def start(self) -> None:
        self.start_node("a")
        self.start_node("b", replica_of="a")
        for i, port in enumerate(self.sentinel_ports):
            folder = self.root / f"sentinel{i}"
            folder.mkdir(parents=True)
            conf = folder / "sentinel.conf"  # sentinels rewrite their file: one each
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
                f"sentinel monitor {MASTER} 127.0.0.1 {self.ports['a']} 2\n"
                f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}\n"
                f"sentinel parallel-syncs {MASTER} 1\n",
                encoding="utf-8",
            )
            self._spawn(f"sentinel{i}", [str(conf), "--sentinel"])

    @property
    def sentinels(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)

    def kill(self, name: str) -> None:
        self.procs[name].kill()  # SIGKILL: no goodbye to anyone
        self.procs[name].wait()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(f"--- {p.parent.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.root.glob("*/log")))  # fmt: skip


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[SentinelLab]:
    lab = SentinelLab(tmp_path / "redis")
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()
        shutil.rmtree(tmp_path / "redis", ignore_errors=True)


async def sentinel_view(lab: SentinelLab) -> list[dict[str, Any]]:
    """What each sentinel knows of the master (an error dict for a silent one)."""
    out = []
    for port in lab.sentinel_ports:
        client = aioredis.Redis(port=port, decode_responses=True, socket_timeout=1)
        try:
            out.append((await client.sentinel_masters()).get(MASTER) or {})
        except Exception as exc:
            out.append({"error": repr(exc)})
        finally:
            await client.aclose()
    return out


async def until(check: Any, timeout: float, what: str, lab: SentinelLab | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if value := await check():
                return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} within {timeout} s" + (f"\n{lab.logs()}" if lab else ""))


async def node(lab: SentinelLab, name: str) -> aioredis.Redis:
    return aioredis.Redis(port=lab.ports[name], decode_responses=True, socket_timeout=2)


async def replicas_of(lab: SentinelLab, name: str) -> int:
    client = await node(lab, name)
    try:
        info = await client.info("replication")
        return int(info.get("connected_slaves", 0)) if info["role"] == "master" else -1
    finally:
        await client.aclose()


def test_sentinel_settings_are_checked() -> None:
    config = load_config({"REDIS_SENTINELS": "127.0.0.1:26379, [::1]:26380",
                          "REDIS_SENTINEL_MASTER": "parloir"})  # fmt: skip
    assert config.redis_sentinels == ("127.0.0.1:26379", "[::1]:26380")
    for env, said in (
        ({"REDIS_SENTINELS": "127.0.0.1"}, "is not host:port"),
        ({"REDIS_SENTINELS": "127.0.0.1:99999", "REDIS_SENTINEL_MASTER": "p"}, "host:port"),
        ({"REDIS_SENTINELS": "127.0.0.1:26379"}, "redis_sentinel_master"),
        ({"REDIS_SENTINELS": "h:1", "REDIS_SENTINEL_MASTER": "p", "REDIS_URL": "redis://h"},
         "not both"),
        ({"PARLOIR_REDIS_WAIT_REPLICAS": "-1"}, "redis_wait_replicas"),
    ):  # fmt: skip
        with pytest.raises(ConfigError, match=said):
            load_config(env)
    # The command line refuses it in one sentence, without a traceback.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARLOIR_", "REDIS_"))}
    for command in ("serve",):
        done = subprocess.run(
            [sys.executable, "-m", "gateway", command], capture_output=True, text=True,
            env={**env, "REDIS_SENTINELS": "nowhere"}, timeout=60,
        )  # fmt: skip
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith(f"parloir {command} : configuration invalide"), done.stderr
        assert "'nowhere' is not host:port" in done.stderr, done.stderr


async def test_master_killed_during_a_call_and_a_burst_of_credits(
    tmp_path: Path, lab: SentinelLab
) -> None:
    await until(lambda: _lab_ready(lab), 20, "sentinels see the master, replica, each other", lab)
    config = make_config(
        tmp_path, "", redis_sentinels=tuple(lab.sentinels.split(",")),
        redis_sentinel_master=MASTER, heartbeat_seconds=1, checkpoint_seconds=1,
        kiosks=("kiosk-1=A", "kiosk-2=B"), record_calls=False,
    )  # fmt: skip
    gateway = await start(config)
    timings: dict[str, float] = {}
    try:
        demo = await seeded(gateway)
        ledger: Ledger = gateway.app[keys.LEDGER]
        redis = gateway.redis
        number = demo["detainee"]
        second, credential2 = await _second_booking(gateway, demo["booking"])
        async with aiohttp.ClientSession() as http:
            kiosk, relative = Client(gateway.base_url, http), Client(gateway.base_url, http)
            kiosk2 = Client(gateway.base_url, http)
            try:
                code, _ref = await start_calling(kiosk, gateway, demo)
                status, body = await join(relative, code)
                assert status == 200, body
                call_id = body["call"]["id"]
                await relative.connect()
                await relative.start_media()
                await relative.expect("state", call__state="connected", timeout=20)
                await asyncio.sleep(1.0)
                assert relative.received["video"] > 0 and kiosk.received["video"] > 0

                # A burst of credits and holds, the master killed in its middle.
                results: dict[str, Any] = {}
                burst = asyncio.create_task(_burst(ledger, number, results))
                await asyncio.sleep(0.6)
                killed_at = time.monotonic()
                frames_at_kill = (kiosk.received["video"], relative.received["video"])
                lab.kill("a")
                # The gateway writes again as soon as Sentinel names the new master.
                promoted = asyncio.create_task(_timed(timings, "sentinel_promoted", killed_at,
                                                      until(lambda: _promoted(lab), 15,
                                                            "the replica promoted", lab)))
                wrote = asyncio.create_task(_timed(timings, "first_write", killed_at,
                                                   until(lambda: redis.set("parloir:p", "1"),
                                                         20, "a write")))  # fmt: skip
                # Media goes on: sample the frames every half second through the failover.
                samples = []
                while not (promoted.done() and wrote.done()):
                    await asyncio.sleep(0.5)
                    samples.append((kiosk.received["video"], relative.received["video"]))
                await promoted
                await wrote
                await burst

                # The gateway on the new master: its heartbeat, /readyz, its subscriptions.
                supervisor = gateway.app[keys.SUPERVISOR]
                await until(lambda: _fresh(supervisor), 10, "a heartbeat on the new master")
                timings["heartbeat"] = round(time.monotonic() - killed_at, 2)
                await until(lambda: _ready(http, gateway.base_url), 10, "/readyz 200")
                timings["ready"] = round(time.monotonic() - killed_at, 2)
                new_master = await node(lab, "b")
                try:  # the subscriptions were made again there: a round trip on each
                    await until(lambda: _numsub(new_master, gateway.app), 10, "resubscribed")
                    await _cluster_round_trip(new_master, gateway.app[keys.ENGINE].owner)
                    await new_master.publish(STATUS_CHANNEL, json.dumps(
                        {"call": call_id, "status": "delivered", "reason": ""}))  # fmt: skip
                    await kiosk.expect("sms", status="delivered", timeout=5)
                finally:
                    await new_master.aclose()
                # A kiosk's new call is accepted (a second booking, kiosk-2).
                await kiosk_login(kiosk2, number, demo["access_code"], credential2)
                await kiosk2.connect()
                await kiosk2.send({"type": "call"})
                await kiosk2.expect("state", call__state="waiting_relative", timeout=10)
                timings["new_call"] = round(time.monotonic() - killed_at, 2)
                frames_after = (kiosk.received["video"], relative.received["video"])

                # No replica left: a credit cannot be kept twice, so it is not confirmed.
                with pytest.raises(LedgerError) as refused:
                    await ledger.credit(number, 100, "test", "after-failover", _ms())
                assert refused.value.reason == "ledger.unreplicated", refused.value
                with pytest.raises(LedgerError, match="ledger.unreplicated"):  # a desk's too
                    await ledger.replicated()
                # The old master comes back (systemd would restart it): Sentinel makes it a
                # replica of the new one, and ledger operations are confirmed again.
                restarted_at = time.monotonic()
                lab.start_node("a")
                await until(lambda: _one_replica(lab), 30, "the old master a replica", lab)
                timings["replica_back"] = round(time.monotonic() - restarted_at, 2)
                again = await ledger.credit(number, 100, "test", "after-failover", _ms())
                assert again.replayed  # it was done on the master the first time: once
                held = await ledger.hold(number, "bk_after_failover", 100, "test", _ms())
                assert held.state == "held" and not held.replayed  # a new booking's hold
                timings["money"] = round(time.monotonic() - killed_at, 2)
                await kiosk2.send({"type": "hangup"})
                await kiosk2.expect("ended", timeout=10)
                # The desk closes the second booking (MULTI/EXEC, then WAIT): its hold released.
                closed = await gateway.app[keys.DESK].close(second, time.time(), "test")
                assert closed is not None and closed.status == "no_answer"

                # The call is still connected and its media flowed all along.
                assert call_id in gateway.app[keys.ENGINE].calls
                await asyncio.sleep(0.5)
                assert kiosk.received["video"] > frames_after[0]
                assert relative.received["video"] > frames_after[1]
                await kiosk.send({"type": "hangup"})
                await relative.expect("ended", reason="kiosk_hangup", timeout=10)
            finally:
                for client in (kiosk, relative, kiosk2):
                    await client.close()
        print(f"\nfailover timings (s after kill -9): {timings}")
        _check_media(frames_at_kill, samples)

        # Money: the acknowledged operations are there once; the others, retried, once too.
        raised: dict[str, int] = {}
        for op_id, outcome in results.items():
            if isinstance(outcome, Exception):
                kind = getattr(outcome, "reason", type(outcome).__name__)
                raised[kind] = raised.get(kind, 0) + 1
                receipt = await _op(ledger, number, op_id)  # the same id: replayed or done
                assert receipt.op in ("credit", "hold")
        entries = await ledger.entries(number)
        for op_id, outcome in results.items():
            key = f"hold:{op_id}" if op_id.startswith("bk_") else op_id
            mine = [e for e in entries if e.idem == key]
            assert len(mine) == 1, (op_id, outcome, mine)
        assert len([e for e in entries if e.idem == "after-failover"]) == 1
        assert [e.kind for e in entries if e.hold_id == second] == ["hold", "release"]
        audit = await ledger.verify(number)
        assert audit.ok, audit.problems
        print(f"burst: {len(results)} operations; raised, then retried: {raised}")
        assert 0 < len(results) and timings["new_call"] < 15, timings
    finally:
        await asyncio.wait_for(gateway.stop(), 30)


async def _lab_ready(lab: SentinelLab) -> bool:
    views = await sentinel_view(lab)
    return all(int(v.get("num-other-sentinels", 0)) == 2 and int(v.get("num-slaves", 0)) == 1
               and int(v.get("port", 0)) == lab.ports["a"] for v in views)  # fmt: skip


async def _promoted(lab: SentinelLab) -> bool:
    return any(int(v.get("port", 0)) == lab.ports["b"] for v in await sentinel_view(lab))


async def _one_replica(lab: SentinelLab) -> bool:
    return await replicas_of(lab, "b") == 1


async def _fresh(supervisor: Any) -> bool:
    age = supervisor.heartbeat_age()
    return age is not None and age < 1.5


async def _ready(http: aiohttp.ClientSession, base: str) -> bool:
    async with http.get(base + "/readyz") as resp:
        return resp.status == 200


async def _numsub(redis: aioredis.Redis, app: Any) -> bool:
    owner = app[keys.ENGINE].owner
    counts = dict(await redis.pubsub_numsub(channel(owner), STATUS_CHANNEL))
    return counts.get(channel(owner), 0) >= 1 and counts.get(STATUS_CHANNEL, 0) >= 1


async def _cluster_round_trip(redis: aioredis.Redis, owner: str) -> None:
    """An ``rpc`` envelope on the gateway's channel (a method it lacks) and its refusal back."""
    probe = redis.pubsub(ignore_subscribe_messages=True)
    await probe.subscribe(channel("probe"))
    try:
        envelope = {"op": "rpc", "rid": "r1", "from": "probe", "method": "nothing", "args": {}}
        heard = await redis.publish(channel(owner), json.dumps(envelope))
        assert heard == 1
        async with asyncio.timeout(5):
            while (message := await probe.get_message(timeout=1.0)) is None:
                pass
        reply = json.loads(message["data"])
        assert reply == {"op": "reply", "rid": "r1", "error": "cluster.unknown_method",
                         "detail": "nothing"}, reply  # fmt: skip
    finally:
        await probe.aclose()


async def _timed(timings: dict[str, float], name: str, since: float, work: Any) -> None:
    await work
    timings[name] = round(time.monotonic() - since, 2)


def _ms() -> int:
    return int(time.time() * 1000)


async def _op(ledger: Ledger, number: str, op_id: str) -> Any:
    if op_id.startswith("bk_"):
        return await ledger.hold(number, op_id, 10, "test", _ms())
    return await ledger.credit(number, 7, "test", op_id, _ms())


async def _burst(ledger: Ledger, number: str, results: dict[str, Any]) -> None:
    """Credits and holds, one every 50 ms for 2 s, each with its own id; the outcome of each."""

    async def one(op_id: str) -> None:
        try:
            results[op_id] = await _op(ledger, number, op_id)
        except Exception as exc:  # a connection lost, no master yet, or not replicated
            results[op_id] = exc

    tasks = []
    for i in range(40):
        op_id = f"bk_burst_{i}" if i % 4 == 3 else f"burst-{i}"
        tasks.append(asyncio.create_task(one(op_id)))
        await asyncio.sleep(0.05)
    await asyncio.gather(*tasks)


def _check_media(at_kill: tuple[int, int], samples: list[tuple[int, int]]) -> None:
    """Frames arrived on both legs in every half second of the failover."""
    assert len(samples) >= 2, samples
    previous = at_kill
    for sample in samples:
        assert sample[0] > previous[0] and sample[1] > previous[1], (at_kill, samples)
        previous = sample


async def _second_booking(gateway: Any, booking_id: str) -> tuple[str, str]:
    """The same slot on kiosk-2 (enrolled), with its hold: its id and kiosk credential."""
    directory, ledger = gateway.app[keys.DIRECTORY], gateway.app[keys.LEDGER]
    booking = await directory.booking(booking_id)
    second = replace(booking, id=new_id("bk"), kiosk="kiosk-2", receipt="HA-2")
    await directory.put_booking(second)
    await ledger.hold(booking.detainee, second.id, second.hold, "test", _ms())
    return second.id, await KioskRegistry(gateway.redis).enrol("kiosk-2", "test", time.time())


async def test_manual_failover_moves_everything_and_loses_no_money(
    tmp_path: Path, lab: SentinelLab
) -> None:
    await until(lambda: _lab_ready(lab), 20, "sentinels see the master, replica, each other", lab)
    config = make_config(
        tmp_path, "", redis_sentinels=tuple(lab.sentinels.split(",")),
        redis_sentinel_master=MASTER, heartbeat_seconds=1,
    )  # fmt: skip
    gateway = await start(config)
    timings: dict[str, float] = {}
    try:
        demo = await seeded(gateway)
        ledger: Ledger = gateway.app[keys.LEDGER]
        number, owner = demo["detainee"], gateway.app[keys.ENGINE].owner
        results: dict[str, Any] = {}
        stop = asyncio.Event()

        async def credits() -> None:
            i = 0
            while not stop.is_set():
                op_id = f"manual-{i}"
                try:
                    results[op_id] = await ledger.credit(number, 3, "test", op_id, _ms())
                except Exception as exc:
                    results[op_id] = exc
                i += 1
                await asyncio.sleep(0.1)

        writer = asyncio.create_task(credits())
        await asyncio.sleep(0.5)
        sentinel = aioredis.Redis(port=lab.sentinel_ports[0], decode_responses=True)
        try:
            asked_at = time.monotonic()
            assert await sentinel.execute_command("SENTINEL", "FAILOVER", MASTER) == "OK"
        finally:
            await sentinel.aclose()
        b = await node(lab, "b")
        try:
            await until(lambda: _promoted(lab), 15, "a sentinel names the replica master", lab)
            timings["promoted"] = round(time.monotonic() - asked_at, 2)
            # Everything on the new master while the old one is still a master (Sentinel
            # demotes it some 8 s later): heartbeat, cluster channel, SMS status feed.
            await until(lambda: _beating_on(b, owner), 5, "the heartbeat on the new master")
            timings["heartbeat"] = round(time.monotonic() - asked_at, 2)
            await until(lambda: _numsub(b, gateway.app), 5, "subscriptions on the new master")
            timings["subscriptions"] = round(time.monotonic() - asked_at, 2)
            assert await replicas_of(lab, "a") >= 0, "the old master is already demoted"
            await _cluster_round_trip(b, owner)
            # Ledger operations are confirmed again once the old master replicates the new.
            await until(lambda: _one_replica(lab), 30, "the old master demoted", lab)
            timings["demoted"] = round(time.monotonic() - asked_at, 2)
            await asyncio.sleep(1.5)
        finally:
            await b.aclose()
        stop.set()
        await writer
        print(f"\nmanual failover timings (s): {timings}")
        raised: dict[str, int] = {}
        for op_id, outcome in results.items():
            if isinstance(outcome, Exception):
                kind = getattr(outcome, "reason", type(outcome).__name__)
                raised[kind] = raised.get(kind, 0) + 1
                await ledger.credit(number, 3, "test", op_id, _ms())
        entries = await ledger.entries(number)
        for op_id, outcome in results.items():
            assert len([e for e in entries if e.idem == op_id]) == 1, (op_id, outcome)
        assert (await ledger.verify(number)).ok
        print(f"credits: {len(results)}; raised, then retried: {raised}")
        assert raised and len(results) > len(raised), raised  # some were refused, some not
        # The command line goes through Sentinel too: a backup of the new master.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PARLOIR_", "REDIS_"))}
        env.update(REDIS_SENTINELS=lab.sentinels, REDIS_SENTINEL_MASTER=MASTER,
                   PARLOIR_RECORDINGS_DIR=str(tmp_path / "recordings"))  # fmt: skip
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "gateway", "backup", str(tmp_path / "bk")],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["keys"] > 10
    finally:
        await asyncio.wait_for(gateway.stop(), 30)


async def _beating_on(redis: aioredis.Redis, owner: str) -> bool:
    """The process's heartbeat, written on this server within the last beat and a half."""
    at = await redis.hget(f"parloir:gw:{owner}", "at")
    return at is not None and time.time() - float(at) < 1.5
