"""Sound only, by choice: what the relay does with the relative's choice of media (sans-IO).

The relative (on a phone, often on mobile data) may at any time during the call:

* turn their **camera off** (:attr:`MediaMode.CAMERA_OFF`): their page stops sending video
  (``replaceTrack(null)``: no renegotiation); they still see the kiosk;
* ask for **sound only** (:attr:`MediaMode.AUDIO_ONLY`): no video either way, to save data;
  their camera is off and the gateway stops forwarding the kiosk's video to them;
* go back to **video** (:attr:`MediaMode.VIDEO`).

The choice belongs to the call, not to a peer connection: a leg that comes back on a new
connection (issue 13) keeps it, and the page applies it again to its new connection.

For each receiving leg, :func:`video_path` says who decides whether video is forwarded to it:

* :attr:`VideoPath.CONTROLLED`: the quality controller (:mod:`gateway.core.bandwidth`), which may
  pause and probe on a weak link;
* :attr:`VideoPath.REFUSED`: the receiver chose sound only. Nothing is forwarded and nothing is
  probed (a probe is video the person said they do not want, on their data plan), and the
  receiver puts no cap upstream (the recording keeps the sender's full video), until the
  receiver asks for video again;
* :attr:`VideoPath.IDLE`: the sender's camera is off. Nothing flows, so there is nothing to
  judge: the controller is held (no pause for a missing REMB, no notice), and starts afresh
  when the camera comes back.

What it never changes:

* **the call's life.** A leg is lost when *all* its media is silent (``media_silence_seconds``,
  :mod:`gateway.media.calls` watches packets of any kind); sound flows 50 packets a second
  with the camera off, so a camera turned off is never a lost leg;
* **billing.** Connected time is connected time: the price rule (:mod:`gateway.core.pricing`)
  takes no account of video;
* **the recording.** The relative's file simply has no video for that stretch.
"""

from __future__ import annotations

from enum import StrEnum

from gateway.core.lifecycle import Leg


class MediaMode(StrEnum):
    VIDEO = "video"
    CAMERA_OFF = "camera_off"
    AUDIO_ONLY = "audio_only"


class VideoPath(StrEnum):
    CONTROLLED = "controlled"
    REFUSED = "refused"
    IDLE = "idle"


CHOOSER = Leg.RELATIVE
"""Who may choose: the relative (the kiosk's camera is part of the hearing room's rules)."""


def parse_mode(value: object) -> MediaMode | None:
    """The mode a page asked for, or None if it is not one."""
    try:
        return MediaMode(value) if isinstance(value, str) else None
    except ValueError:
        return None


def sends_video(mode: MediaMode, leg: Leg) -> bool:
    """Whether ``leg``'s page sends its camera under ``mode``."""
    return leg is not CHOOSER or mode is MediaMode.VIDEO


def wants_video(mode: MediaMode, leg: Leg) -> bool:
    """Whether ``leg`` wants to receive video under ``mode``."""
    return leg is not CHOOSER or mode is not MediaMode.AUDIO_ONLY


def video_path(mode: MediaMode, receiver: Leg) -> VideoPath:
    """Who decides on the video forwarded to ``receiver`` (see the module notes)."""
    if not wants_video(mode, receiver):
        return VideoPath.REFUSED
    sender = Leg.KIOSK if receiver is Leg.RELATIVE else Leg.RELATIVE
    if not sends_video(mode, sender):
        return VideoPath.IDLE
    return VideoPath.CONTROLLED


def restarts_control(before: MediaMode, after: MediaMode, receiver: Leg) -> bool:
    """The controller of ``receiver``'s video starts afresh: its video comes back from a
    choice (what it measured before is stale: the link has carried no video since)."""
    return (
        video_path(before, receiver) is not VideoPath.CONTROLLED
        and video_path(after, receiver) is VideoPath.CONTROLLED
    )


def notice_key(mode: MediaMode) -> str | None:
    """The sentence key the other side (the kiosk) is shown, None when video is back."""
    if mode is MediaMode.CAMERA_OFF:
        return "media.camera_off_there"
    if mode is MediaMode.AUDIO_ONLY:
        return "media.audio_only_there"
    return None
