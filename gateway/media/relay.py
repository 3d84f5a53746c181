"""Fan-out of encoded media: one :class:`MediaSource` per leg and kind, any number of consumers.

A source receives the encoded frames (``av.Packet``) of one incoming track, straight from the
receiver (see :mod:`gateway.media.aiortc_passthrough`), and hands the same packet objects to every
consumer: the other leg's sender, and later the recorder and monitoring viewers. Nothing is
decoded or copied. Consumers must not mutate packets. A consumer is a :class:`RelayTrack`
(its own bounded queue, read by a task: the other leg's sender, a monitoring viewer's) or a
:class:`PacketSink` (:meth:`MediaSource.attach`: a function called inside :meth:`publish`, no
queue and no task wake-up per packet: the recorder, which bounds its own backlog).

A track that falls behind is not allowed to grow memory or delay the others: its queue is
bounded; on overflow a video consumer drops what it holds and waits for the next keyframe (which
it asks for), an audio consumer drops its oldest packet. A new video consumer also waits for a
keyframe and asks for one, so that it never starts mid-GOP.

A leg that comes back after a network change is a new peer connection, whose browser starts a
new RTP stream (new SSRC, random timestamps). The source stays the same and keeps its output
timestamps continuous: after :meth:`MediaSource.new_producer`, the first packet is placed where
the wall clock says the stream would be (the gap is time passing), so the other leg's sender
and the recorder see one stream, in sync across the gap.
A consumer can be *paused* (:meth:`RelayTrack.pause`: sound first, when its receiver's link
cannot carry video, see :mod:`gateway.media.quality`): it then drops everything, and on
:meth:`RelayTrack.resume` waits for a keyframe, which it asks for. Only that consumer: the
other leg's, the recorder's and the viewers' keep every packet.
A video consumer can also be *thinned* to fewer temporal layers (:attr:`RelayTrack.layers`,
:mod:`gateway.core.temporal`): the frames of the layers above are not forwarded to it, the
others' untouched. The source counts what each layer weighs (:attr:`MediaSource.layer_bytes`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from gateway.core.temporal import TOP, LayerGate
from gateway.core.vp8 import is_vp8_keyframe
from gateway.media.aiortc_passthrough import layer_of

log = logging.getLogger(__name__)

RTP_WRAP = 1 << 32
KEYFRAME_INTERVAL = 0.5
"""Seconds between two keyframe requests sent to one source: browsers ask often on loss."""

QUEUE_PACKETS = {"audio": 50, "video": 60}
"""Per-consumer backlog (about 1 s of audio, 2 s of video) before dropping."""


class MediaSource:
    def __init__(self, kind: str, name: str) -> None:
        self.kind = kind
        self.name = name
        self.consumers: set[RelayTrack | PacketSink] = set()
        self.packets = 0
        self.bytes = 0
        "Encoded bytes received (for /metrics: the leg's bitrate is its rate)."
        self.layer_bytes = [0] * (TOP + 1)
        "Encoded bytes received per VP8 temporal layer (none counted without layers)."
        self.keyframe_requests = 0
        "Keyframe requests (PLI) actually sent to the leg."
        self.on_media: Callable[[], None] | None = None
        "Called on the first packet, and on the first one after :meth:`expect_media`."
        self._expecting = True
        self._keyframe_requester: Callable[[], bool] | None = None
        self._last_keyframe_request = float("-inf")
        self._pending_keyframe_request = False
        self.ended = False
        self.last_packet_at: float | None = None
        "``time.monotonic()`` of the last packet: how long the leg has been silent."
        self._offset = 0
        self._last_out: int | None = None
        self._rebase = False

    # -- the producing side ---------------------------------------------------------------
    def set_keyframe_requester(self, requester: Callable[[], bool] | None) -> None:
        """How to ask the sender for a keyframe (a PLI on the source leg); False: not yet."""
        self._keyframe_requester = requester
        self._last_keyframe_request = float("-inf")

    def publish(self, packet: av.Packet | None) -> None:
        """Called for each received encoded frame; ``None`` when the incoming track ended."""
        if packet is None:
            return
        now = time.monotonic()
        if packet.pts is not None:
            self._place(packet, now)
        self.last_packet_at = now
        self.packets += 1
        self.bytes += packet.size
        layer = layer_of(packet)
        if layer is not None and layer[0] <= TOP:
            self.layer_bytes[layer[0]] += packet.size
        if self._expecting:
            self._expecting = False
            if self.on_media is not None:
                self.on_media()
        if self._pending_keyframe_request:
            self.request_keyframe()
        for consumer in self.consumers:
            consumer._offer(packet)

    def expect_media(self) -> None:
        """The leg went silent: call ``on_media`` again when its next packet arrives."""
        self._expecting = True

    def new_producer(self) -> None:
        """Packets will come from a new incoming stream (the leg came back): rebase them, and
        let video consumers start again from a keyframe."""
        self._rebase = True
        self._expecting = True
        if self.kind == "video":
            for consumer in self.consumers:
                consumer._waiting_keyframe = True
            self._pending_keyframe_request = True

    def _place(self, packet: av.Packet, now: float) -> None:
        assert packet.pts is not None
        pts = int(packet.pts)
        if self._rebase and self._last_out is not None and self.last_packet_at is not None:
            rate = round(1 / packet.time_base) if packet.time_base else 90000
            expected = self._last_out + max(1, round((now - self.last_packet_at) * rate))
            self._offset = (expected - pts) % RTP_WRAP
        self._rebase = False
        out = (pts + self._offset) % RTP_WRAP
        packet.pts = packet.dts = out
        self._last_out = out

    def end(self) -> None:
        """No more packets will come: every consumer's ``recv`` ends."""
        self.ended = True
        for consumer in list(self.consumers):
            consumer._finish()
        self.consumers.clear()

    # -- the consuming side ---------------------------------------------------------------
    def subscribe(self) -> RelayTrack:
        track = RelayTrack(self)
        self.consumers.add(track)
        if self.ended:
            track._finish()
        elif self.kind == "video":
            self.request_keyframe()
        return track

    def attach(self, deliver: Callable[[av.Packet | None], None]) -> PacketSink:
        """A consumer that takes each packet synchronously, inside :meth:`publish`: no queue and
        no task wake-up per packet (the recorder's way; ``deliver`` must not block). Video
        starts at a keyframe, asked for now; ``deliver(None)`` when the source ends."""
        sink = PacketSink(self, deliver)
        self.consumers.add(sink)
        if self.ended:
            sink._finish()
        elif self.kind == "video":
            self.request_keyframe()
        return sink

    def unsubscribe(self, track: RelayTrack | PacketSink) -> None:
        self.consumers.discard(track)

    def request_keyframe(self) -> None:
        """Ask the sending leg for a keyframe, at most once per :data:`KEYFRAME_INTERVAL`."""
        if self.kind != "video":
            return
        now = asyncio.get_running_loop().time()
        if now - self._last_keyframe_request < KEYFRAME_INTERVAL:
            # Postponed, not dropped: a consumer that joins just after another still gets its
            # keyframe soon (publish() retries pending requests).
            self._pending_keyframe_request = True
            return
        if self._keyframe_requester is not None and self._keyframe_requester():
            self._last_keyframe_request = now
            self.keyframe_requests += 1
            self._pending_keyframe_request = False
        else:
            # No SSRC seen yet: ask as soon as the first packet arrives.
            self._pending_keyframe_request = True


