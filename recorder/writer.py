"""The recorder: muxes the encoded packets the relay already forwards into WebM, one file per side.

Theory of operation
-------------------
* **No transcoding.** The recorder is one more consumer of the call's media sources (the
  relay's ``MediaSource``, seen here as a :class:`PacketSource`): it receives the same
  ``av.Packet`` objects as the other leg's sender, synchronously as each is published (no queue
  and no task wake-up per packet: with them, recording cost about 0.6 CPU-s per call-minute,
  without them about 0.2; README, *Closing the gap*), and hands their bytes to the WebM muxer
  through PyAV streams that have no codec context at all (``add_mux_stream``), so no encoder or
  decoder can exist.
* **One file per side**: ``kiosk.webm`` and ``relative.webm``, each with that side's VP8 video
  and Opus audio. A file is opened when its side's first video keyframe arrives (the muxer needs
  the picture size, which a VP8 keyframe carries); a new consumer asks for a keyframe. A side
  that sends no picture at all (the relative chose sound only from the start) gets its file
  once :data:`EARLY_AUDIO` packets of sound wait, sized :data:`PLACEHOLDER_SIZE`; a stretch
  with the camera off is simply a stretch without video packets.
* **Timestamps on one clock.** Each stream's first packet is placed at its arrival time on the
  call's recording clock (milliseconds since the recording started); later packets follow their
  RTP timestamps from there. Both files therefore share a time line: a player that starts them
  together plays them in sync, to within the network jitter of each stream's first packet.
* **Never slows the call.** Packets go to one writer thread per call; the event loop never
  touches the disk. They are handed over in batches: the event loop collects a call's packets
  for :data:`HAND_OVER_INTERVAL` (50 ms) and then queues them as one list, so the writer thread
  is woken about 20 times a second per call instead of once per packet (about 160 times: the
  wake-ups, ``Condition.notify``, were the recorder's main cost). What waits, collected or
  queued, is bounded (:data:`QUEUE_LIMIT` packets): if the disk cannot keep up (or fails), the
  recording is abandoned with an alert (``on_failure``) and the call goes on.
* **Readable after a crash.** The muxer writes a cluster at least every second and flushes it
  to the file at once (the WebM muxer holds a cluster's packets in memory until the cluster
  ends), so a killed process leaves files that decode up to their last second or so: it loses
  the open cluster (at most about a second) plus the packets still collected or queued in
  memory (at most :data:`HAND_OVER_INTERVAL`, plus whatever the writer had not yet written).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple, Protocol

import av

from gateway.core.vp8 import is_vp8_keyframe

log = logging.getLogger(__name__)


class PacketSink(Protocol):
    """The recorder's subscription to one source (the relay's ``PacketSink``)."""

    def stop(self) -> None: ...


class PacketSource(Protocol):
    """Where a side's packets come from (the relay's ``MediaSource``): the recorder depends on
    this shape only, so that it never imports the media layer that feeds it. ``deliver`` is
    called synchronously with each packet (video from a keyframe on), then with None at the
    end: no queue and no task wake-up per packet."""

    def attach(self, deliver: Callable[[av.Packet | None], None]) -> PacketSink: ...


MS = Fraction(1, 1000)
EARLY_AUDIO = 1500
"""Audio packets (30 s) kept while a side's first video keyframe is awaited."""
PLACEHOLDER_SIZE = (640, 480)
"""The picture size written in a file opened before any keyframe (what the pages capture)."""
QUEUE_LIMIT = 2000
"""Packets waiting for the disk (about 10 s of a call) before the recording is abandoned."""
HAND_OVER_INTERVAL = 0.05
"""Seconds of packets the event loop collects before waking the writer thread with them."""
_RTP_WRAP = 1 << 32


