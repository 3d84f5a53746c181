"""Background duties of a gateway process: heartbeat, orphaned calls, overdue bookings.

* **Heartbeat**: ``gw:{owner}``, a hash (live calls, address, host, pid), is refreshed every
  ``heartbeat_seconds`` with a time-to-live of three beats, and the process is listed in
  ``gateways`` (:mod:`gateway.service.cluster` reads both to place calls). A process that dies
  (SIGKILL, power cut) stops refreshing it and is known dead within three beats.
* **Orphaned calls**: a call in ``calls:live`` whose owner is dead is ended ``interrupted`` by
  whichever process gets its recovery lock first: its last checkpointed connected time is added
  to its booking (once per call, so a recovery racing a late normal end counts it once), and it
  leaves ``calls:live``. Then the sockets that other processes hold for it are told (``ended``,
  ``interrupted``): the kiosk may start a new call in the same slot, on a live process.
* **Judging others only when healthy**: a process recovers other processes' calls only after
  its own heartbeats have succeeded for three beats in a row, so that after a Redis outage every
  live process has beaten again before anyone takes it for dead. A process whose call was
  nevertheless recovered by another (it was cut off from Redis too long) ends it at once.
* **Once across the service**: recovery, closing overdue bookings and the purge each take a
  Redis lock (``SET NX EX``) first, so however many processes run, each is done by one.
* **Recordings**: an orphaned call's recording is sealed as it is (its files end at the last
  cluster the dead process flushed); once an hour one process destroys the recordings past
  their retention that are not on legal hold, and logs each destruction.
* **Overdue bookings**: a booking still ``booked`` after its slot ended, with no live call, is
  closed and settled (charged for the connected time of its calls, or released when nobody
  connected). One process at a time does it (a short lock); closing is idempotent anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gateway.aio import cancel_and_wait, raise_if_cancelled
from gateway.core.i18n import message
from gateway.service.cluster import GATEWAYS, channel
from gateway.service.redis_client import follow_master
from gateway.store.keys import PREFIX
from recorder.audit import Audit
from recorder.integrity import seal
from recorder.retention import purge

if TYPE_CHECKING:
    from gateway.service.engine import CallEngine

log = logging.getLogger(__name__)


class Supervisor:
    def __init__(self, engine: CallEngine, audit: Audit) -> None:
        self.engine = engine
        self.audit = audit
        self.beat = engine.config.heartbeat_seconds
        self._task: asyncio.Task[None] | None = None
        self._last_beat: float | None = None
        "Monotonic time of the last heartbeat that reached Redis."
        self._steady_since: float | None = None
        "Since when heartbeats reach Redis without a gap of three beats."

    @property
    def alive_key(self) -> str:
        return f"{PREFIX}gw:{self.engine.owner}"

    async def start(self) -> None:
        await self.engine.cluster.start()  # listening before anyone can learn of this process
        await self.heartbeat()
        await self.run_once()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        with contextlib.suppress(Exception):
            await self.engine.redis.delete(self.alive_key)
        await self.engine.cluster.stop()

    async def heartbeat(self) -> None:
        engine = self.engine
        if await follow_master(engine.redis):  # Sentinel named another master
            log.warning("Redis master moved: connections to the old one dropped")
        pipe = engine.redis.pipeline(transaction=True)
        pipe.hset(
            self.alive_key,
            mapping={"calls": str(len(engine.calls)), "url": engine.public_base_url,
                     "host": socket.gethostname(), "pid": str(os.getpid()),
                     "at": repr(engine.clock()),
                     "draining": "1" if engine.cluster.draining else "0"},
        )  # fmt: skip
        pipe.expire(self.alive_key, 3 * self.beat)
        pipe.zadd(GATEWAYS, {engine.owner: engine.clock()})
        pipe.expire(GATEWAYS, 86400)
        await pipe.execute()
        now = time.monotonic()
        if self._last_beat is None or now - self._last_beat > 3 * self.beat:
            self._steady_since = now
        self._last_beat = now

    def heartbeat_age(self) -> float | None:
        """Seconds since the last heartbeat reached Redis (None before the first one)."""
        if self._last_beat is None:
            return None
        return time.monotonic() - self._last_beat

    @property
    def steady(self) -> bool:
        """True once heartbeats have reached Redis for three beats in a row."""
        since = self._steady_since
        return since is not None and time.monotonic() - since >= 3 * self.beat

    async def _loop(self) -> None:
        while True:
            raise_if_cancelled()  # a stop redis-py swallowed in the last round (gateway.aio)
            await asyncio.sleep(self.beat)
            try:
                await self.heartbeat()
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away for a moment: try again next beat
                raise_if_cancelled()  # a stop that redis-py's read turned into an error
                log.warning("supervisor round failed", exc_info=True)

    async def run_once(self) -> None:
        await self.drop_recovered()
        await self.recover_orphans()
        await self.close_overdue()
        await self.purge_recordings()

    async def drop_recovered(self) -> None:
        """Calls of this process that another one recovered (this process was cut off from
        Redis past three beats): end them here too; their time is counted once anyway."""
        engine = self.engine
        calls = list(engine.calls.values())
        if not calls:
            return
        recovered = await engine.records.recovered_by([call.id for call in calls])
        for call, by in zip(calls, recovered, strict=True):
            if by:
                log.warning("call %s was recovered by %s: ending it here", call.id, by)
                await call.input(call.lifecycle.interrupt)

    async def recover_orphans(self) -> list[str]:
        engine, redis = self.engine, self.engine.redis
        recovered: list[str] = []
        if not self.steady:
            return recovered
        for call_id in await engine.records.live_ids():
            record = await engine.records.get(call_id)
            owner = record.get("owner", "")
            if owner == engine.owner or await redis.exists(f"{PREFIX}gw:{owner}"):
                continue
            if not await engine.records.claim_recovery(call_id, engine.owner):
                continue  # another process is on it
            await self._recover(call_id, record)
            recovered.append(call_id)
        return recovered

    async def _recover(self, call_id: str, record: dict[str, str]) -> None:
        engine = self.engine
        now = engine.clock()
        ms = int(record.get("connected_ms") or 0)
        booking_id = record.get("booking", "")
        log.warning("call %s of dead process %s: interrupted after %d ms", call_id,
                    record.get("owner"), ms)  # fmt: skip
        if booking_id:
            await engine.desk.add_connected(booking_id, call_id, ms)
        await engine.records.end_orphan(call_id, record, now, engine.owner)
        await engine.codes.discard(call_id)
        await self._tell_sockets(call_id)
        await self._seal_orphan_recording(call_id, now)
        booking = await engine.desk.directory.booking(booking_id)
        if booking is not None and booking.end <= now:
            await engine.desk.close(booking_id, now, f"recovery:{engine.owner}")

    async def _tell_sockets(self, call_id: str) -> None:
        """The dead owner's participants whose sockets live on other processes: 'interrupted'."""
        redis = self.engine.redis
        for entry in await self.engine.records.take_sockets(call_id):
            holder, sid, lang = (entry.split(" ") + ["", ""])[:3]
            msg = {
                "type": "ended",
                "reason": "interrupted",
                "message": message("ended.interrupted", lang or self.engine.config.lang),
            }
            envelope = {"op": "down", "sid": sid, "msg": msg}  # fmt: skip
            await redis.publish(channel(holder), json.dumps(envelope))

    async def _seal_orphan_recording(self, call_id: str, now: float) -> None:
        """The dead process's files end at its last flushed cluster: seal them as they are."""
        engine = self.engine
        rec = await engine.recordings.get(call_id)
        if rec is None or rec.get("state") != "recording":
            return
        root = engine.config.recordings_path
        folder = root / rec.get("folder", "")
        if not folder.is_dir():
            await engine.recordings.finished(call_id, now, "failed", failure="recording.lost")
            return
        meta = {
            "call_id": call_id,
            "booking": rec.get("booking", ""),
            "detainee": rec.get("detainee", ""),
            "correspondent": rec.get("correspondent", ""),
            "started_at": datetime.fromtimestamp(float(rec["started_at"]), UTC),
            "ended_at": datetime.fromtimestamp(now, UTC),
            "end_reason": "interrupted",
        }
        manifest = await asyncio.to_thread(seal, root, folder, meta)
        await engine.recordings.finished(call_id, now, "sealed", manifest=manifest.hash)

    async def purge_recordings(self, every: float = 3600.0) -> list[str]:
        """Destroy recordings past retention (not on legal hold), at most once per ``every``
        seconds across the service; each destruction goes to the audit log."""
        engine = self.engine
        lock = f"{PREFIX}lock:purge"
        if not await engine.redis.set(lock, engine.owner, nx=True, ex=max(1, int(every))):
            return []
        held = await engine.recordings.held_ids()
        records = await asyncio.to_thread(
            purge,
            engine.config.recordings_path,
            datetime.fromtimestamp(engine.clock(), UTC),
            engine.config.retention_days,
            held.__contains__,
            f"parloir:{engine.owner}",
        )
        for record in records:
            await engine.recordings.finished(
                record.call_id, engine.clock(), "destroyed", destroyed_at=record.destroyed_at
            )
            await self.audit.record(
                "parloir", "recording.destroy", record.call_id, engine.clock(),
                files=",".join(f.name for f in record.files), manifest=record.manifest,
            )  # fmt: skip
        return [r.call_id for r in records]

    async def close_overdue(self) -> list[str]:
        engine, redis = self.engine, self.engine.redis
        if not await redis.set(f"{PREFIX}lock:sweep", engine.owner, nx=True, ex=self.beat):
            return []
        live = await engine.records.live_bookings()
        return await engine.desk.close_overdue(engine.clock(), live, "sweeper")
