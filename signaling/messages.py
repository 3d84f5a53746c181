"""The signaling protocol's client messages, parsed and checked without any I/O.

See ``docs/signaling.md``. :func:`parse` turns one WebSocket text frame into a message object or
raises :class:`ProtocolError` carrying the WebSocket close code and a stable reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from gateway.core.media_choice import MediaMode, parse_mode

MAX_MESSAGE_BYTES = 64 * 1024
MAX_SDP_CHARS = 60 * 1024


class ProtocolError(Exception):
    """A message that ends the session: close ``code`` with ``reason``."""

    def __init__(self, code: int, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.code = code
        self.reason = reason
        self.detail = detail


MALFORMED = 4400
UNAUTHORIZED = 4401
FORBIDDEN_ORIGIN = 4403
UNKNOWN_TYPE = 4404
OUT_OF_ORDER = 4409
TAKEN_OVER = 4410
"Another socket with the same token took the call's leg over."
BAD_SDP = 4422


PAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
"A page load's random id (web/static/call.js): tells a reconnection from a takeover."


@dataclass(frozen=True)
class Hello:
    token: str
    page: str | None = None
    "The page load's id; a socket from the same page replaces its own, not another device's."


@dataclass(frozen=True)
class StartCall:
    pass


@dataclass(frozen=True)
class Offer:
    sdp: str
    id: int | None = None
    "Echoed in the answer: a page that offered again (coming back) keeps only its latest."


@dataclass(frozen=True)
class Leaving:
    """The page is going away (reload, tab closed): its leg is lost now, not at the silence."""


@dataclass(frozen=True)
class ChooseMedia:
    """The relative turns their camera off or on, or asks for sound only
    (:mod:`gateway.core.media_choice`)."""

    mode: MediaMode


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Ping:
    pass


ClientMessage = Hello | StartCall | Offer | Hangup | Ping | Leaving | ChooseMedia

_KIOSK_ONLY = (StartCall,)
_RELATIVE_ONLY = (ChooseMedia,)


def parse(text: str) -> ClientMessage:
    if len(text) > MAX_MESSAGE_BYTES:
        raise ProtocolError(MALFORMED, "signaling.malformed", "message too large")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(MALFORMED, "signaling.malformed", "not JSON") from exc
    if not isinstance(data, dict):
        raise ProtocolError(MALFORMED, "signaling.malformed", "not an object")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(MALFORMED, "signaling.malformed", "no type")
    if kind == "hello":
        page = data.get("page")
        if page is not None and (not isinstance(page, str) or not PAGE_ID.fullmatch(page)):
            raise ProtocolError(MALFORMED, "signaling.malformed", "bad field page")
        return Hello(token=_text(data, "token", 256), page=page)
    if kind == "call":
        return StartCall()
    if kind == "offer":
        offer_id = data.get("id")
        if offer_id is not None and (
            isinstance(offer_id, bool) or not isinstance(offer_id, int)
            or not 0 <= offer_id < 2**31
        ):  # fmt: skip
            raise ProtocolError(MALFORMED, "signaling.malformed", "bad field id")
        return Offer(sdp=_text(data, "sdp", MAX_SDP_CHARS), id=offer_id)
    if kind == "leaving":
        return Leaving()
    if kind == "media":
        mode = parse_mode(data.get("mode"))
        if mode is None:
            raise ProtocolError(MALFORMED, "signaling.malformed", "bad field mode")
        return ChooseMedia(mode=mode)
    if kind == "hangup":
        return Hangup()
    if kind == "ping":
        return Ping()
    raise ProtocolError(UNKNOWN_TYPE, "signaling.unknown_type", kind[:40])


def _text(data: dict[str, object], name: str, limit: int) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value or len(value) > limit or not _unicode(value):
        raise ProtocolError(MALFORMED, "signaling.malformed", f"bad field {name}")
    return value


def _unicode(value: str) -> bool:
    """False for a lone surrogate (JSON's "\\ud800"): it can be neither hashed nor sent back."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_role(message: ClientMessage, role: str) -> None:
    """Refuse a message the sender's role may not send."""
    if isinstance(message, Hello):
        raise ProtocolError(OUT_OF_ORDER, "signaling.out_of_order", "hello twice")
    if isinstance(message, _KIOSK_ONLY) and role != "kiosk":
        raise ProtocolError(OUT_OF_ORDER, "signaling.out_of_order", "kiosk-only message")
    if isinstance(message, _RELATIVE_ONLY) and role != "relative":
        raise ProtocolError(OUT_OF_ORDER, "signaling.out_of_order", "relative-only message")
