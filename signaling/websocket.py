"""The aiohttp WebSocket endpoint ``/ws``: an adapter between sockets and the call engine.

Rules of the protocol (parsing, roles) live in :mod:`signaling.messages`; a session's rules in
:mod:`signaling.session`; the call's rules in :mod:`gateway.core.lifecycle`. A fault in one socket
closes that socket only.

A socket may land on any gateway process. When its call is owned by another process (or the
kiosk's "call" is placed on another one), this process keeps the socket and relays its frames to
the owner, who runs the session (:mod:`signaling.routing`); pings are answered here.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from gateway.core.lifecycle import CallState, Leg
from gateway.media.calls import dumps
from gateway.service.engine import CallEngine
from gateway.store.directory import Directory
from gateway.store.tokens import Tokens

from . import messages as m
from .routing import Link, Router
from .session import Session, dispatch, enrolled, welcome

log = logging.getLogger(__name__)
HELLO_TIMEOUT = 10.0


@dataclass(frozen=True)
class Signaling:
    """What ``/ws`` needs, handed over by the application that serves it (so that signaling
    never reaches into the HTTP layer's keys)."""

    engine: CallEngine
    directory: Directory
    tokens: Tokens
    router: Router
    public_url: str
    lang: str


SIGNALING = web.AppKey("signaling", Signaling)


class SocketSession(Session):
    """One participant's socket, held by this process."""

    def __init__(self, ws: web.WebSocketResponse, engine: CallEngine, lang: str) -> None:
        super().__init__(engine, lang)
        self.ws = ws
        self.link: Link | None = None
        "Set while the session runs on another process (the call's owner)."

    async def send(self, msg: dict[str, Any]) -> None:
        if not self.ws.closed:
            await self.ws.send_str(dumps(msg))
        if msg.get("type") == "ended":
            await self.ws.close(code=1000, message=b"call.ended")

    async def shut(self, code: int, reason: str) -> None:
        await self.ws.close(code=code, message=reason.encode()[:120])


def setup(
    app: web.Application, engine: CallEngine, directory: Directory, tokens: Tokens,
    public_url: str, lang: str,
) -> None:
    """``/ws``'s dependencies and this process's router of remote sessions (the route itself is
    in :mod:`gateway.core.routes`)."""
    router = Router(engine, directory)
    app[SIGNALING] = Signaling(engine, directory, tokens, router, public_url, lang)

    async def close_links(app: web.Application) -> None:
        await router.close_links()

    async def stop_sessions(app: web.Application) -> None:
        router.stop_sessions()

    app.on_shutdown.append(close_links)
    app.on_cleanup.append(stop_sessions)  # after on_shutdown ended the calls


def origin_allowed(origin: str | None, public_url: str, scheme: str, host: str) -> bool:
    """Whether a socket's ``Origin`` is one of the service's own addresses: ``public_url``, or
    the address the request itself reached (``scheme://host`` as the trusted proxy forwards it)
    when that is an IP literal or localhost, i.e. one of the addresses bound (a name other than
    ``public_url``'s could be DNS rebinding). No ``Origin`` at all: not a browser (the kiosk's
    and tests' aiortc peers), which a hostile page cannot drive; the token still decides.
    Stateless, so the same on every process of a cluster."""
    if origin is None:
        return True
    origin = origin.rstrip("/").lower()
    if public_url:
        own = urlsplit(public_url)
        if origin == f"{own.scheme}://{own.netloc}".lower():
            return True
    name = urlsplit(f"//{host}").hostname or ""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        if name != "localhost":
            return False
    return origin == f"{scheme}://{host}".lower()


async def handle_ws(request: web.Request) -> web.WebSocketResponse:
    deps = request.app[SIGNALING]
    ws = web.WebSocketResponse(max_msg_size=m.MAX_MESSAGE_BYTES, heartbeat=20.0)
    await ws.prepare(request)
    origin = request.headers.get("Origin")
    if not origin_allowed(origin, deps.public_url, request.scheme, request.host):
        log.info("signaling: refusing a socket from origin %r", origin[:100] if origin else "")
        await ws.close(code=m.FORBIDDEN_ORIGIN, message=b"signaling.bad_origin")
        return ws
    session = SocketSession(ws, deps.engine, deps.lang)
    try:
        await _serve(session, deps.router, deps.tokens, deps.directory)
    except m.ProtocolError as exc:
        log.info("signaling: closing socket: %s", exc)
        await ws.close(code=exc.code, message=exc.reason.encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        session.detach()
        if session.link is not None:
            await session.link.close()
    return ws


async def _serve(
    session: SocketSession, router: Router, tokens: Tokens, directory: Directory
) -> None:
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
    session.page = hello.page
    if claims.get("role") == str(Leg.KIOSK) and not await enrolled(session):
        raise m.ProtocolError(m.UNAUTHORIZED, "kiosk.not_enrolled", "kiosk revoked")
    session.identify(claims)
    owner = await router.owner_for(session)
    if owner is not None and owner != session.engine.owner:
        session.link = await router.link(session, owner, welcome=True)
    elif not await welcome(session):
        return

    async for frame in ws:
        if frame.type == WSMsgType.TEXT:
            await _received(session, router, frame.data, directory)
        elif frame.type == WSMsgType.BINARY:
            raise m.ProtocolError(m.MALFORMED, "signaling.malformed", "binary frame")
        elif frame.type == WSMsgType.ERROR:
            break


async def _received(
    session: SocketSession, router: Router, text: str, directory: Directory
) -> None:
    msg = m.parse(text)
    assert session.role is not None
    m.check_role(msg, str(session.role))
    if isinstance(msg, m.Ping):
        await session.send({"type": "pong"})
    elif session.link is not None:
        await session.link.up(text)
    elif isinstance(msg, m.StartCall) and (
        session.call is None or session.call.state is CallState.ENDED
    ):
        owner = await router.place(session)
        if owner == session.engine.owner:
            await dispatch(session, msg, directory)
        else:
            session.link = await router.link(session, owner, welcome=False, first=text)
    else:
        await dispatch(session, msg, directory)
