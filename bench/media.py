"""Senders that never encode and receivers that never decode, for the load generator.

* :class:`ClipTrack` yields the clip's encoded packets as ``av.Packet``\\ s, paced in real time
  (30 fps video, 50 packets/s Opus). The sender is fitted with the gateway's own packetize-only
  :class:`~gateway.media.aiortc_passthrough.Packer`, so no encoder exists in the load generator. A
  keyframe request (PLI/FIR) makes the video loop back to frame 0, the clip's only keyframe:
  the stream stays decodable and still nothing is encoded.
* :class:`StreamMeter` is fed by the gateway's :class:`~gateway.media.aiortc_passthrough.PacketSink`
  (the receiver's decoder queue swapped for a callback): it counts reassembled frames, never
  decodes them.

End-to-end delay (sender's ``recv()`` hand-over to the receiver's reassembled frame, both in the
same worker process, so one clock): through Parloir the frame's bytes arrive unchanged, so the
receiver finds the frame by its bytes (the clip has no two equal frames) and takes the time that
frame was last sent. Through the stock baseline the frame is re-encoded, so the bytes differ;
there the RTP timestamp is kept end to end (aiortc's decoder and encoder carry it over) and both
senders' random timestamp origins are zeroed (:func:`zero_timestamp_origin`), so the received
timestamp is the sent one.
"""

from __future__ import annotations

import asyncio
import fractions
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import av
from aiortc import RTCRtpSender
from aiortc import rtcrtpsender as _sender_mod
from aiortc.mediastreams import MediaStreamTrack

from gateway.media import aiortc_passthrough as passthrough

from .clip import AUDIO_FRAME, AUDIO_RATE, FPS, Clip

VIDEO_STEP = 90000 // FPS
WRAP = 1 << 32


class SendLog:
    """When each video frame was last handed to the sender, by clip index and by RTP timestamp."""

    def __init__(self, clip: Clip) -> None:
        self.index_of = {data: i for i, data in enumerate(clip.video)}
        self.by_index: dict[int, float] = {}
        self.by_ts: dict[int, float] = {}

    def sent(self, index: int, ts: int, at: float) -> None:
        self.by_index[index] = at
        self.by_ts[ts % WRAP] = at
        self.by_ts.pop((ts - 300 * VIDEO_STEP) % WRAP, None)  # keep 10 s


class ClipTrack(MediaStreamTrack):
    """Loops over the clip's packets of one kind, paced like a camera or a microphone."""

    def __init__(self, kind: str, clip: Clip, log: SendLog | None = None) -> None:
        super().__init__()
        self.kind = kind
        self._data = clip.video if kind == "video" else clip.audio
        self._step, rate = (VIDEO_STEP, 90000) if kind == "video" else (AUDIO_FRAME, AUDIO_RATE)
        self._period = self._step / rate
        self._time_base = fractions.Fraction(1, rate)
        self._log = log
        self._start: float | None = None
        self.sent = 0
        self._index = 0
        self.restarts = 0

    def restart(self) -> None:
        """A keyframe was asked for: loop back to frame 0 (the next frame sent)."""
        self._index = 0
        self.restarts += 1

    async def recv(self) -> av.Packet:  # type: ignore[override]
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        # Fixed schedule: a late frame is sent at once (never skipped), so a load generator
        # that cannot keep up shows as its own lower send rate in the results.
        delay = self._start + self.sent * self._period - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        index = self._index % len(self._data)
        packet = av.Packet(self._data[index])
        packet.pts = packet.dts = self.sent * self._step
        packet.time_base = self._time_base
        if self._log is not None:
            self._log.sent(index, packet.pts, time.time())
        self.sent += 1
        self._index = index + 1
        return packet


def attach_clip_sender(sender: RTCRtpSender, track: ClipTrack) -> None:
    passthrough.attach_sender(sender, track.restart)


@dataclass
class StreamMeter:
    """Counts what one receiver gets; never decodes."""

    kind: str
    log: SendLog | None = None
    "The sender's log, for the delay (video only)."
    by_ts: bool = False
    "Find the sent frame by RTP timestamp (stock baseline) rather than by its bytes."
    frames: int = 0
    first_at: float | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    "Set at the first frame (the join time)."
    last_ts: int | None = None
    "Unwrapped RTP timestamp of the last frame."
    delays: list[float] = field(default_factory=list)
    recording_delays: bool = False
    _wraps: int = 0
    _raw: int | None = None

    def on_packet(self, packet: av.Packet | None) -> None:
        if packet is None:
            return
        now = time.time()
        raw = int(packet.pts or 0)
        if self._raw is not None and raw < self._raw and self._raw - raw > WRAP // 2:
            self._wraps += 1
        self._raw = raw
        self.last_ts = raw + self._wraps * WRAP
        self.frames += 1
        if self.first_at is None:
            self.first_at = now
            self.arrived.set()
        if self.recording_delays and self.log is not None:
            if self.by_ts:
                sent = self.log.by_ts.get(raw)
            else:
                index = self.log.index_of.get(bytes(packet))
                sent = None if index is None else self.log.by_index.get(index)
            if sent is not None:
                self.delays.append(now - sent)

    def snapshot(self) -> tuple[int, int | None]:
        return self.frames, self.last_ts


_random32 = _sender_mod.random32


def _random32_zero_origin() -> int:
    # Only the timestamp origin drawn in RTCRtpSender._run_rtp is zeroed; SSRCs stay random.
    if sys._getframe(1).f_code.co_name == "_run_rtp":
        return 0
    return _random32()


def zero_timestamp_origin() -> None:
    """Make this process's RTP senders start their timestamps at 0 (for the delay, see above)."""
    _sender_mod.random32 = _random32_zero_origin


def prefer_codecs(pc: Any) -> None:
    """VP8 (and its RTX) and Opus only: the Packer packetizes VP8, and browsers offer it."""
    wanted = {"audio": ("audio/opus",), "video": ("video/vp8", "video/rtx")}
    for transceiver in pc.getTransceivers():
        caps = RTCRtpSender.getCapabilities(transceiver.kind)
        transceiver.setCodecPreferences(
            [c for c in caps.codecs if c.mimeType.lower() in wanted[transceiver.kind]]
        )
