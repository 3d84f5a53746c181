"""One call: the adapter between the lifecycle, aiortc, the relay, the recorder and the sockets.

A :class:`Call` is owned by one gateway process, its :class:`CallHost` (the process's
:class:`gateway.service.engine.CallEngine`, which starts calls and answers the cluster). The call
does no rule-making: :class:`~gateway.core.lifecycle.CallLifecycle` decides, the call feeds it
inputs with the clock's ``now``, re-arms one timer at ``next_deadline()``, and carries the
resulting events out (Redis through its host, sockets, peer connections, the recorder).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.sdp import SessionDescription

from gateway.core.call_rules import may_offer
from gateway.core.i18n import message
from gateway.core.lifecycle import (
    CallConnected,
    CallEnded,
    CallLifecycle,
    CallLimits,
    CallResumed,
    CallState,
    CodeBurned,
    Event,
    Leg,
    LegLost,
    TimeWarningDue,
)
from gateway.core.media_choice import CHOOSER, MediaMode, notice_key, sends_video
from gateway.core.records import Booking, Correspondent, Detainee
from gateway.core.sms_queue import mask_phone, offers_new_code, status_message
from gateway.media import aiortc_passthrough as passthrough
from gateway.media.quality import CallQuality, Video
from gateway.media.relay import MediaSource, RelayTrack
from recorder.integrity import seal
from recorder.writer import CallRecorder

if TYPE_CHECKING:
    import collections

    from aiortc import RTCConfiguration

    from gateway.config import GatewayConfig
    from gateway.store.call_records import CallRecords
    from recorder.store import RecordingStore

log = logging.getLogger(__name__)
KINDS = ("audio", "video")
WANTED_CODECS = {"audio": ("audio/opus",), "video": ("video/vp8", "video/rtx")}

Listener = Callable[[dict[str, Any]], Awaitable[None]]
Shut = Callable[[], Awaitable[None]]
"Closes a participant's socket when another one takes its leg over."


class CallError(Exception):
    """A refused request: ``reason`` for programs, the message key is the reason itself."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BadSdp(CallError):
    def __init__(self, detail: str) -> None:
        super().__init__("signaling.bad_sdp")
        self.detail = detail


@dataclass(frozen=True)
class Joined:
    """A relative's accepted code, whichever process owns the call."""

    id: str
    detainee_name: str
    booking_end: float


@dataclass
class LegState:
    pc: RTCPeerConnection | None = None
    pc_up: bool = False
    media_up: bool = False
    offered: bool = False
    "The leg offered once in this call: a later offer is the leg coming back."
    tracks: list[RelayTrack] = field(default_factory=list)
    "What this leg's senders read from the other leg's sources (stopped with the pc)."
    listeners: dict[Listener, Shut | None] = field(default_factory=dict)
    "The leg's socket (one: a new one takes over) and, on the owner, what closes it."
    pages: dict[Listener, str | None] = field(default_factory=dict)
    "The page load each socket came from (``hello``'s ``page``; None from an older page)."


class CallHost(Protocol):
    """What a call needs of the process that owns it (:class:`gateway.service.engine.CallEngine`):
    the clock, the configuration, the Redis records and what the process does when a call
    records events, ends or goes."""

    config: GatewayConfig
    clock: Callable[[], float]
    counts: collections.Counter[tuple[str, str]]
    records: CallRecords
    recordings: RecordingStore
    rtc_configuration: RTCConfiguration
    tasks: set[asyncio.Task[Any]]

    def advertise(self, sdp: str) -> str: ...

    def cpu_scale(self) -> float: ...

    async def record_events(self, call: Call, events: list[Event]) -> None: ...

    async def account(self, call: Call, event: CallEnded) -> None: ...

    async def forget(self, call: Call) -> None: ...


