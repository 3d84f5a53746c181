"""Janus (Debian's ``janus`` 1.1.x, C) as the benchmark's native baseline.

:func:`start_janus` starts ``/usr/bin/janus`` with the configuration kept in ``bench/janus/``
(VideoCall plugin and HTTP transport only, the API on 127.0.0.1, ICE on one local address
only, no STUN), copied into the point's work folder with a free HTTP port filled in.
:class:`JanusSession` is a small aiohttp client of Janus's documented JSON API over HTTP
(create, attach, message with or without a JSEP, trickle, a long poll for events, keepalives,
destroy): what a web page's ``janus.js`` does, without a browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

JANUS = "/usr/bin/janus"
CONFIG = Path(__file__).resolve().parent / "janus"
LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
VIDEOCALL = "janus.plugin.videocall"
KEEPALIVE = 25.0
"Seconds between keepalives (the session times out after 60 s of silence)."


def available() -> bool:
    return Path(JANUS).exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _lib_folder() -> Path:
    """Debian's folder of Janus's plugins (multiarch), found from the binary's neighbours."""
    if LIB.exists():
        return LIB
    for candidate in Path("/usr/lib").glob("*/janus"):
        if (candidate / "plugins").exists():
            return candidate
    raise RuntimeError("Janus's plugins folder not found (is Debian's janus installed?)")


def local_address() -> str:
    """The machine's first global IPv4 address: where Janus gathers (libnice skips loopback).
    Traffic between two of the machine's own addresses never leaves it (Linux's local table
    delivers it through the loopback device)."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    for line in out.splitlines():
        return line.split()[3].split("/")[0]
    raise RuntimeError("no global IPv4 address: Janus's ICE (libnice) cannot use loopback")


def write_config(workdir: Path, port: int, address: str) -> Path:
    """bench/janus/*.jcfg with the point's values: the folder Janus reads its configs from."""
    lib, conf = _lib_folder(), workdir / "janus-conf"
    conf.mkdir(parents=True, exist_ok=True)
    values = {
        "@CONFIGS@": str(conf), "@PLUGINS@": str(lib / "plugins"),
        "@TRANSPORTS@": str(lib / "transports"), "@EVENTS@": str(lib / "events"),
        "@LOGGERS@": str(lib / "loggers"), "@HTTP_PORT@": str(port),
        "@RTP_PORTS@": "40000-59999", "@ICE_ADDRESS@": address,
    }  # fmt: skip
    for source in CONFIG.glob("*.jcfg"):
        text = source.read_text()
        for key, value in values.items():
            text = text.replace(key, value)
        (conf / source.name).write_text(text)
    return conf


def start_janus(
    workdir: Path, address: str, preexec: Callable[[], None] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """Janus (HTTP API on 127.0.0.1, ICE on ``address`` only), ready to answer
    ``GET /janus/info``: (process, API base URL)."""
    if not available():
        raise RuntimeError(f"{JANUS} missing: apt-get install janus")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "recordings").mkdir(exist_ok=True)
    port = _free_port()
    conf = write_config(workdir, port, address)
    log = (workdir / "janus.log").open("w")
    argv = [JANUS, "--configs-folder", str(conf), "--config", str(conf / "janus.jcfg"),
            "--disable-colors", "--log-file", str(workdir / "janus-own.log")]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, text=True,
                            cwd=workdir, preexec_fn=preexec)  # fmt: skip
    log.close()
    base = f"http://127.0.0.1:{port}/janus"
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"janus exited: {(workdir / 'janus.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base}/info", timeout=1) as resp:
                if VIDEOCALL in resp.read().decode():
                    return proc, base
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"janus not ready: {(workdir / 'janus.log').read_text()[-2000:]}")
        time.sleep(0.1)


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class JanusError(RuntimeError):
    pass


class JanusSession:
    """One Janus session with one VideoCall handle; plugin events are queued in ``events``."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base
        self.session_id = self.handle_id = 0
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "transaction": secrets.token_hex(6)}
        async with self.http.post(f"{self.base}{path}", json=body) as resp:
            reply = await resp.json(content_type=None)
        if reply.get("janus") == "error":
            raise JanusError(f"janus: {reply['error']}")
        return dict(reply)

    async def open(self) -> None:
        self.session_id = (await self._post("", {"janus": "create"}))["data"]["id"]
        reply = await self._post(f"/{self.session_id}", {"janus": "attach", "plugin": VIDEOCALL})
        self.handle_id = reply["data"]["id"]
        self._tasks = [asyncio.ensure_future(self._poll()),
                       asyncio.ensure_future(self._keepalive())]  # fmt: skip

    async def _poll(self) -> None:
        """The HTTP transport's long poll: every event of the session."""
        url = f"{self.base}/{self.session_id}?maxev=10&rid="
        while True:
            try:
                async with self.http.get(url + str(int(time.time() * 1000))) as resp:
                    reply = await resp.json(content_type=None)
            except (TimeoutError, aiohttp.ClientError):
                await asyncio.sleep(0.2)
                continue
            for event in reply if isinstance(reply, list) else [reply]:
                if event.get("janus") == "event":
                    await self.events.put(event)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE)
            with contextlib.suppress(Exception):
                await self._post(f"/{self.session_id}", {"janus": "keepalive"})

    async def message(self, body: dict[str, Any], jsep: dict[str, str] | None = None) -> None:
        request: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            request["jsep"] = jsep
        reply = await self._post(f"/{self.session_id}/{self.handle_id}", request)
        if reply.get("janus") not in ("ack", "success", "event"):
            raise JanusError(f"janus: {reply}")
        if reply.get("janus") == "event":  # a synchronous answer: queue it like the others
            await self.events.put(reply)

    async def trickle_done(self) -> None:
        """aiortc puts every candidate in its SDP (no trickling): say there are no more."""
        await self._post(f"/{self.session_id}/{self.handle_id}",
                         {"janus": "trickle", "candidate": {"completed": True}})  # fmt: skip

    async def expect(self, result: str, within: float = 30) -> dict[str, Any]:
        """The next VideoCall event whose ``result.event`` is ``result``; an error raises."""
        async with asyncio.timeout(within):
            while True:
                event = await self.events.get()
                data = event.get("plugindata", {}).get("data", {})
                if "error" in data:
                    raise JanusError(f"videocall: {data['error']}")
                if data.get("result", {}).get("event") == result:
                    return event

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.session_id:
            with contextlib.suppress(Exception):
                await self._post(f"/{self.session_id}", {"janus": "destroy"})
