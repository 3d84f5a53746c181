"""Everything Parloir relies on inside aiortc, in one place.

Theory of operation
-------------------
aiortc decodes every received frame in a thread (``rtcrtpreceiver.decoder_worker``) and encodes
every sent frame (``RTCRtpSender._next_encoded_frame`` calls the encoder unless the track yields an
``av.Packet``). The gateway only forwards, so:

* **Receiving**: after ``setRemoteDescription`` and before the transport starts, each receiver's
  private decoder queue is swapped for a :class:`PacketSink`. ``_handle_rtp_packet`` then hands
  every reassembled frame to the sink on the event loop, which wraps it as an ``av.Packet``
  (no decoding) and gives it to a callback. The decoder thread that ``receive()`` starts sees a
  ``PacketSink`` and returns at once, so no decoder is ever created.
* **Video frames on the marker bit**: at the same time, a video receiver's jitter buffer is
  swapped for a :class:`MarkerJitterBuffer`, which releases a frame as soon as its last packet
  (RTP marker bit) is in, where aiortc's waits for the next frame's first packet (one frame
  interval, 33 ms at 30 fps, on every hop through an aiortc receiver).
* **Sending**: each sender's private encoder is preset to a :class:`Packer`, which only
  packetizes the packets a relay track yields (``pack``) and refuses to ``encode``.
* **Keyframes**: a receiving browser's PLI/FIR reaches ``sender._send_keyframe``, which is
  replaced per sender by a callback; the relay turns it into a throttled PLI on the source leg
  with ``receiver._send_rtcp_pli``.
* **ICE host addresses**: ``aioice.ice.get_host_addresses`` is wrapped so that the gateway can
  restrict its host candidates (e.g. to loopback in tests).

These are private names. :func:`check_compatibility` asserts each of them exists with the shape
we use, and the test-suite calls it, so an aiortc upgrade that moves them fails loudly.
"""

from __future__ import annotations

import asyncio
import fractions
import inspect
import queue
from collections.abc import Callable
from typing import Any

import aioice.ice
import av
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc import rtcrtpreceiver as _receiver_mod
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

VIDEO_CLOCK = 90000
AUDIO_CLOCK = 48000

PacketCallback = Callable[[av.Packet | None], None]
"""Called with each received encoded frame as an ``av.Packet``; ``None`` when the source ends."""


class PacketSink(queue.Queue):  # type: ignore[type-arg]
    """Stands in for a receiver's decoder queue: frames go to a callback, undecoded.

    ``put`` is called by ``RTCRtpReceiver._handle_rtp_packet`` on the event loop with
    ``(codec, JitterFrame)``, or with ``None`` when the receiver stops.
    """

    def __init__(self, on_packet: PacketCallback, end_track: Callable[[], None]) -> None:
        super().__init__()
        self._on_packet = on_packet
        self._end_track = end_track
        self._ended = False

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            if not self._ended:
                self._ended = True
                self._on_packet(None)
                self._end_track()
            return
        codec, frame = item
        self._on_packet(to_packet(codec, frame))


def to_packet(codec: RTCRtpCodecParameters, frame: JitterFrame) -> av.Packet:
    """Wrap a reassembled RTP frame as an ``av.Packet`` (pts in the codec's RTP clock)."""
    packet = av.Packet(frame.data)
    packet.pts = frame.timestamp
    packet.dts = frame.timestamp
    packet.time_base = fractions.Fraction(1, codec.clockRate)
    return packet


def is_vp8_keyframe(data: bytes | memoryview) -> bool:
    """RFC 6386 §9.1: bit 0 of the first byte is 0 for a key frame."""
    return len(data) > 0 and (data[0] & 0x01) == 0


