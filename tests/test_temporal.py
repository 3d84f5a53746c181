"""VP8 temporal layers: the rule and the gate (gateway/core/temporal.py) with an injected
clock, and the descriptor reader (gateway/media/aiortc_passthrough.py)."""

from __future__ import annotations

from gateway.core.temporal import TOP, UP_AFTER, LayerGate, LayerRule
from gateway.core.vp8 import vp8_layer

# What a 460 kbit/s L1T3 stream weighs up to each layer (libwebrtc gives 40/20/40 %).
STREAM = [184_000.0, 276_000.0, 460_000.0]


def _ticks(rule: LayerRule, start: float, seconds: float, budget: float | None, rates) -> list:
    out, t = [], start
    while t < start + seconds - 1e-9:
        out.append(rule.update(t, budget, rates))
        t += 0.5
    return out


def test_all_layers_without_a_budget_or_without_layers() -> None:
    rule = LayerRule()
    assert rule.update(0.0, None, STREAM) == TOP
    assert rule.update(0.5, 100_000, []) == TOP


def test_a_stream_near_its_budget_keeps_every_layer() -> None:
    # Under a cap the sender aims at the budget and overshoots a little: no thinning for that.
    assert _ticks(LayerRule(), 0.0, 10.0, 420_000, STREAM) == [TOP] * 20
    assert _ticks(LayerRule(), 0.0, 10.0, 405_000, STREAM) == [TOP] * 20


def test_the_onset_of_a_cap_drops_layers_at_once_to_what_fits() -> None:
    rule = LayerRule()
    assert rule.update(0.0, 600_000, STREAM) == TOP
    assert rule.update(0.5, 300_000, STREAM) == 1  # TL0+TL1 (276k) fit in 300k: half the fps
    rule = LayerRule()
    assert rule.update(0.0, 200_000, STREAM) == 0  # only TL0 fits
    rule = LayerRule()
    assert rule.update(0.0, 90_000, STREAM) == 0  # nothing fits: the base layer still goes


def test_layers_come_back_one_at_a_time_once_the_sender_came_down() -> None:
    rule = LayerRule()
    assert rule.update(0.0, 200_000, STREAM) == 0
    lower = [r * 0.6 for r in STREAM]  # the sender's encoder followed the cap: 276k in all
    got = _ticks(rule, 0.5, 2 * UP_AFTER + 1.0, 270_000, lower)
    first_up = got.index(1)
    assert 0.5 + 0.5 * first_up >= 0.5 + UP_AFTER  # not before the layer fitted UP_AFTER s
    assert got[-1] == TOP and got.index(TOP) > first_up  # then the next one, later
    # It never went back down on the way: the rates fitted.
    assert got == sorted(got)


def test_a_layer_that_stops_fitting_is_not_added_back() -> None:
    rule = LayerRule()
    assert rule.update(0.0, 300_000, STREAM) == 1
    flapping = []
    for i in range(20):  # the full stream fits one tick in two: never UP_AFTER in a row
        budget = 450_000 if i % 2 else 300_000
        flapping.append(rule.update(0.5 + 0.5 * i, budget, STREAM))
    assert set(flapping) == {1}


def test_the_gate_lowers_at_once_and_rises_only_at_a_clean_start() -> None:
    gate = LayerGate()
    # L1T3's pattern: TL0, TL2, TL1, TL2, ... (TID, Y)
    assert gate.admit(2, False, False)
    gate.aim(0)
    assert [gate.admit(t, False, False) for t in (0, 2, 1, 2, 0)] == [
        True, False, False, False, True,
    ]  # fmt: skip
    gate.aim(TOP)
    # A TL2 frame, even with its sync bit, cannot come before TL1 is back; a TL1 frame
    # without it may refer to a TL1 frame that was dropped.
    assert not gate.admit(2, True, False)
    assert not gate.admit(1, False, False)
    assert gate.admit(1, True, False) and gate.current == 1
    assert not gate.admit(2, False, False)
    assert gate.admit(2, True, False) and gate.current == TOP
    assert gate.admit(2, False, False)
    # A keyframe restarts every layer at once.
    gate.aim(0)
    assert not gate.admit(1, True, False)
    gate.aim(TOP)
    assert gate.admit(0, False, True) and gate.current == TOP
    assert gate.admit(2, False, False)


def _descriptor(pid: int | None, tl0: int | None, tid: int | None, sync: bool = False) -> bytes:
    x = (0x80 if pid is not None else 0) | (0x40 if tl0 is not None else 0)
    x |= 0x20 if tid is not None else 0
    out = bytes([0x90 if x else 0x10])  # X, S
    if x:
        out += bytes([x])
    if pid is not None:
        out += bytes([0x80 | pid >> 8, pid & 0xFF]) if pid > 127 else bytes([pid])
    if tl0 is not None:
        out += bytes([tl0])
    if tid is not None:
        out += bytes([tid << 6 | (0x20 if sync else 0) | 3])  # KEYIDX bits set: ignored
    return out + b"\x9d\x01\x2a"


def test_the_descriptor_gives_the_temporal_layer_and_its_sync_bit() -> None:
    assert vp8_layer(_descriptor(1234, 7, 2)) == (2, False)
    assert vp8_layer(_descriptor(12, 7, 1, sync=True)) == (1, True)
    assert vp8_layer(_descriptor(None, None, 0)) == (0, False)
    assert vp8_layer(_descriptor(30000, None, 2, sync=True)) == (2, True)
    # No temporal layers (what aiortc and a browser without L1T3 send), or a short payload.
    assert vp8_layer(_descriptor(1234, None, None)) is None
    assert vp8_layer(_descriptor(None, None, None)) is None
    assert vp8_layer(b"\x90\x20") is None
    assert vp8_layer(b"") is None
