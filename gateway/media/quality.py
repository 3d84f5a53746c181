"""Bandwidth follows the weakest receiver, sound first: the adapter around the rule.

Every :data:`TICK` seconds, for each leg that receives (its browser is the *receiver*, the
other leg's browser the *sender*), :class:`CallQuality` feeds that leg's
:class:`~gateway.core.bandwidth.ReceiverRule` with what the receiver's browser reported to the
gateway's senders (REMB and receiver-report loss, kept by the
:class:`~gateway.media.aiortc_passthrough.Packer`) and with the gateway's own estimate of the
sender's path, then carries the decision out:

* the cap becomes the REMB the gateway sends the sender's browser
  (:class:`~gateway.media.aiortc_passthrough.UpstreamRate`), which lowers its encoder's rate;
  the receiver's audio loss goes upstream in the audio receiver reports (Opus FEC);
* a pause stops the relay's video consumer of this leg only
  (:meth:`~gateway.media.relay.RelayTrack.pause`), a resume restarts it from a keyframe;
* the sender's VP8 temporal layers that the receiver's budget cannot carry are not forwarded
  to it (:class:`~gateway.core.temporal.LayerRule`): at the onset of a cap, at once, while the
  sender's encoder takes seconds to come down;
* a visible change is told to both pages (``{"type": "quality", ...}``, docs/signaling.md).

The relative's choice of media (:mod:`gateway.core.media_choice`) comes first: a receiver who
chose sound only gets no video at all (no pause/probe cycle, no cap upstream) until they ask
again, and video from a camera turned off has nothing to measure, so its receiver's rule is
held; either rule starts afresh when its video comes back.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCPeerConnection

from gateway.aio import cancel_and_wait
from gateway.core.bandwidth import PROBE_BPS, ReceiverRule, Video
from gateway.core.lifecycle import Leg
from gateway.core.media_choice import MediaMode, VideoPath, restarts_control, video_path
from gateway.core.overload import sender_cap
from gateway.core.temporal import TOP, LayerRule
from gateway.media.aiortc_passthrough import (
    PacedSender,
    Packer,
    UpstreamRate,
    pace_sender,
    sender_feedback,
)
from gateway.media.relay import RelayTrack

log = logging.getLogger(__name__)

TICK = 0.5
SENT_WINDOW_TICKS = 4
"""The sent rate is measured over the last 2 s (a keyframe every few seconds is a burst)."""
LOSS_WINDOW = 2.0
PROBE_MIN_PACKETS = 5
"""A probe's loss is no evidence before the receiver has reported this many of its packets."""
REMB_MAX_AGE = 2.5
"""A browser sends a REMB about every second while it receives video; older is stale."""

PACING_FACTOR = 1.5
"""Video to a receiver leaves at most at this multiple of its estimate: room for a keyframe's
burst over the encoder's average, spread enough for a small buffer in front of a slow link
(a browser's pacer uses 2.5 times its target, with its own encoder behind it)."""

FORWARDED_LOSS_MAX = 0.05
"""The far receiver's audio loss goes upstream (for the sender's Opus FEC) at most this high.
Chrome's own loss-based controller holds its rate between 2 and 10 % loss and cuts above: the
raw figure (tail drops of 70 % on a full 400 kbit/s link, measured) would have the sending
browser cut its whole rate on top of our cap, down to a few tens of kbit/s; 5 % is enough for
libwebrtc's Opus to turn its in-band FEC on."""

Notify = Callable[[Leg, Video], Awaitable[None]]


