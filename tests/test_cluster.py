"""Several gateway processes, one service (issue 8): real subprocesses sharing one real Redis.

* Two processes: the kiosk's page and socket on the process that owns the call, the relative's
  page, socket and code entry on the other, in headless Chromium; the call connects, and the
  monitoring page served by the non-owner lists it and watches it (the viewer's WebRTC goes to
  the owner).
* Three processes: SIGKILL the owner of a connected call whose two sockets are on the other
  two. Within seconds both are told "interrupted", the connected time is added to the booking
  once, and the kiosk calls again in the same slot, on a surviving process; billed once.
* Three processes started together: the purge and the no-answer timeout each run once.
* docs/nginx-cluster.conf in a real nginx in front of two processes: requests spread over both,
  and a whole call works through it.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from gateway.service.cluster import choose_owner
from gateway.store.directory import Directory
from gateway.store.kiosks import CREDENTIAL_COOKIE, KioskRegistry
from gateway.store.ledger import Ledger
from gateway.store.staff import StaffAccounts
from recorder.audit import Audit
from recorder.integrity import seal
from recorder.retention import destructions

from .browser import (
    chromium,
    frames_decoded,
    kiosk_signs_in,
    relative_enters_code,
)
from .callkit import (
    Client,
    enrol_kiosk,
    gateway_env,
    join,
    kiosk_login,
    read_codes,
    spawn_gateway,
    started,
    wait_for_code,
)
from .staffkit import ALL_WORK
from .test_monitor_browser import TILE_MEDIA_JS
from .test_socket_takeover import MUTE_SOCKET
from .test_tls_proxy import Certs, certs, free_port, main_conf, nginx_binary, session

ROOT = Path(__file__).resolve().parent.parent
DOCS_NGINX_CLUSTER = ROOT / "docs" / "nginx-cluster.conf"
__all__ = ["certs"]  # the fixture, for the nginx test


class Gateways:
    """Gateway subprocesses (``python -m gateway serve|demo --json``) sharing one Redis, one
    SMS outbox and one recordings folder (shared storage, as on several machines)."""

    def __init__(self, tmp: Path, redis_url: str, **env: str) -> None:
        self.tmp, self.redis_url, self.env = tmp, redis_url, env
        self.procs: list[subprocess.Popen[str]] = []
        self.outbox = tmp / "sms-outbox.jsonl"
        self.recordings = tmp / "recordings"

    def start(self, *commands: str) -> list[dict[str, Any]]:
        env = gateway_env(
            self.redis_url,
            PARLOIR_CHECKPOINT_SECONDS="1",
            PARLOIR_SMS_OUTBOX_PATH=str(self.outbox),
            PARLOIR_RECORDINGS_DIR=str(self.recordings),
            PARLOIR_RECORD_CALLS="false",
            **self.env,
        )
        procs = [spawn_gateway(c, self.tmp / f"var{len(self.procs) + i}", env)
                 for i, c in enumerate(commands)]
        self.procs.extend(procs)
        return [started(proc) for proc in procs]

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def owner_of_next_call(infos: list[dict[str, Any]], booking: str) -> str:
    """Where the kiosk's next call will live: no call anywhere, so the tie-break decides."""
    owner = choose_owner({info["owner"]: 0 for info in infos}, booking)
    assert owner is not None
    return owner


async def wait_for(check: Any, timeout: float = 10.0, step: float = 0.1) -> Any:
    async with asyncio.timeout(timeout):
        while not (value := await check()):
            await asyncio.sleep(step)
    return value


def test_choose_owner_takes_the_least_loaded_and_spreads_ties() -> None:
    assert choose_owner({}, "bk_1") is None
    assert choose_owner({"gw_a": 3, "gw_b": 1, "gw_c": 2}, "bk_1") == "gw_b"
    idle = {"gw_a": 0, "gw_b": 0, "gw_c": 0}
    picked = [choose_owner(idle, f"bk_{i}") for i in range(300)]
    assert picked == [choose_owner(dict(reversed(idle.items())), f"bk_{i}") for i in range(300)]
    assert all(70 < picked.count(owner) < 130 for owner in idle), picked  # even, no coordination


# -- two processes, browsers ------------------------------------------------------------------


