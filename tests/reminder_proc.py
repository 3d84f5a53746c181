"""One 'process' of the reminder test: steps an injected clock over [first, last] minute by
minute, running BookingNotices.remind on the real Redis; prints how many reminders it queued.

Run as ``python -m tests.reminder_proc REDIS_URL FIRST LAST GO_AT`` (GO_AT: a wall-clock time at
which every process starts, so that they race)."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis

from gateway.core.sms_queue import RetryPolicy
from gateway.service.booking_sms import BookingNotices
from gateway.service.sms import OutboxSender, QueuedSms, SmsWorker
from gateway.store.directory import Directory
from gateway.store.sms_queue import SmsQueue


async def main(url: str, first: float, last: float, go_at: float) -> None:
    redis = aioredis.from_url(url, decode_responses=True)
    queue = SmsQueue(redis)
    # Queued only (the gateway's own worker sends them): this worker is never started.
    worker = SmsWorker(queue, OutboxSender(Path("/dev/null")), "proc",
                       RetryPolicy())  # fmt: skip
    zone = ZoneInfo("Europe/Paris")
    notices = BookingNotices(
        redis, Directory(redis), QueuedSms(queue, worker, time.time),
        lambda epoch: datetime.fromtimestamp(epoch, zone), enabled=True,
    )  # fmt: skip
    await asyncio.sleep(max(0.0, go_at - time.time()))
    queued, clock = 0, first
    while clock <= last:
        queued += await notices.remind(clock)
        clock += 60.0
    print(queued, flush=True)
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])))