class MarkerJitterBuffer(JitterBuffer):
    """aiortc's video jitter buffer, releasing each frame as soon as it is complete.

    aiortc releases a frame when a packet with another timestamp follows it without a gap, that
    is when the next frame's first packet arrives. A frame is also complete when its packets,
    contiguous from the buffer's origin and sharing one timestamp, end with the RTP marker bit,
    which a video sender sets on a frame's last packet (RFC 3550 5.1, RFC 7741 4.1; aiortc's
    and browsers' senders do). Only the release test (``_remove_frame``) is replaced; the
    sequence bookkeeping, reordering, loss handling (capacity, ``smart_remove``, PLI) are
    aiortc's, and a frame whose marker never comes is still released on the timestamp change.
    Like aiortc's (with ``prefetch=0``, its video setting), one ``add`` releases one frame.
    Padding-only packets (no payload: a browser's bandwidth probes when RTX is not negotiated)
    that follow a released frame are dropped with the next frame, as aiortc appends them to
    the frame before, rather than released as an empty frame.
    """

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        origin = self._origin
        if origin is None:
            return None
        packets: list[RtpPacket] = []
        padding = 0
        timestamp = 0
        for count in range(self._capacity):
            packet = self._packets[(origin + count) % self._capacity]
            if packet is None:
                return None  # a gap: wait for it (NACK) or for the loss handling
            if not packets:
                if not packet._data:  # type: ignore[attr-defined]
                    padding += 1
                    continue
                timestamp = packet.timestamp
            elif packet.timestamp != timestamp:
                break  # the next frame began: this one is complete, marker or not
            packets.append(packet)
            if packet.marker:
                break
        else:
            return None
        self.remove(padding + len(packets))
        return JitterFrame(data=b"".join(p._data for p in packets), timestamp=timestamp)  # type: ignore[attr-defined]


_original_decoder_worker = _receiver_mod.decoder_worker


def _decoder_worker(loop: Any, input_q: Any, output_q: Any, decode_error: Any) -> None:
    """Replaces aiortc's worker: a receiver fitted with a PacketSink never decodes."""
    if isinstance(input_q, PacketSink):
        return
    _original_decoder_worker(loop, input_q, output_q, decode_error)


def attach_receiver(receiver: RTCRtpReceiver, on_packet: PacketCallback) -> None:
    """Make ``receiver`` hand encoded frames to ``on_packet`` instead of decoding them.

    Must be called before the receiver starts (after ``setRemoteDescription``, before the
    connection is up), which is when aiortc reads the queue.
    """
    track = receiver.track

    def end_track() -> None:
        track._queue.put_nowait(None)

    receiver._RTCRtpReceiver__decoder_queue = PacketSink(on_packet, end_track)  # type: ignore[attr-defined]
    buffer = receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
    if buffer._is_video and buffer._origin is None and type(buffer) is JitterBuffer:
        receiver._RTCRtpReceiver__jitter_buffer = MarkerJitterBuffer(  # type: ignore[attr-defined]
            capacity=buffer.capacity, is_video=True
        )


def request_keyframe(receiver: RTCRtpReceiver) -> bool:
    """Send a PLI for every SSRC the receiver is receiving; False if none yet."""
    sources = receiver.getSynchronizationSources()
    if not sources:
        return False
    for source in sources:
        asyncio.ensure_future(receiver._send_rtcp_pli(source.source))
    return True