async def test_kiosk_on_one_process_relative_and_monitoring_on_another(
    tmp_path: Path, redis_url: str, redis: aioredis.Redis
) -> None:
    gateways = Gateways(tmp_path, redis_url)
    try:
        first, second = gateways.start("demo", "serve")
        owner_id = owner_of_next_call([first, second], first["booking"])
        owner, other = (first, second) if owner_id == first["owner"] else (second, first)
        credential = await KioskRegistry(redis).enrol("kiosk-1", "test", time.time())
        password = "mot-de-passe-de-test-1"
        await StaffAccounts(redis).create(
            "moreau", "Lieutenant Moreau", list(ALL_WORK), password, "test", time.time()
        )
        errors: list[str] = []
        async with chromium() as browser:
            kiosk_ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
            await kiosk_ctx.add_cookies(
                [{"name": CREDENTIAL_COOKIE, "value": credential, "domain": "127.0.0.1",
                  "path": "/", "httpOnly": True, "sameSite": "Strict"}]
            )  # fmt: skip
            phone_ctx = await browser.new_context(viewport={"width": 360, "height": 640})
            staff_ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
            signed_in = await staff_ctx.request.post(
                other["url"] + "/api/staff/login", data={"login": "moreau", "password": password}
            )
            assert signed_in.status == 200, await signed_in.text()
            kiosk, phone, monitor = [await c.new_page() for c in (kiosk_ctx, phone_ctx, staff_ctx)]
            for page in (kiosk, phone, monitor):
                page.on("pageerror", lambda exc: errors.append(str(exc)))

            # The detainee calls from the kiosk, served by the process that will own the call.
            await kiosk_signs_in(kiosk, owner["url"], first)
            await kiosk.click("#call")
            code, _ref = await wait_for_code(gateways.outbox, timeout=10)
            [call_id] = await redis.smembers("parloir:calls:live")
            assert await redis.hget(f"parloir:call:{call_id}", "owner") == owner["owner"]

            # The relative's page, code entry and socket are on the other process.
            await relative_enters_code(phone, other["url"], code)
            assert "Jean M." in await phone.inner_text("body")
            await phone.click("#accept-call")
            for page in (kiosk, phone):
                await wait_for(lambda page=page: _decoding(page, 10), timeout=20)

            # The monitoring page of the other process lists the call and watches it.
            await monitor.goto(f"{other['url']}/monitor")
            row = monitor.locator(f"tr[data-call='{call_id}']")
            await row.wait_for()
            await row.get_by_role("button", name="Regarder").first.click()
            media = await wait_for(lambda: _tile_media(monitor, call_id, 10), timeout=20)
            assert set(media) == {"kiosk/video", "relative/video", "kiosk/audio", "relative/audio"}

            # The relative's page reloads, its socket again on the other process: the new
            # connection's offer reaches the call's owner, which swaps the leg.
            kiosk_frames = await frames_decoded(kiosk)
            await phone.reload()
            await wait_for(lambda: _decoding(phone, 10), timeout=20)
            await wait_for(lambda: _decoding(kiosk, kiosk_frames + 20), timeout=20)
            events = await redis.xrange(f"parloir:call:{call_id}:events")
            kinds = [fields["type"] for _id, fields in events]
            assert kinds.count("LegLost") == 1 and kinds.count("CallResumed") == 1, kinds

            # Its socket then goes mute (a network change): the page opens another, again on
            # the other process, whose page id reaches the owner: a reconnection, no takeover.
            takeovers = kinds.count("SocketTakenOver")
            old = await phone.evaluate_handle(MUTE_SOCKET)
            await phone.wait_for_function("(old) => old.readyState === WebSocket.CLOSED",
                                          arg=old, timeout=20_000)  # fmt: skip
            kinds = await wait_for(lambda: _reconnected(redis, call_id), timeout=10)
            assert kinds.count("SocketReconnected") == 1, kinds
            assert kinds.count("SocketTakenOver") == takeovers, kinds
            assert not await phone.is_visible("#ended")

            # The relative hangs up through the other process: both pages end, billed once.
            await phone.click("#hangup")
            await kiosk.wait_for_selector("#ended", state="visible", timeout=10_000)
            await phone.wait_for_selector("#ended", state="visible", timeout=10_000)
            assert errors == []
        booking = await wait_for(lambda: _closed(redis, first["booking"]))
        assert booking.status == "done" and booking.charged == 14 + 30
        audit = await Audit(redis).entries(action="monitor.watch")
        assert [(e.actor, e.target) for e in audit] == [("Lieutenant Moreau (moreau)", call_id)]
    finally:
        gateways.stop()


