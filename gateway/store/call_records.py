"""The call's record in Redis, owned here: written by the call engine, recovered by the
supervisor, read by monitoring, the socket router and the cluster.

A call lives in Redis as a hash (:func:`keys.call`), an event stream, the set of calls in
progress, the SMS link's reference and its booking's claim (one live call per booking across
the service). Each change that touches several of them is one transaction, so that a crash
leaves either the old or the new state, never half of each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import redis.asyncio as aioredis

from gateway.store import keys

# Delete KEYS[1] only if it still holds ARGV[1]: a later call of the same booking keeps its claim.
DELETE_IF_EQUAL = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class CallRecords:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    # -- the owner's writes ----------------------------------------------------------------
    async def create(self, call_id: str, record: Mapping[str, str], ref: str, ref_ttl: int) -> None:
        """A new call: its record, its SMS reference and its place among the live calls."""
        async with self.redis.pipeline(transaction=True) as tx:
            tx.hset(keys.call(call_id), mapping=dict(record))
            tx.set(keys.call_ref(ref), call_id, ex=ref_ttl)
            tx.sadd(keys.CALLS_LIVE, call_id)
            await tx.execute()

    async def claim_booking(self, booking_id: str, call_id: str, ttl: int) -> bool:
        """Make ``call_id`` the booking's live call; False while another call of it is live
        (on any process). A claim left by an ended call is taken over."""
        key = keys.booking_call(booking_id)
        if await self.redis.set(key, call_id, nx=True, ex=ttl):
            return True
        other = await self.redis.get(key)
        if other and await self.redis.sismember(keys.CALLS_LIVE, other):
            return False
        await self.redis.set(key, call_id, ex=ttl)
        return True

    async def save(
        self, call_id: str, events: Iterable[Mapping[str, str]], fields: Mapping[str, str]
    ) -> None:
        """Events appended and the record's fields set, together."""
        async with self.redis.pipeline(transaction=True) as tx:
            for event in events:
                tx.xadd(keys.call_events(call_id), dict(event))
            if fields:
                tx.hset(keys.call(call_id), mapping=dict(fields))
            await tx.execute()

    async def checkpoint(self, call_id: str, connected_ms: int) -> None:
        """The connected time so far: a crash loses at most one checkpoint interval."""
        await self.redis.hset(keys.call(call_id), "connected_ms", str(connected_ms))

    async def forget(self, call_id: str, ref: str, booking_id: str) -> None:
        """The call is over: out of the live set, its reference, sockets and claim gone (the
        record and its events stay, for review)."""
        async with self.redis.pipeline(transaction=True) as tx:
            tx.srem(keys.CALLS_LIVE, call_id)
            tx.delete(keys.call_ref(ref), keys.call_sockets(call_id))
            tx.eval(DELETE_IF_EQUAL, 1, keys.booking_call(booking_id), call_id)
            await tx.execute()

    # -- reads -----------------------------------------------------------------------------
    async def live_ids(self) -> set[str]:
        return set(await self.redis.smembers(keys.CALLS_LIVE))

    async def get(self, call_id: str) -> dict[str, str]:
        """The call's record ({} for an unknown call)."""
        return dict(await self.redis.hgetall(keys.call(call_id)))

    async def events(self, call_id: str) -> list[dict[str, str]]:
        entries = await self.redis.xrange(keys.call_events(call_id))
        return [fields for _id, fields in entries]

    async def owner_of(self, call_id: str) -> str | None:
        """The process owning a live call, None if the call is not live."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.sismember(keys.CALLS_LIVE, call_id)
        pipe.hget(keys.call(call_id), "owner")
        live, owner = await pipe.execute()
        return str(owner) if live and owner else None

    async def by_ref(self, ref: str) -> str | None:
        """The call id behind an SMS link's reference (None once the call is over)."""
        call_id = await self.redis.get(keys.call_ref(ref))
        return str(call_id) if call_id else None

    async def live_call_of_booking(self, booking_id: str) -> str | None:
        call_id = await self.redis.get(keys.booking_call(booking_id))
        if call_id and await self.redis.sismember(keys.CALLS_LIVE, call_id):
            return str(call_id)
        return None

    async def live_bookings(self) -> set[str]:
        """The bookings whose call is in progress (the overdue sweep leaves them open)."""
        out = set()
        for call_id in await self.live_ids():
            booking = await self.redis.hget(keys.call(call_id), "booking")
            if booking:
                out.add(str(booking))
        return out

    async def recovered_by(self, call_ids: list[str]) -> list[str | None]:
        """For each call, the process that recovered it (None if none did)."""
        pipe = self.redis.pipeline(transaction=False)
        for call_id in call_ids:
            pipe.hget(keys.call(call_id), "recovered_by")
        return list(await pipe.execute())

    # -- a dead process's calls --------------------------------------------------------------
    async def claim_recovery(self, call_id: str, owner: str, ttl: int = 60) -> bool:
        """One process recovers an orphan: the first to claim it."""
        return bool(await self.redis.set(keys.recovering(call_id), owner, nx=True, ex=ttl))

    async def end_orphan(
        self, call_id: str, record: Mapping[str, str], now: float, by: str
    ) -> None:
        """End a dead process's call as interrupted, in one transaction."""
        async with self.redis.pipeline(transaction=True) as tx:
            tx.hset(
                keys.call(call_id),
                mapping={"state": "ended", "end_reason": "interrupted", "ended_at": repr(now),
                         "recovered_by": by},
            )  # fmt: skip
            tx.xadd(
                keys.call_events(call_id),
                {"type": "CallEnded", "at": repr(now), "reason": "interrupted"},
            )
            tx.srem(keys.CALLS_LIVE, call_id)
            if record.get("ref"):
                tx.delete(keys.call_ref(record["ref"]))
            if record.get("booking"):
                tx.eval(DELETE_IF_EQUAL, 1, keys.booking_call(record["booking"]), call_id)
            await tx.execute()

    # -- sockets held by other processes -----------------------------------------------------
    async def add_socket(self, call_id: str, entry: str) -> None:
        await self.redis.sadd(keys.call_sockets(call_id), entry)

    async def remove_socket(self, call_id: str, entry: str) -> None:
        await self.redis.srem(keys.call_sockets(call_id), entry)

    async def take_sockets(self, call_id: str) -> list[str]:
        """The call's remote sockets, and the set deleted (the call is over)."""
        key = keys.call_sockets(call_id)
        entries = [str(e) for e in await self.redis.smembers(key)]
        await self.redis.delete(key)
        return entries


def event_fields(event: Any) -> dict[str, str]:
    """A lifecycle event as stream fields: its type and each attribute as text."""
    fields = {"type": type(event).__name__}
    for name, value in vars(event).items():
        fields[name] = str(value)
    return fields
