"""Bandwidth follows the weakest receiver; sound first (sans-IO).

One :class:`ReceiverRule` per receiving leg. The adapter feeds it, every half second or so,
with ``now`` and what it knows of the path *to* that leg's browser:

* ``remb``: that browser's REMB (its delay-based receive estimate, bit/s), None if none fresh;
* ``loss``: the loss fraction of its latest receiver report (0..1), None if no new report;
* ``own``: the gateway's own receive estimate of the *sending* leg (aiortc's REMB), or None;
* ``sent``: what the gateway sends this receiver's video now (bit/s), or None.

It returns a :class:`Decision`: the cap to announce upstream to the sending browser (the REMB
the gateway sends it) and whether video is forwarded to this receiver.

The cap is ``min(own, remb, loss cap)`` where the loss cap follows GCC's loss-based controller
(draft-ietf-rmcat-gcc-02 §6): above 10 % loss it is cut by ``1 - 0.5 * loss``, under 2 % it
grows by 8 % a report until it no longer binds, in between it holds. Never below
:data:`FLOOR_BPS`.

Sound first. Video needs what is left once audio is served: the *video budget* is the
receiver's estimate minus :data:`AUDIO_BPS`. When it stays under :data:`PAUSE_BELOW_BPS` for
:data:`PAUSE_AFTER` seconds (:data:`PAUSE_AFTER_HEAVY_LOSS` when the receiver loses more than
:data:`HEAVY_LOSS`: then the sound suffers too) *and* the receiver is the limit, video to
this receiver is paused (audio goes on). The receiver is the limit when its REMB is not well
above what it is sent (under :data:`LIMITED_BY_RECEIVER` times ``sent``) or when loss set the
cap: a receive-side estimate never rises much above 1.5 times what it receives (libwebrtc's
AIMD), so a still picture sent at 40 kbit/s gets a REMB of 70 kbit/s on a fast link, which
must not pause it.

The thresholds follow what SFUs do for the same decision. VP8 at 640x480 cannot keep a
watchable frame rate much under 100 kbit/s (libwebrtc's floor for video is 30 kbit/s, a
slideshow); LiveKit's stream allocator pauses a subscribed track when the estimate cannot
carry its lowest layer (a 180p layer, ~100-150 kbit/s), and Jitsi's bandwidth allocator drops
a video it cannot give its lowest layer. Resuming needs more (a probe at
:data:`RESUME_ABOVE_BPS` plus audio: hysteresis), so that a link at the limit does not flap.

While video is paused, the receiver's browser gets no video, so its REMB (computed on video
only: aiortc puts abs-send-time on video alone) stops or stays stale: it cannot tell that the
link recovered. So every :data:`PROBE_EVERY` seconds the rule *probes*: video is forwarded for
:data:`PROBE_FOR` seconds with the upstream cap at :data:`PROBE_BPS`; the probe succeeds when
the receiver's reports during its second half show under :data:`PROBE_MAX_LOSS` loss (its REMB
cannot tell: a receive-side estimate stays within ~1.5 times what it receives, so it starts low
after a pause on any link; measured with Chromium, see tests/test_bad_network.py). A failed
probe pauses again. While paused (not probing), this
receiver puts no cap upstream: the recording keeps the sender's full video.

Measured (tests/test_bad_network.py, ``python -m bench net``): the first probe design judged
by the REMB never resumed (a probe's REMB starts low on any link), and one that succeeded
without any receiver report resumed on a 100 kbit/s link, every other probe.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

AUDIO_BPS = 40_000
"""What one Opus stream takes with its RTP/UDP overhead (32 kbit/s voice + headers)."""
FLOOR_BPS = 80_000
"""Never announce less: audio plus a minimal video, what GCC's floor allows to grow from."""
PAUSE_BELOW_BPS = 100_000
"""Video budget under which video is not worth sending to this receiver."""
PAUSE_AFTER = 4.0
RESUME_ABOVE_BPS = 140_000
PROBE_EVERY = 5.0
PROBE_FOR = 3.0
PROBE_BPS = RESUME_ABOVE_BPS + AUDIO_BPS
"""A probe sends this much (the gateway paces it so), to check a clean link for a video
budget of :data:`RESUME_ABOVE_BPS`, without flooding a link that is still weak for long."""
PROBE_MAX_LOSS = 0.10
PROBE_JUDGE_AFTER = 0.5
"""Reports from the probe's first half second still describe the pause."""
RESUME_GRACE = 6.0
"""After a resume the receiver's REMB is ignored this long (loss alone caps): it was measured
on the probe's rate, and a receive-side estimate climbs from what it receives (~8 %/s, within
1.5 times the incoming rate); heeded at once, it capped the resumed video at the floor, which
paused it again (measured at 100 kbit/s then unshaped)."""
HEAVY_LOSS = 0.30
PAUSE_AFTER_HEAVY_LOSS = 2.0
"""Under heavy loss the link drowns the sound too: pause sooner."""

LIMITED_BY_RECEIVER = 1.2

HIGH_LOSS = 0.10
LOSS_DECREASE_EVERY = 2.0
"""One loss cut per this many seconds: the adapter's loss is over a 2 s window of reports, and
cutting at each report compounded the same losses (measured: 270 kbit/s to the floor in 2 s
when a 400 kbit/s cap set in, then a needless pause)."""
LOW_LOSS = 0.02
GROWTH = 1.08


class Video(StrEnum):
    OK = "ok"
    PAUSED = "paused"
    PROBING = "probing"  # paused for the pages, video forwarded for a short try


