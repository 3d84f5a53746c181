"""Helpers that stand a whole call up in a few lines, with real aiortc peers as clients."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack

from gateway.cli import Running, seed_demo
from gateway.core.lifecycle import Leg
from gateway.http import appkeys as keys
from gateway.store.kiosks import CREDENTIAL_COOKIE
from gateway.store.kiosks import CREDENTIAL_HEADER as KIOSK_HEADER


def read_codes(outbox: Path) -> list[dict[str, Any]]:
    if not outbox.exists():
        return []
    return [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]


async def wait_for_code(outbox: Path, count: int = 1, timeout: float = 5.0) -> tuple[str, str]:
    """The newest SMS's code and call reference, once ``count`` SMS are in the outbox."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        messages = read_codes(outbox)
        if len(messages) >= count:
            text = messages[-1]["text"]
            code = (
                text.split("Code : ")[1][:6] if "Code : " in text else text.split("Code: ")[1][:6]
            )
            ref = text.split("appel=")[1].split()[0]
            return code, ref
        await asyncio.sleep(0.05)
    raise TimeoutError("no SMS in the outbox")


@dataclass
class Client:
    """One participant: an HTTP session, a signaling socket, an aiortc peer."""

    base: str
    http: aiohttp.ClientSession
    token: str = ""
    ws: aiohttp.ClientWebSocketResponse | None = None
    pc: RTCPeerConnection | None = None
    inbox: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    received: dict[str, int] = field(default_factory=lambda: {"audio": 0, "video": 0})
    video_sizes: set[tuple[int, int]] = field(default_factory=set)
    _reader: asyncio.Task[None] | None = None
    _sinks: list[asyncio.Task[None]] = field(default_factory=list)
    close_code: int | None = None
    page: str | None = None
    "The page load's id sent in ``hello`` (as web/static/call.js does), if any."

    async def connect(self) -> dict[str, Any]:
        self.ws = await self.http.ws_connect(self.base.replace("http", "ws") + "/ws")
        hello = {"type": "hello", "token": self.token}
        await self.ws.send_json(hello if self.page is None else {**hello, "page": self.page})
        self._reader = asyncio.ensure_future(self._read())
        return await self.expect("welcome")

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await self.inbox.put(json.loads(msg.data))
        self.close_code = self.ws.close_code
        await self.inbox.put({"type": "_closed", "code": self.ws.close_code})

    async def expect(self, kind: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        """Skip messages until one of ``kind`` (whose fields match ``match``) arrives."""
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.inbox.get()
                if msg["type"] == kind and all(_get(msg, k) == v for k, v in match.items()):
                    return msg
                if msg["type"] == "_closed" and kind != "_closed":
                    raise AssertionError(f"socket closed ({msg['code']}) waiting for {kind}")

    async def send(self, msg: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send_json(msg)

    async def start_media(self) -> None:
        """Offer audio and video (aiortc's synthetic tracks) and apply the gateway's answer."""
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.addTrack(AudioStreamTrack())
        self.pc.addTrack(VideoStreamTrack())

        @self.pc.on("track")
        def on_track(track: Any) -> None:
            self._sinks.append(asyncio.ensure_future(self._consume(track)))

        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.send({"type": "offer", "sdp": self.pc.localDescription.sdp})
        answer = await self.expect("answer")
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

    async def _consume(self, track: Any) -> None:
        try:
            while True:
                frame = await track.recv()
                self.received[track.kind] += 1
                if track.kind == "video":
                    self.video_sizes.add((frame.width, frame.height))
        except MediaStreamError:
            pass

    async def close(self) -> None:
        for task in self._sinks:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()


def _get(msg: dict[str, Any], dotted: str) -> Any:
    value: Any = msg
    for part in dotted.split("__"):
        value = value.get(part) if isinstance(value, dict) else None
    return value


# The device credential of each test gateway's enrolled kiosk, by base URL (see seeded()):
# kiosk_login() sends it like the kiosk's browser sends its cookie.
KIOSK_CREDENTIALS: dict[str, str] = {}


async def kiosk_login(
    client: Client, number: str, access_code: str, credential: str | None = None
) -> dict[str, Any]:
    credential = credential or KIOSK_CREDENTIALS.get(client.base, "")
    async with client.http.post(
        client.base + "/api/kiosk/login",
        json={"detainee": number, "access_code": access_code},
        headers={KIOSK_HEADER: credential},
    ) as resp:
        body = await resp.json()
        assert resp.status == 200, body
        client.token = body["token"]
        return body


async def enrol_kiosk(http: aiohttp.ClientSession, base: str, code: str) -> str:
    """Redeem an enrolment code as the kiosk's page does; the device credential it gets (from
    its cookie) is then used by kiosk_login() for this gateway."""
    async with http.post(base + "/api/kiosk/enrol", json={"code": code}) as resp:
        body = await resp.json()
        assert resp.status == 200, body
        credential = resp.cookies[CREDENTIAL_COOKIE].value
    KIOSK_CREDENTIALS[base] = credential
    return credential


async def join(client: Client, code: str, ref: str | None = None) -> tuple[int, dict[str, Any]]:
    payload: dict[str, Any] = {"code": code, "rules_accepted": True}
    if ref:
        payload["ref"] = ref
    async with client.http.post(client.base + "/api/join", json=payload) as resp:
        body = await resp.json()
        if resp.status == 200:
            client.token = body["token"]
        return resp.status, body


async def join_connected(relative: Client, code: str) -> str:
    """The relative joins with ``code``, connects and starts media, and the call is connected;
    returns the call's id."""
    status, body = await join(relative, code)
    assert status == 200, body
    await relative.connect()
    await relative.start_media()
    await relative.expect("state", call__state="connected", timeout=20)
    return str(body["call"]["id"])


async def seeded(gateway: Running) -> dict[str, Any]:
    import time

    demo = await seed_demo(gateway.app, time.time())
    registry = gateway.app[keys.KIOSKS]
    demo["kiosk_credential"] = await registry.enrol(gateway.config.kiosk_id, "test", time.time())
    KIOSK_CREDENTIALS[gateway.base_url] = demo["kiosk_credential"]
    return demo


def sound_held_back(gateway: Running, leg: str) -> tuple[int, int]:
    """In the in-process gateway's one call: how many Opus packets its receiver has taken from
    ``leg`` ("kiosk" or "relative") but not yet passed to the relay, and how many that receiver
    counts as lost on the way in."""
    (call,) = gateway.app[keys.ENGINE].calls.values()
    pc = call.legs[Leg(leg)].pc
    assert pc is not None
    (receiver,) = [t.receiver for t in pc.getTransceivers() if t.kind == "audio"]
    streams = receiver._RTCRtpReceiver__remote_streams.values()
    received = sum(stream.packets_received for stream in streams)
    lost = sum(stream.packets_lost for stream in streams)
    return received - call.sources[(Leg(leg), "audio")].packets, lost


async def wait_until(predicate: Any, timeout: float = 10.0, step: float = 0.05) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(step)


async def start_calling(
    kiosk: Client, gateway: Running | Path, demo: dict[str, Any]
) -> tuple[str, str]:
    """Log in, press 'Appeler', connect the kiosk's leg; return the SMS's code and ref.

    ``gateway`` is an in-process gateway, or the SMS outbox of one in another process."""
    await kiosk_login(kiosk, demo["detainee"], demo["access_code"])
    await kiosk.connect()
    await kiosk.send({"type": "call"})
    await kiosk.expect("state", call__state="waiting_relative")
    await kiosk.start_media()
    outbox = gateway if isinstance(gateway, Path) else gateway.config.outbox_path
    return await wait_for_code(outbox, timeout=10)


def gateway_env(redis_url: str, **settings: str) -> dict[str, str]:
    """The environment of a gateway subprocess: none of the caller's ``PARLOIR_`` settings, this
    Redis, a 1 s heartbeat and loopback ICE, then ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLOIR_")}
    env.update(
        REDIS_URL=redis_url, PARLOIR_HEARTBEAT_SECONDS="1", PARLOIR_ICE_HOST_ADDRESSES="127.0.0.1"
    )
    env.update(settings)
    return env


def spawn_gateway(command: str, data_dir: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """``python -m gateway COMMAND --json`` on a free port; :func:`started` reads what it prints."""
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", command, "--json", "--port", "0",
         "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
    )  # fmt: skip


def started(proc: subprocess.Popen[str], timeout: float = 60.0) -> dict[str, Any]:
    """The JSON line the process prints once it serves; a process that does not print it
    within ``timeout`` fails the test (a bare readline would block the test's loop for ever)."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        stop_gateway(proc)
        raise AssertionError(f"gateway printed nothing within {timeout:.0f} s")
    line = proc.stdout.readline()
    if not line:
        raise AssertionError(f"gateway exited before serving (exit {proc.wait(10)})")
    return json.loads(line)


def stop_gateway(proc: subprocess.Popen[str], timeout: float = 20.0) -> None:
    """SIGTERM drains (live calls may go on up to their slot's end), a second SIGTERM ends them
    interrupted; a process still there after ``timeout`` is killed, so none outlives its test."""
    for _ in range(2):
        if proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout / 2)
        except subprocess.TimeoutExpired:
            continue
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)
