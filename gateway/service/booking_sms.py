"""Booking notices by SMS: on booking, a reminder before the slot, on cancellation.

The rules are :mod:`gateway.core.booking_sms`; this is the I/O. Each notice is claimed once per
booking in Redis *in the same script* that queues it (:meth:`SmsQueue.enqueue_once`): a failure
to queue leaves the claim free for the next pass, a notice queued is never queued again; then
the queue's idempotency and retries apply. Every process runs :meth:`BookingNotices.run`:
each pass looks at the bookings starting within the reminder lead, and the claim makes one
process send each reminder. A failure here never fails the booking itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from gateway.aio import cancel_and_wait, raise_if_cancelled
from gateway.core import booking_sms
from gateway.core.booking_sms import Kind, NoticeFacts
from gateway.core.records import Booking
from gateway.core.sms_queue import mask_phone
from gateway.service.sms import QueuedSms
from gateway.store.directory import Directory
from gateway.store.sanctions import Sanctions

log = logging.getLogger(__name__)


class BookingNotices:
    def __init__(
        self,
        redis: Any,
        directory: Directory,
        sms: QueuedSms,
        local: Callable[[float], Any],
        *,
        enabled: bool,
        lead_minutes: int = 30,
        lang: str = "fr",
        poll: float = 30.0,
    ) -> None:
        self.redis, self.directory, self.sms, self.local = redis, directory, sms, local
        self.enabled, self.lead_minutes, self.lang, self.poll = enabled, lead_minutes, lang, poll
        self._task: asyncio.Task[None] | None = None

    async def notify(self, booking: Booking, kind: Kind, now: float) -> bool:
        """Send ``kind``'s notice for ``booking`` if the rules say so; True if it was queued."""
        try:
            return await self._notify(booking, kind, now)
        except Exception:  # the booking stands even if the SMS cannot be queued
            log.exception("booking notice %s for %s not queued", kind, booking.id)
            return False

    async def _notify(self, booking: Booking, kind: Kind, now: float) -> bool:
        if not self.enabled:
            return False
        correspondent = await self.directory.correspondent(booking.correspondent)
        if correspondent is None:
            return False
        sanctioned = bool(await Sanctions(self.redis).active_on(correspondent.phone, now))
        facts = NoticeFacts(
            enabled=self.enabled, kind=kind, status=booking.status, start=booking.start,
            now=now, number_sanctioned=sanctioned, lead_seconds=self.lead_minutes * 60.0,
        )  # fmt: skip
        if not booking_sms.should_send(facts):
            return False
        ttl = max(3600, int(max(booking.end, booking.start) - now) + 86400)
        minutes = max(1, round((booking.start - now) / 60))
        text = booking_sms.text(kind, self.local(booking.start), minutes, self.lang)
        once = f"smsnotice:{booking.id}:{kind}"
        if not await self.sms.send_once(once, ttl, correspondent.phone, text):
            return False
        log.info(
            "booking notice %s for %s to %s", kind, booking.id, mask_phone(correspondent.phone)
        )
        return True

    async def remind(self, now: float) -> int:
        """One pass: the reminders due now; returns how many this process queued."""
        if not self.enabled:
            return 0
        start, end = booking_sms.reminder_window(now, self.lead_minutes * 60.0)
        sent = 0
        for booking in await self.directory.bookings_between(start, end):
            sent += await self.notify(booking, "reminder", now)
        return sent

    def start(self, clock: Callable[[], float]) -> None:
        if self.enabled:
            self._task = asyncio.create_task(self._run(clock))

    async def _run(self, clock: Callable[[], float]) -> None:
        while True:
            try:
                await self.remind(clock())
            except asyncio.CancelledError:
                raise
            except Exception:
                raise_if_cancelled()  # a stop that redis-py's read turned into an error
                log.exception("booking reminders pass failed")
            raise_if_cancelled()  # a stop redis-py swallowed during the pass (gateway.aio)
            await asyncio.sleep(self.poll)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
