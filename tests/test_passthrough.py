"""What the relay relies on inside aiortc, and the relay's own fan-out rules."""

from __future__ import annotations

import fractions

import av
import pytest
from aiortc.mediastreams import MediaStreamError

from gateway.media import aiortc_passthrough as passthrough
from gateway.media.relay import QUEUE_PACKETS, MediaSource


def test_aiortc_still_has_the_internals_the_relay_patches() -> None:
    # Fails loudly (naming what moved) if an aiortc upgrade changes them.
    passthrough.check_compatibility()


def test_packer_packs_without_encoding() -> None:
    packer = passthrough.Packer("video")
    packet = av.Packet(b"\x10" + b"\x00" * 3000)
    packet.pts = 9000
    packet.time_base = fractions.Fraction(1, 90000)
    payloads, timestamp = packer.pack(packet)
    assert timestamp == 9000 and len(payloads) >= 3
    with pytest.raises(RuntimeError):
        packer.encode(None)
    audio = passthrough.Packer("audio")
    packet = av.Packet(b"opus")
    packet.pts = 960
    packet.time_base = fractions.Fraction(1, 48000)
    assert audio.pack(packet) == ([b"opus"], 960)


def _video(key: bool) -> av.Packet:
    return av.Packet(bytes([0x00 if key else 0x01]) + b"\x00" * 10)


async def test_new_video_consumer_waits_for_a_keyframe_and_asks_for_one() -> None:
    source = MediaSource("video", "t")
    asked: list[int] = []
    source.set_keyframe_requester(lambda: asked.append(1) is None)
    track = source.subscribe()
    assert asked == [1]
    source.publish(_video(key=False))  # mid-GOP: dropped for this consumer
    source.publish(_video(key=True))
    source.publish(_video(key=False))
    first, second = await track.recv(), await track.recv()
    assert passthrough.is_vp8_keyframe(bytes(first)) and not passthrough.is_vp8_keyframe(
        bytes(second)
    )
    assert track.dropped == 1


async def test_a_slow_consumer_drops_rather_than_grows_and_others_are_unaffected() -> None:
    source = MediaSource("video", "t")
    source.set_keyframe_requester(lambda: True)
    slow, fast = source.subscribe(), source.subscribe()
    source.publish(_video(key=True))
    received = 0
    for _ in range(QUEUE_PACKETS["video"] * 3):
        source.publish(_video(key=False))
        await fast.recv()
        received += 1
    assert slow._queue.qsize() <= QUEUE_PACKETS["video"]
    assert slow.dropped > 0 and fast.dropped == 0
    source.end()
    with pytest.raises(MediaStreamError):
        await slow.recv()


def _rtp(seq: int, ts: int, marker: bool, data: bytes) -> passthrough.RtpPacket:
    packet = passthrough.RtpPacket(sequence_number=seq, timestamp=ts, marker=int(marker))
    packet._data = data  # type: ignore[attr-defined]  # what aiortc's depayload leaves
    return packet


def test_video_frames_are_released_on_their_marker_bit() -> None:
    buffer = passthrough.MarkerJitterBuffer(capacity=512, is_video=True)
    assert buffer.add(_rtp(100, 3000, False, b"a"))[1] is None
    frame = buffer.add(_rtp(101, 3000, True, b"b"))[1]  # the last packet: out at once
    assert frame is not None and (frame.data, frame.timestamp) == (b"ab", 3000)
    # Reordered: the marker packet first, the frame waits for the gap to fill.
    assert buffer.add(_rtp(103, 6000, True, b"d"))[1] is None
    frame = buffer.add(_rtp(102, 6000, False, b"c"))[1]
    assert frame is not None and (frame.data, frame.timestamp) == (b"cd", 6000)
    # A sender that never sets the marker: released on the next frame, as aiortc does.
    assert buffer.add(_rtp(104, 9000, False, b"e"))[1] is None
    frame = buffer.add(_rtp(105, 12000, False, b"f"))[1]
    assert frame is not None and (frame.data, frame.timestamp) == (b"e", 9000)
    # A late duplicate of a released packet is ignored.
    assert buffer.add(_rtp(101, 3000, True, b"b"))[1] is None
    # Padding (no payload) after a released frame goes with the next frame, not out empty.
    assert buffer.add(_rtp(106, 12000, True, b"g"))[1].data == b"fg"  # type: ignore[union-attr]
    assert buffer.add(_rtp(107, 12000, False, b""))[1] is None
    assert buffer.add(_rtp(108, 15000, False, b"h"))[1] is None
    frame = buffer.add(_rtp(109, 15000, True, b"i"))[1]
    assert frame is not None and (frame.data, frame.timestamp) == (b"hi", 15000)


async def test_video_receivers_get_the_marker_jitter_buffer() -> None:
    from aiortc import RTCPeerConnection

    pc = RTCPeerConnection()
    try:
        for kind in ("audio", "video"):
            pc.addTransceiver(kind, direction="recvonly")
        for transceiver in pc.getTransceivers():
            passthrough.attach_receiver(transceiver.receiver, lambda packet: None)
            buffer = transceiver.receiver._RTCRtpReceiver__jitter_buffer
            marker = isinstance(buffer, passthrough.MarkerJitterBuffer)
            assert marker == (transceiver.kind == "video"), transceiver.kind
    finally:
        await pc.close()
