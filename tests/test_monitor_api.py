"""The monitoring API against a real gateway and Redis, with aiortc peers as kiosk, relative and
viewer: live list, watching, flags, cut, recordings (Range), legal hold and the audit log."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from gateway.cli import Running
from gateway.http import appkeys as keys
from gateway.store.directory import Correspondent
from tests.staffkit import staff_http

from .callkit import Client, join, seeded, start_calling, wait_until

STAFF = "Brigadier Lefèvre (lefevre)"  # name (login): the signed-in member
SECTIONS = ("video", "video", "audio", "audio")


@asynccontextmanager
async def live_call(
    gateway: Running, http: aiohttp.ClientSession, demo: dict[str, Any]
) -> AsyncIterator[tuple[Client, Client, str]]:
    """A connected call between two aiortc peers; yields (kiosk, relative, call id)."""
    kiosk, relative = Client(gateway.base_url, http), Client(gateway.base_url, http)
    try:
        code, _ref = await start_calling(kiosk, gateway, demo)
        status, body = await join(relative, code)
        assert status == 200, body
        await relative.connect()
        await relative.start_media()
        await relative.expect("state", call__state="connected")
        yield kiosk, relative, body["call"]["id"]
    finally:
        await kiosk.close()
        await relative.close()


class Viewer:
    """A monitoring viewer: a receive-only aiortc peer with 2 video and 2 audio sections."""

    def __init__(self, kinds: tuple[str, ...] = SECTIONS) -> None:
        # One transport for all four sections, like a browser (aiortc's default "balanced"
        # policy loses the second section of a kind when the answer bundles them all).
        config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        self.pc = RTCPeerConnection(config)
        self.kinds = kinds
        self.frames: dict[str, int] = {}
        self.sizes: dict[str, set[tuple[int, int]]] = {}
        self._sinks: list[asyncio.Task[None]] = []

    async def offer(self, direction: str = "recvonly") -> str:
        for kind in self.kinds:
            self.pc.addTransceiver(kind, direction=direction)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, answer: dict[str, Any]) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        sides = {t["mid"]: f"{t['side']}/{t['kind']}" for t in answer["tracks"]}
        for transceiver in self.pc.getTransceivers():
            name = sides[transceiver.mid]
            self._sinks.append(asyncio.ensure_future(self._consume(name, transceiver.receiver)))

    async def _consume(self, name: str, receiver: Any) -> None:
        self.frames[name] = 0
        try:
            while True:
                frame = await receiver.track.recv()
                self.frames[name] += 1
                if hasattr(frame, "width"):
                    self.sizes.setdefault(name, set()).add((frame.width, frame.height))
        except MediaStreamError:
            pass

    async def receiving(self, frames: int, timeout: float = 10.0) -> None:
        """Wait until each of the four sections has given more than ``frames`` frames."""
        try:
            async with asyncio.timeout(timeout):
                while len(self.frames) < 4 or min(self.frames.values()) <= frames:
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(f"a section carries no media: {self.frames}") from None

    async def close(self) -> None:
        for task in self._sinks:
            task.cancel()
        await self.pc.close()


async def _json(resp: aiohttp.ClientResponse) -> Any:
    return await resp.json(content_type=None)


async def _sealed(gateway: Running, call_id: str) -> dict[str, str]:
    redis = gateway.app[keys.REDIS]
    async with asyncio.timeout(10):
        while (rec := await redis.hgetall(f"parloir:recording:{call_id}")).get("state") != "sealed":
            await asyncio.sleep(0.05)
    return rec


async def test_watch_flag_cut_then_replay_hold_and_audit(gateway_factory) -> None:
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    base = gateway.base_url
    async with staff_http(gateway, name="Brigadier Lefèvre", login="lefevre") as http:
        async with live_call(gateway, http, demo) as (kiosk, relative, call_id):
            # The call is listed with who, where, how long left, and that it is recorded.
            async with http.get(f"{base}/api/monitor/calls") as resp:
                assert resp.status == 200
                listing = await _json(resp)
            (call,) = listing["calls"]
            assert call["id"] == call_id and call["state"] == "connected"
            assert call["detainee"] == {"number": "100042", "name": "MARTIN Jean"}
            assert call["correspondent"]["name"] == "Marie Martin"
            assert not call["correspondent"]["lawyer"] and call["watchable"]
            assert call["recording"] == "recording"
            assert 0 < call["ends_at"] - listing["server_time"] <= 30 * 60 * 1000
            # And what became of the code's SMS (the outbox sender says "sent").
            assert call["sms"] == {"status": "sent", "reason": "", "failure": None}, call["sms"]
            # The relative's choice of media, their latest (sound only, by choice).
            assert call["relative_media"] == "video"
            await relative.send({"type": "media", "mode": "audio_only"})
            await kiosk.expect("media", mode="audio_only")
            async with http.get(f"{base}/api/monitor/calls") as resp:
                (call,) = (await _json(resp))["calls"]
            assert call["relative_media"] == "audio_only"

            # Bad offers: one audio and one video, or sections that would send.
            url = f"{base}/api/monitor/calls/{call_id}/watch"
            for kinds, direction in ((("audio", "video"), "recvonly"), (SECTIONS, "sendrecv")):
                bad = Viewer(kinds)
                sdp = await bad.offer(direction)
                async with http.post(url, json={"sdp": sdp, "staff": STAFF}) as resp:
                    refusal = await _json(resp)
                    assert resp.status == 422, refusal
                    assert refusal["reason"] == "signaling.bad_sdp"
                await bad.close()
            async with http.post(
                f"{base}/api/monitor/calls/call_0000/watch", json={"sdp": "v=0", "staff": STAFF}
            ) as resp:
                assert resp.status == 404

            # A real viewer receives both sides, told apart by the answer's tracks.
            viewer = Viewer()
            async with http.post(url, json={"sdp": await viewer.offer(), "staff": STAFF}) as resp:
                answer = await _json(resp)
                assert resp.status == 200, answer
            layout = sorted(f"{t['side']}/{t['kind']}" for t in answer["tracks"])
            assert layout == ["kiosk/audio", "kiosk/video", "relative/audio", "relative/video"]
            await viewer.accept(answer)
            await viewer.receiving(10)  # each section, the relative's audio included
            assert viewer.sizes == {"kiosk/video": {(640, 480)}, "relative/video": {(640, 480)}}
            # A viewer who leaves is forgotten: no relay consumer is left behind.
            live = gateway.app[keys.ENGINE].calls[call_id]
            assert len(live.watchers) == 1
            await viewer.close()
            await wait_until(lambda: not live.watchers)

            # A flagged moment, then the cut: both sides get a neutral end.
            flag_url = f"{base}/api/monitor/calls/{call_id}/flag"
            async with http.post(flag_url, json={"staff": STAFF, "comment": ""}) as resp:
                assert resp.status == 400  # a flag says why
            at = int((await _now_ms(gateway)) - 100)  # a moment ago, inside the recording
            body = {"staff": STAFF, "comment": "Menaces", "at": at}
            async with http.post(flag_url, json=body) as resp:
                flagged = await _json(resp)
                assert resp.status == 201, flagged
                assert flagged["at"] == at
            cut_url = f"{base}/api/monitor/calls/{call_id}/cut"
            async with http.post(cut_url, json={"staff": STAFF, "reason": ""}) as resp:
                assert resp.status == 400  # a cut needs a reason
            async with http.post(cut_url, json={"staff": STAFF, "reason": "Menaces"}) as resp:
                assert resp.status == 200, await _json(resp)
            ended_k = await kiosk.expect("ended")
            ended_r = await relative.expect("ended")
            assert ended_k["reason"] == ended_r["reason"] == "cut"
            assert "surveill" not in ended_r["message"].lower()

        # After the call: the sealed recording, its files and the flag.
        await _sealed(gateway, call_id)
        async with http.get(f"{base}/api/monitor/calls") as resp:
            assert (await _json(resp))["calls"] == []
        async with http.get(f"{base}/api/recordings") as resp:
            found = await _json(resp)
        assert [(r["call"], r["state"], r["flags"]) for r in found] == [(call_id, "sealed", 1)]
        async with http.get(f"{base}/api/recordings?flagged=1&detainee=100042") as resp:
            assert [r["call"] for r in await _json(resp)] == [call_id]
        async with http.get(f"{base}/api/recordings?detainee=999") as resp:
            assert await _json(resp) == []
        async with http.get(f"{base}/api/recordings/{call_id}") as resp:
            rec = await _json(resp)
        assert [f["side"] for f in rec["files"]] == ["kiosk", "relative"]
        assert [(f["at"], f["by"], f["comment"]) for f in rec["flags_list"]] == [
            (at, STAFF, "Menaces")
        ]
        assert rec["started_at"] <= at <= rec["ended_at"]

        # The media with Range: one audit entry per playback, not per range request.
        media = base + rec["files"][0]["url"]
        async with aiohttp.ClientSession() as anonymous, anonymous.get(media) as resp:
            assert resp.status == 401  # who is playing it?
        staff = {"staff": STAFF}
        async with http.get(media, params=staff, headers={"Range": "bytes=0-99"}) as resp:
            assert resp.status == 206
            assert resp.headers["Content-Range"].startswith("bytes 0-99/")
            assert resp.headers["Content-Type"] == "video/webm"
            head = await resp.read()
        assert len(head) == 100 and head[:4] == b"\x1a\x45\xdf\xa3"  # EBML
        async with http.get(media, params=staff, headers={"Range": "bytes=100-"}) as resp:
            assert resp.status == 206
        async with http.get(media, params={**staff, "download": "1"}) as resp:
            assert resp.status == 200
            assert "attachment" in resp.headers["Content-Disposition"]
            assert (await resp.read())[:4] == b"\x1a\x45\xdf\xa3"

        # Legal hold on, then off; both audited with their reason.
        hold_url = f"{base}/api/recordings/{call_id}/hold"
        for held, reason in ((True, "Réquisition PV 2026/118"), (False, "Classement sans suite")):
            async with http.post(hold_url, json={**staff, "held": held, "reason": reason}) as resp:
                assert resp.status == 200 and (await _json(resp))["legal_hold"] is held
            async with http.get(f"{base}/api/recordings/{call_id}") as resp:
                rec = await _json(resp)
                assert (rec["legal_hold"], rec["hold_reason"]) == (held, reason)

        # The audit log: every use, with who and why.
        async with http.get(f"{base}/api/audit") as resp:
            log = await _json(resp)
        log = [e for e in log if not e["action"].startswith("staff.")]  # sign-ins
        actions = [(e["action"], e["actor"], e["target"]) for e in log]
        assert actions == [
            (action, STAFF, call_id)
            for action in (
                "monitor.watch", "call.flag", "call.cut", "recording.play",
                "recording.download", "recording.hold", "recording.release_hold",
            )
        ], actions  # fmt: skip
        details = {e["action"]: e["details"] for e in log}
        assert details["call.cut"] == {"reason": "Menaces"}
        assert details["call.flag"] == {"comment": "Menaces"}
        assert details["recording.play"] == {"side": "kiosk"}
        assert details["recording.hold"] == {"reason": "Réquisition PV 2026/118"}
        async with http.get(f"{base}/api/audit?action=call.cut") as resp:
            assert [e["action"] for e in await _json(resp)] == ["call.cut"]
        async with http.get(f"{base}/api/audit.csv") as resp:
            assert resp.status == 200 and resp.content_type == "text/csv"
            text = (await resp.read()).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text), delimiter=";"))
        assert rows[0] == ["date", "heure", "agent", "action", "objet", "details"]
        labels = [row[3] for row in rows[1:]]
        for label in ("visionnage en direct", "Signalement", "Interruption"):
            assert any(label in cell for cell in labels), labels
        work = [row for row in rows[1:] if not row[3].startswith("Connexion")]
        assert all(row[2] == STAFF and row[4] == call_id for row in work), work
        assert "reason=Menaces" in text


async def test_a_call_with_a_lawyer_is_neither_watched_nor_recorded(gateway_factory) -> None:
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    base = gateway.base_url
    lawyer = Correspondent(
        id="corr_demo", detainee=demo["detainee"], name="Maître Roux", phone="+33612345678",
        relationship="avocate", lawyer=True,
    )  # fmt: skip
    await gateway.app[keys.DIRECTORY].put_correspondent(lawyer)
    async with staff_http(gateway) as http:
        async with live_call(gateway, http, demo) as (kiosk, relative, call_id):
            async with http.get(f"{base}/api/monitor/calls") as resp:
                (call,) = (await _json(resp))["calls"]
            assert call["correspondent"]["lawyer"] and not call["watchable"]
            assert call["recording"] == "none"
            viewer = Viewer()
            url = f"{base}/api/monitor/calls/{call_id}/watch"
            async with http.post(url, json={"sdp": await viewer.offer(), "staff": STAFF}) as resp:
                refusal = await _json(resp)
                assert resp.status == 409 and refusal["reason"] == "monitor.lawyer", refusal
            await viewer.close()
            await kiosk.send({"type": "hangup"})
            await relative.expect("ended")
        engine = gateway.app[keys.ENGINE]
        await wait_until(lambda: call_id not in engine.calls)
        async with http.get(f"{base}/api/recordings") as resp:
            assert await _json(resp) == []
        async with http.get(f"{base}/api/recordings/{call_id}") as resp:
            assert resp.status == 404
        async with http.get(f"{base}/api/audit") as resp:
            assert [e["action"] for e in await _json(resp)] == ["staff.login"]


async def _now_ms(gateway: Running) -> float:
    return gateway.app[keys.ENGINE].clock() * 1000
