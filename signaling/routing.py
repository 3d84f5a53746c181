"""Signaling across processes: a socket held here, its session run by the call's owner.

A participant's socket may land on any gateway process. When the call lives elsewhere, the
process holding the socket (the *holder*) keeps only the socket and a :class:`Link`; the owner
runs the session as a :class:`RemoteSession`, with exactly the rules a local socket gets
(:mod:`signaling.session`). Envelopes travel on the processes' channels
(:mod:`gateway.service.cluster`):

* holder to owner: ``open`` (claims, the page id, whether to say ``welcome``, an optional first
  frame), ``up`` (one client frame, as text), ``gone`` (the socket closed);
* owner to holder: ``down`` (a message for the socket), ``shut`` (close it with a code).

Each side handles one session's envelopes in arrival order, in one task per session. The owner
lists the remote sockets of a call in ``call:{id}:socks`` ("holder sid lang"): if the owner
dies, the process that recovers the call tells them (:mod:`gateway.service.supervisor`). A
holder whose owner stops beating for longer than recovery takes tells its page itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.core.i18n import message
from gateway.core.lifecycle import Leg
from gateway.media.calls import Call
from gateway.service.cluster import Envelope
from gateway.service.engine import CallEngine
from gateway.store.directory import Directory

from . import messages as m
from .session import Session, dispatch, welcome

log = logging.getLogger(__name__)
OWNER_SILENCE_BEATS = 6
"Beats without the owner's heartbeat after which a holder ends the session itself."


class Router:
    """This process's routed sessions: links to owners, and sessions run for holders."""

    def __init__(self, engine: CallEngine, directory: Directory) -> None:
        self.engine = engine
        self.directory = directory
        self.links: dict[str, Link] = {}
        self.remote: dict[str, RemoteSession] = {}
        cluster = engine.cluster
        cluster.handlers.update(
            open=self._for_remote, up=self._for_remote, gone=self._for_remote,
            down=self._for_link, shut=self._for_link,
        )  # fmt: skip

    # -- where a session goes ----------------------------------------------------------
    async def owner_for(self, session: Session) -> str | None:
        """The live process running this participant's call, None when there is none."""
        engine = session.engine
        if session.role is Leg.RELATIVE:
            call_id = str(session.claims.get("call") or "")
        else:
            call_id = await engine.live_call_id(str(session.claims.get("booking") or "")) or ""
        return await engine.owner_of(call_id) if call_id else None

    async def place(self, session: Session) -> str:
        """Where the kiosk's "call" goes: its booking's live call, else a new owner by load."""
        booking = str(session.claims.get("booking") or "")
        if not booking:  # refused wherever it goes: here
            return self.engine.owner
        return await self.owner_for(session) or await self.engine.cluster.place(booking)

    async def link(
        self, session: Any, owner: str, *, welcome: bool, first: str | None = None
    ) -> Link:
        link = Link(self, session, owner)
        self.links[link.sid] = link
        await link.open(welcome, first)
        return link

    # -- envelopes ------------------------------------------------------------------------
    def _for_remote(self, envelope: Envelope) -> None:
        sid = str(envelope.get("sid"))
        session = self.remote.get(sid)
        if session is None and envelope["op"] == "open":
            session = RemoteSession(self, sid, str(envelope.get("from")), envelope)
            self.remote[sid] = session
        if session is not None:
            session.inbox.put_nowait(envelope)

    def _for_link(self, envelope: Envelope) -> None:
        link = self.links.get(str(envelope.get("sid")))
        if link is not None:
            link.inbox.put_nowait(envelope)

    async def close_links(self) -> None:
        """This process stops: tell the owners its sockets are gone."""
        for link in list(self.links.values()):
            await link.close()

    def stop_sessions(self) -> None:
        """After the calls ended (their ``ended`` went to the holders): stop what is left."""
        for session in list(self.remote.values()):
            session.stop()


