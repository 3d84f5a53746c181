"""The test clip: encoded once (VP8 640x480 30 fps, Opus 48 kHz 20 ms), then only sent as packets.

The load generator never encodes: each sender loops over these packets. The clip is cached keyed
by its parameters, so only the first run pays the encoding, and the cache is **one per machine**
(``$PARLOIR_BENCH_CACHE``, else ``~/.cache/parloir-bench``), not one per checkout: libvpx's
real-time mode adapts to the time each frame takes, so two encodings of the same source differ
(seen: the same megabyte, but frames of 7.6 against 4.3 kB at the 95th percentile, which moved
Parloir's p95 delay from 8 to 22 ms). A before/after comparison between two checkouts must send
the same clip; the results name it (``clip.sha256``).
"""

from __future__ import annotations

import fractions
import hashlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import av

CACHE = Path(
    os.environ.get("PARLOIR_BENCH_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "parloir-bench"
)
WIDTH, HEIGHT, FPS = 640, 480, 30
AUDIO_RATE, AUDIO_FRAME = 48000, 960


@dataclass(frozen=True)
class Clip:
    video: list[bytes]
    "VP8 frames in order; frame 0 is the only keyframe, so the loop decodes cleanly."
    audio: list[bytes]
    "Opus packets of 20 ms."
    video_kbps: int

    @property
    def measured_video_kbps(self) -> float:
        return sum(map(len, self.video)) * 8 * FPS / len(self.video) / 1000

    @property
    def sha256(self) -> str:
        """Of the frames and packets in order: which clip a run sent (see the module's notes)."""
        digest = hashlib.sha256()
        for data in (*self.video, *self.audio):
            digest.update(len(data).to_bytes(4, "big") + data)
        return digest.hexdigest()[:16]


def load_clip(seconds: int = 10, video_kbps: int = 800) -> Clip:
    path = CACHE / f"clip-{WIDTH}x{HEIGHT}-{FPS}-{seconds}s-{video_kbps}k.pickle"
    if path.exists():
        with path.open("rb") as fh:
            clip: Clip = pickle.load(fh)
        return clip
    clip = Clip(_encode_video(seconds, video_kbps), _encode_audio(seconds), video_kbps)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        pickle.dump(clip, fh)
    tmp.replace(path)  # workers racing to encode: the last whole file wins
    return clip


def _encode_video(seconds: int, kbps: int) -> list[bytes]:
    # testsrc2 moves everywhere (a running counter, scrolling colour bars): a fair stand-in for
    # a webcam picture, unlike a still image that VP8 would squeeze to nothing.
    source = av.open(f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS}:duration={seconds}", "r",
                     format="lavfi")  # fmt: skip
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    encoder.time_base = fractions.Fraction(1, FPS)
    encoder.framerate = fractions.Fraction(FPS, 1)
    encoder.bit_rate = kbps * 1000
    encoder.gop_size = seconds * FPS + 1  # one keyframe, at the start of the loop
    # Real-time settings like a browser's encoder, a GOP that never closes mid-clip.
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0",
                       "kf_max_dist": str(seconds * FPS + 1)}  # fmt: skip
    frames: list[bytes] = []
    for index, frame in enumerate(source.decode(video=0)):
        frame = frame.reformat(format="yuv420p")
        frame.pts = index
        frame.pict_type = (
            av.video.frame.PictureType.I if index == 0 else av.video.frame.PictureType.NONE
        )
        frames += [bytes(p) for p in encoder.encode(frame)]
    frames += [bytes(p) for p in encoder.encode(None)]
    source.close()
    if not frames or frames[0][0] & 1:
        raise RuntimeError("the clip must start with a VP8 keyframe")
    if any(f[0] & 1 == 0 for f in frames[1:]):
        raise RuntimeError("the clip has a keyframe past frame 0")
    return frames


def _encode_audio(seconds: int) -> list[bytes]:
    # Pink noise, not a sine: Opus spends on it about what it spends on a voice.
    source = av.open(f"anoisesrc=colour=pink:amplitude=0.2:sample_rate={AUDIO_RATE}:"
                     f"duration={seconds}", "r", format="lavfi")  # fmt: skip
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = AUDIO_RATE, "stereo", "s16"
    encoder.bit_rate = 32000
    encoder.time_base = fractions.Fraction(1, AUDIO_RATE)
    resampler = av.AudioResampler(format="s16", layout="stereo", rate=AUDIO_RATE,
                                  frame_size=AUDIO_FRAME)  # fmt: skip
    packets: list[bytes] = []
    pts = 0
    for frame in source.decode(audio=0):
        for chunk in resampler.resample(frame):
            chunk.pts, pts = pts, pts + chunk.samples
            packets += [bytes(p) for p in encoder.encode(chunk)]
    packets += [bytes(p) for p in encoder.encode(None)]
    source.close()
    return packets
