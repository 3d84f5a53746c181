"""The index of recordings in Redis: what was recorded, where, and its legal state.

Keys (prefix ``parloir:``):

* ``recording:{call}`` hash: call, booking, detainee, correspondent, phone, kiosk, folder
  (relative to the recordings root), started_at, ended_at, state (``recording``, ``sealed``,
  ``failed``, ``destroyed``), manifest (hash), failure, legal_hold (``1``), hold_by, hold_reason
* ``recordings`` sorted set: call ids by start
* ``call:{call}:flags`` stream: moments flagged by monitoring staff (at, by, comment)

The media files and their manifests are on disk (:mod:`recorder.writer`,
:mod:`recorder.integrity`); this index is what the pages search.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from gateway.core.text import clean
from gateway.store import keys
from gateway.store.keys import PREFIX

TEXT_LIMIT = 500
"Flag comments and hold reasons: the core's text rule, as the monitoring API applies it."


@dataclass(frozen=True)
class Flag:
    id: str
    at: float
    "When the flagged moment happened (epoch seconds)."
    by: str
    comment: str


class RecordingStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    @staticmethod
    def key(call_id: str) -> str:
        return f"{PREFIX}recording:{call_id}"

    async def started(self, call_id: str, started_at: float, **meta: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(
            self.key(call_id),
            mapping={"call": call_id, "started_at": repr(started_at), "state": "recording", **meta},
        )
        pipe.zadd(f"{PREFIX}recordings", {call_id: started_at})
        await pipe.execute()

    async def finished(self, call_id: str, ended_at: float, state: str, **fields: str) -> None:
        await self.redis.hset(
            self.key(call_id), mapping={"ended_at": repr(ended_at), "state": state, **fields}
        )

    async def get(self, call_id: str) -> dict[str, str] | None:
        data = await self.redis.hgetall(self.key(call_id))
        return data or None

    async def between(self, start: float, end: float) -> list[dict[str, str]]:
        ids = await self.redis.zrangebyscore(f"{PREFIX}recordings", start, end)
        pipe = self.redis.pipeline(transaction=False)
        for call_id in ids:
            pipe.hgetall(self.key(call_id))
        return [r for r in await pipe.execute() if r]

    async def set_hold(self, call_id: str, held: bool, by: str, reason: str) -> None:
        reason = clean(reason, "reason", limit=TEXT_LIMIT, lines=True)  # TextRefused: unwritten
        await self.redis.hset(
            self.key(call_id),
            mapping={"legal_hold": "1" if held else "0", "hold_by": by, "hold_reason": reason},
        )

    async def held_ids(self) -> set[str]:
        ids = await self.redis.zrange(f"{PREFIX}recordings", 0, -1)
        pipe = self.redis.pipeline(transaction=False)
        for call_id in ids:
            pipe.hget(self.key(call_id), "legal_hold")
        return {c for c, held in zip(ids, await pipe.execute(), strict=True) if held == "1"}

    # -- flags ------------------------------------------------------------------------------
    async def flag(self, call_id: str, at: float, by: str, comment: str) -> str:
        comment = clean(comment, "comment", limit=TEXT_LIMIT, lines=True)
        flag_id = await self.redis.xadd(
            keys.call_flags(call_id), {"at": repr(at), "by": by, "comment": comment}
        )
        if await self.redis.exists(self.key(call_id)):
            await self.redis.hincrby(self.key(call_id), "flags", 1)
        return str(flag_id)

    async def flags(self, call_id: str) -> list[Flag]:
        raw: list[Any] = await self.redis.xrange(keys.call_flags(call_id))
        return [Flag(str(i), float(f["at"]), f["by"], f["comment"]) for i, f in raw]
