"""Stopping a task without swallowing a cancel meant for the one who stops it.

The usual ``task.cancel(); with suppress(CancelledError): await task`` cannot tell the task's
own end from a cancel of the *caller*, which arrives as the same exception while the caller
waits: the caller then goes on as if nothing had been asked, and whoever stops *it* waits for
ever (the SMS worker's stop, issue 14). ``Task.cancelling()`` tells them apart: it counts the
cancels asked of the current task and not yet withdrawn (``uncancel()``, as ``asyncio.timeout``
does for its own). A count that grew while we waited is the caller's cancel: raise it.
"""

from __future__ import annotations

import asyncio
from typing import Any


def _cancels() -> int:
    task = asyncio.current_task()
    return task.cancelling() if task is not None else 0


async def cancel_and_wait(*tasks: asyncio.Future[Any] | None) -> None:
    """Cancel every task given (``None`` skipped) and wait until each has ended.

    A task's own ``CancelledError`` is its expected end and is dropped; the first other error
    one ended with is raised once all have ended. A cancel of the caller that comes meanwhile
    is raised at once, even when the task it came through ended without a ``CancelledError``
    (a task that caught its cancel and returned hands the caller a plain result, and the
    caller's cancel would be lost). A clean-up already under way in a cancelled caller (an
    ``except CancelledError`` that stops its workers) is not cut short: only a cancel asked
    while it waits is raised."""
    before = _cancels()
    live = [t for t in tasks if t is not None]
    for task in live:
        task.cancel()
    error: Exception | None = None
    for task in live:
        try:
            await task
        except asyncio.CancelledError:
            if _cancels() > before:
                raise
        except Exception as exc:  # raised once the others have ended too
            error = error or exc
    if _cancels() > before:
        raise asyncio.CancelledError
    if error is not None:
        raise error


def raise_if_cancelled() -> None:
    """Raise a cancel of the current task that a library turned into an error or swallowed.

    In an ``except Exception`` (redis-py's read, cancelled, may raise a ``ConnectionError``)
    and at each turn of a loop: Python 3.11's ``wait_for``, used inside redis-py's write,
    returns the write's result when a cancel comes as the write completes, and drops the
    cancel. ``Task.cancelling()`` still counts it: a loop that goes round anyway never stops."""
    if _cancels():
        raise asyncio.CancelledError
