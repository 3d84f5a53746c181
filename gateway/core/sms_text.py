"""How an SMS text is encoded and split: GSM-7 (with its extension table) or UCS-2 (sans-IO).

A text made only of GSM 03.38 characters goes as GSM-7: 160 septets in one segment, 153 per part
once split (the concatenation header takes 7); an extension character (``€ [ ] { } ~ ^ | \\``
and form feed) takes two septets and is never cut between two parts. Any other character (``ç``,
``ê``, ``ô``, an emoji…) turns the whole text into UCS-2: 70 UTF-16 units in one segment, 67 per
part, a surrogate pair never cut. smpplib's own GSM table maps ``§`` wrongly and splits
extension characters, hence this module; SMPP sends GSM-7 unpacked, one septet per byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["gsm7", "ucs2"]

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = {
    "\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F,
    "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65,
}  # fmt: skip
_BASIC = {ch: i for i, ch in enumerate(GSM7_BASIC) if ch != "\x1b"}

DATA_CODING = {"gsm7": 0x00, "ucs2": 0x08}
"SMPP data_coding: 0 is the SMSC's default alphabet (GSM-7), 8 is UCS-2."
SINGLE = {"gsm7": 160, "ucs2": 70}
PART = {"gsm7": 153, "ucs2": 67}


@dataclass(frozen=True)
class Segments:
    encoding: Encoding
    units: int
    "Septets (GSM-7) or UTF-16 code units (UCS-2)."
    count: int


def encoding_of(text: str) -> Encoding:
    return "gsm7" if all(ch in _BASIC or ch in GSM7_EXTENSION for ch in text) else "ucs2"


def _units(text: str, encoding: Encoding) -> list[bytes]:
    """Each character's encoding, kept whole (so that a split never cuts one)."""
    if encoding == "gsm7":
        return [
            bytes([_BASIC[ch]]) if ch in _BASIC else bytes([0x1B, GSM7_EXTENSION[ch]])
            for ch in text
        ]
    return [ch.encode("utf-16-be") for ch in text]


def _unit_len(chunk: bytes, encoding: Encoding) -> int:
    return len(chunk) if encoding == "gsm7" else len(chunk) // 2


def encode(text: str) -> tuple[Encoding, bytes]:
    encoding = encoding_of(text)
    return encoding, b"".join(_units(text, encoding))


def split(text: str) -> tuple[Encoding, list[bytes]]:
    """The text's encoding and its parts' payloads (without the concatenation header)."""
    encoding = encoding_of(text)
    units = _units(text, encoding)
    total = sum(_unit_len(u, encoding) for u in units)
    if total <= SINGLE[encoding]:
        return encoding, [b"".join(units)]
    parts: list[bytes] = []
    current, size = b"", 0
    for unit in units:
        n = _unit_len(unit, encoding)
        if size + n > PART[encoding]:
            parts.append(current)
            current, size = b"", 0
        current += unit
        size += n
    parts.append(current)
    return encoding, parts


def segments(text: str) -> Segments:
    encoding, parts = split(text)
    units = sum(_unit_len(p, encoding) for p in parts)
    return Segments(encoding, units, len(parts))


def concatenated(parts: list[bytes], reference: int) -> list[bytes]:
    """Each part with its 8-bit-reference concatenation header (UDH ``05 00 03 ref n i``)."""
    if len(parts) == 1:
        return parts
    if len(parts) > 255:
        raise ValueError("a text of more than 255 parts")
    head = bytes([0x05, 0x00, 0x03, reference & 0xFF, len(parts)])
    return [head + bytes([i]) + p for i, p in enumerate(parts, start=1)]


def decode(payload: bytes, data_coding: int) -> str:
    """The inverse of :func:`encode` (for the tests' SMSC and for receipts)."""
    if data_coding == DATA_CODING["ucs2"]:
        return payload.decode("utf-16-be")
    if data_coding not in (0x00, 0x01):
        return payload.decode("latin-1")
    back = {v: k for k, v in GSM7_EXTENSION.items()}
    out, escape = [], False
    for byte in payload:
        if escape:
            out.append(back.get(byte, " "))
            escape = False
        elif byte == 0x1B:
            escape = True
        else:
            out.append(GSM7_BASIC[byte & 0x7F])
    return "".join(out)
