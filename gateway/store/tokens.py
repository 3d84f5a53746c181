"""Bearer tokens for the kiosk and the relative, and fixed-window rate limits, in Redis.

A token is 32 random bytes; Redis keeps only its SHA-256, with an expiry, so a dump of Redis
yields no usable token.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

import redis.asyncio as aioredis

from gateway.store.keys import PREFIX


def _key(token: str) -> str:
    return f"{PREFIX}token:{hashlib.sha256(token.encode()).hexdigest()}"


class Tokens:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def issue(self, claims: dict[str, Any], ttl: int) -> str:
        token = secrets.token_urlsafe(32)
        await self.redis.set(_key(token), json.dumps(claims), ex=ttl)
        return token

    async def claims(self, token: str) -> dict[str, Any] | None:
        if not token or len(token) > 128:
            return None
        raw = await self.redis.get(_key(token))
        return json.loads(raw) if raw else None

    async def revoke(self, token: str) -> None:
        await self.redis.delete(_key(token))


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds per key (fixed windows)."""

    def __init__(self, redis: aioredis.Redis, scope: str, limit: int, window: int = 60) -> None:
        self.redis = redis
        self.scope = scope
        self.limit = limit
        self.window = window

    async def undo(self, key: str, now: float) -> None:
        """Give back one hit of this window (the attempt turned out not to count)."""
        await self.redis.decr(f"{PREFIX}rl:{self.scope}:{key}:{int(now // self.window)}")

    async def hit(self, key: str, now: float) -> bool:
        """Count one hit; False when the limit is exceeded."""
        bucket = int(now // self.window)
        rkey = f"{PREFIX}rl:{self.scope}:{key}:{bucket}"
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(rkey)
        pipe.expire(rkey, self.window * 2)
        count, _ = await pipe.execute()
        return int(count) <= self.limit


_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


class SlidingBudget:
    """At most ``limit`` units taken within *any* ``window`` seconds (a sliding log in a sorted
    set, one Lua script so concurrent takers cannot overdraw it). Unlike fixed windows, no
    burst of twice the limit around a window's edge."""

    def __init__(self, redis: aioredis.Redis, scope: str, limit: int, window: int) -> None:
        self.redis = redis
        self.scope = scope
        self.limit = limit
        self.window = window
        self._take = redis.register_script(_TAKE)

    def _key(self, key: str) -> str:
        return f"{PREFIX}budget:{self.scope}:{key}"

    async def take(self, key: str, now: float) -> str | None:
        """A receipt for one unit, or None when the budget is spent."""
        receipt = secrets.token_hex(8)
        args = [repr(now), str(self.window), str(self.limit), receipt]
        ok = await self._take(keys=[self._key(key)], args=args)
        return receipt if int(ok) else None

    async def give_back(self, key: str, receipt: str) -> None:
        """Return a unit (the attempt turned out not to count)."""
        await self.redis.zrem(self._key(key), receipt)
