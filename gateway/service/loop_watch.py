"""The adapter of :class:`gateway.core.loop_load.LoopLoad`: a task that ticks it on the loop."""

from __future__ import annotations

import asyncio
import time

from gateway.aio import cancel_and_wait
from gateway.core.loop_load import LoopLoad

INTERVAL = 0.5
"""Seconds between ticks: fine enough to catch a stall, a negligible cost (two clock reads)."""


class LoopWatch:
    """Ticks :attr:`load` every :data:`INTERVAL` from the event loop it runs on."""

    def __init__(self, interval: float = INTERVAL) -> None:
        self.load = LoopLoad()
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def cpu() -> float:
        """The CPU seconds of the calling thread: the loop's, when called on it."""
        return time.thread_time()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        self.load.tick(loop.time(), self.cpu(), loop.time())
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            self.load.tick(loop.time(), self.cpu(), due)