class Packer:
    """A sender 'encoder' that only packetizes already-encoded packets."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._vp8 = Vp8Encoder.__new__(Vp8Encoder)  # no codec context is created
        self._vp8.picture_id = 0

    def encode(self, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        raise RuntimeError("Parloir's relay never encodes")

    def pack(self, packet: av.Packet) -> tuple[list[bytes], int | None]:
        if self.kind == "video":
            return self._vp8.pack(packet)
        # Opus: one packet per RTP payload, timestamp in the 48 kHz clock.
        assert packet.pts is not None
        return [bytes(packet)], int(packet.pts * packet.time_base * AUDIO_CLOCK)


def attach_sender(sender: RTCRtpSender, on_keyframe_request: Callable[[], None]) -> None:
    """Fit ``sender`` with a packer (no encoder) and route PLI/FIR to ``on_keyframe_request``."""
    sender._RTCRtpSender__encoder = Packer(sender.kind)  # type: ignore[attr-defined]
    sender._send_keyframe = on_keyframe_request  # type: ignore[method-assign]


_original_get_host_addresses = aioice.ice.get_host_addresses
_host_addresses: list[str] | None = None


def _get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    if _host_addresses is not None:
        return list(_host_addresses)
    return _original_get_host_addresses(use_ipv4, use_ipv6)


def restrict_host_addresses(addresses: list[str] | None) -> None:
    """Gather ICE host candidates only on ``addresses`` (None: every interface, aioice's way)."""
    global _host_addresses
    _host_addresses = list(addresses) if addresses else None


def check_compatibility() -> None:
    """Fail loudly if aiortc no longer has the internals this module relies on."""
    problems: list[str] = []
    params = list(inspect.signature(_original_decoder_worker).parameters)
    if params != ["loop", "input_q", "output_q", "decode_error"]:
        problems.append(f"rtcrtpreceiver.decoder_worker signature changed: {params}")
    src = inspect.getsource(RTCRtpReceiver)
    for needle in (
        "self.__decoder_queue.put((codec, encoded_frame))",
        "target=decoder_worker",
        "def _send_rtcp_pli(self, media_ssrc",
        "self.__decoder_queue.put(None)",
    ):
        if needle not in src:
            problems.append(f"RTCRtpReceiver no longer contains {needle!r}")
    sender_src = inspect.getsource(RTCRtpSender)
    for needle in (
        "if self.__encoder is None:",
        "payloads, timestamp = self.__encoder.pack(data)",
        "self._send_keyframe()",
    ):
        if needle not in sender_src:
            problems.append(f"RTCRtpSender no longer contains {needle!r}")
    for needle in (
        "self.__jitter_buffer = JitterBuffer(capacity=512, is_video=True)",
        "packet._data = depayload(codec, packet.payload)",
        "pli_flag, encoded_frame = self.__jitter_buffer.add(packet)",
    ):
        if needle not in src:
            problems.append(f"RTCRtpReceiver no longer contains {needle!r}")
    if "return pli_flag, self._remove_frame(packet.sequence_number)" not in inspect.getsource(
        JitterBuffer.add
    ):
        problems.append("JitterBuffer.add no longer releases frames through _remove_frame")
    fresh = JitterBuffer(capacity=512, is_video=True)
    for name in ("_origin", "_packets", "_capacity", "_prefetch", "_is_video", "remove"):
        if not hasattr(fresh, name):
            problems.append(f"JitterBuffer has no {name}")
    if getattr(fresh, "_prefetch", None) != 0 or getattr(fresh, "_origin", 0) is not None:
        problems.append("JitterBuffer's video defaults changed (prefetch 0, no origin)")
    if "marker" not in inspect.signature(RtpPacket).parameters:
        problems.append("RtpPacket has no marker")
    if list(inspect.signature(JitterFrame).parameters) != ["data", "timestamp"]:
        problems.append("JitterFrame(data, timestamp) changed")
    if not hasattr(Vp8Encoder, "pack") or not hasattr(Vp8Encoder, "_packetize"):
        problems.append("Vp8Encoder.pack/_packetize missing")
    if list(inspect.signature(_original_get_host_addresses).parameters) != [
        "use_ipv4",
        "use_ipv6",
    ]:
        problems.append("aioice.ice.get_host_addresses signature changed")
    if problems:
        raise RuntimeError("aiortc internals changed: " + "; ".join(problems))


def install() -> None:
    """Install the module-level hooks (idempotent). Call once at start-up."""
    check_compatibility()
    _receiver_mod.decoder_worker = _decoder_worker
    aioice.ice.get_host_addresses = _get_host_addresses
