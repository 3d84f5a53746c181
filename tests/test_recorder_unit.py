"""The recorder alone, fed synthetic packets through real relay sources: timing and slow disks."""

from __future__ import annotations

import asyncio
import threading
import time
from fractions import Fraction
from pathlib import Path

import av

from gateway.media.relay import MediaSource
from recorder import writer
from recorder.writer import CallRecorder, _Clock, vp8_size


def vp8_keyframe(width: int = 320, height: int = 240) -> bytes:
    # Frame tag (key frame, shown), start code, 14-bit sizes: what vp8_size reads.
    return bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A]) + width.to_bytes(2, "little") + (
        height.to_bytes(2, "little")
    ) + bytes(200)


def packet(data: bytes, pts: int, rate: int) -> av.Packet:
    p = av.Packet(data)
    p.pts = pts
    p.time_base = Fraction(1, rate)
    return p


def sources() -> dict[tuple[str, str], MediaSource]:
    return {(side, kind): MediaSource(kind, f"{side}/{kind}")
            for side in ("kiosk", "relative") for kind in ("audio", "video")}  # fmt: skip


def test_vp8_size_and_rtp_clock() -> None:
    assert vp8_size(vp8_keyframe(640, 480)) == (640, 480)
    assert vp8_size(b"\x01" + bytes(20)) is None
    clock = _Clock(90_000)
    assert clock.place(4_294_960_000, 500) == 500
    # The 32-bit RTP timestamp wraps: time goes on.
    assert clock.place(2_704, 600) == 500 + (2_704 + 2**32 - 4_294_960_000) * 1000 // 90_000
    assert clock.place(2_704, 700) == clock.last_ms  # same timestamp: nudged forward by 1 ms
    # Late sound is not placed, and changes nothing.
    sound = _Clock(48_000)
    assert sound.place(960, 0, late=False) == 0
    assert sound.place(2_880, 40, late=False) == 40
    assert sound.place(1_920, 41, late=False) is None
    assert (sound.last_ms, sound.last_raw) == (40, 2_880)
    assert sound.place(3_840, 60, late=False) == 60


async def test_a_slow_disk_drops_the_recording_not_the_call(tmp_path: Path, monkeypatch) -> None:
    """The writer thread is stuck: the queue fills, the recording is abandoned with an alert,
    and publishing packets to the relay never blocks."""
    release = threading.Event()
    original = writer._SideFile.write

    def slow_write(self: writer._SideFile, item: writer._Item) -> None:
        release.wait(10)
        original(self, item)

    monkeypatch.setattr(writer._SideFile, "write", slow_write)
    alerts: list[str] = []
    srcs = sources()
    recorder = CallRecorder(tmp_path / "call", srcs, alerts.append, queue_limit=20)
    recorder.start()
    await asyncio.sleep(0)
    started = time.perf_counter()
    for i in range(200):
        srcs[("kiosk", "audio")].publish(packet(b"\xfc" + bytes(60), i * 960, 48_000))
        if i % 20 == 0:
            await asyncio.sleep(0)  # let the recorder's reader run
    assert time.perf_counter() - started < 0.5  # the relay never waited for the disk
    await asyncio.sleep(0.05)
    assert alerts == ["recording.disk_too_slow"] and recorder.failed == "recording.disk_too_slow"
    release.set()
    await recorder.close()


async def test_packets_become_a_webm_per_side(tmp_path: Path) -> None:
    srcs = sources()
    recorder = CallRecorder(tmp_path / "call", srcs, lambda reason: None)
    recorder.start()
    await asyncio.sleep(0)
    for i in range(50):  # one second of both sides
        for side in ("kiosk", "relative"):
            srcs[(side, "audio")].publish(packet(b"\xfc" + bytes(60), 1000 + i * 960, 48_000))
            if i % 2 == 0:
                data = vp8_keyframe() if i == 0 else b"\x11" + bytes(100)
                srcs[(side, "video")].publish(packet(data, 5000 + i * 1800, 90_000))
        await asyncio.sleep(0.02)
    for source in srcs.values():
        source.end()
    await recorder.close()
    assert recorder.failed is None
    for side in ("kiosk", "relative"):
        with av.open(str(tmp_path / "call" / f"{side}.webm")) as container:
            # Packets only, read while the file is open: nothing is decoded.
            kinds = [p.stream.type for p in container.demux() if p.size]
            video = container.streams.video[0]
            assert (video.codec_context.width, video.codec_context.height) == (320, 240)
        assert kinds.count("audio") == 50 and kinds.count("video") == 25