async def _reconnected(redis: aioredis.Redis, call_id: str) -> list[str] | None:
    """The call's event kinds once a SocketReconnected is among them (saved after the close)."""
    events = await redis.xrange(f"parloir:call:{call_id}:events")
    kinds = [fields["type"] for _id, fields in events]
    return kinds if "SocketReconnected" in kinds else None


async def _decoding(page: Any, frames: int) -> bool:
    return await frames_decoded(page) > frames


async def _tile_media(page: Any, call_id: str, n: int) -> dict[str, int] | None:
    media = await page.evaluate(TILE_MEDIA_JS, call_id)
    return media if len(media) == 4 and min(media.values()) > n else None


async def _closed(redis: aioredis.Redis, booking_id: str) -> Any:
    booking = await Directory(redis).booking(booking_id)
    return booking if booking is not None and booking.status != "booked" else None


# -- three processes, SIGKILL -----------------------------------------------------------------


async def test_owner_killed_mid_call_both_sides_told_and_the_kiosk_calls_again(
    tmp_path: Path, redis_url: str, redis: aioredis.Redis
) -> None:
    gateways = Gateways(tmp_path, redis_url)
    try:
        infos = gateways.start("demo", "serve", "serve")
        demo = infos[0]
        owner_id = owner_of_next_call(infos, demo["booking"])
        victim = next(i for i in infos if i["owner"] == owner_id)
        kiosk_gw, relative_gw = [i for i in infos if i is not victim]
        async with aiohttp.ClientSession() as http:
            await enrol_kiosk(http, kiosk_gw["url"], demo["kiosk_enrolment_code"])
            kiosk, relative = Client(kiosk_gw["url"], http), Client(relative_gw["url"], http)
            kiosk2, relative2 = Client(kiosk_gw["url"], http), Client(relative_gw["url"], http)
            try:
                await kiosk_login(kiosk, demo["detainee"], demo["access_code"])
                await kiosk.connect()
                await kiosk.send({"type": "call"})
                await kiosk.expect("state", call__state="waiting_relative")
                await kiosk.start_media()
                code, _ref = await wait_for_code(gateways.outbox, timeout=10)
                status, body = await join(relative, code)
                assert status == 200, body
                call_id = body["call"]["id"]
                assert await redis.hget(f"parloir:call:{call_id}", "owner") == owner_id
                await relative.connect()
                await relative.start_media()
                await relative.expect("state", call__state="connected", timeout=20)
                await kiosk.expect("state", call__state="connected", timeout=5)
                await asyncio.sleep(2.5)  # two checkpoints

                os.kill(victim["pid"], signal.SIGKILL)
                killed_at = time.monotonic()
                ended = await asyncio.gather(
                    kiosk.expect("ended", timeout=10), relative.expect("ended", timeout=10)
                )
                told_after = time.monotonic() - killed_at
                assert [e["reason"] for e in ended] == ["interrupted", "interrupted"]
                assert told_after < 8, told_after  # 3 beats to be dead, then one round
                record = await redis.hgetall(f"parloir:call:{call_id}")
                assert record["end_reason"] == "interrupted"
                assert record["recovered_by"] in (kiosk_gw["owner"], relative_gw["owner"])
                first_ms = int(record["connected_ms"])
                assert 1000 <= first_ms <= 4000, first_ms
                booking = await Directory(redis).booking(demo["booking"])
                assert booking is not None and booking.status == "booked"
                assert booking.connected_ms == first_ms  # counted once, slot still open

                # The kiosk logs in again and calls in the same slot; the relative gets a new code.
                await kiosk_login(kiosk2, demo["detainee"], demo["access_code"])
                await kiosk2.connect()
                await kiosk2.send({"type": "call"})
                waiting = await kiosk2.expect("state", call__state="waiting_relative")
                second_id = waiting["call"]["id"]
                await kiosk2.start_media()
                code2, _ref = await wait_for_code(gateways.outbox, count=2, timeout=10)
                assert code2 != code
                status, body = await join(relative2, code2)
                assert status == 200 and body["call"]["id"] == second_id, body
                second_owner = await redis.hget(f"parloir:call:{second_id}", "owner")
                assert second_owner in (kiosk_gw["owner"], relative_gw["owner"])
                await relative2.connect()
                await relative2.start_media()
                await relative2.expect("state", call__state="connected", timeout=20)
                await asyncio.sleep(1.5)
                await kiosk2.send({"type": "hangup"})
                await relative2.expect("ended", reason="kiosk_hangup", timeout=10)
            finally:
                for client in (kiosk, relative, kiosk2, relative2):
                    await client.close()
        # Settled once, both calls' connected time together: one fee, one rounding.
        booking = await wait_for(lambda: _closed(redis, demo["booking"]))
        second_ms = int(await redis.hget(f"parloir:call:{second_id}", "connected_ms") or 0)
        assert booking.status == "done" and booking.connected_ms == first_ms + second_ms
        assert booking.charged == 14 + 30
        ledger = Ledger(redis)
        kinds = [e.kind for e in await ledger.entries(demo["detainee"])]
        assert kinds == ["credit", "hold", "charge", "release"], kinds
        assert (await ledger.verify(demo["detainee"])).ok
    finally:
        gateways.stop()