class Link:
    """Holder side: one socket whose session runs on ``owner``."""

    def __init__(self, router: Router, session: Any, owner: str) -> None:
        self.router = router
        self.session = session  # a signaling.websocket.SocketSession
        self.owner = owner
        self.sid = secrets.token_hex(12)
        self.inbox: asyncio.Queue[Envelope] = asyncio.Queue()
        self._tasks = [asyncio.ensure_future(self._pump()), asyncio.ensure_future(self._watch())]

    async def open(self, welcome: bool, first: str | None) -> None:
        cluster = self.router.engine.cluster
        envelope = {"op": "open", "sid": self.sid, "from": cluster.owner,
                    "claims": self.session.claims, "lang": self.session.lang,
                    "page": self.session.page, "welcome": welcome, "first": first}  # fmt: skip
        if not await cluster.publish(self.owner, envelope):
            self.lost()

    async def up(self, text: str) -> None:
        envelope = {"op": "up", "sid": self.sid, "data": text}
        if not await self.router.engine.cluster.publish(self.owner, envelope):
            self.lost()

    def lost(self) -> None:
        """The owner is gone without a word: the call was interrupted."""
        msg = {"type": "ended", "reason": "interrupted",
               "message": message("ended.interrupted", self.session.lang)}  # fmt: skip
        self.inbox.put_nowait({"op": "down", "msg": msg})

    async def close(self) -> None:
        """The socket closed: tell the owner, stop."""
        if self.router.links.pop(self.sid, None) is None:
            return
        await self.router.engine.cluster.publish(self.owner, {"op": "gone", "sid": self.sid})
        for task in self._tasks:
            task.cancel()

    async def _pump(self) -> None:
        while True:
            envelope = await self.inbox.get()
            try:
                if envelope["op"] == "down":
                    await self.session.send(envelope["msg"])
                elif envelope["op"] == "shut":
                    code, reason = int(envelope.get("code", 1011)), str(envelope.get("reason"))
                    await self.session.ws.close(code=code, message=reason.encode()[:120])
            except (ConnectionResetError, RuntimeError):
                log.debug("link %s: socket gone", self.sid)

    async def _watch(self) -> None:
        engine = self.router.engine
        silent = 0
        while silent < OWNER_SILENCE_BEATS:
            await asyncio.sleep(engine.config.heartbeat_seconds)
            try:
                alive = await engine.cluster.alive(self.owner)
            except Exception:
                continue
            silent = 0 if alive else silent + 1
        self.lost()


class RemoteSession(Session):
    """Owner side: the session of a socket another process holds."""

    def __init__(self, router: Router, sid: str, holder: str, opening: Envelope) -> None:
        super().__init__(router.engine, str(opening.get("lang") or router.engine.config.lang))
        self.router = router
        self.sid = sid
        self.holder = holder
        self.inbox: asyncio.Queue[Envelope] = asyncio.Queue()
        self._worker = asyncio.ensure_future(self._work())

    async def _publish(self, envelope: Envelope) -> bool:
        return await self.engine.cluster.publish(self.holder, {**envelope, "sid": self.sid})

    async def send(self, msg: dict[str, Any]) -> None:
        heard = await self._publish({"op": "down", "msg": msg})
        if msg.get("type") == "ended" or not heard:
            self.inbox.put_nowait({"op": "gone"})  # the holder closes the socket, or is gone

    async def shut(self, code: int, reason: str) -> None:
        await self._publish({"op": "shut", "code": code, "reason": reason})

    async def attached(self, call: Call) -> None:
        await self.engine.records.add_socket(call.id, f"{self.holder} {self.sid} {self.lang}")

    def stop(self) -> None:
        self._worker.cancel()

    async def _work(self) -> None:
        steps: dict[str, Callable[[Envelope], Awaitable[bool]]] = {
            "open": self._open, "up": self._up,
        }  # fmt: skip
        try:
            while True:
                envelope = await self.inbox.get()
                step = steps.get(envelope["op"])
                if step is None or not await step(envelope):
                    return
        except m.ProtocolError as exc:
            log.info("signaling (routed): closing socket: %s", exc)
            await self.shut(exc.code, exc.reason)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("signaling (routed): session %s failed", self.sid)
            await self.shut(1011, "server.error")
        finally:
            self.detach()
            self.router.remote.pop(self.sid, None)
            if self.call is not None:
                with contextlib.suppress(Exception):
                    entry = f"{self.holder} {self.sid} {self.lang}"
                    await self.engine.records.remove_socket(self.call.id, entry)

    async def _open(self, envelope: Envelope) -> bool:
        self.identify(dict(envelope.get("claims") or {}))
        page = envelope.get("page")
        self.page = page if isinstance(page, str) and m.PAGE_ID.fullmatch(page) else None
        if envelope.get("welcome") and not await welcome(self):
            return False
        first = envelope.get("first")
        if isinstance(first, str):
            await dispatch(self, m.parse(first), self.router.directory)
        return True

    async def _up(self, envelope: Envelope) -> bool:
        await dispatch(self, m.parse(str(envelope.get("data"))), self.router.directory)
        return True
