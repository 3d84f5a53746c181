"""Several gateway processes, one service: which process owns a call, and how to reach it.

Theory of operation
-------------------
* **Live processes.** Every process heartbeats ``gw:{owner}``, a hash (its live calls, address,
  host, pid) with a time-to-live of three beats (:mod:`gateway.service.supervisor`), and lists
  itself in
  the sorted set ``gateways``. A process is live while its hash exists.
* **Owner of a call.** A call is owned by the process that terminates its two peer connections
  and runs its lifecycle. When a kiosk presses "call", the process holding its socket picks the
  owner with :func:`choose_owner` (no I/O): the live process with the fewest calls, ties broken
  by rendezvous hashing of the booking, so idle processes share the calls evenly without any
  coordination. ``bookingcall:{booking}`` names the booking's live call: it is set with NX, so
  one booking never has two live calls, on any process.
* **Routing.** Pages, the API and signaling sockets may land on any process (the reverse proxy
  needs no sticky sessions). Each process listens on one Redis pub/sub channel ``proc:{owner}``
  and receives JSON envelopes ``{"op": ...}`` there:

  - ``open``, ``up``, ``gone`` (socket holder to owner): a participant's session starts on the
    owner, one client frame, the socket closed (:mod:`signaling.routing`);
  - ``down``, ``shut`` (owner to holder): a message for the socket, closing it with a code;
  - ``rpc``, ``reply``: a request to the owner (the relative joined, a code was burned, a
    monitoring viewer's offer, a cut, a longer call) and its answer.

  Pub/sub delivers at most once and in order on a channel; nothing here needs more. A lost
  envelope means a lost process, which the heartbeat reveals within three beats: its calls are
  then ended ``interrupted`` and settled by whichever live process recovers them, and the
  sockets other processes hold for them are told (``call:{id}:socks`` lists them).
* **Media** never crosses processes: every WebRTC peer (kiosk, relative, monitoring viewer)
  connects straight to the owner's ICE address, which the owner's own answers carry.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.aio import cancel_and_wait, raise_if_cancelled
from gateway.service.redis_client import subscriber_client
from gateway.store.keys import PREFIX

log = logging.getLogger(__name__)
GATEWAYS = f"{PREFIX}gateways"
REQUEST_TIMEOUT = 10.0

Envelope = dict[str, Any]
Handler = Callable[[Envelope], None]
Method = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def choose_owner(loads: Mapping[str, int], key: str) -> str | None:
    """The process that should own a new call: fewest live calls, then rendezvous hashing of
    ``key`` (the booking) among those tied. ``None`` when no process is live."""
    if not loads:
        return None
    least = min(loads.values())
    tied = [owner for owner, calls in loads.items() if calls == least]
    return max(tied, key=lambda owner: hashlib.sha256(f"{owner}|{key}".encode()).digest())


def channel(owner: str) -> str:
    return f"{PREFIX}proc:{owner}"


def alive_key(owner: str) -> str:
    return f"{PREFIX}gw:{owner}"


class ClusterError(Exception):
    """A request to another process failed: ``reason`` as the owner gave it, or
    ``cluster.unreachable`` when the owner did not answer."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Cluster:
    """This process's link to the others: its channel, requests and their answers."""

    def __init__(self, redis: aioredis.Redis, owner: str) -> None:
        self.redis = redis
        self.owner = owner
        self.handlers: dict[str, Handler] = {}
        "Envelope handlers by ``op``, called in arrival order (they must not block)."
        self.methods: dict[str, Method] = {}
        "What other processes may ask of this one (``rpc``), by name."
        self._pending: dict[str, asyncio.Future[Envelope]] = {}
        self._pubsub: Any = None
        self._pool: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.draining = False
        "Set when this process drains (gateway.service.drain): it takes no new call."

    # -- membership ---------------------------------------------------------------------
    async def live(self) -> dict[str, dict[str, str]]:
        """Every live process and its heartbeat (this one included once it has beaten)."""
        members = await self.redis.zrange(GATEWAYS, 0, -1)
        pipe = self.redis.pipeline(transaction=False)
        for member in members:
            pipe.hgetall(alive_key(member))
        beats = await pipe.execute() if members else []
        dead = [m for m, beat in zip(members, beats, strict=True) if not beat]
        if dead:
            await self.redis.zrem(GATEWAYS, *dead)
        return {m: beat for m, beat in zip(members, beats, strict=True) if beat}

    async def alive(self, owner: str) -> bool:
        return owner == self.owner or bool(await self.redis.exists(alive_key(owner)))

    async def place(self, key: str) -> str:
        """The owner of a new call for booking ``key`` (this process if none has beaten yet)."""
        loads = {
            owner: int(beat.get("calls") or 0)
            for owner, beat in (await self.live()).items()
            if beat.get("draining") != "1" and not (owner == self.owner and self.draining)
        }  # a draining process weighs nothing: others take its new calls
        return choose_owner(loads, key) or self.owner

    # -- messages -----------------------------------------------------------------------
    @property
    def listening(self) -> bool:
        """True between :meth:`start` and :meth:`stop`: others may send to this process."""
        return self._reader is not None and not self._reader.done()

    async def start(self) -> None:
        listener = subscriber_client(self.redis)
        self._pool = listener.connection_pool
        self._pubsub = listener.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(channel(self.owner))
        self._reader = asyncio.create_task(self._read())

    async def stop(self) -> None:
        with contextlib.suppress(Exception):  # a handler's failure is not the stop's
            await cancel_and_wait(self._reader, *self._tasks)
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            with contextlib.suppress(Exception):
                await self._pool.disconnect()
        for future in self._pending.values():
            future.cancel()

    async def publish(self, owner: str, envelope: Envelope) -> bool:
        """Send to ``owner``'s channel; False when nobody listens there (the process is gone)."""
        try:
            listeners = await self.redis.publish(channel(owner), json.dumps(envelope))
        except RedisError:
            log.warning("cluster: cannot publish to %s", owner, exc_info=True)
            return False
        return bool(listeners)

    async def request(self, owner: str, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """Ask ``owner`` (possibly this very process) to run ``method``; its answer, or
        :class:`ClusterError` with the reason it refused or ``cluster.unreachable``."""
        if owner == self.owner:
            return await self.methods[method](args)
        rid = secrets.token_hex(8)
        future: asyncio.Future[Envelope] = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        try:
            envelope = {"op": "rpc", "rid": rid, "from": self.owner, "method": method,
                        "args": args}  # fmt: skip
            if not await self.publish(owner, envelope):
                raise ClusterError("cluster.unreachable", f"{owner} is not listening")
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    reply = await future
            except TimeoutError as exc:
                raise ClusterError("cluster.unreachable", f"{owner} did not answer") from exc
        finally:
            self._pending.pop(rid, None)
        if "error" in reply:
            raise ClusterError(str(reply["error"]), str(reply.get("detail", "")))
        return dict(reply.get("result") or {})

    async def _read(self) -> None:
        while True:
            try:
                async for message in self._pubsub.listen():
                    raise_if_cancelled()  # a stop the read swallowed (gateway.aio)
                    if message.get("type") == "message":
                        self._dispatch(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis restarting: resubscribe and go on
                raise_if_cancelled()
                log.warning("cluster: channel lost, listening again", exc_info=True)
                await asyncio.sleep(1.0)
                with contextlib.suppress(Exception):
                    await self._pubsub.subscribe(channel(self.owner))

    def _dispatch(self, raw: str) -> None:
        try:
            envelope = json.loads(raw)
            op = envelope["op"]
        except (ValueError, TypeError, KeyError):
            log.warning("cluster: unreadable envelope dropped")
            return
        if op == "reply":
            future = self._pending.get(str(envelope.get("rid")))
            if future is not None and not future.done():
                future.set_result(envelope)
        elif op == "rpc":
            task = asyncio.create_task(self._answer(envelope))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif (handler := self.handlers.get(op)) is not None:
            try:
                handler(envelope)
            except Exception:
                log.exception("cluster: handler of %s failed", op)
        else:
            log.warning("cluster: unknown op %r dropped", op)

    async def _answer(self, envelope: Envelope) -> None:
        reply: Envelope = {"op": "reply", "rid": envelope.get("rid")}
        method = self.methods.get(str(envelope.get("method")))
        try:
            if method is None:
                raise ClusterError("cluster.unknown_method", str(envelope.get("method")))
            reply["result"] = await method(dict(envelope.get("args") or {}))
        except ClusterError as exc:
            reply.update(error=exc.reason, detail=exc.detail)
        except Exception as exc:
            reason = getattr(exc, "reason", None)
            if not isinstance(reason, str):  # a bug: logged here, a plain refusal there
                log.exception("cluster: %s failed", envelope.get("method"))
                reason = "server.error"
            reply.update(error=reason, detail=str(getattr(exc, "detail", "")))
        await self.publish(str(envelope.get("from")), reply)