@dataclass
class LegMedia:
    """One leg's peer connection as the rule sees it."""

    video_in: UpstreamRate
    audio_in: UpstreamRate | None
    video_out: Packer
    audio_out: Packer | None
    video_track: RelayTrack
    video_pacer: PacedSender
    reports_seen: int = 0
    sent: collections.deque[tuple[float, int]] = field(
        default_factory=lambda: collections.deque(maxlen=SENT_WINDOW_TICKS + 1)
    )

    layers: collections.deque[tuple[float, tuple[int, ...]]] = field(
        default_factory=lambda: collections.deque(maxlen=SENT_WINDOW_TICKS + 1)
    )
    losses: collections.deque[tuple[float, int, int]] = field(default_factory=collections.deque)
    probe_base: tuple[int, int] | None = None
    """The receiver's cumulative (lost, highest) when the probe began; None: no probe."""
    received: collections.deque[tuple[float, int]] = field(
        default_factory=lambda: collections.deque(maxlen=SENT_WINDOW_TICKS + 1)
    )
    rate_before: int | None = None
    """The video rate the other leg sent this one before the process was overloaded (bit/s),
    what :func:`gateway.core.overload.sender_cap` scales down."""

    def begin_probe(self) -> None:
        """Video is forwarded again for a probe: count its loss from its own first packet."""
        out = self.video_out
        self.probe_base = (out.packets_lost, out.highest) if out.reports else None
        self.video_pacer.mark_next()

    def probe_loss(self) -> float | None:
        """The loss among the probe's own packets, None while too few are reported.

        A receiver learns that the last packets before a pause were lost only when a later
        one arrives: in the next probe's first report. Counted in a window of reports, those
        tail drops of a probe on a weak link failed the next probe on a recovered one (measured
        in CI: 3 of 9 packets). So the packets sent before the probe's first one, never reported
        received, are taken out of both counts."""
        first = self.video_pacer.first_sequence
        if self.probe_base is None or first is None:
            return None
        lost0, highest0 = self.probe_base
        out = self.video_out
        tail = (first - 1 - highest0) & 0xFFFF
        if tail > 0x7FFF:  # the receiver saw beyond the probe's first packet: nothing owed
            tail = 0
        expected = ((out.highest - highest0) & 0xFFFFFFFF) - tail
        if expected < PROBE_MIN_PACKETS or expected > 0x7FFFFFFF:
            return None
        return min(1.0, max(0.0, (out.packets_lost - lost0 - tail) / expected))

    def windowed_loss(self, now: float) -> float:
        """The loss over the receiver's reports of the last :data:`LOSS_WINDOW` seconds, from
        their cumulative counters. One report's ``fraction_lost`` swings between 0 and 80 %
        on a full link (retransmissions that arrive count as received, RFC 3550 6.4.1)."""
        out = self.video_out
        self.losses.append((now, out.packets_lost, out.highest))
        while len(self.losses) > 2 and now - self.losses[1][0] >= LOSS_WINDOW:
            self.losses.popleft()
        _t, lost0, highest0 = self.losses[0]
        expected = (out.highest - highest0) & 0xFFFFFFFF
        if len(self.losses) < 2 or expected == 0 or expected > 0x7FFFFFFF:
            return out.loss or 0.0
        return min(1.0, max(0.0, (out.packets_lost - lost0) / expected))

    def layer_bps(self, now: float) -> list[float]:
        """What the sender's stream weighs up to each temporal layer over the last ticks
        (bit/s, ``[TL0, TL0+TL1, ...]``); empty before two ticks or without layers."""
        self.layers.append((now, tuple(self.video_track.source.layer_bytes)))
        (t0, b0), (t1, b1) = self.layers[0], self.layers[-1]
        if t1 <= t0 or b1 == b0:
            return []
        cumulative, total = [], 0
        for before, after in zip(b0, b1, strict=True):
            total += after - before
            cumulative.append(total * 8 / (t1 - t0))
        return cumulative

    def received_bps(self, now: float) -> int | None:
        """What the gateway received of the video this leg is sent, over the last ticks."""
        self.received.append((now, self.video_track.source.bytes))
        (t0, b0), (t1, b1) = self.received[0], self.received[-1]
        return int((b1 - b0) * 8 / (t1 - t0)) if t1 > t0 else None

    def sent_bps(self, now: float) -> int | None:
        """What the gateway sent this leg's video over the last ticks (bit/s)."""
        self.sent.append((now, self.video_out.bytes_packed))
        if len(self.sent) < 2:
            return None
        (t0, b0), (t1, b1) = self.sent[0], self.sent[-1]
        return int((b1 - b0) * 8 / (t1 - t0)) if t1 > t0 else None


