"""The load generator: one worker process drives its share of the calls, as aiortc clients.

Each call is a kiosk and a relative (and, for a share of calls, a monitoring viewer), all in the
same worker so that the sender and the receiver of a stream share one clock (end-to-end delay).
Against Parloir a call follows the real flow: kiosk login, signaling socket, ``call``, the kiosk's
offer, the SMS code read from the outbox, ``/api/join`` with the code and the SMS link's
reference, the relative's offer, ``/api/monitor/.../watch``. Against the stock reference relay
(:mod:`bench.reference_relay`) both offers go in one request (there is no code flow to compare).

The worker is driven by the orchestrator over a pipe: ``setup`` -> ``mark`` (start of the
measuring window) -> ``report`` (end of it) -> ``stop``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from gateway.media import aiortc_passthrough as passthrough

from .clip import Clip, load_clip
from .janus import JanusSession
from .media import (
    VIDEO_STEP,
    ClipTrack,
    SendLog,
    StreamMeter,
    attach_clip_sender,
    prefer_codecs,
    zero_timestamp_origin,
)

KIOSK_HEADER = "X-Parloir-Kiosk"
"The enrolled kiosk's device credential (issue 6); sent only when the seeding enrolled one."
STAFF = "bench"
SETUP_CONCURRENCY = 3
"Calls set up at once per worker: ICE and DTLS handshakes are CPU-heavy on both ends."


async def kiosk_login(
    http: aiohttp.ClientSession, base: str, number: str, access_code: str, credential: str | None
) -> str:
    """POST /api/kiosk/login; the one place that knows how a kiosk authenticates."""
    headers = {KIOSK_HEADER: credential} if credential else {}
    payload = {"detainee": number, "access_code": access_code}
    async with http.post(f"{base}/api/kiosk/login", json=payload, headers=headers) as resp:
        body = await resp.json(content_type=None)
        if resp.status != 200 or not body.get("booking"):
            raise RuntimeError(f"kiosk login refused: {resp.status} {body}")
        return str(body["token"])


async def staff_headers(
    http: aiohttp.ClientSession, base: str, account: dict[str, str] | None
) -> dict[str, str]:
    """Headers of a signed-in monitoring staff member (cookie and CSRF token), or the staff
    name in the body before staff accounts existed; the one place that knows staff login."""
    if account is None:
        return {}
    async with http.post(f"{base}/api/staff/login", json=account) as resp:
        body = await resp.json(content_type=None)
        if resp.status != 200:
            raise RuntimeError(f"staff login refused: {resp.status} {body}")
        # aiohttp's cookie jar ignores cookies from IP addresses: carry it by hand.
        cookies = "; ".join(f"{k}={m.value}" for k, m in resp.cookies.items())
    return {"Cookie": cookies, "X-CSRF-Token": body["csrf"]}


class Peer:
    """A participant's peer connection: clip senders (no encoder), meters (no decoder)."""

    def __init__(self, clip: Clip, by_ts: bool) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.log = SendLog(clip)
        self.tracks = {
            "audio": ClipTrack("audio", clip),
            "video": ClipTrack("video", clip, self.log),
        }
        for kind in ("audio", "video"):
            attach_clip_sender(self.pc.addTrack(self.tracks[kind]), self.tracks[kind])
        prefer_codecs(self.pc)
        self.meters = {kind: StreamMeter(kind, by_ts=by_ts) for kind in ("audio", "video")}

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def accept(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
        self._attach()

    async def answer(self, sdp: str) -> str:
        """The callee's side (Janus's VideoCall offers to the callee): answer an offer."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        self._attach()
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return str(self.pc.localDescription.sdp)

    def _attach(self) -> None:
        for transceiver in self.pc.getTransceivers():
            passthrough.attach_receiver(
                transceiver.receiver, self.meters[transceiver.kind].on_packet
            )


class Viewer:
    """A monitoring viewer: receive-only, two video and two audio sections, one transport."""

    def __init__(self, by_ts: bool) -> None:
        config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        self.pc = RTCPeerConnection(config)
        for kind in ("video", "video", "audio", "audio"):
            self.pc.addTransceiver(kind, direction="recvonly")
        prefer_codecs(self.pc)
        self.by_ts = by_ts
        self.sections: list[tuple[str, StreamMeter, Any]] = []

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def accept(self, answer: dict[str, Any], logs: dict[str, SendLog]) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        layout = {t["mid"]: (t["side"], t["kind"]) for t in answer["tracks"]}
        for transceiver in self.pc.getTransceivers():
            side, kind = layout[transceiver.mid]
            meter = StreamMeter(kind, log=logs[side] if kind == "video" else None, by_ts=self.by_ts)
            self.sections.append((f"{side}/{kind}", meter, transceiver.receiver))
            passthrough.attach_receiver(transceiver.receiver, meter.on_packet)


@dataclass
class Call:
    name: str
    kiosk: Peer
    relative: Peer
    viewer: Viewer | None = None
    call_id: str = ""
    join_seconds: float | None = None
    sockets: list[aiohttp.ClientWebSocketResponse] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    janus: list[JanusSession] = field(default_factory=list)
    "Against Janus: the kiosk's and the relative's sessions."

    def receivers(self) -> list[tuple[str, StreamMeter, Any]]:
        """(label, meter, RTCRtpReceiver) of every receiving section of this call."""
        out = []
        for role, peer in (("kiosk", self.kiosk), ("relative", self.relative)):
            for t in peer.pc.getTransceivers():
                out.append((f"{self.name}/{role}/{t.kind}", peer.meters[t.kind], t.receiver))
        if self.viewer is not None:
            for key, meter, receiver in self.viewer.sections:
                out.append((f"{self.name}/viewer/{key}", meter, receiver))
        return out

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for ws in self.sockets:
            with contextlib.suppress(Exception):
                await ws.close()
        for session in self.janus:
            await session.close()
        pcs = [self.kiosk.pc, self.relative.pc] + ([self.viewer.pc] if self.viewer else [])
        await asyncio.gather(*(pc.close() for pc in pcs), return_exceptions=True)


class Socket:
    """A signaling socket with a reader that queues the server's messages."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await self.inbox.put(json.loads(msg.data))
        await self.inbox.put({"type": "_closed"})

    async def expect(
        self, kind: str, state: str | None = None, within: float = 30
    ) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while True:
                msg = await self.inbox.get()
                if msg["type"] == kind and (state is None or msg["call"]["state"] == state):
                    return msg
                if msg["type"] in ("_closed", "ended", "error"):
                    raise RuntimeError(f"signaling: {msg} while waiting for {kind}")


class Outbox:
    """The gateway's SMS outbox (one JSON line per SMS), read for each relative's code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def code_for(self, phone: str, within: float = 30) -> tuple[str, str]:
        async with asyncio.timeout(within):
            while True:
                if self.path.exists():
                    for line in reversed(self.path.read_text(encoding="utf-8").splitlines()):
                        sms = json.loads(line)
                        if sms["to"] == phone:
                            text = sms["text"]
                            code = text.split("Code")[1].lstrip(" :")[:6]
                            return code, text.split("appel=")[1].split()[0].rstrip(".")
                await asyncio.sleep(0.05)


async def _first_video(peers: list[Peer], within: float = 30) -> float:
    async with asyncio.timeout(within):
        await asyncio.gather(*(p.meters["video"].arrived.wait() for p in peers))
    return max(p.meters["video"].first_at or 0.0 for p in peers)


def _cross_link(call: Call) -> None:
    call.kiosk.meters["video"].log = call.relative.log
    call.relative.meters["video"].log = call.kiosk.log


async def _socket(http: aiohttp.ClientSession, base: str, token: str, call: Call) -> Socket:
    ws = await http.ws_connect(base.replace("http", "ws", 1) + "/ws")
    call.sockets.append(ws)
    sock = Socket(ws)
    call.tasks.append(sock.task)
    await ws.send_json({"type": "hello", "token": token})
    await sock.expect("welcome")
    return sock


async def parloir_call(
    http: aiohttp.ClientSession,
    base: str,
    outbox: Outbox,
    clip: Clip,
    spec: dict[str, Any],
    staff: dict[str, str],
) -> Call:
    call = Call(spec["name"], Peer(clip, by_ts=False), Peer(clip, by_ts=False))
    _cross_link(call)
    # With several gateway processes the kiosk and the relative may talk to different ones
    # (``--processes``): the call's owner is reached through the cluster's routing.
    kiosk_base = spec.get("kiosk_base") or base
    base = spec.get("relative_base") or base
    try:
        token = await kiosk_login(
            http, kiosk_base, spec["number"], spec["access_code"], spec["credential"]
        )
        kiosk = await _socket(http, kiosk_base, token, call)
        await kiosk.ws.send_json({"type": "call"})
        await kiosk.expect("state", "waiting_relative")
        await kiosk.ws.send_json({"type": "offer", "sdp": await call.kiosk.offer()})
        await call.kiosk.accept((await kiosk.expect("answer"))["sdp"])
        code, ref = await outbox.code_for(spec["phone"])
        started = time.time()  # the code is entered: the join time counts from here
        payload = {"code": code, "ref": ref, "rules_accepted": True}
        async with http.post(f"{base}/api/join", json=payload) as resp:
            body = await resp.json(content_type=None)
            if resp.status != 200:
                raise RuntimeError(f"join refused: {resp.status} {body}")
        call.call_id = body["call"]["id"]
        relative = await _socket(http, base, body["token"], call)
        await relative.ws.send_json({"type": "offer", "sdp": await call.relative.offer()})
        await call.relative.accept((await relative.expect("answer"))["sdp"])
        call.join_seconds = await _first_video([call.kiosk, call.relative]) - started
        if spec["viewer"]:
            viewer = call.viewer = Viewer(by_ts=False)
            url = f"{base}/api/monitor/calls/{call.call_id}/watch"
            payload = {"sdp": await viewer.offer(), "staff": STAFF}
            async with http.post(url, json=payload, headers=staff) as resp:
                answer = await resp.json(content_type=None)
                if resp.status != 200:
                    raise RuntimeError(f"watch refused: {resp.status} {answer}")
            await viewer.accept(answer, {"kiosk": call.kiosk.log, "relative": call.relative.log})
        call.tasks.append(asyncio.ensure_future(_drain(kiosk)))
        call.tasks.append(asyncio.ensure_future(_drain(relative)))
    except BaseException:
        await call.close()
        raise
    return call


async def _drain(sock: Socket) -> None:
    while True:
        await sock.inbox.get()


async def stock_call(
    http: aiohttp.ClientSession, base: str, clip: Clip, spec: dict[str, Any]
) -> Call:
    call = Call(spec["name"], Peer(clip, by_ts=True), Peer(clip, by_ts=True))
    _cross_link(call)
    try:
        offers = {"kiosk": await call.kiosk.offer(), "relative": await call.relative.offer()}
        started = time.time()
        async with http.post(f"{base}/call", json=offers) as resp:
            answers = await resp.json()
        call.call_id = answers["id"]
        await call.kiosk.accept(answers["kiosk"])
        await call.relative.accept(answers["relative"])
        call.join_seconds = await _first_video([call.kiosk, call.relative]) - started
        if spec["viewer"]:
            viewer = call.viewer = Viewer(by_ts=True)
            payload = {"id": call.call_id, "sdp": await viewer.offer()}
            async with http.post(f"{base}/watch", json=payload) as resp:
                answer = await resp.json()
            await viewer.accept(answer, {"kiosk": call.kiosk.log, "relative": call.relative.log})
    except BaseException:
        await call.close()
        raise
    return call


async def janus_call(
    http: aiohttp.ClientSession, base: str, clip: Clip, spec: dict[str, Any]
) -> Call:
    """A call through Janus's VideoCall plugin: both register, the kiosk calls the relative
    with its offer, the relative accepts with its answer to Janus's offer; each leg is then
    recorded by Janus's recorder (``set`` with ``record``)."""
    call = Call(spec["name"], Peer(clip, by_ts=False), Peer(clip, by_ts=False))
    _cross_link(call)
    kiosk, relative = JanusSession(http, base), JanusSession(http, base)
    call.janus = [kiosk, relative]
    names = {"kiosk": f"{spec['name']}-kiosk", "relative": f"{spec['name']}-relative"}
    try:
        await asyncio.gather(kiosk.open(), relative.open())
        for session, role in ((kiosk, "kiosk"), (relative, "relative")):
            await session.message({"request": "register", "username": names[role]})
            await session.expect("registered")
        offer = await call.kiosk.offer()
        started = time.time()
        await kiosk.message({"request": "call", "username": names["relative"]},
                            {"type": "offer", "sdp": offer})  # fmt: skip
        incoming = await relative.expect("incomingcall")
        answer = await call.relative.answer(incoming["jsep"]["sdp"])
        await relative.message({"request": "accept"}, {"type": "answer", "sdp": answer})
        accepted = await kiosk.expect("accepted")
        await call.kiosk.accept(accepted["jsep"]["sdp"])
        await asyncio.gather(kiosk.trickle_done(), relative.trickle_done())
        call.join_seconds = await _first_video([call.kiosk, call.relative]) - started
        if spec.get("record", True):
            folder = spec["recordings"]
            for session, role in ((kiosk, "kiosk"), (relative, "relative")):
                await session.message({"request": "set", "record": True,
                                       "filename": f"{folder}/{names[role]}"})  # fmt: skip
        call.call_id = names["kiosk"]
    except BaseException:
        await call.close()
        raise
    return call


async def _inbound(receiver: Any) -> tuple[int, int]:
    """(packets received, packets lost) from the receiver's RTP statistics."""
    received = lost = 0
    for stats in (await receiver.getStats()).values():
        if stats.type == "inbound-rtp":
            received += stats.packetsReceived
            lost += max(0, stats.packetsLost)
    return received, lost


class Worker:
    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.clip = load_clip(params["clip_seconds"], params["video_kbps"])
        self.calls: list[Call] = []
        self.errors: list[str] = []
        self._mark: dict[str, Any] = {}

    async def setup(self, http: aiohttp.ClientSession) -> dict[str, Any]:
        base, target = self.params["base"], self.params["target"]
        outbox = Outbox(Path(self.params.get("outbox") or "/nonexistent"))
        gate = asyncio.Semaphore(SETUP_CONCURRENCY)
        staff: dict[str, str] = {}
        viewers = [s for s in self.params["calls"] if s["viewer"]]
        if target == "parloir" and viewers:
            staff = await staff_headers(http, base, viewers[0].get("staff"))

        async def one(spec: dict[str, Any]) -> None:
            async with gate:
                try:
                    if target == "parloir":
                        call = await parloir_call(http, base, outbox, self.clip, spec, staff)
                    elif target == "janus":
                        call = await janus_call(http, base, self.clip, spec)
                    else:
                        call = await stock_call(http, base, self.clip, spec)
                    self.calls.append(call)
                except Exception as exc:  # reported, the others carry on
                    self.errors.append(f"{spec['name']}: {type(exc).__name__}: {exc}")

        await asyncio.gather(*(one(spec) for spec in self.params["calls"]))
        return {"joins": [c.join_seconds for c in self.calls], "errors": self.errors}

    async def mark(self) -> None:
        receivers = [r for c in self.calls for r in c.receivers()]
        stats = await asyncio.gather(*(_inbound(r) for _l, _m, r in receivers))
        self._mark = {
            "at": time.time(),
            "meters": {
                label: (m.snapshot(), s) for (label, m, _r), s in zip(receivers, stats, strict=True)
            },
            "sent": {
                c.name: (c.kiosk.tracks["video"].sent, c.relative.tracks["video"].sent)
                for c in self.calls
            },
        }
        for _label, meter, _r in receivers:
            meter.delays.clear()
            meter.recording_delays = meter.kind == "video"

    async def report(self) -> dict[str, Any]:
        elapsed = time.time() - self._mark["at"]
        receivers = [r for c in self.calls for r in c.receivers()]
        stats = await asyncio.gather(*(_inbound(r) for _l, _m, r in receivers))
        rows, delays = [], []
        for (label, meter, _r), (received, lost) in zip(receivers, stats, strict=True):
            meter.recording_delays = False
            (frames0, ts0), (received0, lost0) = self._mark["meters"].get(
                label, ((0, None), (0, 0))
            )
            frames = meter.frames - frames0
            step = VIDEO_STEP if meter.kind == "video" else 960
            expected = (
                (meter.last_ts - ts0) // step
                if ts0 is not None and meter.last_ts is not None
                else frames
            )
            rows.append({
                "label": label, "kind": meter.kind, "frames": frames,
                "expected": max(expected, frames), "per_second": frames / elapsed,
                "packets": received - received0, "packets_lost": lost - lost0,
            })  # fmt: skip
            delays += meter.delays
        sent = []
        for c in self.calls:
            k0, r0 = self._mark["sent"][c.name]
            sent += [(c.kiosk.tracks["video"].sent - k0) / elapsed,
                     (c.relative.tracks["video"].sent - r0) / elapsed]  # fmt: skip
        restarts = sum(
            p.tracks["video"].restarts for c in self.calls for p in (c.kiosk, c.relative)
        )
        return {"elapsed": elapsed, "receivers": rows, "delays": delays, "sender_fps": sent,
                "restarts": restarts}  # fmt: skip

    async def stop(self, http: aiohttp.ClientSession) -> None:
        base = self.params["base"]
        for call in self.calls:
            with contextlib.suppress(Exception):
                if self.params["target"] == "parloir" and call.sockets:
                    await call.sockets[0].send_json({"type": "hangup"})
                elif self.params["target"] == "janus":
                    await call.janus[0].message({"request": "hangup"})
                else:
                    async with http.post(f"{base}/hangup", json={"id": call.call_id}):
                        pass
        await asyncio.sleep(0.5)
        await asyncio.gather(*(c.close() for c in self.calls), return_exceptions=True)


async def _serve(conn: Connection, params: dict[str, Any]) -> None:
    passthrough.install()  # the receivers' decoder bypass
    # ICE on loopback; against Janus on the address it gathers on (bench.janus.local_address).
    passthrough.restrict_host_addresses([params.get("ice_address") or "127.0.0.1"])
    zero_timestamp_origin()
    worker = Worker(params)
    loop = asyncio.get_running_loop()
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        conn.send(("loaded", None))
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command == "setup":
                conn.send(("ready", await worker.setup(http)))
            elif command == "mark":
                await worker.mark()
                conn.send(("marked", None))
            elif command == "report":
                conn.send(("report", await worker.report()))
            elif command == "stop":
                await worker.stop(http)
                conn.send(("stopped", None))
                return


def worker_main(conn: Connection, params: dict[str, Any]) -> None:
    """Entry point of a worker process (multiprocessing, spawn)."""
    import logging
    import os

    if params.get("cpus"):  # --loadgen-cpus: before any thread starts, so all inherit it
        os.sched_setaffinity(0, params["cpus"])
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(_serve(conn, params))