# -- three processes, scheduled work ----------------------------------------------------------


async def test_purge_and_no_answer_timeout_run_once_with_three_processes(
    tmp_path: Path, redis_url: str, redis: aioredis.Redis
) -> None:
    gateways = Gateways(tmp_path, redis_url, PARLOIR_CODE_VALIDITY_SECONDS="2")
    # Three sealed recordings past the 90 days, on the storage the processes share.
    long_ago = datetime.now(UTC) - timedelta(days=120)
    for i in range(3):
        folder = gateways.recordings / long_ago.date().isoformat() / f"call_old{i}"
        folder.mkdir(parents=True)
        for side in ("kiosk", "relative"):
            (folder / f"{side}.webm").write_bytes(os.urandom(2000))
        meta = {
            "call_id": f"call_old{i}",
            "started_at": long_ago,
            "ended_at": long_ago + timedelta(minutes=20),
            "end_reason": "kiosk_hangup",
        }
        seal(gateways.recordings, folder, meta, now=long_ago + timedelta(minutes=21))  # fmt: skip
    try:
        infos = gateways.start("demo", "serve", "serve")
        demo = infos[0]
        # The purge: every process ran its first round at start; one of them purged.
        assert sorted(r.call_id for r in destructions(gateways.recordings)) == [
            "call_old0", "call_old1", "call_old2",
        ]  # fmt: skip
        audit = await Audit(redis).entries(action="recording.destroy")
        assert sorted(e.target for e in audit) == ["call_old0", "call_old1", "call_old2"]
        # ... the one holding the purge's lock (an hour long: the next purge is due then).
        holder = await redis.get("parloir:lock:purge")
        assert holder in {i["owner"] for i in infos}
        assert {r.actor for r in destructions(gateways.recordings)} == {f"parloir:{holder}"}

        # The no-answer timeout: a call nobody joins, its slot ending just after.
        directory = Directory(redis)
        booking = await directory.booking(demo["booking"])
        assert booking is not None
        await directory.put_booking(replace(booking, end=time.time() + 6))
        async with aiohttp.ClientSession() as http:
            await enrol_kiosk(http, infos[1]["url"], demo["kiosk_enrolment_code"])
            kiosk = Client(infos[1]["url"], http)
            try:
                await kiosk_login(kiosk, demo["detainee"], demo["access_code"])
                await kiosk.connect()
                await kiosk.send({"type": "call"})
                waiting = await kiosk.expect("state", call__state="waiting_relative")
                ended = await kiosk.expect("ended", timeout=10)
                assert ended["reason"] == "no_answer"
                await asyncio.sleep(1.0)
                later = [kiosk.inbox.get_nowait() for _ in range(kiosk.inbox.qsize())]
                assert "ended" not in [msg["type"] for msg in later]
            finally:
                await kiosk.close()
        call_id = waiting["call"]["id"]
        entries = await redis.xrange(f"parloir:call:{call_id}:events")
        ends = [fields for _id, fields in entries if fields["type"] == "CallEnded"]
        assert [e["reason"] for e in ends] == ["no_answer"]
        # When the slot ends, one process closes the booking: nothing was connected, so the
        # hold is released, once.
        closed = await wait_for(lambda: _closed(redis, demo["booking"]), timeout=15)
        assert closed.status == "no_answer"
        kinds = [e.kind for e in await Ledger(redis).entries(demo["detainee"])]
        assert kinds == ["credit", "hold", "release"], kinds
        assert len(read_codes(gateways.outbox)) == 1
    finally:
        gateways.stop()