class Call:
    """One call owned by this process."""

    def __init__(
        self,
        engine: CallHost,
        call_id: str,
        detainee: Detainee,
        correspondent: Correspondent,
        booking: Booking,
        limits: CallLimits,
    ) -> None:
        self.engine = engine
        self.id = call_id
        self.ref = secrets.token_urlsafe(6)
        self.detainee = detainee
        self.correspondent = correspondent
        self.booking = booking
        self.lifecycle = CallLifecycle(limits)
        self.legs = {leg: LegState() for leg in Leg}
        self.sources = {
            (leg, kind): MediaSource(kind, f"{call_id}/{leg}/{kind}")
            for leg in Leg
            for kind in KINDS
        }
        for (leg, _kind), source in self.sources.items():
            source.on_media = lambda leg=leg: self._media_arrived(leg)
        self.billing: dict[str, Any] = {}
        self.recorder: CallRecorder | None = None
        self.watchers: dict[RTCPeerConnection, list[RelayTrack]] = {}
        self.quality = CallQuality(self._quality_changed, engine.cpu_scale)
        self._timer: asyncio.TimerHandle | None = None
        self._checkpoints: asyncio.Future[None] | None = None
        self._watchdog: asyncio.Future[None] | None = None
        self._lock = asyncio.Lock()
        self.finished = asyncio.Event()

    @property
    def state(self) -> CallState:
        return self.lifecycle.state

    # -- views ----------------------------------------------------------------------------
    def view(self, leg: Leg) -> dict[str, Any]:
        lc = self.lifecycle
        view: dict[str, Any] = {
            "id": self.id,
            "state": str(lc.state),
            "server_time": _ms(self.engine.clock()),
            "code_expires_at": _ms(lc.code_expires_at),
            "ends_at": _ms(lc.ends_at),
            "connected_at": _ms(lc.connected_at),
            "end_reason": str(lc.end_reason) if lc.end_reason else None,
            # While a leg is lost: which, and until when it may come back.
            "lost": sorted(str(leg) for leg in lc.lost_legs),
            "reconnect_until": _ms(lc.reconnect_until),
            "connected_ms": int(lc.connected_seconds(self.engine.clock()) * 1000),
            # The relative's choice of media (camera off, sound only): both pages show it.
            "relative_media": str(self.quality.mode),
        }
        if leg is Leg.KIOSK:
            view["correspondent"] = {
                "name": self.correspondent.name,
                "phone_masked": mask_phone(self.correspondent.phone),
            }
            # Only the detainee sees money: enough for the kiosk to show the cost as it runs.
            view["billing"] = self.billing
        else:
            view["detainee_name"] = self.detainee.short_name
        return view

    # -- inputs ---------------------------------------------------------------------------
    async def apply(self, events: list[Event]) -> None:
        """Carry lifecycle events out: Redis, sockets, media, timer."""
        if not events:
            return
        await self.engine.record_events(self, events)
        for event in events:
            if isinstance(event, TimeWarningDue):
                await self.broadcast({"type": "warning", "seconds_left": event.seconds_left})
            elif isinstance(event, CallConnected):
                self._checkpoints = asyncio.ensure_future(self._checkpoint_loop())
                await self._start_recording()
            elif isinstance(event, LegLost | CallResumed):
                log.info("call %s: %s", self.id, event)
            elif isinstance(event, CodeBurned):
                await self.send(
                    Leg.KIOSK,
                    {"type": "code_burned", "message": message("code.burned_kiosk", self.lang)},
                )
            elif isinstance(event, CallEnded):
                await self._finish(event)
                return
        await self.broadcast_state()
        self._arm_timer()

    async def offer(self, leg: Leg, sdp: str) -> str:
        """Answer a leg's WebRTC offer; the relative's offer is their acceptance of the call."""
        async with self._lock:
            state = self.lifecycle.state
            again = self.legs[leg].offered
            if not may_offer(leg, state, has_leg=again):
                raise CallError("signaling.out_of_order")
            validate_offer(sdp)
            if again:
                await self._replace_leg(leg)
            pc = RTCPeerConnection(self.engine.rtc_configuration)
            self.legs[leg].pc = pc
            self.legs[leg].offered = True
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
                self._wire(leg, pc)
                answer = await pc.createAnswer()
                await pc.setLocalDescription(answer)
            except CallError:
                await self._drop_pc(leg)
                raise
            except Exception as exc:  # aiortc raises ValueError/InternalError on odd SDP
                await self._drop_pc(leg)
                raise BadSdp(str(exc)) from exc
            return self.engine.advertise(pc.localDescription.sdp)

    async def watch(self, sdp: str) -> tuple[str, list[dict[str, str]]]:
        """A monitoring viewer's receive-only offer: answer with both sides' media.

        The viewer gets its own consumers of the relay (a keyframe is asked for as it joins);
        nothing is sent to the participants, who cannot tell.
        """
        if self.correspondent.lawyer:
            raise CallError("monitor.lawyer")
        if self.lifecycle.state is CallState.ENDED:
            raise CallError("monitor.call_ended")
        validate_watch_offer(sdp)
        # Two sections of a kind: without max-bundle aiortc starts the second one on a
        # transport it then discards, and that section never sends.
        config = RTCConfiguration(
            iceServers=self.engine.rtc_configuration.iceServers,
            bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
        )
        pc = RTCPeerConnection(config)
        tracks: list[RelayTrack] = []
        layout: list[dict[str, str]] = []
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            seen: dict[str, int] = {"audio": 0, "video": 0}
            for transceiver in pc.getTransceivers():
                kind = transceiver.kind
                leg = (Leg.KIOSK, Leg.RELATIVE)[seen[kind]]
                seen[kind] += 1
                caps = RTCRtpSender.getCapabilities(kind)
                prefs = [c for c in caps.codecs if c.mimeType.lower() in WANTED_CODECS[kind]]
                transceiver.setCodecPreferences(prefs)
                source = self.sources[(leg, kind)]
                track = source.subscribe()
                tracks.append(track)
                transceiver.sender.replaceTrack(track)
                transceiver.direction = "sendonly"
                passthrough.attach_sender(transceiver.sender, source.request_keyframe)
                layout.append({"mid": str(transceiver.mid), "side": str(leg), "kind": kind})
            await pc.setLocalDescription(await pc.createAnswer())
        except CallError:
            raise
        except Exception as exc:
            for track in tracks:
                track.stop()
            await close_pc(pc)
            raise BadSdp(str(exc)) from exc
        self.watchers[pc] = tracks

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._drop_watcher(pc)

        return self.engine.advertise(pc.localDescription.sdp), layout

    async def _drop_watcher(self, pc: RTCPeerConnection) -> None:
        for track in self.watchers.pop(pc, []):
            track.stop()
        await close_pc(pc)

    async def extend(self, max_seconds: int) -> None:
        """A longer call was allowed for its booking: the part left for this call grows."""
        prior = self.billing.get("prior_connected_ms", 0) / 1000
        await self.input(lambda now: self.lifecycle.extend(max_seconds - prior, now))

    async def cut(self) -> None:
        await self.input(lambda now: self.lifecycle.cut(now))

    def _wire(self, leg: Leg, pc: RTCPeerConnection) -> None:
        other = Leg.RELATIVE if leg is Leg.KIOSK else Leg.KIOSK
        for transceiver in pc.getTransceivers():
            kind = transceiver.kind
            caps = RTCRtpSender.getCapabilities(kind)
            prefs = [c for c in caps.codecs if c.mimeType.lower() in WANTED_CODECS[kind]]
            transceiver.setCodecPreferences(prefs)
            source = self.sources[(leg, kind)]
            receiver = transceiver.receiver
            passthrough.attach_receiver(receiver, source.publish)
            source.set_keyframe_requester(
                lambda receiver=receiver: passthrough.request_keyframe(receiver)
            )
            upstream = self.sources[(other, kind)]
            track = upstream.subscribe()
            self.legs[leg].tracks.append(track)
            sender = pc.addTrack(track)
            passthrough.attach_sender(sender, upstream.request_keyframe)
        self._wire_quality(leg, pc)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if self.legs[leg].pc is not pc:
                return  # replaced by the leg's new connection
            log.info("call %s: %s connection %s", self.id, leg, pc.connectionState)
            if pc.connectionState == "connected":
                self.legs[leg].pc_up = True
                await self._maybe_leg_up(leg)
            elif pc.connectionState in ("failed", "closed"):
                self.legs[leg].pc_up = False
                await self._lose(leg, "connection " + pc.connectionState)

    def _wire_quality(self, leg: Leg, pc: RTCPeerConnection) -> None:
        """Opus FEC in the answer; bandwidth and sound-first control (gateway/media/quality)."""
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "audio":
                passthrough.enable_opus_fec(transceiver)
        self.quality.attach(leg, pc)

    async def _quality_changed(self, receiver: Leg, video: Video) -> None:
        """Both pages say when the video to ``receiver`` is paused (sound first) or back."""
        paused = video is Video.PAUSED
        for leg in Leg:
            key = "quality.paused_here" if leg is receiver else "quality.paused_there"
            msg = {"type": "quality", "side": str(receiver), "video": "paused" if paused else "ok"}
            if paused:
                msg["message"] = message(key, self.lang)
            await self.send(leg, msg)

    def _media_arrived(self, leg: Leg) -> None:
        if not self.legs[leg].media_up:
            self.legs[leg].media_up = True
            asyncio.ensure_future(self._maybe_leg_up(leg))

    async def _maybe_leg_up(self, leg: Leg) -> None:
        state = self.legs[leg]
        if state.pc_up and state.media_up:
            await self.input(lambda now: self.lifecycle.leg_connected(leg, now))
            if self._watchdog is None and self.lifecycle.state is not CallState.ENDED:
                self._watchdog = asyncio.ensure_future(self._watch_media())

    def _silent_for(self, leg: Leg) -> float:
        """Seconds since the leg's last packet, of any kind (``inf``: none yet)."""
        heard = [s.last_packet_at for (lg, _k), s in self.sources.items() if lg is leg]
        last = max((t for t in heard if t is not None), default=None)
        return float("inf") if last is None else time.monotonic() - last

    async def _lose(self, leg: Leg, why: str) -> None:
        """The leg is lost (silent, failed, reloaded): the call waits for it to come back.
        The gap starts at its last packet, which may be a little before this is known."""
        silent = self._silent_for(leg)
        log.info("call %s: %s leg lost (%s), silent %.1f s", self.id, leg, why, silent)
        self.legs[leg].media_up = False
        for (lg, _kind), source in self.sources.items():
            if lg is leg:
                source.expect_media()
        now = self.engine.clock()
        since = now - silent if silent != float("inf") else now
        await self.input(lambda now: self.lifecycle.leg_lost(leg, now, since=since))

    async def _watch_media(self) -> None:
        """A dead path shows as silence long before aiortc's consent checks fail (~30 s):
        sound flows 50 packets a second, so a leg silent for ``media_silence_seconds`` is
        lost; its next packet (same connection back, or a new one) brings it back."""
        limit = self.engine.config.media_silence_seconds
        while self.lifecycle.state is not CallState.ENDED:
            await asyncio.sleep(min(0.25, limit / 4))
            for leg in Leg:
                if leg in self.lifecycle.legs_up and self._silent_for(leg) > limit:
                    await self._lose(leg, "silence")

    async def _replace_leg(self, leg: Leg) -> None:
        """A leg offers again: it is lost (if it was not yet) and its old connection goes."""
        if leg in self.lifecycle.legs_up:
            await self._lose(leg, "offered again")
        state = self.legs[leg]
        state.pc_up = state.media_up = False
        await self._drop_pc(leg)
        for (lg, _kind), source in self.sources.items():
            if lg is leg:
                source.new_producer()

    async def leaving(self, leg: Leg) -> None:
        """The leg's page is going away (reload, tab closed): lost now, not at the silence.
        What its old connection still sends meanwhile does not bring it back."""
        self.legs[leg].pc_up = False
        if leg in self.lifecycle.legs_up:
            await self._lose(leg, "page leaving")

    async def choose_media(self, mode: MediaMode) -> None:
        """The relative turned their camera off or on, or asked for sound only
        (gateway/core/media_choice.py): the relay follows at once, the kiosk is told, the
        monitoring staff see it in the call's events. Sent again after a reconnection, the
        same choice changes nothing (the page is only told it holds)."""
        before = self.quality.mode
        if mode is before:
            await self.send(CHOOSER, self._media_message(mode))
            return
        await self.quality.choose(mode)
        if sends_video(mode, CHOOSER) and not sends_video(before, CHOOSER):
            self.sources[(CHOOSER, "video")].request_keyframe()  # the picture comes back whole
        log.info("call %s: relative media %s", self.id, mode)
        await self.engine.records.save(
            self.id,
            [{"type": "MediaChosen", "leg": str(CHOOSER), "mode": str(mode),
              "before": str(before), "at": str(self.engine.clock())}],
            {"relative_media": str(mode)},  # the monitoring list's latest word
        )  # fmt: skip
        await self.broadcast(self._media_message(mode))

    def _media_message(self, mode: MediaMode) -> dict[str, Any]:
        msg: dict[str, Any] = {"type": "media", "side": str(CHOOSER), "mode": str(mode)}
        key = notice_key(mode)
        if key is not None:
            msg["message"] = message(key, self.lang)
        return msg

    async def input(self, step: Callable[[float], list[Event]]) -> None:
        """Feed one input to the lifecycle and carry out what it decided."""
        if self.lifecycle.state is CallState.ENDED:
            return
        events = step(self.engine.clock())
        await self.apply(events)

    async def hangup(self, leg: Leg) -> None:
        await self.input(lambda now: self.lifecycle.hangup(leg, now))

    async def new_code(self) -> None:
        """Issue a code, send it by SMS (the kiosk's 'Appeler' or 'new code')."""
        if self.lifecycle.state is not CallState.WAITING_RELATIVE:
            raise CallError("signaling.out_of_order")
        engine = self.engine
        now = engine.clock()
        code = await engine.codes.issue(self.id, now, self.lifecycle.limits.code_validity)
        await engine.sms.send(
            self.correspondent.phone, engine.sms_text(code, self.ref), call=self.id
        )
        await self.input(lambda now: self.lifecycle.code_sent(now))

    async def joined(self) -> None:
        await self.input(lambda now: self.lifecycle.relative_joined(now))

    async def sms_status(self, status: str, reason: str) -> None:
        """What became of the code's SMS: into the call's events, and to the kiosk."""
        if status in ("sent", "delivered", "failed"):  # the outcomes, not the steps
            self.engine.counts["sms_outcome", status] += 1
            # The latest word also goes into the call's record, so that the monitoring list
            # reads one hash per call instead of its whole event stream.
            await self.engine.records.save(
                self.id,
                [{"type": "SmsStatus", "status": status, "reason": reason,
                  "at": str(self.engine.clock())}],
                {"sms_status": status, "sms_reason": reason},
            )  # fmt: skip
        await self.send(
            Leg.KIOSK,
            {"type": "sms", "status": status, "reason": reason,
             "message": message(status_message(status, reason), self.lang),
             "new_code": offers_new_code(status, reason)},
        )  # fmt: skip

    # -- sockets --------------------------------------------------------------------------
    @property
    def lang(self) -> str:
        return self.engine.config.lang

    async def attach(
        self, leg: Leg, listener: Listener, shut: Shut | None = None, page: str | None = None
    ) -> None:
        """The leg's socket is now ``listener``'s; an earlier one is closed. From another page
        load (another device or tab with the same token) that is a takeover, recorded as
        ``SocketTakenOver``; from the same ``page`` (its old socket not yet noticed dead) a
        reconnection, recorded as ``SocketReconnected``. Without a page id (an older page) it
        cannot be told: a takeover."""
        state = self.legs[leg]
        listeners = state.listeners
        earlier = [(other, close) for other, close in listeners.items() if other != listener]
        same_page = page is not None and all(state.pages.get(o) == page for o, _ in earlier)
        for other, close in earlier:
            listeners.pop(other, None)
            state.pages.pop(other, None)
            if close is not None:
                with contextlib.suppress(Exception):  # already gone
                    await close()
        if earlier:
            kind = "SocketReconnected" if same_page else "SocketTakenOver"
            log.info("call %s: %s socket %s", self.id, leg, kind)
            await self.engine.records.save(
                self.id, [{"type": kind, "leg": str(leg), "at": str(self.engine.clock())}], {}
            )
        # Last, with nothing awaited after it: the caller's `welcome` goes out before any
        # state this socket could be sent.
        state.pages[listener] = page
        listeners[listener] = shut

    def detach(self, leg: Leg, listener: Listener) -> None:
        self.legs[leg].listeners.pop(listener, None)
        self.legs[leg].pages.pop(listener, None)

    async def send(self, leg: Leg, msg: dict[str, Any]) -> None:
        for listener in list(self.legs[leg].listeners):
            try:
                await listener(msg)
            except Exception:  # a dead socket must not stop the call
                log.debug("listener of %s failed", self.id, exc_info=True)
                self.detach(leg, listener)

    async def broadcast(self, msg: dict[str, Any]) -> None:
        await asyncio.gather(*(self.send(leg, msg) for leg in Leg))

    async def broadcast_state(self) -> None:
        await asyncio.gather(
            *(self.send(leg, {"type": "state", "call": self.view(leg)}) for leg in Leg)
        )

    # -- timer and end --------------------------------------------------------------------
    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.lifecycle.next_deadline()
        if deadline is None:
            return
        delay = max(0.0, deadline - self.engine.clock())
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        task = asyncio.ensure_future(self.input(self.lifecycle.tick))
        self.engine.tasks.add(task)
        task.add_done_callback(self.engine.tasks.discard)
        if self.lifecycle.state is not CallState.ENDED and self._timer is None:
            # tick() may fire nothing yet (clock skew of a few ms): re-arm after it ran.
            task.add_done_callback(lambda _t: self._rearm_if_live())

    def _rearm_if_live(self) -> None:
        if self.lifecycle.state is not CallState.ENDED and self._timer is None:
            self._arm_timer()

    async def _checkpoint_loop(self) -> None:
        """Save the connected time every few seconds: a crash loses at most one interval."""
        every = self.engine.config.checkpoint_seconds
        while self.lifecycle.state in (CallState.CONNECTED, CallState.RECONNECTING):
            ms = int(self.lifecycle.connected_seconds(self.engine.clock()) * 1000)
            try:
                await self.engine.records.checkpoint(self.id, ms)
            except Exception:  # Redis restarting: the next checkpoint will catch up
                log.warning("checkpoint of %s failed", self.id, exc_info=True)
            await asyncio.sleep(every)

    async def _finish(self, event: CallEnded) -> None:
        """Account the connected time, forget the call in Redis, tell both sides, free media.

        The booking is counted before the call leaves ``calls:live``: a crash in between leaves
        an orphan that recovery counts again, which the per-call idempotency makes harmless.
        """
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._checkpoints is not None:
            self._checkpoints.cancel()
        if self._watchdog is not None:
            self._watchdog.cancel()
        try:
            await self.engine.account(self, event)
            await self.engine.forget(self)
            reason = str(event.reason)
            text = message(f"ended.{reason}", self.lang)
            for leg in Leg:
                await self.send(leg, {"type": "state", "call": self.view(leg)})
                await self.send(leg, {"type": "ended", "reason": reason, "message": text})
                self.legs[leg].listeners.clear()
                self.legs[leg].pages.clear()
        finally:
            # Whatever failed above (Redis away), the media and the recorder always stop.
            await self.quality.stop()
            for source in self.sources.values():
                source.end()
            await asyncio.gather(*(self._drop_pc(leg) for leg in Leg))
            await asyncio.gather(*(self._drop_watcher(pc) for pc in list(self.watchers)))
            await self._stop_recording(event)
            self.finished.set()

    # -- recording ------------------------------------------------------------------------
    async def _start_recording(self) -> None:
        engine = self.engine
        if not engine.config.record_calls or self.correspondent.lawyer:
            return  # calls with a lawyer are neither recorded nor monitored
        day = time.strftime("%Y-%m-%d", time.gmtime(engine.clock()))
        folder = engine.config.recordings_path / day / self.id
        sources = {(str(leg), kind): src for (leg, kind), src in self.sources.items()}
        self.recorder = CallRecorder(folder, sources, self._recording_failed)
        self.recorder.start()
        await engine.recordings.started(
            self.id,
            self.recorder.started_at,
            booking=self.booking.id,
            detainee=self.detainee.number,
            correspondent=self.correspondent.id,
            phone=self.correspondent.phone,
            kiosk=self.booking.kiosk,
            folder=f"{day}/{self.id}",
            owner=engine.owner,
        )

    def _recording_failed(self, reason: str) -> None:
        # An alert for the monitoring staff; the call itself goes on.
        log.error("ALERT call %s: %s", self.id, reason)
        self.engine.counts["recording_failed", reason.split(":")[0]] += 1  # /metrics
        task = asyncio.ensure_future(
            self.engine.recordings.finished(self.id, self.engine.clock(), "failed", failure=reason)
        )
        self.engine.tasks.add(task)
        task.add_done_callback(self.engine.tasks.discard)

    async def _stop_recording(self, event: CallEnded) -> None:
        recorder = self.recorder
        if recorder is None:
            return
        await recorder.close()
        meta = {
            "call_id": self.id,
            "booking": self.booking.id,
            "detainee": self.detainee.number,
            "correspondent": self.correspondent.id,
            "started_at": _iso(recorder.started_at),
            "ended_at": _iso(event.at),
            "end_reason": str(event.reason),
        }
        root = self.engine.config.recordings_path
        manifest = await asyncio.to_thread(seal, root, recorder.folder, meta)
        await self.engine.recordings.finished(
            self.id,
            event.at,
            "failed" if recorder.failed else "sealed",
            manifest=manifest.hash,
        )

    async def _drop_pc(self, leg: Leg) -> None:
        state = self.legs[leg]
        pc = state.pc
        for track in state.tracks:
            track.stop()
        state.tracks.clear()
        if pc is not None:
            state.pc = None
            await close_pc(pc)


