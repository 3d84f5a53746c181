"""Sanctions on phone numbers: "the number called at the incident is the one sanctioned,
whoever was speaking". A sanctioned number can be neither booked nor sent a code, for any
detainee, until the sanction ends. Kept in Redis: ``sanction:phone:{e164}`` hash (since, until,
reason, by); the index ``sanctions:phone`` lists the numbers ever sanctioned.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from gateway.core.text import clean
from gateway.store.keys import PREFIX

REASON_LIMIT = 500


def _reason(raw: str) -> str:
    """A sanction's reason under the core's text rule: ``field.reason`` (TextRefused) before
    anything is written, whoever calls."""
    return clean(raw, "reason", limit=REASON_LIMIT, lines=True)


@dataclass(frozen=True)
class NumberSanction:
    phone: str
    since: float
    until: float
    reason: str
    by: str

    def active(self, now: float) -> bool:
        return self.since <= now < self.until


class Sanctions:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    @staticmethod
    def key(phone: str) -> str:
        return f"{PREFIX}sanction:phone:{phone}"

    async def sanction_number(
        self, phone: str, since: float, until: float, reason: str, by: str
    ) -> NumberSanction:
        reason = _reason(reason)
        sanction = NumberSanction(phone, since, until, reason, by)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(
            self.key(phone),
            mapping={"since": repr(since), "until": repr(until), "reason": reason, "by": by},
        )
        pipe.sadd(f"{PREFIX}sanctions:phone", phone)
        await pipe.execute()
        return sanction

    async def lift_number(self, phone: str, now: float, by: str) -> None:
        """End the sanction now (kept for the record, with its new end)."""
        if await self.redis.exists(self.key(phone)):
            await self.redis.hset(self.key(phone), mapping={"until": repr(now), "lifted_by": by})

    async def number(self, phone: str) -> NumberSanction | None:
        data = await self.redis.hgetall(self.key(phone))
        if not data:
            return None
        return NumberSanction(
            phone, float(data["since"]), float(data["until"]), data["reason"], data["by"]
        )

    async def active_on(self, phone: str, now: float) -> NumberSanction | None:
        sanction = await self.number(phone)
        return sanction if sanction and sanction.active(now) else None

    async def numbers(self) -> list[NumberSanction]:
        found = []
        for phone in sorted(await self.redis.smembers(f"{PREFIX}sanctions:phone")):
            sanction = await self.number(phone)
            if sanction:
                found.append(sanction)
        return found


# --------------------------------------------------------------------------- detainees

DETAINEE_SCOPES = ("video", "phone")  # video calls only, or every phone access (video too)
DETAINEE_KINDS = ("suspension", "withdrawal")  # for a time, or until lifted


@dataclass(frozen=True)
class DetaineeSanction:
    """A detainee's video-call access (``video``) or all phone access (``phone``) suspended
    between ``since`` and ``until``, or withdrawn (``until`` is infinity until lifted)."""

    number: str
    scope: str
    kind: str
    since: float
    until: float
    reason: str
    by: str

    def active(self, now: float) -> bool:
        return self.since <= now < self.until

    def covers(self, start: float, end: float) -> bool:
        """True when the sanction overlaps [start, end): a slot it would forbid."""
        return self.since < end and start < self.until


class DetaineeSanctions:
    """``sanction:detainee:{number}`` hash: the detainee's current sanction (a new one replaces
    it; the audit log keeps every one). ``sanctions:detainee`` lists the detainees ever
    sanctioned."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    @staticmethod
    def key(number: str) -> str:
        return f"{PREFIX}sanction:detainee:{number}"

    async def sanction(
        self,
        number: str,
        scope: str,
        since: float,
        until: float,
        reason: str,
        by: str,
    ) -> DetaineeSanction:
        if scope not in DETAINEE_SCOPES:
            raise ValueError(scope)
        reason = _reason(reason)
        kind = "withdrawal" if until == float("inf") else "suspension"
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.key(number))
        pipe.hset(
            self.key(number),
            mapping={"scope": scope, "kind": kind, "since": repr(since), "until": repr(until),
                     "reason": reason, "by": by},
        )  # fmt: skip
        pipe.sadd(f"{PREFIX}sanctions:detainee", number)
        await pipe.execute()
        return DetaineeSanction(number, scope, kind, since, until, reason, by)

    async def lift(self, number: str, now: float, by: str) -> DetaineeSanction | None:
        current = await self.get(number)
        if current is None:
            return None
        await self.redis.hset(
            self.key(number), mapping={"until": repr(min(now, current.until)), "lifted_by": by}
        )
        return await self.get(number)

    async def get(self, number: str) -> DetaineeSanction | None:
        data = await self.redis.hgetall(self.key(number))
        if not data:
            return None
        return DetaineeSanction(
            number, data["scope"], data["kind"], float(data["since"]), float(data["until"]),
            data["reason"], data["by"],
        )  # fmt: skip

    async def blocking(self, number: str, start: float, end: float) -> DetaineeSanction | None:
        """The sanction forbidding a video call in [start, end), if any (both scopes do)."""
        current = await self.get(number)
        return current if current and current.covers(start, end) else None

    async def all(self) -> list[DetaineeSanction]:
        found = []
        for number in sorted(await self.redis.smembers(f"{PREFIX}sanctions:detainee")):
            sanction = await self.get(number)
            if sanction:
                found.append(sanction)
        return found