async def test_sound_that_arrives_after_its_successor_is_left_out(tmp_path: Path) -> None:
    """The relay passes sound on as it comes, reordered or not: the recording keeps its order,
    leaving a late packet out (a 20 ms gap) rather than playing it after its successor."""
    srcs = sources()
    recorder = CallRecorder(tmp_path / "call", srcs, lambda reason: None)
    recorder.start()
    await asyncio.sleep(0)
    order = [*range(0, 10), 11, 10, *range(12, 20)]  # 10 comes after 11
    for i in order:
        srcs[("kiosk", "audio")].publish(packet(bytes([0xFC, i]) + bytes(60), i * 960, 48_000))
        if i == 0:
            srcs[("kiosk", "video")].publish(packet(vp8_keyframe(), 0, 90_000))
        await asyncio.sleep(0.005)
    for source in srcs.values():
        source.end()
    await recorder.close()
    assert recorder.failed is None and recorder.late_sound == 1
    with av.open(str(tmp_path / "call" / "kiosk.webm")) as container:
        written = [bytes(p)[1] for p in container.demux() if p.size and p.stream.type == "audio"]
    assert written == [i for i in order if i != 10]


async def test_the_writer_thread_is_woken_per_batch_not_per_packet(tmp_path: Path) -> None:
    srcs = sources()
    recorder = CallRecorder(tmp_path / "call", srcs, lambda reason: None)
    batches: list[int] = []
    put = recorder._queue.put_nowait
    recorder._queue.put_nowait = lambda batch: (batches.append(len(batch)), put(batch))[1]  # type: ignore[method-assign]
    recorder.start()
    await asyncio.sleep(0)
    for i in range(40):
        srcs[("kiosk", "audio")].publish(packet(b"\xfc" + bytes(60), i * 960, 48_000))
        await asyncio.sleep(0)
    assert batches == []  # collected, not yet handed over
    await asyncio.sleep(writer.HAND_OVER_INTERVAL * 3)
    assert batches == [40]  # one wake-up of the writer for all of them
    for source in srcs.values():
        source.end()
    await recorder.close()
    assert recorder._written == 40 and recorder.failed is None


async def test_sound_only_from_the_start_keeps_all_the_sound(tmp_path: Path, monkeypatch) -> None:
    """The relative chose sound only before any keyframe of theirs arrived: past the early
    audio the recorder would hold, their file opens anyway and keeps every sound packet; the
    video that comes later (camera back on) is in it too."""
    monkeypatch.setattr(writer, "EARLY_AUDIO", 40)
    srcs = sources()
    recorder = CallRecorder(tmp_path / "call", srcs, lambda reason: None)
    recorder.start()
    await asyncio.sleep(0)
    for i in range(100):
        srcs[("relative", "audio")].publish(packet(b"\xfc" + bytes(60), 1000 + i * 960, 48_000))
        if i >= 80 and i % 2 == 0:  # the camera comes back, from a keyframe
            data = vp8_keyframe() if i == 80 else b"\x11" + bytes(100)
            srcs[("relative", "video")].publish(packet(data, 5000 + i * 1800, 90_000))
        await asyncio.sleep(0.005)
    for source in srcs.values():
        source.end()
    await recorder.close()
    assert recorder.failed is None
    with av.open(str(tmp_path / "call" / "relative.webm")) as container:
        kinds = [p.stream.type for p in container.demux() if p.size]
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == writer.PLACEHOLDER_SIZE
    assert kinds.count("audio") == 100 and kinds.count("video") == 10
    assert not (tmp_path / "call" / "kiosk.webm").exists()  # nothing from the kiosk here


async def test_a_sink_takes_packets_inside_publish_from_a_keyframe_on() -> None:
    """The recorder's subscription (MediaSource.attach): called synchronously, video from the
    first keyframe on, None at the end, nothing after stop()."""
    source = MediaSource("video", "kiosk/video")
    got: list[bytes | None] = []
    sink = source.attach(lambda p: got.append(None if p is None else bytes(p)))
    source.publish(packet(b"\x11" + bytes(10), 0, 90_000))  # a delta frame: not yet
    source.publish(packet(vp8_keyframe(), 3000, 90_000))
    source.publish(packet(b"\x11" + bytes(11), 6000, 90_000))
    assert got == [vp8_keyframe(), b"\x11" + bytes(11)] and sink.dropped == 1
    source.end()
    assert got[-1] is None
    late = MediaSource("audio", "kiosk/audio")
    stopped = late.attach(got.append)
    stopped.stop()
    late.publish(packet(b"\xfc" + bytes(60), 0, 48_000))
    assert got[-1] is None and late.consumers == set()