@dataclass(frozen=True)
class Decision:
    cap: int | None
    """Bit/s to announce upstream for this receiver's sake; None: no limit from it."""
    video: Video
    changed: bool
    """``video`` changed at this update (the pages are told of paused/ok, not of probes)."""

    @property
    def forward_video(self) -> bool:
        return self.video is not Video.PAUSED


class ReceiverRule:
    def __init__(self) -> None:
        self.video = Video.OK
        self._loss_cap: float | None = None
        self._low_since: float | None = None
        self._paused_at = 0.0
        self._probe_started = 0.0
        self._probe_failed = False
        self._probe_reports = 0
        self._heavy_loss = False
        self._remb_ignored_until = float("-inf")
        self._last_decrease = float("-inf")
        self.estimate: int | None = None
        """The receiver's estimate after the latest update (min of REMB and loss cap), which
        the adapter paces and thins the video by."""

    def update(
        self,
        now: float,
        remb: int | None,
        loss: float | None,
        own: int | None,
        sent: int | None = None,
    ) -> Decision:
        if now < self._remb_ignored_until:
            remb = None  # it still measures the pause and the probe (see RESUME_GRACE)
        if loss is not None:
            self._follow_loss(now, loss, remb, own)
        receiver = _min(remb, self._loss_cap)
        self.estimate = None if receiver is None else int(receiver)
        before = self.video
        if self.video is Video.OK:
            self._watch_ok(now, receiver, self._receiver_limits(remb, sent), loss)
        elif self.video is Video.PAUSED:
            if now - self._paused_at >= PROBE_EVERY:
                self.video = Video.PROBING
                self._probe_started = now
                self._probe_failed = False
                self._probe_reports = 0
                self._loss_cap = None  # the probe measures afresh
        else:
            self._watch_probe(now, loss)
        if now < self._remb_ignored_until:
            remb = None  # a resume at this very update starts the grace too
        receiver = _min(remb, self._loss_cap)  # after a resume set the loss cap
        # What the adapter paces and thins by from now on: after a resume, the probe's rate,
        # not the REMB the grace ignores (it thinned a resumed video to its base layer).
        self.estimate = None if receiver is None else int(receiver)
        cap = self._cap(receiver, own)
        visible = {before, self.video} != {Video.PAUSED, Video.PROBING}
        return Decision(cap=cap, video=self.video, changed=before is not self.video and visible)

    # -- the parts --------------------------------------------------------------------------
    def _follow_loss(self, now: float, loss: float, remb: int | None, own: int | None) -> None:
        base = _min(remb, own)
        current = self._loss_cap if self._loss_cap is not None else base
        if loss > HIGH_LOSS and current is not None:
            if now - self._last_decrease < LOSS_DECREASE_EVERY:
                return  # the same losses, seen again through the adapter's window
            self._last_decrease = now
            self._loss_cap = max(FLOOR_BPS, current * (1 - 0.5 * loss))
        elif loss < LOW_LOSS and self._loss_cap is not None:
            self._loss_cap *= GROWTH
            if base is not None and self._loss_cap >= base:
                self._loss_cap = None  # no longer the limit

    def _receiver_limits(self, remb: int | None, sent: int | None) -> bool:
        if self._loss_cap is not None and (remb is None or self._loss_cap <= remb):
            return True
        return remb is None or sent is None or remb < LIMITED_BY_RECEIVER * sent

    def _watch_ok(
        self, now: float, receiver: float | None, limits: bool, loss: float | None
    ) -> None:
        if loss is not None:
            self._heavy_loss = loss > HEAVY_LOSS
        budget = None if receiver is None else receiver - AUDIO_BPS
        if budget is not None and budget < PAUSE_BELOW_BPS and limits:
            if self._low_since is None:
                self._low_since = now
            elif now - self._low_since >= (
                PAUSE_AFTER_HEAVY_LOSS if self._heavy_loss else PAUSE_AFTER
            ):
                self._pause(now)
        else:
            self._low_since = None

    def _watch_probe(self, now: float, loss: float | None) -> None:
        elapsed = now - self._probe_started
        # Loss decides, not the REMB: a receive-side estimate cannot exceed about 1.5 times
        # what it receives, so a probe's REMB starts low on any link. The first reports still
        # describe the silence before (the adapter's loss is over the reports' cumulative
        # counters: the silence adds nothing to them); and no report is no evidence (a report
        # lost on the congested link): the probe waits for one, up to PROBE_FOR more seconds.
        if elapsed >= PROBE_JUDGE_AFTER and loss is not None:
            self._probe_reports += 1
            if loss > PROBE_MAX_LOSS:
                self._probe_failed = True
        if self._probe_failed or elapsed >= 2 * PROBE_FOR:
            self._pause(now)
        elif elapsed >= PROBE_FOR and self._probe_reports:
            self.video = Video.OK
            self._low_since = None
            self._loss_cap = float(PROBE_BPS)  # grow from the probe's rate, not at once
            self._remb_ignored_until = now + RESUME_GRACE

    def _pause(self, now: float) -> None:
        self.video = Video.PAUSED
        self._paused_at = now
        self._low_since = None
        self._loss_cap = None

    def _cap(self, receiver: float | None, own: int | None) -> int | None:
        if self.video is Video.PAUSED:
            limit = own  # nothing goes to this receiver: only the sender's own path counts
        elif self.video is Video.PROBING:
            limit = _min(own, PROBE_BPS)
        else:
            limit = _min(own, receiver)
        return None if limit is None else int(max(FLOOR_BPS, limit))


def _min(*values: float | None) -> float | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None
