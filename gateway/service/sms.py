"""SMS: the queue every message goes through, the worker that sends it, and the senders.

The call engine only sees :class:`SmsSender` (``send(to, text)``); in the gateway that is a
:class:`QueuedSms`, which *queues* the message in Redis (:mod:`gateway.store.sms_queue`) and
wakes this process's :class:`SmsWorker`. Every process runs a worker; a message is claimed by
exactly one of them, sent by the configured :class:`Transport`, and its outcome settled by the
rules of :mod:`gateway.core.sms_queue` (retry with backoff, give up on a permanent refusal).

``outbox`` appends each message as one JSON line (``to``, ``text``, ``sent_at``, ``id``) to a
file: the demo's and the tests' SMS gateway. A line with the same ``id`` is never written twice,
so a message re-claimed after a crash is not sent twice.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from gateway.aio import cancel_and_wait, raise_if_cancelled
from gateway.config import GatewayConfig
from gateway.core.sms_queue import Outcome, RetryPolicy, after_attempt, mask_phone, renew_every
from gateway.service.redis_client import subscriber_client
from gateway.store.sms_queue import STATUS_CHANNEL, Claimed, SmsQueue

log = logging.getLogger(__name__)

__all__ = ["OutboxSender", "QueuedSms", "SmsSender", "SmsWorker", "Transport", "mask_phone"]


class SmsSender(Protocol):
    async def send(self, to: str, text: str, call: str = "") -> None: ...


class Transport(Protocol):
    async def deliver(self, msg_id: str, to: str, text: str) -> Outcome: ...


class OutboxSender:
    """Writes JSON lines to a file; idempotent by message id."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()
        self._written: set[str] | None = None

    def _seen(self) -> set[str]:
        seen: set[str] = set()
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    seen.add(str(json.loads(line).get("id", "")))
                except ValueError:
                    continue
        return seen

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")

    async def deliver(self, msg_id: str, to: str, text: str) -> Outcome:
        record = {"to": to, "text": text, "sent_at": datetime.now(UTC).isoformat(), "id": msg_id}
        async with self._lock:
            try:
                if self._written is None:
                    self._written = await asyncio.to_thread(self._seen)
                if msg_id not in self._written:
                    await asyncio.to_thread(self._append, json.dumps(record, ensure_ascii=False))
                    self._written.add(msg_id)
            except OSError as exc:
                return Outcome("transient", reason=f"sms.outbox_unwritable:{exc.errno}")
        return Outcome("sent", provider_id=msg_id)


class QueuedSms:
    """What the call engine sends through: queue in Redis, then wake the local worker."""

    def __init__(self, queue: SmsQueue, worker: SmsWorker, clock: Callable[[], float]) -> None:
        self.queue, self.worker, self.clock = queue, worker, clock

    async def send(self, to: str, text: str, call: str = "") -> None:
        msg_id = await self.queue.enqueue(to, text, self.clock(), call=call)
        log.info("SMS %s to %s queued", msg_id, mask_phone(to))
        self.worker.wake()

    async def send_once(self, once: str, ttl: int, to: str, text: str) -> bool:
        """Queue unless ``once`` (a Redis key's name) was queued before; True if queued."""
        msg_id = await self.queue.enqueue_once(once, ttl, to, text, self.clock())
        if msg_id is None:
            return False
        log.info("SMS %s to %s queued (%s)", msg_id, mask_phone(to), once)
        self.worker.wake()
        return True


