"""What the gateway reads of a VP8 frame (RFC 6386), without decoding it."""

from __future__ import annotations


def is_vp8_keyframe(data: bytes | memoryview) -> bool:
    """RFC 6386 §9.1: bit 0 of the first byte is 0 for a key frame."""
    return len(data) > 0 and (data[0] & 0x01) == 0