async def close_pc(pc: RTCPeerConnection) -> None:
    """Close a peer connection, even one aiortc half set up from odd SDP.

    aiortc's ``close()`` stops each transceiver's transport and fails on one that never got any
    (an offer's section without a mid, say): the transports that exist are then stopped one by
    one, so that a refused offer leaves no socket open.
    """
    try:
        await pc.close()
    except Exception as exc:
        log.info("peer connection half set up, closed piecewise: %r", exc)
        for transceiver in pc.getTransceivers():
            dtls = transceiver.receiver.transport
            if dtls is not None:
                await dtls.stop()
                await dtls.transport.stop()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1000)


_RTPMAP = re.compile(r"^a=rtpmap:\d+ ([A-Za-z0-9-]+)/", re.MULTILINE)


def validate_offer(sdp: str) -> None:
    """Refuse SDP that does not parse or cannot carry VP8 video and Opus audio."""
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise BadSdp("not an SDP offer")
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as exc:
        raise BadSdp(f"unparsable SDP: {exc}") from exc
    # Exactly one audio and one video section: any other track would be decoded by aiortc.
    kinds = sorted(m.kind for m in parsed.media)
    if kinds != ["audio", "video"]:
        raise BadSdp("the offer must carry exactly one audio and one video section")
    names = {name.lower() for name in _RTPMAP.findall(sdp)}
    if "vp8" not in names or "opus" not in names:
        raise BadSdp("the offer must allow VP8 and Opus")
    # Both sections on one transport, as browsers offer them: given sections apart, aiortc may
    # start an ICE transport it has just closed (a hang-up during the checks) or no transport.
    mids = [media.rtp.muxId for media in parsed.media]
    bundles = [set(g.items) for g in parsed.group if g.semantic == "BUNDLE"]
    if not all(mids) or len(set(mids)) != len(mids) or not any(set(mids) <= b for b in bundles):
        raise BadSdp("the offer must bundle its sections, each with its own mid")
    if any(not 0 < c.port < 65536 for media in parsed.media for c in media.ice_candidates):
        raise BadSdp("an ICE candidate's port is out of range")
    if any(media.dtls is None or not media.dtls.fingerprints for media in parsed.media):
        raise BadSdp("every section needs a DTLS fingerprint")


def validate_watch_offer(sdp: str) -> None:
    """A viewer's offer: two audio and two video sections, all receive-only, VP8 and Opus."""
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise BadSdp("not an SDP offer")
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as exc:
        raise BadSdp(f"unparsable SDP: {exc}") from exc
    if sorted(m.kind for m in parsed.media) != ["audio", "audio", "video", "video"]:
        raise BadSdp("a viewer's offer has two audio and two video sections")
    if any(m.direction != "recvonly" for m in parsed.media):
        raise BadSdp("a viewer only receives: every section must be recvonly")
    names = {name.lower() for name in _RTPMAP.findall(sdp)}
    if "vp8" not in names or "opus" not in names:
        raise BadSdp("the offer must allow VP8 and Opus")


def dumps(msg: dict[str, Any]) -> str:
    return json.dumps(msg, ensure_ascii=False, separators=(",", ":"))
