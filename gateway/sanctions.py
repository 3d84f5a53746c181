"""Sanctions on phone numbers: "the number called at the incident is the one sanctioned,
whoever was speaking". A sanctioned number can be neither booked nor sent a code, for any
detainee, until the sanction ends. Kept in Redis: ``sanction:phone:{e164}`` hash (since, until,
reason, by); the index ``sanctions:phone`` lists the numbers ever sanctioned.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

PREFIX = "parloir:"


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
