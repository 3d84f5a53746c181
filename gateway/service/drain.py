"""Drain a gateway process for an upgrade: the adapter of :mod:`gateway.core.drain`.

A stop request (SIGTERM, SIGINT, or a ``drain`` envelope on the process's channel sent by
``python -m gateway drain --owner``) goes through the core rule. Draining, the process beats
``draining=1`` at once (:meth:`gateway.service.cluster.Cluster.place` then gives it no new call,
and the engine refuses one that a stale placement still sends), ``/readyz`` answers 503
``ready.draining``, and its live calls go on to their normal end. :attr:`Drainer.done` is set when
the process should exit; ``interrupt`` says whether calls are left (they end ``interrupted``
when the application shuts down, as before).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from gateway.aio import cancel_and_wait
from gateway.core.drain import Action, Drain, Phase, on_request, on_tick

if TYPE_CHECKING:
    from gateway.service.engine import CallEngine
    from gateway.service.supervisor import Supervisor

log = logging.getLogger(__name__)
TICK = 0.5


class Drainer:
    def __init__(self, engine: CallEngine, supervisor: Supervisor, timeout: float) -> None:
        self.engine = engine
        self.supervisor = supervisor
        self.timeout = timeout
        self.state = Drain()
        self.done = asyncio.Event()
        self.interrupt = False
        self._task: asyncio.Task[None] | None = None
        engine.cluster.handlers["drain"] = lambda _envelope: self.request()

    @property
    def draining(self) -> bool:
        return self.state.phase is Phase.DRAINING

    def request(self) -> None:
        """A stop request (signal handler, envelope): never blocks."""
        self.state, action = on_request(
            self.state, time.monotonic(), len(self.engine.calls), self.timeout
        )
        log.warning("stop requested: %s (%d live calls)", action, len(self.engine.calls))
        self._act(action)

    def _act(self, action: Action) -> None:
        if action is Action.DRAIN:
            self.engine.cluster.draining = True
            self._task = asyncio.ensure_future(self._watch())
        elif action in (Action.STOP, Action.INTERRUPT):
            self.interrupt = action is Action.INTERRUPT
            self.done.set()

    async def _watch(self) -> None:
        with contextlib.suppress(Exception):  # Redis away: the next beat says it
            await self.supervisor.heartbeat()
        while not self.done.is_set():
            self.state, action = on_tick(self.state, time.monotonic(), len(self.engine.calls))
            self._act(action)
            await asyncio.sleep(TICK)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
