"""The README's first command: the demo starts with nothing configured and prints its logins."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp


async def test_demo_json_runs_with_embedded_redis_and_stops_cleanly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLOIR_")}
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "demo",
            "--json",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "var"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["redis"] == "embedded"
        assert info["kiosk_url"].endswith("/kiosk") and info["join_url"].endswith("/join")
        assert info["correspondent_phone"].startswith("+33")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            # Not enrolled yet: the kiosk page sends to the enrolment page, the login refuses.
            async with http.get(info["kiosk_url"], allow_redirects=False) as resp:
                assert resp.status == 303 and resp.headers["Location"] == "/kiosk/enrolement"
            login = {"detainee": info["detainee"], "access_code": info["access_code"]}
            async with http.post(info["url"] + "/api/kiosk/login", json=login) as resp:
                assert (resp.status, (await resp.json())["reason"]) == (401, "kiosk.not_enrolled")
            # The printed one-time code enrols this "kiosk" (its cookie), once.
            enrol = {"code": info["kiosk_enrolment_code"]}
            async with http.post(info["url"] + "/api/kiosk/enrol", json=enrol) as resp:
                assert resp.status == 200 and (await resp.json())["kiosk"] == "kiosk-1"
            async with http.post(info["url"] + "/api/kiosk/enrol", json=enrol) as resp:
                assert resp.status == 403
            async with http.post(info["url"] + "/api/kiosk/login", json=login) as resp:
                body = await resp.json()
                assert resp.status == 200
                assert body["booking"]["correspondent"]["name"] == "Marie Martin"
            async with http.get(info["kiosk_url"]) as resp:
                assert resp.status == 200
                assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
        # One account per role, each with the printed password; no password is fixed.
        assert set(info["staff"]) == {"activites", "etage", "surveillance", "regie",
                                      "direction", "admin"}  # fmt: skip
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            creds = {"login": "direction", "password": info["staff"]["direction"]}
            async with http.post(info["url"] + "/api/staff/login", json=creds) as resp:
                assert resp.status == 200 and (await resp.json())["home"] == "/direction"
            async with http.get(info["url"] + "/api/direction/sanctions") as resp:
                assert resp.status == 200
            async with http.get(info["url"] + "/api/admin/staff") as resp:
                assert resp.status == 403
        # the embedded Redis keeps an append-only file in the data folder
        assert list((tmp_path / "var" / "redis").glob("appendonly*"))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    # its redis-server stopped with it
    left = subprocess.run(["pgrep", "-f", str(tmp_path / "var" / "redis")], capture_output=True)
    assert left.stdout.strip() == b""


def _demo(data_dir: Path, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLOIR_")}
    env.pop("REDIS_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "demo", "--json", "--port", "0",
         "--data-dir", str(data_dir), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip


async def test_demo_starts_again_and_again_with_one_hold(tmp_path: Path) -> None:
    """Issue 17: each start held 9,14 € again and the sixth failed with a traceback. Now a new
    start closes the earlier demo booking (its hold released): one hold, the balance kept."""
    import redis.asyncio as aioredis

    from gateway.store.directory import Directory
    from gateway.store.ledger import Ledger

    data = tmp_path / "var"
    seen: list[str] = []
    for _start in range(8):
        proc = _demo(data)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            info = json.loads(line)
            seen.append(info["booking"])
            redis = aioredis.from_url(f"unix://{data / 'redis' / 'redis.sock'}",
                                      decode_responses=True)  # fmt: skip
            try:
                account = await Ledger(redis).account(info["detainee"])
                bookings = await Directory(redis).bookings_of(info["detainee"])
            finally:
                await redis.aclose()
            current = [b for b in bookings if b.status == "booked"]
            assert [b.id for b in current] == [info["booking"]]
            assert account.balance == 5000  # credited once (no call was made)
            assert account.held == current[0].hold > 0  # only this start's hold
            assert {b.id for b in bookings} == set(seen)
            assert all(b.status == "no_answer" for b in bookings if b.id != info["booking"])
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
    assert len(set(seen)) == 8


def test_demo_refusal_at_start_is_a_sentence_not_a_traceback(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _demo(tmp_path / "var", "--host", "127.0.0.1", "--port", str(port))
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("parloir demo : le serveur n'a pas pu démarrer")
    left = subprocess.run(["pgrep", "-f", str(tmp_path / "var" / "redis")], capture_output=True)
    assert left.stdout.strip() == b""
