"""The baseline: a minimal relay built the stock aiortc way, for the same load as Parloir's.

Each call's two legs are relayed with aiortc's ``MediaRelay`` (each received stream is decoded,
and re-encoded for every peer it is sent to) and each side is recorded with ``MediaRecorder``
(which encodes once more, into WebM). A monitoring viewer is one more set of relay consumers,
each encoded again. No code flow, no Redis, no billing: only the media path, which is what the
benchmark compares. Signaling is one HTTP request per call with both offers.

``python -m bench.reference_relay --port 0 --recordings DIR`` prints ``{"url": ..., "pid": ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import aioice.ice
from aiohttp import web
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRecorder, MediaRelay

from .media import zero_timestamp_origin

SIDES = ("kiosk", "relative")


class ReferenceRelay:
    def __init__(self, recordings: Path, record: bool = True) -> None:
        self.recordings = recordings
        self.record = record
        self.relay = MediaRelay()
        self.calls: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    async def call(self, request: web.Request) -> web.Response:
        offers = await request.json()
        call_id = f"c{next(self._ids)}"
        pcs: dict[str, RTCPeerConnection] = {}
        remote: dict[str, dict[str, Any]] = {side: {} for side in SIDES}
        for side in SIDES:
            pc = pcs[side] = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            pc.on("track", lambda track, got=remote[side]: got.__setitem__(track.kind, track))
            await pc.setRemoteDescription(RTCSessionDescription(offers[side], "offer"))
        for side, other in zip(SIDES, reversed(SIDES), strict=True):
            for kind in ("audio", "video"):
                pcs[side].addTrack(self.relay.subscribe(remote[other][kind]))
        folder = self.recordings / call_id
        folder.mkdir(parents=True, exist_ok=True)
        recorders = []
        for side in SIDES if self.record else ():
            recorder = MediaRecorder(str(folder / f"{side}.webm"))
            for kind in ("audio", "video"):
                recorder.addTrack(self.relay.subscribe(remote[side][kind]))
            recorders.append(recorder)
        answers = {}
        for side in SIDES:
            await pcs[side].setLocalDescription(await pcs[side].createAnswer())
            answers[side] = pcs[side].localDescription.sdp
        for recorder in recorders:
            await recorder.start()
        self.calls[call_id] = {"pcs": list(pcs.values()), "remote": remote, "recorders": recorders}
        return web.json_response({"id": call_id, **answers})

    async def watch(self, request: web.Request) -> web.Response:
        data = await request.json()
        call = self.calls[data["id"]]
        config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        pc = RTCPeerConnection(config)
        await pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "offer"))
        seen = {"audio": 0, "video": 0}
        layout = []
        for transceiver in pc.getTransceivers():
            kind = transceiver.kind
            side = SIDES[seen[kind]]
            seen[kind] += 1
            transceiver.sender.replaceTrack(self.relay.subscribe(call["remote"][side][kind]))
            transceiver.direction = "sendonly"
            layout.append({"mid": transceiver.mid, "side": side, "kind": kind})
        await pc.setLocalDescription(await pc.createAnswer())
        call["pcs"].append(pc)
        return web.json_response({"sdp": pc.localDescription.sdp, "tracks": layout})

    async def hangup(self, request: web.Request) -> web.Response:
        call = self.calls.pop((await request.json())["id"], None)
        if call is not None:
            for recorder in call["recorders"]:
                with contextlib.suppress(Exception):
                    await recorder.stop()
            await asyncio.gather(*(pc.close() for pc in call["pcs"]), return_exceptions=True)
        return web.json_response({})


async def serve(port: int, recordings: Path, record: bool) -> None:
    relay = ReferenceRelay(recordings, record)
    app = web.Application()
    app.router.add_post("/call", relay.call)
    app.router.add_post("/watch", relay.watch)
    app.router.add_post("/hangup", relay.hangup)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(json.dumps({"url": f"http://127.0.0.1:{bound}", "pid": os.getpid()}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reference_relay")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--recordings", type=Path, required=True)
    parser.add_argument("--no-record", dest="record", action="store_false")
    args = parser.parse_args(argv)
    # Loopback only, like the gateway under test (and no STUN: iceServers=[] above).
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    zero_timestamp_origin()  # received RTP timestamps = sent ones, for the delay (bench.media)
    asyncio.run(serve(args.port, args.recordings, args.record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
