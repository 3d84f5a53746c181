"""cancel_and_wait: a stop() that is itself cancelled while it waits stops too (issue 14)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable

import pytest

from gateway.aio import cancel_and_wait, raise_if_cancelled


async def old_pattern(task: asyncio.Task[None]) -> None:
    """What every stop() did before: it cannot tell the task's end from its own cancel."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def slow_to_end(ends_cancelled: bool = True) -> asyncio.Task[None]:
    """A worker that takes a moment to clean up once cancelled (closing a link, a last write)."""

    async def work() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)
            if ends_cancelled:
                raise

    return asyncio.create_task(work())


async def stop_cancelled_midway(
    stop: Callable[[asyncio.Task[None]], Awaitable[None]], worker: asyncio.Task[None]
) -> tuple[asyncio.Task[None], list[str]]:
    """Run ``stop(worker)`` as the body of a task that is cancelled while it waits."""
    went_on: list[str] = []

    async def stopper() -> None:
        await stop(worker)
        went_on.append("after stop")  # what a swallowed cancel lets through

    await asyncio.sleep(0)  # the worker is waiting
    caller = asyncio.create_task(stopper())
    await asyncio.sleep(0.01)  # the caller waits for the worker's clean-up
    caller.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await caller
    assert worker.done()
    return caller, went_on


@pytest.mark.parametrize("ends_cancelled", [True, False], ids=["raises", "returns"])
async def test_the_callers_cancel_is_raised_not_swallowed(ends_cancelled: bool) -> None:
    caller, went_on = await stop_cancelled_midway(cancel_and_wait, slow_to_end(ends_cancelled))
    assert caller.cancelled() and went_on == []


@pytest.mark.parametrize("ends_cancelled", [True, False], ids=["raises", "returns"])
async def test_the_old_pattern_swallowed_it(ends_cancelled: bool) -> None:
    # The same scenario, the same checks as above, fail with the old pattern.
    caller, went_on = await stop_cancelled_midway(old_pattern, slow_to_end(ends_cancelled))
    assert not caller.cancelled() and went_on == ["after stop"]


async def test_the_tasks_own_cancel_is_its_expected_end() -> None:
    workers = [slow_to_end(), slow_to_end(ends_cancelled=False), None]
    await asyncio.sleep(0)
    await cancel_and_wait(*workers)
    assert all(w is not None and w.done() for w in workers[:2])


async def test_a_clean_up_under_way_in_a_cancelled_task_is_not_cut_short() -> None:
    """A stop() called from an ``except CancelledError`` goes to its end: only a new cancel,
    asked while it waits, is raised."""
    steps: list[str] = []

    async def owner() -> None:
        worker = slow_to_end()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await cancel_and_wait(worker)
            steps.append("worker stopped")
            raise

    task = asyncio.create_task(owner())
    await asyncio.sleep(0.01)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.cancelled() and steps == ["worker stopped"]


async def test_an_error_the_task_ended_with_is_raised() -> None:
    async def broken() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            raise RuntimeError("closing failed")

    task = asyncio.create_task(broken())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="closing failed"):
        await cancel_and_wait(task)


async def test_a_loop_stops_after_a_cancel_that_wait_for_swallowed() -> None:
    """The SMS worker's hang: a cancel that comes as the awaited result does is dropped by
    Python 3.11's wait_for (inside redis-py's write); the loop's turn still sees it."""
    answer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    turns: list[str] = []

    async def loop(check: bool) -> None:
        await asyncio.wait_for(answer, 10)  # the write, as the cancel comes
        turns.append("went round")
        if check:
            raise_if_cancelled()
        turns.append("went on")

    for check in (False, True):
        answer = asyncio.get_running_loop().create_future()
        turns.clear()
        task = asyncio.create_task(loop(check))
        await asyncio.sleep(0)
        answer.set_result(None)
        task.cancel()  # in the same turn of the event loop
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if check:
            assert task.cancelled() and "went on" not in turns
        elif sys.version_info < (3, 12):
            assert turns == ["went round", "went on"]  # swallowed: what the check is for
