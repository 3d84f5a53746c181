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
* **Bandwidth follows the weakest receiver** (:mod:`gateway.media.quality` decides with
  :mod:`gateway.core.bandwidth`). What a receiving browser reports reaches the gateway's sender
  for that leg: ``RTCRtpSender._handle_rtcp_packet`` parses its REMB and sets
  ``target_bitrate`` on the sender's encoder, which here is the :class:`Packer` (it keeps it);
  its receiver reports' ``fraction_lost`` are read by a per-sender wrapper of that method,
  which also copies aiortc's round-trip estimate (``RTCRtpSender.__rtt``) for /metrics.
  Upstream, the REMB that the gateway's receiver sends to the sending browser (aiortc's
  delay-based estimate, through ``RTCRtpReceiver._send_rtcp``) is rewritten by
  :class:`UpstreamRate` to ``min(aiortc's estimate, cap)``, and sent also when aiortc would
  not. This is Janus VideoCall's way rather than ``RTCRtpSender.setParameters({maxBitrate})``
  in the page: it needs no cooperation from the page (a reloaded or older page, a browser
  that ignores the parameter), and the sending browser's congestion controller takes a REMB
  as an upper bound at once, within one RTCP interval, with no signaling round trip. The
  audio receiver's RRs carry the receiving side's loss upstream too (the larger of the two,
  the far one clamped by :mod:`gateway.media.quality`), so that the sending browser's Opus
  turns its in-band FEC on when the far end loses.
* **Temporal layers**: aiortc's VP8 depayloader drops the payload descriptor; the
  :class:`MarkerJitterBuffer` reads each frame's temporal layer and layer-sync bit from its
  first packet (:func:`gateway.core.vp8.vp8_layer`) and :func:`to_packet` keeps them in the
  ``av.Packet``'s ``opaque`` (:func:`layer_of`), for the relay to thin a weak receiver's video
  (:mod:`gateway.core.temporal`). The :class:`Packer` numbers the frames it is given, so a
  thinned stream has contiguous sequence numbers and PictureIDs, and no temporal layer.
* **Pacing** toward a weak receiver: the relay forwards each frame's packets as they come,
  so a keyframe leaves in one burst of tens of packets, which a small mobile buffer in front of
  a 400 kbit/s link mostly drops (measured: ~2 s of freezes at every drop of the cap).
  :func:`pace_sender` puts a :class:`PacedSender` between a video sender and its
  ``RTCDtlsTransport`` (``RTCRtpSender.__transport``): that sender's own RTP packets then leave
  at most at :attr:`PacedSender.rate`, as a browser's pacer does (its RTCP and retransmissions,
  sent from the transport's receive loop, are never held).
* **Opus in-band FEC**: aiortc's answer has no ``useinbandfec=1``, so browsers would neither
  send FEC to the gateway nor expect it; :func:`enable_opus_fec` adds it to the negotiated
  Opus parameters (``RTCRtpTransceiver._codecs``) between the offer and the answer.
* **A lost packet is given up on**: aiortc's jitter buffer waits for a missing packet until
  512 more have come (seconds of frozen video, aiortc PR #1418); :class:`MarkerJitterBuffer`
  gives up after :data:`GIVE_UP_AFTER`, drops to the next keyframe and asks for one.
* **Sound is forwarded as it comes**: aiortc's audio jitter buffer (capacity 16, prefetch 4)
  holds each packet until four more have come, 80 ms on every hop through the gateway, and
  after one lost packet it waits for the buffer to overflow, drops five packets and from then
  on stays 14 packets (280 ms) behind for the rest of the call, the sound late against the
  picture. The gateway decodes nothing and the far browser has its own jitter buffer, so an
  audio receiver's buffer is swapped for a :class:`SoundPassThrough`, which releases each
  packet on arrival (duplicates dropped).
* **ICE host addresses**: ``aioice.ice.get_host_addresses`` is wrapped so that the gateway can
  restrict its host candidates (e.g. to loopback in tests).
* **Fewer layers per received packet** (CPU only, same behaviour): see
  :mod:`gateway.media.aiortc_fastpath`, installed with the rest.

These are private names. :func:`check_compatibility` asserts each of them exists with the shape
we use, and the test-suite calls it, so an aiortc upgrade that moves them fails loudly.
"""

from __future__ import annotations

import asyncio
import collections
import fractions
import functools
import inspect
import queue
import time
from collections.abc import Callable
from typing import Any

import aioice.ice
import av
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc import rtcrtpreceiver as _receiver_mod
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
    unpack_remb_fci,
)

from gateway.core.vp8 import is_vp8_keyframe, vp8_layer
from gateway.media import aiortc_fastpath

VIDEO_CLOCK = 90000
AUDIO_CLOCK = 48000

GIVE_UP_AFTER = 0.3
"""Seconds a video frame may wait for a missing packet (NACK/RTX answer within one RTT)."""
NO_LIMIT_BPS = 10_000_000
"""The REMB that lifts a cap we set (above what a browser sends for one 640x480 stream)."""

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


@functools.cache
def _time_base(clock_rate: int) -> fractions.Fraction:
    return fractions.Fraction(1, clock_rate)  # one per clock rate, not one per frame


def to_packet(codec: RTCRtpCodecParameters, frame: JitterFrame) -> av.Packet:
    """Wrap a reassembled RTP frame as an ``av.Packet`` (pts in the codec's RTP clock); a VP8
    frame's temporal layer, if its sender told it, goes in ``opaque`` (see :func:`layer_of`)."""
    packet = av.Packet(frame.data)
    packet.pts = frame.timestamp
    packet.dts = frame.timestamp
    packet.time_base = _time_base(codec.clockRate)
    layer = getattr(frame, "layer", None)
    if layer is not None:
        packet.opaque = layer
    return packet


def layer_of(packet: av.Packet) -> tuple[int, bool] | None:
    """What :func:`to_packet` found of ``packet``'s temporal layer: (TID, layer sync)."""
    layer = packet.opaque
    return layer if isinstance(layer, tuple) else None


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
    A missing packet (the first hole after the origin) that is not in after ``give_up_after``
    seconds is given up on (aiortc would wait until the 512-packet buffer overflows): the
    packets before it and the frame it cuts are dropped, every frame until the next keyframe
    is dropped too (VP8 inter frames need the lost one, and the gateway's packer renumbers
    pictures, so the browser could not tell), and a PLI is asked (``pli_flag``), again every
    ``give_up_after`` while no keyframe came.
    Padding-only packets (no payload: a browser's bandwidth probes when RTX is not negotiated)
    that follow a released frame are dropped with the next frame, as aiortc appends them to
    the frame before, rather than released as an empty frame.
    """

    def __init__(
        self,
        capacity: int,
        prefetch: int = 0,
        is_video: bool = False,
        give_up_after: float = GIVE_UP_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(capacity, prefetch, is_video)
        self._give_up_after = give_up_after
        self._clock = clock
        self._hole: int | None = None  # sequence number of the hole being waited for
        self._hole_since = 0.0
        self._need_keyframe = False
        self._last_pli = float("-inf")
        self._newest: int | None = None  # the furthest sequence number seen (mod 2^16)
        self.given_up = 0
        """Packets given up on (for the tests and the stats)."""

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        pli, frame = super().add(packet)
        seq = packet.sequence_number
        if self._newest is None or 0 < (seq - self._newest) & 0xFFFF < 0x8000:
            self._newest = seq
        now = self._clock()
        if frame is None:
            hole = self._first_hole()
            if hole is None or hole != self._hole:
                self._hole, self._hole_since = hole, now
            elif now - self._hole_since >= self._give_up_after:
                self._skip_hole(hole)
                self._need_keyframe = True
                self._last_pli = float("-inf")
                frame = self._remove_frame(packet.sequence_number)
        else:
            self._hole = None
        while frame is not None and self._need_keyframe and not is_vp8_keyframe(frame.data):
            frame = self._remove_frame(packet.sequence_number)  # useless without the lost one
        if frame is not None and self._need_keyframe:
            self._need_keyframe = False
        if self._need_keyframe and now - self._last_pli >= self._give_up_after:
            self._last_pli = now
            pli = True
        return pli, frame

    def _first_hole(self) -> int | None:
        """The first missing sequence number with a packet after it, None if no hole."""
        origin = self._origin
        if origin is None:
            return None
        hole = None
        # Every packet held lies between the origin and the newest one: look no further (this
        # runs for most packets, and the buffer holds 512 slots).
        span = self._capacity if self._newest is None else ((self._newest - origin) & 0xFFFF) + 1
        for count in range(min(span, self._capacity)):
            packet = self._packets[(origin + count) % self._capacity]
            if packet is None:
                if hole is None:
                    hole = count
            elif hole is not None:
                return (origin + hole) & 0xFFFF
        return None

    def _skip_hole(self, hole: int) -> None:
        """Drop everything up to the hole, then the frame after it (it may miss its start),
        and any frame that follows another hole: the origin ends on a frame's first packet,
        or just after the newest packet."""
        assert self._origin is not None
        slots = [self._packets[(self._origin + i) % self._capacity] for i in range(self._capacity)]
        last = max(i for i, p in enumerate(slots) if p is not None)
        skip = (hole - self._origin) & 0xFFFF
        timestamp = None
        while skip <= last:
            packet = slots[skip]
            if packet is not None:
                contiguous = skip > 0 and slots[skip - 1] is not None
                if timestamp is not None and packet.timestamp != timestamp and contiguous:
                    break  # a new frame, whole from its first packet
                timestamp = packet.timestamp
            skip += 1
        self.given_up += sum(1 for p in slots[:skip] if p is None)
        self.remove(skip)
        self._hole = None

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
        frame = JitterFrame(data=b"".join(p._data for p in packets), timestamp=timestamp)  # type: ignore[attr-defined]
        frame.layer = vp8_layer(packets[0].payload)  # type: ignore[attr-defined]
        return frame


class SoundPassThrough(JitterBuffer):
    """Stands in for an audio receiver's jitter buffer: each packet is released as it comes.

    Order and gaps are the network's: the far browser's jitter buffer places packets by their
    timestamps (the gateway's sender numbers them anew) and conceals what is missing. Dropped:
    a packet seen among the last :data:`RECENT` sequence numbers (a duplicate) and one with no
    payload (padding).
    """

    RECENT = 64

    def __init__(self) -> None:
        super().__init__(capacity=16, prefetch=0, is_video=False)
        self._recent: collections.deque[int] = collections.deque()
        self._seen: set[int] = set()  # what _recent holds, for a lookup without a scan
        self.duplicates = 0

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        if not packet._data:  # type: ignore[attr-defined]
            return False, None  # padding only: nothing to play
        seq = packet.sequence_number
        if seq in self._seen:
            self.duplicates += 1
            return False, None
        if len(self._recent) == self.RECENT:
            self._seen.discard(self._recent.popleft())
        self._recent.append(seq)
        self._seen.add(seq)
        return False, JitterFrame(data=packet._data, timestamp=packet.timestamp)  # type: ignore[attr-defined]


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
    if buffer._origin is None and type(buffer) is JitterBuffer:  # aiortc's, not yet used
        receiver._RTCRtpReceiver__jitter_buffer = (  # type: ignore[attr-defined]
            MarkerJitterBuffer(capacity=buffer.capacity, is_video=True)
            if buffer._is_video
            else SoundPassThrough()
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
    """A sender 'encoder' that only packetizes already-encoded packets.

    It also keeps what the receiving browser reports to this sender: its REMB (aiortc's
    ``_handle_rtcp_packet`` sets ``target_bitrate`` on the encoder) and, through
    :func:`attach_sender`, the loss fraction of its receiver reports.
    """

    def __init__(self, kind: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.kind = kind
        self._vp8 = Vp8Encoder.__new__(Vp8Encoder)  # no codec context is created
        self._vp8.picture_id = 0
        self._clock = clock
        self.remb: int | None = None
        self.remb_at = float("-inf")
        self.loss: float | None = None
        self.packets_lost = 0
        self.highest = 0
        self.reports = 0
        """Receiver reports seen: the adapter feeds only new ones to the rule."""
        self.bytes_packed = 0
        """Payload bytes sent (what this receiver is sent, for its rate)."""
        self.frames_packed = 0
        """Frames sent to this receiver (for /metrics: its rate is the fps it is sent)."""
        self.rtt: float | None = None
        """Round trip to the receiving browser in seconds, aiortc's (from its receiver reports'
        LSR/DLSR), copied at each report; None before the first that answers a sender report."""

    @property
    def target_bitrate(self) -> int | None:
        return self.remb

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        self.remb = int(bitrate)
        self.remb_at = self._clock()

    def fresh_remb(self, max_age: float) -> int | None:
        return self.remb if self._clock() - self.remb_at <= max_age else None

    def report(self, fraction_lost: int, packets_lost: int = 0, highest: int = 0) -> None:
        """One report block for this sender: the fraction lost since the receiver's previous
        report, and its cumulative counters (lost, extended highest sequence number)."""
        self.loss = fraction_lost / 256
        self.packets_lost = packets_lost
        self.highest = highest
        self.reports += 1

    def encode(self, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        raise RuntimeError("Parloir's relay never encodes")

    def pack(self, packet: av.Packet) -> tuple[list[bytes], int | None]:
        self.bytes_packed += packet.size
        self.frames_packed += 1
        if self.kind == "video":
            return self._vp8.pack(packet)
        # Opus: one packet per RTP payload, timestamp in the 48 kHz clock.
        assert packet.pts is not None
        return [bytes(packet)], int(packet.pts * packet.time_base * AUDIO_CLOCK)


def attach_sender(sender: RTCRtpSender, on_keyframe_request: Callable[[], None]) -> Packer:
    """Fit ``sender`` with a packer (no encoder) and route PLI/FIR to ``on_keyframe_request``.

    The packer collects the receiving browser's REMB and receiver-report loss for this sender.
    """
    packer = Packer(sender.kind)
    sender._RTCRtpSender__encoder = packer  # type: ignore[attr-defined]
    sender._send_keyframe = on_keyframe_request  # type: ignore[method-assign]
    handle = sender._handle_rtcp_packet

    async def handle_rtcp(packet: Any) -> None:
        reports = isinstance(packet, RtcpRrPacket | RtcpSrPacket)
        if reports:
            for block in packet.reports:
                if block.ssrc == sender._ssrc:
                    packer.report(block.fraction_lost, block.packets_lost, block.highest_sequence)
        await handle(packet)
        if reports:  # aiortc has just updated its estimate from the blocks' LSR/DLSR
            packer.rtt = sender._RTCRtpSender__rtt  # type: ignore[attr-defined]

    sender._handle_rtcp_packet = handle_rtcp  # type: ignore[method-assign]
    return packer


def sender_feedback(sender: RTCRtpSender) -> Packer | None:
    """The packer :func:`attach_sender` fitted (None if the sender has none)."""
    encoder = getattr(sender, "_RTCRtpSender__encoder", None)
    return encoder if isinstance(encoder, Packer) else None


class UpstreamRate:
    """What the gateway's receiver tells the sending browser about the path's capacity.

    Wraps the receiver's ``_send_rtcp``: aiortc's REMB (its own delay-based estimate, kept as
    :attr:`own`) goes out as ``min(own, cap)``; the receiver reports' ``fraction_lost`` goes
    out as the larger of the gateway's and :attr:`forward_loss` (the far receiver's). Between
    aiortc's REMBs, :meth:`announce` sends one itself, so that a cap set or lifted takes effect
    at once.
    """

    def __init__(self, receiver: RTCRtpReceiver) -> None:
        self.receiver = receiver
        self.own: int | None = None
        self.cap: int | None = None
        self.forward_loss = 0.0
        self.sent: int | None = None
        """The last REMB value sent to the browser (ours or aiortc's rewritten)."""
        self.trust_own = True
        """False while the gateway's own loop is overloaded: aiortc's delay-based estimate then
        measures the loop's lateness, not the path's, and would tell the browser a few tens of
        kbit/s (measured); :attr:`cap` alone is sent (gateway/core/overload.py)."""
        self._capped = False
        self._send = receiver._send_rtcp

        async def send_rtcp(packet: Any) -> None:
            if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                try:
                    bitrate, ssrcs = unpack_remb_fci(packet.fci)
                except ValueError:
                    pass
                else:
                    self.own = bitrate
                    value = self._bounded(bitrate)
                    packet.fci = pack_remb_fci(value, ssrcs)
                    self.sent = value
            elif isinstance(packet, RtcpRrPacket) and self.forward_loss > 0:
                far = min(255, int(self.forward_loss * 256))
                for block in packet.reports:
                    block.fraction_lost = max(block.fraction_lost, far)
            await self._send(packet)

        receiver._send_rtcp = send_rtcp  # type: ignore[method-assign]

    def _bounded(self, own: int) -> int:
        if self.cap is None:
            return own
        return min(own, self.cap) if self.trust_own else self.cap

    def value(self) -> int | None:
        """The REMB to announce now; None: leave it to aiortc (no cap was ever set)."""
        if self.cap is not None:
            self._capped = True
            return self.cap if self.own is None else self._bounded(self.own)
        if self._capped:
            return self.own if self.own is not None else NO_LIMIT_BPS
        return None

    async def announce(self) -> bool:
        """Send a REMB of :meth:`value` for the SSRCs being received; False if nothing sent."""
        value = self.value()
        rtcp_ssrc = self.receiver._RTCRtpReceiver__rtcp_ssrc  # type: ignore[attr-defined]
        ssrcs = [source.source for source in self.receiver.getSynchronizationSources()]
        if value is None or rtcp_ssrc is None or not ssrcs:
            return False
        packet = RtcpPsfbPacket(
            fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(value, ssrcs)
        )
        self.sent = value
        await self._send(packet)
        return True


class PacedSender:
    """Stands in for a video sender's transport: its media packets leave at most at ``rate``.

    Only packets of the sender's own SSRC are paced; they are sent by the sender's RTP task
    alone, which the pacing therefore slows down (its relay track's bounded queue does the
    rest). Everything else is the transport's.
    """

    def __init__(
        self, sender: RTCRtpSender, transport: Any, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._sender = sender
        self._transport = transport
        self._clock = clock
        self.rate: float | None = None
        """Bit/s, None: not paced."""
        self.burst_bits = 3 * 1200 * 8
        self._tokens = float(self.burst_bits)
        self._last = clock()
        self.delayed = 0.0
        """Seconds the sender was held, in all (for the stats)."""
        self.first_sequence: int | None = None
        """After :meth:`mark_next`, the sequence number of the sender's next packet."""
        self._marking = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def mark_next(self) -> None:
        """Note the sequence number of the sender's next packet in :attr:`first_sequence`."""
        self.first_sequence = None
        self._marking = True

    async def _send_rtp(self, data: bytes) -> None:
        rate = self.rate
        if (
            (rate or self._marking)
            and len(data) >= 12
            and not 200 <= data[1] <= 206  # RTP, not RTCP
            and int.from_bytes(data[8:12], "big") == self._sender._ssrc
        ):
            if self._marking:
                self.first_sequence = int.from_bytes(data[2:4], "big")
                self._marking = False
            if rate:
                now = self._clock()
                self._tokens = min(self.burst_bits, self._tokens + (now - self._last) * rate)
                self._last = now
                self._tokens -= len(data) * 8
                if self._tokens < 0:
                    wait = -self._tokens / rate
                    self.delayed += wait
                    await asyncio.sleep(wait)
        await self._transport._send_rtp(data)


def pace_sender(sender: RTCRtpSender) -> PacedSender:
    """Fit ``sender`` with a :class:`PacedSender` (idempotent); after its transport is final
    (``setRemoteDescription`` bundles the transports)."""
    current = sender._RTCRtpSender__transport  # type: ignore[attr-defined]
    if isinstance(current, PacedSender):
        return current
    paced = PacedSender(sender, current)
    sender._RTCRtpSender__transport = paced  # type: ignore[attr-defined]
    return paced


def enable_opus_fec(transceiver: RTCRtpTransceiver) -> bool:
    """Signal ``useinbandfec=1`` for Opus in the answer (RFC 7587 §6.1): the browsers then
    put in-band FEC in their Opus when they see loss, and decode it. Call between
    ``setRemoteDescription`` and ``createAnswer``. True if an Opus codec was found."""
    found = False
    for codec in transceiver._codecs:
        if codec.mimeType.lower() == "audio/opus":
            codec.parameters["useinbandfec"] = 1
            found = True
    return found


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
        "self.__jitter_buffer = JitterBuffer(capacity=16, prefetch=4)",
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
    for needle in (
        "self.__encoder.target_bitrate = bitrate",
        'hasattr(self.__encoder, "target_bitrate")',
        "unpack_remb_fci(packet.fci)",
        "self.__encoder = None",
        "self.__rtt = rtt",
    ):
        if needle not in sender_src:
            problems.append(f"RTCRtpSender no longer contains {needle!r}")
    if "_handle_rtcp_packet" not in vars(RTCRtpSender) or "_send_rtcp" not in vars(RTCRtpReceiver):
        problems.append("RTCRtpSender._handle_rtcp_packet / RTCRtpReceiver._send_rtcp missing")
    for needle in (
        "await self._send_rtcp(rtcp_packet)",
        "fci=pack_remb_fci(*remb)",
        "await self._send_rtcp(packet)",
        "self.__rtcp_ssrc: Optional[int] = None",
        "fraction_lost=stream.fraction_lost",
    ):
        if needle not in src:
            problems.append(f"RTCRtpReceiver no longer contains {needle!r}")
    for needle in (
        "self.__transport = transport",
        "await self.transport._send_rtp(packet_bytes)",
        "return self.__transport",
    ):
        if needle not in sender_src:
            problems.append(f"RTCRtpSender no longer contains {needle!r}")
    for name in ("ssrc", "fraction_lost", "packets_lost", "highest_sequence"):
        if name not in inspect.signature(RtcpReceiverInfo).parameters:
            problems.append(f"RtcpReceiverInfo has no {name}")
    if list(inspect.signature(pack_remb_fci).parameters) != ["bitrate", "ssrcs"]:
        problems.append("pack_remb_fci(bitrate, ssrcs) changed")
    from aiortc import rtcpeerconnection as _pc_mod

    pc_src = inspect.getsource(_pc_mod)
    for needle in ("transceiver._codecs = common", "codecs=transceiver._codecs"):
        if needle not in pc_src:
            problems.append(f"rtcpeerconnection no longer contains {needle!r}")
    if "self._codecs: list[RTCRtpCodecParameters] = []" not in inspect.getsource(
        RTCRtpTransceiver.__init__
    ):
        problems.append("RTCRtpTransceiver has no _codecs")
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
    problems += aiortc_fastpath.check_compatibility()
    if problems:
        raise RuntimeError("aiortc internals changed: " + "; ".join(problems))


def install() -> None:
    """Install the module-level hooks (idempotent). Call once at start-up."""
    check_compatibility()
    _receiver_mod.decoder_worker = _decoder_worker
    aioice.ice.get_host_addresses = _get_host_addresses
    aiortc_fastpath.install()
