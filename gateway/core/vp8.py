"""What the gateway reads of a VP8 frame (RFC 6386), without decoding it."""

from __future__ import annotations


def is_vp8_keyframe(data: bytes | memoryview) -> bool:
    """RFC 6386 §9.1: bit 0 of the first byte is 0 for a key frame."""
    return len(data) > 0 and (data[0] & 0x01) == 0


def vp8_layer(payload: bytes) -> tuple[int, bool] | None:
    """The temporal layer (TID) and layer-sync bit of a VP8 RTP payload's descriptor
    (RFC 7741 §4.2), None when it has none (a sender without temporal layers). Reads a few
    bytes, once per frame (its first packet)."""
    if len(payload) < 3 or not payload[0] & 0x80:  # no extension byte
        return None
    flags = payload[1]
    if not flags & 0x20:  # T: no TID
        return None
    pos = 2
    if flags & 0x80:  # I: PictureID, 7 or 15 bits (M)
        pos += 2 if payload[2] & 0x80 else 1
    if flags & 0x40:  # L: TL0PICIDX
        pos += 1
    if len(payload) <= pos:
        return None
    return payload[pos] >> 6, bool(payload[pos] & 0x20)