class SmsWorker:
    """Claims due messages and sends them; one per process, all of them share the queue."""

    def __init__(
        self,
        queue: SmsQueue,
        transport: Transport,
        owner: str,
        policy: RetryPolicy,
        lease: float = 30.0,
        poll: float = 1.0,
        clock: Callable[[], float] = time.time,
        limit: int = 10,
        renew_interval: float | None = None,
    ) -> None:
        self.queue, self.transport, self.owner = queue, transport, owner
        self.policy, self.lease, self.poll, self.clock = policy, lease, poll, clock
        self.limit = limit
        "Messages per claim at most (:func:`gateway.core.sms_queue.claim_limit`)."
        self.renew_interval = renew_every(lease) if renew_interval is None else renew_interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.counts: collections.Counter[str] = collections.Counter()
        "Attempts this process made, by the status they led to (for /metrics)."

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        starter = getattr(self.transport, "start", None)
        if starter is not None:  # a long-lived session (SMPP) binds now, not at the first SMS
            starter()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        stopper = getattr(self.transport, "stop", None)
        if stopper is not None:
            await stopper()

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away for a moment: the queue is still there after.
                raise_if_cancelled()  # a stop that redis-py's read turned into an error
                log.exception("SMS worker pass failed")
            # A stop the pass swallowed: Python 3.11's wait_for, in redis-py's write, returns the
            # write's result when the cancel comes as the write completes. Going round, the poll's
            # asyncio.timeout took that cancel for its base and no stop ever ended the loop.
            raise_if_cancelled()
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancel that
            # comes as the event is set, and stop() then waited for ever (seen in the tests).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll):
                    await self._wake.wait()
            self._wake.clear()

    async def run_once(self) -> int:
        """Send every due message this process could claim; return how many were tried.

        The claimed messages go out together: the sender bounds how many are in flight (SMPP's
        window and throttle), so a slow answer does not hold up the others. The leases of the
        sends under way are renewed; a send whose lease was lost is abandoned."""
        claimed = await self.queue.claim(self.owner, self.clock(), self.lease, self.limit)
        if not claimed:
            return 0
        sends: dict[str, asyncio.Task[Outcome]] = {}
        renewer = asyncio.create_task(self._renew(claimed, sends))
        try:
            results = await asyncio.gather(
                *(self._attempt(m, sends) for m in claimed), return_exceptions=True
            )
        finally:
            await cancel_and_wait(renewer)
        for msg, result in zip(claimed, results, strict=True):
            if isinstance(result, BaseException):  # Redis away at settle: the lease runs out
                log.error("SMS %s not settled: %r", msg.id, result)
        return len(claimed)

    async def _renew(self, claimed: list[Claimed], sends: dict[str, asyncio.Task[Outcome]]) -> None:
        while True:
            raise_if_cancelled()  # the pass ended during a renewal that swallowed it (see _run)
            await asyncio.sleep(self.renew_interval)
            live = [m for m in claimed if m.id in sends]
            try:
                held = await self.queue.renew(self.owner, live, self.clock(), self.lease)
            except Exception:  # Redis away for a moment: the lease may still hold, try again
                # The pass ended while a renewal was under way: redis-py may turn that cancel
                # into an error, and swallowing it left run_once awaiting this task for ever.
                raise_if_cancelled()
                log.warning("SMS leases not renewed", exc_info=True)
                continue
            for m in live:
                send = sends.get(m.id)
                if m.id not in held and send is not None:
                    send.cancel()  # another process holds it now: that one sends it

    async def _attempt(self, msg: Claimed, sends: dict[str, asyncio.Task[Outcome]]) -> None:
        send = asyncio.create_task(self.transport.deliver(msg.id, msg.to, msg.text))
        sends[msg.id] = send
        try:
            outcome = await send
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the worker stops
            log.warning("SMS %s abandoned: its lease was lost to another process", msg.id)
            return
        except Exception as exc:  # a sender's bug or a dropped link: try again later
            raise_if_cancelled()
            outcome = Outcome("transient", reason=f"sms.error:{type(exc).__name__}")
        finally:
            sends.pop(msg.id, None)
        decision = after_attempt(outcome, msg.attempts, self.clock(), self.policy)
        self.counts[str(decision.status)] += 1
        kept = await self.queue.settle(
            msg.id, self.owner, decision, self.clock(), outcome.provider_id
        )
        # Never the text: it holds the code.
        log.info(
            "SMS %s to %s: attempt %d %s -> %s %s%s",
            msg.id, mask_phone(msg.to), msg.attempts, outcome.kind, decision.status,
            decision.reason, "" if kept else " (lease lost)",
        )  # fmt: skip


async def follow_status(
    redis: Any,
    on_status: Callable[[str, str, str], Awaitable[None]],
    subscribed: asyncio.Event | None = None,
) -> None:
    """Hand every status change of the cluster's SMS (``call``, ``status``, ``reason``) on.

    ``subscribed`` is set once Redis has confirmed the subscription: a status published
    before that is lost (pub/sub keeps nothing), so the app starts serving only then."""
    client = subscriber_client(redis)
    try:
        while True:
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(STATUS_CHANNEL)
                if subscribed is not None and not subscribed.is_set():
                    # The confirmation comes back on the connection before any message.
                    await pubsub.get_message(ignore_subscribe_messages=False, timeout=5)
                    subscribed.set()
                async for message in pubsub.listen():
                    raise_if_cancelled()  # a stop the read swallowed (gateway.aio)
                    data = json.loads(message["data"])
                    if data.get("call"):
                        await on_status(data["call"], data["status"], data.get("reason", ""))
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis restarting: subscribe again
                raise_if_cancelled()
                log.warning("SMS status feed interrupted", exc_info=True)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
    finally:
        with contextlib.suppress(Exception):
            await client.connection_pool.disconnect()


def make_transport(config: GatewayConfig, queue: SmsQueue) -> Transport:
    """The configured sender; its receipts land in ``queue`` (``delivered`` / ``failed``)."""

    async def on_receipt(provider_id: str, status: str, reason: str) -> None:
        msg_id = await queue.receipt(provider_id, status, reason, time.time())
        where = msg_id or "an id not stored yet (kept a minute)"
        log.info("SMS receipt %s for %s: %s %s", provider_id, where, status, reason)

    if config.sms_sender == "outbox":
        return OutboxSender(config.outbox_path)
    if config.sms_sender == "smpp":
        from gateway.service.smpp import SmppSender, SmppSettings

        settings = SmppSettings(
            host=config.sms_smpp_host, port=config.sms_smpp_port,
            system_id=config.sms_smpp_system_id, password=config.sms_smpp_password,
            system_type=config.sms_smpp_system_type, source_addr=config.sms_smpp_source_addr,
            source_ton=config.sms_smpp_source_ton, source_npi=config.sms_smpp_source_npi,
            window=config.sms_smpp_window, throttle=config.sms_smpp_throttle,
            enquire_seconds=config.sms_smpp_enquire_seconds,
        )  # fmt: skip
        return SmppSender(settings, on_receipt)
    if config.sms_sender == "https":
        from gateway.service.sms_https import HttpsSender

        return HttpsSender(config.sms_https_url, config.sms_https_token,
                           config.sms_https_timeout_seconds)  # fmt: skip
    raise ValueError(f"unknown SMS sender {config.sms_sender!r}")
