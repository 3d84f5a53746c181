"""The relative's codes in Redis; the rules are in :mod:`gateway.core.codes`.

* ``code:{call_id}`` hash: the call's current :class:`~gateway.core.codes.CodeRecord`
* ``codeidx:{digest}`` → call id, so a code typed without the SMS link's reference is found
* ``secret:code``: the HMAC key, made once and shared by every gateway process

Both keys expire shortly after the code does. Judging is one WATCH/MULTI transaction: two
tries at the same moment cannot both use one code or both escape the attempt count.
"""

from __future__ import annotations

import secrets

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from gateway.core import codes
from gateway.core.codes import CodeRecord, Judgement, Outcome
from gateway.store.keys import PREFIX

_GRACE = 60  # keep the record a minute past expiry, to say "expired" rather than "invalid"


class CodeStore:
    def __init__(self, redis: aioredis.Redis, max_attempts: int) -> None:
        self.redis = redis
        self.max_attempts = max_attempts
        self._secret: bytes | None = None

    async def secret(self) -> bytes:
        if self._secret is None:
            key = f"{PREFIX}secret:code"
            await self.redis.set(key, secrets.token_hex(32), nx=True)
            self._secret = bytes.fromhex(await self.redis.get(key))
        return self._secret

    async def issue(self, call_id: str, now: float, validity: float) -> str:
        """Make a new code for the call (replacing any previous one) and return it in clear."""
        secret = await self.secret()
        ttl = int(validity) + _GRACE
        old = await self.redis.hget(f"{PREFIX}code:{call_id}", "digest")
        while True:
            code = codes.new_code()
            dig = codes.digest(secret, code)
            # Two live calls never share a code: the index key is claimed with NX.
            if await self.redis.set(f"{PREFIX}codeidx:{dig}", call_id, nx=True, ex=int(validity)):
                break
        record = CodeRecord(call_id=call_id, digest=dig, expires_at=now + validity)
        pipe = self.redis.pipeline(transaction=True)
        if old:
            pipe.delete(f"{PREFIX}codeidx:{old}")
        pipe.delete(f"{PREFIX}code:{call_id}")
        pipe.hset(f"{PREFIX}code:{call_id}", mapping=record.to_fields())
        pipe.expire(f"{PREFIX}code:{call_id}", ttl)
        await pipe.execute()
        return code

    async def try_code(
        self, code: str, ref: str | None, now: float
    ) -> tuple[Judgement | None, str | None]:
        """Judge a typed code. Returns (judgement, call_id); (None, None) if nothing matched."""
        if not codes.well_formed(code):
            if ref:
                # A malformed entry via the link still counts as a wrong try on that call.
                return await self._judge(ref, "", now), ref
            return None, None
        dig = codes.digest(await self.secret(), code)
        call_id = ref
        if not call_id:
            found = await self.redis.get(f"{PREFIX}codeidx:{dig}")
            if found is None:
                return None, None
            call_id = found
        judgement = await self._judge(call_id, dig, now)
        return judgement, call_id if judgement else None

    async def _judge(self, call_id: str, dig: str, now: float) -> Judgement | None:
        key = f"{PREFIX}code:{call_id}"
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.hgetall(key)
                    if not raw:
                        await pipe.unwatch()
                        return None
                    record = CodeRecord.from_fields(raw)
                    judgement = codes.judge(record, dig, now, self.max_attempts)
                    pipe.multi()
                    if judgement.record != record:
                        pipe.hset(key, mapping=judgement.record.to_fields())
                    if judgement.outcome is Outcome.ACCEPTED or judgement.just_burned:
                        pipe.delete(f"{PREFIX}codeidx:{record.digest}")
                    await pipe.execute()
                    return judgement
                except WatchError:
                    continue

    async def discard(self, call_id: str) -> None:
        key = f"{PREFIX}code:{call_id}"
        dig = await self.redis.hget(key, "digest")
        pipe = self.redis.pipeline(transaction=True)
        if dig:
            pipe.delete(f"{PREFIX}codeidx:{dig}")
        pipe.delete(key)
        await pipe.execute()