def leg_media(pc: RTCPeerConnection) -> LegMedia | None:
    """Find a wired leg's parts (after ``Call._wire``); None if it is not complete."""
    parts: dict[str, Any] = {}
    for transceiver in pc.getTransceivers():
        kind = transceiver.kind
        packer = sender_feedback(transceiver.sender)
        track = transceiver.sender.track
        if packer is None:
            continue
        parts[f"{kind}_in"] = UpstreamRate(transceiver.receiver)
        parts[f"{kind}_out"] = packer
        if kind == "video" and isinstance(track, RelayTrack):
            parts["video_track"] = track
            parts["video_pacer"] = pace_sender(transceiver.sender)
    if not {"video_in", "video_out", "video_track", "video_pacer"} <= parts.keys():
        return None
    parts.setdefault("audio_in", None)
    parts.setdefault("audio_out", None)
    return LegMedia(**parts)


class CallQuality:
    def __init__(self, notify: Notify, cpu_scale: Callable[[], float] = lambda: 1.0) -> None:
        self.notify = notify
        self.cpu_scale = cpu_scale
        """The process's overload scale (:class:`gateway.service.loop_watch.LoopWatch`): each
        sender's video is capped at this share of what it sent before, on top of the rule."""
        self.legs: dict[Leg, LegMedia] = {}
        self.rules = {leg: ReceiverRule() for leg in Leg}
        self.layer_rules = {leg: LayerRule() for leg in Leg}
        self.history: list[tuple[float, Leg, str, int | None]] = []
        """(time, receiving leg, video state, cap) at each change of state, for tests/bench."""
        self.trace: collections.deque[tuple[Any, ...]] = collections.deque(maxlen=600)
        """Every step: (time, receiving leg, REMB, loss, own estimate, cap, video, sent,
        temporal layer forwarded, the sender's stream rate), the last 5 minutes."""
        self._task: asyncio.Task[None] | None = None
        self.mode = MediaMode.VIDEO
        """The relative's choice of media (held by the call, re-applied to a new leg)."""

    async def choose(self, mode: MediaMode) -> None:
        """The relative chose ``mode``: apply it now, not at the next tick."""
        before, self.mode = self.mode, mode
        for receiver in Leg:
            rule = self.rules[receiver]
            held = video_path(mode, receiver) is not VideoPath.CONTROLLED
            if held and video_path(before, receiver) is VideoPath.CONTROLLED:
                if rule.video is not Video.OK:
                    # The pages were told of a pause for bandwidth: the choice replaces it.
                    await self.notify(receiver, Video.OK)
            if restarts_control(before, mode, receiver):
                self.rules[receiver] = ReceiverRule()  # what it measured is stale
                self.layer_rules[receiver] = LayerRule()
            media = self.legs.get(receiver)
            if media is not None:
                self._apply_path(receiver, media)

    def _apply_path(self, receiver: Leg, into: LegMedia) -> None:
        """Forward or stop the video to ``receiver`` as the choice wants, outside the rule."""
        path = video_path(self.mode, receiver)
        if path is VideoPath.REFUSED:
            into.video_track.pause()
        elif path is VideoPath.IDLE or self.rules[receiver].video is not Video.PAUSED:
            into.video_track.resume()

    def attach(self, leg: Leg, pc: RTCPeerConnection) -> None:
        """A leg's peer connection is wired (again, after a reconnection): follow it."""
        media = leg_media(pc)
        if media is None:
            log.warning("quality: leg %s has no complete video path", leg)
            return
        self.legs[leg] = media
        self._apply_path(leg, media)  # a new connection keeps the choice from its first packet
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(TICK)
            try:
                await self.step(loop.time())
            except Exception:  # never let quality control break a call
                log.exception("quality step failed")

    async def step(self, now: float) -> None:
        for receiver in Leg:
            sender = Leg.RELATIVE if receiver is Leg.KIOSK else Leg.KIOSK
            into, out_of = self.legs.get(receiver), self.legs.get(sender)
            if into is None or out_of is None:
                continue
            loss = None
            if into.video_out.reports != into.reports_seen:
                into.reports_seen = into.video_out.reports
                loss = into.windowed_loss(now)
                if self.rules[receiver].video is Video.PROBING and into.probe_base is not None:
                    loss = into.probe_loss()
            if out_of.audio_in is not None and into.audio_out is not None:
                far = into.audio_out.loss or 0.0
                out_of.audio_in.forward_loss = min(far, FORWARDED_LOSS_MAX)
            # The process's own limit: a sender's video costs CPU here whether forwarded or not.
            scale, received = self.cpu_scale(), into.received_bps(now)
            if scale >= 1.0 or into.rate_before is None:
                into.rate_before = received
            cpu_cap = sender_cap(scale, into.rate_before)
            out_of.video_in.trust_own = cpu_cap is None
            path = video_path(self.mode, receiver)
            if path is not VideoPath.CONTROLLED:
                # Chosen, not measured: no cap from this receiver, no pacing, no probe.
                self.trace.append((now, str(receiver), None, loss, None, None, str(path), None))
                out_of.video_in.cap = cpu_cap
                into.video_pacer.rate = None
                into.video_track.layers.aim(TOP)
                self._apply_path(receiver, into)
                await out_of.video_in.announce()
                continue
            rule = self.rules[receiver]
            probing = rule.video is Video.PROBING
            sent = into.sent_bps(now)
            cumulative = into.layer_bps(now)
            if sent is not None and cumulative and into.video_track.layers.current < TOP:
                # Thinned by the gateway's choice: the receiver is still what limits the
                # video (the pause rule compares its REMB with what it would be sent).
                sent = max(sent, int(cumulative[-1]))
            # Overloaded, aiortc's delay-based estimate of the sender's path measures this
            # process's own lateness: neither the rule nor the REMB (UpstreamRate) trusts it.
            own = out_of.video_in.own if cpu_cap is None else None
            decision = rule.update(now, into.video_out.fresh_remb(REMB_MAX_AGE), loss, own, sent)
            caps = [c for c in (decision.cap, cpu_cap) if c is not None]
            out_of.video_in.cap = min(caps) if caps else None
            if decision.video is Video.PROBING and not probing:
                into.begin_probe()  # before the track resumes: its next packet is the first
            estimate = rule.estimate
            if decision.video is Video.PROBING:
                into.video_pacer.rate = float(PROBE_BPS)  # a probe never floods a weak link
            else:
                into.video_pacer.rate = None if estimate is None else PACING_FACTOR * estimate
            # The receiver's REMB is measured on its video alone (aiortc puts abs-send-time on
            # video only): the whole estimate is the video's budget.
            budget = estimate if decision.video is Video.OK else None  # a probe is paced
            target = self.layer_rules[receiver].update(now, budget, cumulative)
            into.video_track.layers.aim(target)
            self.trace.append(
                (
                    now,
                    str(receiver),
                    into.video_out.fresh_remb(REMB_MAX_AGE),
                    loss,
                    out_of.video_in.own,
                    decision.cap,
                    str(decision.video),
                    sent,
                    target,
                    int(cumulative[-1]) if cumulative else None,
                )
            )
            if decision.forward_video:
                into.video_track.resume()
            else:
                into.video_track.pause()
            await out_of.video_in.announce()
            if decision.changed:
                self.history.append((now, receiver, str(decision.video), decision.cap))
                log.info("quality: video to %s %s (cap %s)", receiver, decision.video, decision.cap)
                await self.notify(receiver, decision.video)