# -- docs/nginx-cluster.conf ------------------------------------------------------------------


def cluster_site(gateway_ports: list[int], https_port: int, http_port: int, certs: Certs) -> str:
    """docs/nginx-cluster.conf with only the upstream servers, ports and certificates swapped."""
    text = DOCS_NGINX_CLUSTER.read_text(encoding="utf-8")
    servers = [line for line in text.splitlines() if line.startswith("    server 10.0.0.")]
    assert len(servers) == 4, "docs/nginx-cluster.conf changed: update this test"
    text = text.replace(servers[0], "\n".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in gateway_ports
    ))  # fmt: skip
    for line in servers[1:]:
        text = text.replace(line + "\n", "")
    swaps = [
        ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        ("listen [::]:443 ssl;", ""),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;", ""),
        ("/etc/letsencrypt/live/parloir.example.fr/fullchain.pem", str(certs.cert)),
        ("/etc/letsencrypt/live/parloir.example.fr/privkey.pem", str(certs.key)),
    ]
    for old, new in swaps:
        assert text.count(old) == 1, f"docs/nginx-cluster.conf has no single {old!r}"
        text = text.replace(old, new)
    return text


async def test_nginx_cluster_conf_spreads_requests_and_carries_a_call(
    tmp_path: Path, redis_url: str, redis: aioredis.Redis, certs: Certs
) -> None:
    gateways = Gateways(tmp_path, redis_url, PARLOIR_TRUSTED_PROXIES="127.0.0.1/32")
    nginx = None
    try:
        infos = gateways.start("demo", "serve")
        demo = infos[0]
        ports = [int(info["url"].rsplit(":", 1)[1]) for info in infos]
        folder = tmp_path / "nginx"
        folder.mkdir()
        https_port, http_port = free_port(), free_port()
        site = folder / "parloir.conf"
        site.write_text(cluster_site(ports, https_port, http_port, certs))
        conf = folder / "nginx.conf"
        conf.write_text(main_conf(folder, site, nginx_binary()))
        nginx = subprocess.Popen(
            [nginx_binary(), "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"https://127.0.0.1:{https_port}"
        async with session(certs.client_context()) as http:
            await wait_for(lambda: _answers(http, base), timeout=15)
            # No stickiness: successive requests reach both processes. The process id is on
            # /metrics (staff networks: the proxy's client here is 127.0.0.1), not /healthz.
            owners = set()
            for _ in range(6):
                async with http.get(base + "/metrics") as resp:
                    text = await resp.text()
                owners.add(re.search(r'parloir_process_info\{owner="([^"]+)"', text)[1])
            assert owners == {info["owner"] for info in infos}
            # A whole call through the proxy, wherever each request and socket lands.
            credential = await KioskRegistry(redis).enrol("kiosk-1", "test", time.time())
            kiosk, relative = Client(base, http), Client(base, http)
            try:
                await kiosk_login(kiosk, demo["detainee"], demo["access_code"], credential)
                await kiosk.connect()
                await kiosk.send({"type": "call"})
                await kiosk.expect("state", call__state="waiting_relative")
                await kiosk.start_media()
                code, _ref = await wait_for_code(gateways.outbox, timeout=10)
                status, body = await join(relative, code)
                assert status == 200, body
                await relative.connect()
                await relative.start_media()
                await relative.expect("state", call__state="connected", timeout=20)
                await kiosk.send({"type": "hangup"})
                await relative.expect("ended", reason="kiosk_hangup", timeout=10)
            finally:
                await kiosk.close()
                await relative.close()
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        gateways.stop()


async def _answers(http: aiohttp.ClientSession, base: str) -> bool:
    try:
        async with http.get(base + "/healthz") as resp:
            return resp.status == 200
    except aiohttp.ClientError:
        return False