class RelayTrack(MediaStreamTrack):
    """What a consumer reads: the source's packets, with its own bounded backlog."""

    def __init__(self, source: MediaSource) -> None:
        super().__init__()
        self.kind = source.kind
        self.source = source
        self._queue: asyncio.Queue[av.Packet | None] = asyncio.Queue(QUEUE_PACKETS[source.kind])
        self._waiting_keyframe = source.kind == "video"
        self.dropped = 0
        self.paused = False
        self.skipped = 0
        """Packets not forwarded while paused."""
        self.layers = LayerGate()
        """The temporal layers forwarded to this consumer (all but when thinned)."""
        self.thinned = 0
        """Frames not forwarded for their temporal layer."""

    def pause(self) -> None:
        """Forward nothing until :meth:`resume` (what is queued is dropped too)."""
        if not self.paused:
            self.paused = True
            self.skipped += self._queue.qsize()
            self._drain()

    def resume(self) -> None:
        """Forward again, from the next keyframe (asked for now)."""
        if self.paused:
            self.paused = False
            if self.kind == "video":
                self._waiting_keyframe = True
                self.source.request_keyframe()

    def _offer(self, packet: av.Packet) -> None:
        if self.paused:
            self.skipped += 1
            return
        gate = self.layers
        if gate.target < TOP or gate.current < TOP:
            layer = layer_of(packet)
            if layer is not None:
                tid, sync = layer
                keyframe = gate.current < gate.target and is_vp8_keyframe(memoryview(packet))
                if not gate.admit(tid, sync, keyframe):
                    self.thinned += 1
                    return
        if self._waiting_keyframe:
            if not is_vp8_keyframe(memoryview(packet)):
                self.dropped += 1
                return
            self._waiting_keyframe = False
        if self._queue.full():
            if self.kind == "video":
                self.dropped += self._queue.qsize()
                self._drain()
                self._waiting_keyframe = True
                self.source.request_keyframe()
                if not is_vp8_keyframe(memoryview(packet)):
                    self.dropped += 1
                    return
                self._waiting_keyframe = False
            else:
                self._queue.get_nowait()
                self.dropped += 1
        self._queue.put_nowait(packet)

    def _drain(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    def _finish(self) -> None:
        self._drain()
        self._queue.put_nowait(None)

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self._queue.get()
        if packet is None:
            self.stop()
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        super().stop()
        self.source.unsubscribe(self)


class PacketSink:
    """A consumer called synchronously with each packet (:meth:`MediaSource.attach`). It is
    never paused nor thinned, and bounds nothing itself: what it keeps is its own business."""

    def __init__(self, source: MediaSource, deliver: Callable[[av.Packet | None], None]) -> None:
        self.source = source
        self.kind = source.kind
        self._deliver = deliver
        self._waiting_keyframe = source.kind == "video"
        self.dropped = 0
        self._stopped = False

    def _offer(self, packet: av.Packet) -> None:
        if self._waiting_keyframe:
            if not is_vp8_keyframe(memoryview(packet)):
                self.dropped += 1
                return
            self._waiting_keyframe = False
        self._deliver(packet)

    def _finish(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._deliver(None)

    def stop(self) -> None:
        self._stopped = True
        self.source.unsubscribe(self)
