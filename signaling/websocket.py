"""The aiohttp WebSocket endpoint ``/ws``: an adapter between sockets and the call engine.

Rules of the protocol (parsing, roles) live in :mod:`signaling.messages`; the call's rules live
in :mod:`gateway.lifecycle`. A fault in one socket closes that socket only.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import WSMsgType, web

from gateway import appkeys as keys
from gateway.calls import Call, CallEngine, CallError, dumps
from gateway.directory import Directory
from gateway.i18n import message
from gateway.kiosks import KioskRegistry
from gateway.lifecycle import CallState, Leg
from gateway.sessions import Tokens

from . import messages as m

log = logging.getLogger(__name__)
HELLO_TIMEOUT = 10.0


class Session:
    """One socket of one participant."""

    def __init__(self, ws: web.WebSocketResponse, engine: CallEngine, lang: str) -> None:
        self.ws = ws
        self.engine = engine
        self.lang = lang
        self.role: Leg | None = None
        self.claims: dict[str, Any] = {}
        self.call: Call | None = None

    async def send(self, msg: dict[str, Any]) -> None:
        if not self.ws.closed:
            await self.ws.send_str(dumps(msg))
        if msg.get("type") == "ended":
            await self.ws.close(code=1000, message=b"call.ended")

    async def refuse(self, reason: str) -> None:
        await self.send({"type": "error", "reason": reason, "message": message(reason, self.lang)})


async def handle_ws(request: web.Request) -> web.WebSocketResponse:
    app = request.app
    ws = web.WebSocketResponse(max_msg_size=m.MAX_MESSAGE_BYTES, heartbeat=20.0)
    await ws.prepare(request)
    session = Session(ws, app[keys.ENGINE], app[keys.CONFIG].lang)
    try:
        await _serve(session, app[keys.TOKENS], app[keys.DIRECTORY])
    except m.ProtocolError as exc:
        log.info("signaling: closing socket: %s", exc)
        await ws.close(code=exc.code, message=exc.reason.encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        if session.call is not None and session.role is not None:
            session.call.detach(session.role, session.send)
    return ws


async def _serve(session: Session, tokens: Tokens, directory: Directory) -> None:
    ws = session.ws
    try:
        first = await ws.receive(timeout=HELLO_TIMEOUT)
    except TimeoutError as exc:
        raise m.ProtocolError(m.UNAUTHORIZED, "signaling.unauthorized", "no hello") from exc
    if first.type != WSMsgType.TEXT:
        raise m.ProtocolError(m.UNAUTHORIZED, "signaling.unauthorized", "no hello")
    hello = m.parse(first.data)
    if not isinstance(hello, m.Hello):
        raise m.ProtocolError(m.UNAUTHORIZED, "signaling.unauthorized", "hello first")
    claims = await tokens.claims(hello.token)
    if claims is None:
        raise m.ProtocolError(m.UNAUTHORIZED, "signaling.unauthorized", "bad token")
    session.claims = claims
    if claims.get("role") == str(Leg.KIOSK) and not await _enrolled(session):
        raise m.ProtocolError(m.UNAUTHORIZED, "kiosk.not_enrolled", "kiosk revoked")
    session.lang = claims.get("lang", session.lang)
    session.role = Leg(claims["role"])
    engine = session.engine
    if session.role is Leg.RELATIVE:
        session.call = engine.calls.get(claims["call"])
    else:
        session.call = engine.live_call_for_booking(claims.get("booking") or "")
    if session.call is not None:
        session.call.attach(session.role, session.send)
    await session.send(
        {
            "type": "welcome",
            "role": str(session.role),
            "call": session.call.view(session.role) if session.call else None,
        }
    )
    if session.role is Leg.RELATIVE and session.call is None:
        # The call ended while the relative was away.
        await session.send({"type": "ended", "reason": "ended", "message": ""})
        return

    async for frame in ws:
        if frame.type == WSMsgType.TEXT:
            await _dispatch(session, m.parse(frame.data), directory)
        elif frame.type == WSMsgType.BINARY:
            raise m.ProtocolError(m.MALFORMED, "signaling.malformed", "binary frame")
        elif frame.type == WSMsgType.ERROR:
            break


async def _dispatch(session: Session, msg: m.ClientMessage, directory: Directory) -> None:
    assert session.role is not None
    m.check_role(msg, str(session.role))
    if isinstance(msg, m.Ping):
        await session.send({"type": "pong"})
        return
    if isinstance(msg, m.StartCall):
        await _start_call(session, directory)
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
        await session.send({"type": "answer", "sdp": answer})
    elif isinstance(msg, m.Hangup):
        await call.hangup(session.role)


async def _enrolled(session: Session) -> bool:
    claims = session.claims
    registry = KioskRegistry(session.engine.redis)
    kiosk, device = str(claims.get("kiosk", "")), str(claims.get("device", ""))
    return await registry.still_enrolled(kiosk, device)


async def _start_call(session: Session, directory: Directory) -> None:
    engine = session.engine
    claims = session.claims
    call = session.call
    if not await _enrolled(session):  # revoked since the login: no new call or code from it
        await session.refuse("kiosk.not_enrolled")
        return
    if call is not None and call.state is CallState.WAITING_RELATIVE:
        await call.new_code()  # a new code after a burned or lost one
        return
    if call is not None and call.state is not CallState.ENDED:
        raise m.ProtocolError(m.OUT_OF_ORDER, "signaling.out_of_order", "call in progress")
    booking = await directory.booking(claims.get("booking") or "")
    detainee = await directory.detainee(claims["detainee"])
    if booking is None or detainee is None or detainee.status != "active":
        await session.refuse("kiosk.no_booking")
        return
    correspondent = await directory.correspondent(booking.correspondent)
    if correspondent is None or correspondent.status != "authorised":
        await session.refuse("kiosk.no_booking")
        return
    try:
        call = await engine.start_call(detainee, correspondent, booking)
    except CallError as exc:
        await session.refuse(exc.reason)
        return
    session.call = call
    call.attach(Leg.KIOSK, session.send)
    await session.send({"type": "state", "call": call.view(Leg.KIOSK)})