def vp8_size(frame: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 keyframe header (RFC 6386, 9.1), else ``None``."""
    if len(frame) < 10 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    return (frame[6] | frame[7] << 8) & 0x3FFF, (frame[8] | frame[9] << 8) & 0x3FFF


@dataclass
class _Clock:
    """Maps one stream's RTP timestamps onto the recording clock (ms)."""

    rate: int
    anchor_ms: int | None = None
    first: int = 0
    last_raw: int = 0
    wraps: int = 0
    last_ms: int = -1

    def place(self, rtp: int, arrival_ms: int, late: bool = True) -> int | None:
        """The packet's time on the recording clock. WebM needs increasing timestamps per
        track: a packet not after the last one placed is nudged 1 ms past it, or, with
        ``late=False``, not placed (None, nothing changes)."""
        if self.anchor_ms is None:
            self.anchor_ms, self.first, self.last_raw = arrival_ms, rtp, rtp
        wraps = self.wraps
        if rtp < self.last_raw and self.last_raw - rtp > _RTP_WRAP // 2:
            wraps += 1  # the 32-bit RTP timestamp wrapped around
        unwrapped = rtp + wraps * _RTP_WRAP - self.first
        ms = self.anchor_ms + unwrapped * 1000 // self.rate
        if ms <= self.last_ms:
            if not late:
                return None
            ms = self.last_ms + 1
        self.wraps, self.last_raw, self.last_ms = wraps, rtp, ms
        return ms


class _Item(NamedTuple):  # a tuple: about 160 are made per call and second
    side: str
    kind: str
    data: bytes
    pts_ms: int
    keyframe: bool


class _SideFile:
    """One side's WebM file, owned by the writer thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.container: av.container.OutputContainer | None = None
        self.streams: dict[str, av.stream.Stream] = {}
        self.packets = 0
        self._early_audio: list[_Item] = []

    def write(self, item: _Item) -> None:
        if self.container is None:
            size = vp8_size(item.data) if item.kind == "video" and item.keyframe else None
            if size is None:
                # Video starts at a keyframe, never mid-GOP; the sound until then is kept.
                if item.kind != "audio":
                    return
                if len(self._early_audio) < EARLY_AUDIO:
                    self._early_audio.append(item)
                    return
                # No picture for that long (the relative chose sound only from the start):
                # the sound must not be lost. The header's size is only a hint to players;
                # the frames, if any come later, carry their own.
                size = PLACEHOLDER_SIZE
            self.container = av.open(
                str(self.path),
                "w",
                format="webm",
                options={"flush_packets": "1"},
                container_options={"cluster_time_limit": "1000", "live": "1"},
            )
            video = self.container.add_mux_stream("vp8", width=size[0], height=size[1])
            audio = self.container.add_mux_stream("opus", rate=48000)
            video.time_base = audio.time_base = MS
            self.streams = {"video": video, "audio": audio}
            early, self._early_audio = self._early_audio, []
            for sound in early:
                self._mux(sound)
        self._mux(item)

    def _mux(self, item: _Item) -> None:
        assert self.container is not None
        packet = av.Packet(item.data)
        packet.pts = packet.dts = item.pts_ms
        packet.time_base = MS
        packet.stream = self.streams[item.kind]
        if item.keyframe:
            packet.is_keyframe = True
        self.container.mux(packet)
        self.packets += 1

    def close(self) -> None:
        if self.container is not None:
            self.container.close()


class CallRecorder:
    """Records the call's media into ``folder`` (see the module notes)."""

    def __init__(
        self,
        folder: Path,
        sources: Mapping[tuple[str, str], PacketSource],
        on_failure: Callable[[str], None],
        queue_limit: int = QUEUE_LIMIT,
    ) -> None:
        self.folder = folder
        self.sources = sources
        self.on_failure = on_failure
        self.started_at = time.time()
        self._t0 = time.monotonic()
        self.queue_limit = queue_limit
        # Batches for the writer thread (unbounded: the packet count below bounds it).
        self._queue: queue.Queue[list[_Item] | None] = queue.Queue()
        self._pending: list[_Item] = []  # collected on the event loop, not yet handed over
        self._hand_over_timer: asyncio.TimerHandle | None = None
        # Each counter has one writer (the event loop, the writer thread): what waits for the
        # disk is their difference, with no lock.
        self._handed_over = 0
        self._written = 0
        self._clocks: dict[tuple[str, str], _Clock] = {}
        self.late_sound = 0
        """Sound packets left out for arriving after their successor."""
        self._files = {side: _SideFile(folder / f"{side}.webm") for side, _ in sources}
        self._sinks: list[PacketSink] = []
        # A daemon: a process that exits mid-call must not hang on it (what it loses is bounded
        # as a crash is, see the module notes).
        self._thread = threading.Thread(
            target=self._write_loop, name=f"rec-{folder.name}", daemon=True
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self.failed: str | None = None

    @property
    def files(self) -> list[Path]:
        return [f.path for f in self._files.values() if f.path.exists()]

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._loop = asyncio.get_running_loop()
        self._thread.start()
        for (side, kind), source in self.sources.items():
            self._sinks.append(source.attach(functools.partial(self._take, side, kind)))

    def _take(self, side: str, kind: str, packet: av.Packet | None) -> None:
        """One packet of a source, inside the relay's ``publish`` (event loop): collected for
        the writer, never blocking; an error here ends the recording, never the call."""
        if packet is None or self.failed is not None:
            return
        try:
            arrival_ms = int((time.monotonic() - self._t0) * 1000)
            clock = self._clocks.get((side, kind))
            if clock is None:
                clock = self._clocks[(side, kind)] = _Clock(int(1 / packet.time_base))
            # Sound comes as the network delivered it (the relay holds nothing back): a packet
            # that arrives after its successor is left out (a 20 ms gap) rather than written
            # after it (the two played swapped). Video frames come whole and in order.
            video = kind == "video"
            ms = clock.place(int(packet.pts), arrival_ms, late=video)
            if ms is None:
                self.late_sound += 1
                return
            data = bytes(packet)
            keyframe = video and is_vp8_keyframe(memoryview(data))
            self._add(_Item(side, kind, data, ms, keyframe))
        except Exception as exc:
            log.exception("recording in %s: a packet could not be taken", self.folder)
            self._fail(f"recording.error: {exc}")

    @property
    def backlog(self) -> int:
        """Packets collected or queued and not yet written (what the limit bounds)."""
        return self._handed_over - self._written + len(self._pending)

    def _add(self, item: _Item) -> None:
        """Collect one packet for the writer (event loop): never blocks, bounded."""
        if self.failed is not None:
            return
        self._pending.append(item)
        if self._handed_over - self._written + len(self._pending) > self.queue_limit:
            self._fail("recording.disk_too_slow")
        elif self._hand_over_timer is None:
            assert self._loop is not None
            self._hand_over_timer = self._loop.call_later(HAND_OVER_INTERVAL, self._hand_over)

    def _hand_over(self) -> None:
        """Give the writer thread what was collected, in one wake-up (event loop)."""
        self._hand_over_timer = None
        batch, self._pending = self._pending, []
        if batch and self.failed is None:
            self._handed_over += len(batch)
            self._queue.put_nowait(batch)

    def _fail(self, reason: str) -> None:
        if self.failed is None:
            self.failed = reason
            log.error("recording in %s abandoned: %s", self.folder, reason)
            self._pending = []
            self.on_failure(reason)
            # Not now: this may run inside the relay's loop over its consumers.
            if self._loop is not None:
                self._loop.call_soon(self._stop_sinks)

    def _stop_sinks(self) -> None:
        for sink in self._sinks:
            sink.stop()

    def _write_loop(self) -> None:
        try:
            while (batch := self._queue.get()) is not None:
                for item in batch:
                    if self.failed is not None:
                        break
                    self._files[item.side].write(item)
                self._written += len(batch)
        except Exception as exc:  # disk full, I/O error: the call goes on without recording
            log.exception("recording in %s failed", self.folder)
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._fail, f"recording.io_error: {exc}")
        finally:
            for side_file in self._files.values():
                with contextlib.suppress(Exception):
                    side_file.close()

    async def close(self) -> None:
        """Stop reading, let the writer drain the queue and close the files."""
        self._stop_sinks()
        if self._hand_over_timer is not None:
            self._hand_over_timer.cancel()
        self._hand_over()
        if self._thread.is_alive():
            await asyncio.to_thread(self._queue.put, None)
            await asyncio.to_thread(self._thread.join)

    def stats(self) -> dict[str, int]:
        return {side: f.packets for side, f in self._files.items()}
