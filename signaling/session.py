"""A participant's signaling session on the process that owns the call, wherever the socket is.

The same rules serve a socket held by this process (:class:`signaling.websocket.SocketSession`)
and one held by another process, whose frames arrive through Redis
(:class:`signaling.routing.RemoteSession`): only :meth:`Session.send` and :meth:`Session.shut`
differ. Rules of the protocol (parsing, roles) live in :mod:`signaling.messages`; the call's
rules in :mod:`gateway.core.lifecycle`.
"""

from __future__ import annotations

from typing import Any

from gateway.core.call_rules import people_refusal
from gateway.core.i18n import message
from gateway.core.lifecycle import CallState, Leg
from gateway.media.calls import Call, CallError
from gateway.service.engine import CallEngine
from gateway.store.directory import Directory
from gateway.store.kiosks import KioskRegistry

from . import messages as m


class Session:
    """One participant's session: who (role and token claims) and which call."""

    def __init__(self, engine: CallEngine, lang: str) -> None:
        self.engine = engine
        self.lang = lang
        self.role: Leg | None = None
        self.claims: dict[str, Any] = {}
        self.call: Call | None = None
        self.superseded = False
        "Another socket took this leg over: nothing this one sends counts any more."
        self.page: str | None = None
        "The page load's id from ``hello`` (None from an older page)."

    def identify(self, claims: dict[str, Any]) -> None:
        self.claims = claims
        self.lang = claims.get("lang", self.lang)
        self.role = Leg(claims["role"])

    async def send(self, msg: dict[str, Any]) -> None:
        raise NotImplementedError

    async def attached(self, call: Call) -> None:
        """Called once the session listens to ``call``."""

    async def shut(self, code: int, reason: str) -> None:
        """Close the participant's socket with ``code`` and ``reason``."""
        raise NotImplementedError

    async def taken_over(self) -> None:
        """Another socket took this leg over: this one is closed, with a reason the page shows."""
        self.superseded = True
        await self.shut(m.TAKEN_OVER, "signaling.taken_over")

    async def refuse(self, reason: str) -> None:
        await self.send({"type": "error", "reason": reason, "message": message(reason, self.lang)})

    async def attach(self, call: Call) -> None:
        assert self.role is not None
        self.call = call
        await self.attached(call)
        await call.attach(self.role, self.send, self.taken_over, self.page)

    def detach(self) -> None:
        if self.call is not None and self.role is not None and not self.superseded:
            self.call.detach(self.role, self.send)


async def welcome(session: Session) -> bool:
    """Attach to the participant's call if this process runs it and say ``welcome``; False when
    the session is over already (the relative's call ended while they were away)."""
    engine = session.engine
    claims = session.claims
    if session.role is Leg.RELATIVE:
        call = engine.calls.get(claims["call"])
    else:
        call = engine.live_call_for_booking(claims.get("booking") or "")
    if call is not None:
        await session.attach(call)
    assert session.role is not None
    await session.send(
        {"type": "welcome", "role": str(session.role),
         "call": call.view(session.role) if call else None}
    )  # fmt: skip
    if session.role is Leg.RELATIVE and call is None:
        await session.send({"type": "ended", "reason": "ended", "message": ""})
        return False
    return True


async def dispatch(session: Session, msg: m.ClientMessage, directory: Directory) -> None:
    assert session.role is not None
    m.check_role(msg, str(session.role))
    if session.superseded:
        raise m.ProtocolError(m.TAKEN_OVER, "signaling.taken_over", "another socket took over")
    if isinstance(msg, m.Ping):
        await session.send({"type": "pong"})
        return
    if isinstance(msg, m.StartCall):
        await start_call(session, directory)
        return
    call = session.call
    if call is None or call.state is CallState.ENDED:
        raise m.ProtocolError(m.OUT_OF_ORDER, "signaling.out_of_order", "no call in progress")
    if isinstance(msg, m.Offer):
        try:
            answer = await call.offer(session.role, msg.sdp)
        except CallError as exc:
            code = m.BAD_SDP if exc.reason == "signaling.bad_sdp" else m.OUT_OF_ORDER
            raise m.ProtocolError(code, exc.reason, getattr(exc, "detail", "")) from exc
        reply: dict[str, Any] = {"type": "answer", "sdp": answer}
        if msg.id is not None:
            reply["id"] = msg.id
        await session.send(reply)
    elif isinstance(msg, m.Hangup):
        await call.hangup(session.role)
    elif isinstance(msg, m.Leaving):
        await call.leaving(session.role)
    elif isinstance(msg, m.ChooseMedia):
        await call.choose_media(msg.mode)


async def enrolled(session: Session) -> bool:
    claims = session.claims
    registry = KioskRegistry(session.engine.redis)
    kiosk, device = str(claims.get("kiosk", "")), str(claims.get("device", ""))
    return await registry.still_enrolled(kiosk, device)


async def start_call(session: Session, directory: Directory) -> None:
    engine = session.engine
    claims = session.claims
    call = session.call
    if not await enrolled(session):  # revoked since the login: no new call or code from it
        await session.refuse("kiosk.not_enrolled")
        return
    if call is not None and call.state is CallState.WAITING_RELATIVE:
        await call.new_code()  # a new code after a burned or lost one
        return
    if call is not None and call.state is not CallState.ENDED:
        raise m.ProtocolError(m.OUT_OF_ORDER, "signaling.out_of_order", "call in progress")
    booking = await directory.booking(claims.get("booking") or "")
    detainee = await directory.detainee(claims["detainee"])
    if booking is None or detainee is None:
        await session.refuse("kiosk.no_booking")
        return
    correspondent = await directory.correspondent(booking.correspondent)
    refusal = people_refusal(detainee.status, correspondent.status if correspondent else None)
    if refusal is not None or correspondent is None:
        await session.refuse(refusal or "kiosk.no_booking")
        return
    try:
        call = await engine.start_call(detainee, correspondent, booking)
    except CallError as exc:
        await session.refuse(exc.reason)
        return
    await session.attach(call)
    await session.send({"type": "state", "call": call.view(Leg.KIOSK)})
