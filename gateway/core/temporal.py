"""VP8 temporal layers: which frames of a sender's stream one receiver gets (sans-IO).

The browsers send VP8 in three temporal layers (``scalabilityMode: 'L1T3'``): TL0 frames
(every 4th, a quarter of the frame rate) refer only to TL0 frames, TL1 frames (the 2nd of
every 4) to TL0 and TL1 ones, TL2 frames (the rest, half the frame rate) are referred to by
none; libwebrtc's layers above TL0 do not update the entropy contexts either.
So the gateway can thin a stream for one weak receiver *at once*, frame by frame, where the
sender's encoder takes seconds to come down to a new cap and a dropped packet costs a
keyframe: what SFUs do (mediasoup's SimpleConsumer/SvcConsumer, LiveKit's stream allocator,
Janus's ``temporal`` substream). The gateway re-packetizes every frame it forwards with its own
sequence numbers and PictureIDs (:class:`gateway.media.aiortc_passthrough.Packer`), so a
thinned stream is contiguous for the receiver and needs no rewriting here.

Two parts, both fed by the adapter (:mod:`gateway.media.quality`, :mod:`gateway.media.relay`):

* :class:`LayerRule` picks a receiver's *target* layer every tick from its video budget and
  what each layer of the sender's stream weighs: down at once when the stream is well above
  the budget (the onset of a cap, before the sender's encoder follows), up one layer after
  :data:`UP_AFTER` seconds in which that layer also fits.
* :class:`LayerGate` applies it to each frame (RFC 7741 §4.2): lower at once (a frame of a
  dropped layer is never needed by the kept ones); higher only from a frame that starts a
  layer cleanly, a keyframe or a frame of the next layer with the layer-sync (Y) bit, which
  refers only to the layers below (a frame of the added layer may otherwise refer to one
  that was dropped).
"""

from __future__ import annotations

from collections.abc import Sequence

TOP = 2
"""The highest temporal layer (L1T3: TL0, TL1, TL2)."""
DOWN_ABOVE = 1.25
"""Thin when the forwarded layers weigh this much more than the budget. Under a cap the
sender's encoder aims at about the budget (the cap is the REMB it is sent) and overshoots
a little, and the receiver's REMB saws by 20-30 % while it probes its link: that is the
pacer's business, not a reason to halve the frame rate. At the onset of a cap the REMB falls
to under 0.8 times the stream in one report, then lower. Measured at 400 kbit/s (tests/
test_bad_network.py): with 1.15, 14-16 fps (thinned at every saw-tooth); with 1.25, 17-19."""
UP_BELOW = 1.05
"""A layer is added back when the stream up to it weighs no more than this times the budget."""
UP_AFTER = 1.5
"""Seconds that layer must have fitted (the rates are over a 2 s window: a keyframe is a burst)."""


class LayerRule:
    """The temporal layer one receiver should get. ``update`` every tick with ``now``, the
    receiver's video budget (bit/s, None: unknown, no limit) and the sender's stream rate up
    to each layer (``cumulative[k]``: TL0..TLk, bit/s; empty when it has no layers)."""

    def __init__(self) -> None:
        self.target = TOP
        self._fits_since: float | None = None

    def update(self, now: float, budget: float | None, cumulative: Sequence[float]) -> int:
        if budget is None or len(cumulative) <= TOP:
            self.target = TOP
            self._fits_since = None
            return self.target
        if cumulative[self.target] > DOWN_ABOVE * budget:
            fitting = [k for k in range(self.target) if cumulative[k] <= budget]
            self.target = fitting[-1] if fitting else 0
            self._fits_since = None
        elif self.target < TOP and cumulative[self.target + 1] <= UP_BELOW * budget:
            if self._fits_since is None:
                self._fits_since = now
            elif now - self._fits_since >= UP_AFTER:
                self.target += 1
                self._fits_since = None
        else:
            self._fits_since = None
        return self.target


class LayerGate:
    """Which frames pass for one receiver: those of layers up to :attr:`current`, which
    follows :attr:`target` down at once and up only at a clean start (see the module)."""

    def __init__(self) -> None:
        self.target = TOP
        self.current = TOP

    def aim(self, target: int) -> None:
        self.target = target
        if target < self.current:
            self.current = target

    def admit(self, tid: int, sync: bool, keyframe: bool) -> bool:
        """One frame of temporal layer ``tid`` (its layer-sync bit, whether a keyframe)."""
        if self.current < self.target:
            if keyframe:
                self.current = self.target
            elif sync and tid == self.current + 1:
                self.current = tid
        return tid <= self.current
