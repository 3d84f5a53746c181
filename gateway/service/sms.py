"""SMS senders. The call engine only sees :class:`SmsSender`; which one runs is configuration.

``outbox`` appends each message as one JSON line (``to``, ``text``, ``sent_at``) to a file: the
demo's and the tests' SMS gateway, and the hand-off point for a real provider's relay.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class SmsSender(Protocol):
    async def send(self, to: str, text: str) -> None: ...


class OutboxSender:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")

    async def send(self, to: str, text: str) -> None:
        record = {"to": to, "text": text, "sent_at": datetime.now(UTC).isoformat()}
        async with self._lock:
            await asyncio.to_thread(self._append, json.dumps(record, ensure_ascii=False))
        # The text holds the code: log only that a message left, never its content.
        log.info("SMS to %s written to the outbox %s", mask_phone(to), self.path)


def mask_phone(e164: str) -> str:
    """``+33612345678`` → ``+33 6 •• •• •• 78``: enough to recognise, not to dial."""
    if len(e164) < 6:
        return "••"
    return f"{e164[:3]} {e164[3]} •• •• •• {e164[-2:]}"


def make_sender(kind: str, outbox: Path) -> SmsSender:
    if kind == "outbox":
        return OutboxSender(outbox)
    raise ValueError(f"unknown SMS sender {kind!r}")
