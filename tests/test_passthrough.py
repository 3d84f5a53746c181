"""What the relay relies on inside aiortc, and the relay's own fan-out rules."""

from __future__ import annotations

import fractions

import av
import pytest
from aiortc.mediastreams import MediaStreamError

from gateway.core.vp8 import is_vp8_keyframe
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
    assert is_vp8_keyframe(bytes(first)) and not is_vp8_keyframe(
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
            sound = isinstance(buffer, passthrough.SoundPassThrough)
            assert sound == (transceiver.kind == "audio"), transceiver.kind
    finally:
        await pc.close()


def test_sound_is_released_as_it_comes_lost_or_reordered() -> None:
    """Each Opus packet leaves the gateway's receiver on arrival: none waits for the next ones
    (aiortc's audio buffer held 4, 80 ms), a loss holds nothing back (aiortc's then stayed 14
    packets, 280 ms, behind for good), a late one still goes (the far browser's buffer places it
    by its timestamp); a duplicate and padding do not."""
    buffer = passthrough.SoundPassThrough()
    arrivals = [*range(100, 110), *range(111, 140), 110, *range(140, 150)]  # 110 lost, then late
    released = []
    for seq in arrivals:
        _, frame = buffer.add(_rtp(seq, seq * 960, False, bytes([seq % 256])))
        assert frame is not None, seq  # out on its own arrival
        released.append(frame.timestamp // 960)
    assert released == arrivals
    assert buffer.add(_rtp(145, 145 * 960, False, b"again")) == (False, None)
    assert buffer.add(_rtp(150, 150 * 960, False, b"")) == (False, None)
    assert buffer.duplicates == 1
    # aiortc's own, for the record of what it did: 4 packets behind, then 14 after the loss.
    theirs = passthrough.JitterBuffer(capacity=16, prefetch=4)
    lag = []
    for seq in arrivals[:45]:
        _, frame = theirs.add(_rtp(seq, seq * 960, False, b"x"))
        if frame is not None:
            lag.append(seq - frame.timestamp // 960)
    assert lag[0] == 4 and lag[-1] == 14


def test_a_lost_packet_is_given_up_on_to_the_next_keyframe() -> None:
    now = [0.0]
    buffer = passthrough.MarkerJitterBuffer(capacity=512, is_video=True, clock=lambda: now[0])
    key, delta = b"\x00key", b"\x01delta"
    assert buffer.add(_rtp(10, 1000, True, key))[1].data == key  # type: ignore[union-attr]
    # Packet 11 (first of frame 2000) is lost for good; NACK/RTX never brings it.
    assert buffer.add(_rtp(12, 2000, True, b"tail"))[1] is None
    now[0] = 0.1
    assert buffer.add(_rtp(13, 3000, True, delta))[1] is None
    now[0] = 0.2
    assert buffer.add(_rtp(14, 4000, True, delta)) == (False, None)  # still waiting for it
    # 300 ms on: given up. Frame 2000 (cut) and the deltas after it are useless without it:
    # dropped, and a keyframe is asked for.
    now[0] = 0.31
    pli, frame = buffer.add(_rtp(15, 5000, True, delta))
    assert (pli, frame) == (True, None) and buffer.given_up == 1
    now[0] = 0.4
    assert buffer.add(_rtp(16, 6000, True, delta)) == (False, None)  # PLI throttled
    now[0] = 0.65
    pli, frame = buffer.add(_rtp(17, 7000, True, delta))
    assert pli and frame is None  # asked again while no keyframe came
    # The keyframe comes: out at once, and what follows it flows again.
    pli, frame = buffer.add(_rtp(18, 8000, False, b"\x00k1"))
    assert frame is None
    pli, frame = buffer.add(_rtp(19, 8000, True, b"k2"))
    assert frame is not None and (frame.data, frame.timestamp) == (b"\x00k1k2", 8000)
    assert buffer.add(_rtp(20, 9000, True, delta))[1].data == delta  # type: ignore[union-attr]


def test_a_packet_that_comes_back_in_time_is_not_given_up_on() -> None:
    now = [0.0]
    buffer = passthrough.MarkerJitterBuffer(capacity=512, is_video=True, clock=lambda: now[0])
    assert buffer.add(_rtp(10, 1000, True, b"\x00key"))[1] is not None
    assert buffer.add(_rtp(12, 2000, True, b"b"))[1] is None
    now[0] = 0.25
    frame = buffer.add(_rtp(11, 2000, False, b"\x01a"))[1]  # the retransmission, in time
    assert frame is not None and frame.data == b"\x01ab" and buffer.given_up == 0


async def test_a_paused_consumer_gets_nothing_the_others_everything_and_resumes_on_a_keyframe() -> (
    None
):
    source = MediaSource("video", "t")
    asked: list[int] = []
    source.set_keyframe_requester(lambda: asked.append(1) is None)
    to_relative, recorder = source.subscribe(), source.subscribe()
    source.publish(_video(key=True))
    to_relative.pause()
    for _ in range(10):
        source.publish(_video(key=False))
    assert to_relative._queue.qsize() == 0 and to_relative.skipped == 11  # queued one too
    assert recorder._queue.qsize() == 11 and recorder.skipped == recorder.dropped == 0
    source._last_keyframe_request = float("-inf")
    to_relative.resume()
    assert asked  # a keyframe is asked for the resumed consumer
    source.publish(_video(key=False))  # mid-GOP: not forwarded
    source.publish(_video(key=True))
    source.publish(_video(key=False))
    packets = [await to_relative.recv(), await to_relative.recv()]
    assert [is_vp8_keyframe(bytes(p)) for p in packets] == [True, False]
    assert to_relative._queue.empty() and recorder._queue.qsize() == 14
