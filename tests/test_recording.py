"""Recording: a real call between aiortc peers is muxed to WebM per side, sealed, and decodes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import av

from gateway.http import appkeys as keys
from gateway.store.directory import Correspondent
from recorder.integrity import verify

from .callkit import Client, join, seeded, start_calling


def decode(path: Path) -> dict[str, object]:
    """Frames, picture sizes, first and last timestamps (s) of each stream of a WebM file."""
    out: dict[str, object] = {}
    with av.open(str(path)) as container:
        video = [f for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        audio = [f for f in container.decode(audio=0)]
    out["video_frames"] = len(video)
    out["sizes"] = {(f.width, f.height) for f in video}
    out["video_start"] = float(video[0].time) if video else None
    out["video_end"] = float(video[-1].time) if video else None
    out["audio_start"] = float(audio[0].time) if audio else None
    out["audio_seconds"] = sum(f.samples for f in audio) / 48000
    return out


async def connected_call(
    gateway, seconds: float, demo: dict[str, str] | None = None
) -> tuple[str, dict[str, str]]:
    demo = demo or await seeded(gateway)
    async with aiohttp.ClientSession() as http:
        kiosk, relative = Client(gateway.base_url, http), Client(gateway.base_url, http)
        try:
            code, _ref = await start_calling(kiosk, gateway, demo)
            status, body = await join(relative, code)
            assert status == 200, body
            await relative.connect()
            await relative.start_media()
            await relative.expect("state", call__state="connected")
            call = gateway.app[keys.ENGINE].calls[body["call"]["id"]]
            await asyncio.sleep(seconds)
            await kiosk.send({"type": "hangup"})
            await relative.expect("ended")
            call_id = body["call"]["id"]
            await asyncio.wait_for(call.finished.wait(), 10)
            record = await gateway.app[keys.REDIS].hgetall(f"parloir:call:{call_id}")
            return call_id, record
        finally:
            await kiosk.close()
            await relative.close()


async def test_both_sides_are_recorded_in_sync_and_sealed(gateway_factory, redis) -> None:
    gateway = await gateway_factory()
    call_id, record = await connected_call(gateway, 4.0)
    rec = await redis.hgetall(f"parloir:recording:{call_id}")
    assert rec["state"] == "sealed" and rec["detainee"] == "100042", rec
    root = gateway.config.recordings_path
    folder = root / rec["folder"]
    connected = int(record["connected_ms"]) / 1000
    starts = []
    for side in ("kiosk", "relative"):
        info = decode(folder / f"{side}.webm")
        assert info["sizes"] == {(640, 480)}, info  # the size aiortc's test track sends
        # Video starts at the first keyframe (asked for when recording starts) and runs to
        # the end of the call.
        assert info["video_frames"] > 15
        assert info["video_end"] > connected - 1.0, (info, connected)  # type: ignore[operator]
        # Audio of the call's length, within a second.
        assert abs(info["audio_seconds"] - connected) < 1.0, (info, connected)
        starts.append(min(info["video_start"], info["audio_start"]))  # type: ignore[type-var]
    assert abs(starts[0] - starts[1]) < 0.1, starts  # both sides start together
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {f["name"] for f in manifest["files"]} == {"kiosk.webm", "relative.webm"}
    assert manifest["meta"]["call_id"] == call_id
    assert verify(root).ok
    # Any later change is detected: one flipped byte in a recording.
    data = bytearray((folder / "relative.webm").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "relative.webm").write_bytes(bytes(data))
    report = verify(root)
    assert not report.ok and any("relative.webm" in p for p in report.problems)


async def test_a_call_with_a_lawyer_is_not_recorded(gateway_factory, redis) -> None:
    gateway = await gateway_factory()
    directory = gateway.app[keys.DIRECTORY]
    demo = await seeded(gateway)
    lawyer = Correspondent(
        id="corr_demo", detainee=demo["detainee"], name="Maître Roux", phone="+33612345678",
        relationship="avocate", lawyer=True,
    )  # fmt: skip
    await directory.put_correspondent(lawyer)
    call_id, _record = await connected_call(gateway, 1.0, demo)
    assert await redis.exists(f"parloir:recording:{call_id}") == 0
    root = gateway.config.recordings_path
    assert not list(root.rglob("*.webm"))


async def test_a_leg_that_comes_back_stays_in_sync_in_the_recording(gateway_factory) -> None:
    """The relative's connection dies and comes back as a new RTP stream (new SSRC, random
    timestamps): the recording goes on in one file, the gap as time passing, sound and
    picture on one time line."""
    gateway = await gateway_factory(media_silence_seconds=1.0)
    demo = await seeded(gateway)
    engine = gateway.app[keys.ENGINE]
    async with aiohttp.ClientSession() as http:
        kiosk, relative = Client(gateway.base_url, http), Client(gateway.base_url, http)
        try:
            code, _ref = await start_calling(kiosk, gateway, demo)
            status, body = await join(relative, code)
            assert status == 200, body
            await relative.connect()
            await relative.start_media()
            await relative.expect("state", call__state="connected")
            call = engine.calls[body["call"]["id"]]
            await asyncio.sleep(3.0)
            assert relative.pc is not None
            await relative.pc.close()
            await kiosk.expect("state", call__state="reconnecting", timeout=10)
            await asyncio.sleep(2.0)
            await relative.start_media()
            await kiosk.expect("state", call__state="connected", timeout=15)
            await asyncio.sleep(3.0)
            await kiosk.send({"type": "hangup"})
            await relative.expect("ended")
            await asyncio.wait_for(call.finished.wait(), 10)
        finally:
            await kiosk.close()
            await relative.close()
    lc = call.lifecycle
    assert lc.ended_at is not None and lc.connected_at is not None
    wall, gap = lc.ended_at - lc.connected_at, lc.gaps
    assert gap > 2.0, gap
    rec = await gateway.app[keys.REDIS].hgetall(f"parloir:recording:{call.id}")
    assert rec["state"] == "sealed", rec
    path = gateway.config.recordings_path / rec["folder"] / "relative.webm"
    with av.open(str(path)) as container:
        video = list(container.decode(video=0))
    with av.open(str(path)) as container:
        audio = list(container.decode(audio=0))
    video_end, audio_end = float(video[-1].time), float(audio[-1].time)
    audio_seconds = sum(f.samples for f in audio) / 48000
    # Both streams run to the end of the call on the wall clock, the gap included...
    assert abs(video_end - wall) < 1.0 and abs(audio_end - wall) < 1.0, (video_end, audio_end, wall)
    assert abs(video_end - audio_end) < 0.5, (video_end, audio_end)
    # ...and the gap holds no sound: what was said is the connected time.
    assert abs(audio_seconds - (wall - gap)) < 1.0, (audio_seconds, wall, gap)
    # Pictures on both sides of the gap.
    times = [float(f.time) for f in video]
    assert any(t < 3.0 for t in times) and any(t > wall - 2.0 for t in times)
