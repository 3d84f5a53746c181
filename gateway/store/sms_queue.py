"""The SMS queue in Redis; the retry and status rules are in :mod:`gateway.core.sms_queue`.

* ``sms:{id}`` hash: ``status``, ``to_masked``, ``attempts``, ``reason``, ``provider_id``,
  ``call``, ``owner``; and ``to`` and ``text`` (which holds the code) **only until** the message
  is sent or given up. Kept a day for the monitoring page, then expires.
* ``sms:due`` sorted set: queued ids by the time they may next be tried.
* ``sms:leased`` sorted set: ids being sent, by the end of their lease, which the sending
  process renews while the send is under way. A lease that runs out (its process died) puts the
  id back in ``sms:due`` with the same id: the idempotency key.
* ``smsnotice:{booking}:{kind}``: a booking's notice was queued (at most once), taken in the
  same script as the message is queued.
* ``smsprov:{provider_id}`` → id, to match the operator's delivery receipts.
* ``smsearly:{provider_id}`` hash (``status``, ``reason``): a receipt that came before its
  provider id was stored, kept ``EARLY_RECEIPT_SECONDS`` and applied when the id is stored.

Queueing is one Lua script, and so is claiming: of every process of the cluster exactly one
sends a message.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from gateway.core.sms_queue import EARLY_RECEIPT_SECONDS, Decision, mask_phone, moves_forward
from gateway.store.keys import PREFIX

KEEP_SECONDS = 86400
STATUS_CHANNEL = f"{PREFIX}sms:status"

_CLAIM = """
local due, leased, now, lease_until, limit, owner = KEYS[1], KEYS[2], tonumber(ARGV[1]),
  tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
for _, id in ipairs(redis.call('ZRANGEBYSCORE', leased, '-inf', now)) do
  redis.call('ZREM', leased, id)
  redis.call('ZADD', due, now, id)
end
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, limit)) do
  redis.call('ZREM', due, id)
  local key = ARGV[5] .. id
  if redis.call('HGET', key, 'text') then
    redis.call('ZADD', leased, lease_until, id)
    local attempts = redis.call('HINCRBY', key, 'attempts', 1)
    redis.call('HSET', key, 'status', 'sending', 'owner', owner)
    table.insert(out, id)
    table.insert(out, redis.call('HGET', key, 'to'))
    table.insert(out, redis.call('HGET', key, 'text'))
    table.insert(out, tostring(attempts))
  end
end
return out
"""

# Queue a message; with a once-key, only if that key is free, and take it with the message.
# The writes that can fail (a key of the wrong type) come before the claim is taken.
_ENQUEUE = """
local key, due, once = KEYS[1], KEYS[2], KEYS[3]
if ARGV[4] ~= '' and redis.call('EXISTS', once) == 1 then
  return 0
end
redis.call('ZADD', due, tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', key, unpack(ARGV, 6))
redis.call('EXPIRE', key, tonumber(ARGV[3]))
if ARGV[4] ~= '' then
  redis.call('SET', once, '1', 'EX', tonumber(ARGV[5]))
end
return 1
"""

# Renew the leases of sends under way, each only if this owner still holds it with the same
# attempt (another process that took it over has set its own owner and attempt count).
_RENEW = """
local leased, lease_until, owner, prefix = KEYS[1], tonumber(ARGV[1]), ARGV[2], ARGV[3]
local kept = {}
for i = 4, #ARGV, 2 do
  local id, attempts = ARGV[i], ARGV[i + 1]
  local key = prefix .. id
  if redis.call('ZSCORE', leased, id) and redis.call('HGET', key, 'owner') == owner
      and redis.call('HGET', key, 'attempts') == attempts then
    redis.call('ZADD', leased, lease_until, id)
    table.insert(kept, id)
  end
end
return kept
"""

# Settle one attempt, only if this owner still holds the lease (else another process took over).
# With the operator's id, store it for the receipts and take any receipt that came before it.
_SETTLE = """
local key, leased, due, prov, early = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, owner = ARGV[1], ARGV[2]
if redis.call('HGET', key, 'owner') ~= owner or not redis.call('ZSCORE', leased, id) then
  return {0}
end
redis.call('ZREM', leased, id)
local status = ARGV[3]
redis.call('HSET', key, 'status', status, 'reason', ARGV[5], 'updated_at', ARGV[6])
if status == 'queued' then
  redis.call('ZADD', due, tonumber(ARGV[4]), id)
else
  redis.call('HDEL', key, 'to', 'text')
end
local out = {1}
if ARGV[7] ~= '' then
  redis.call('HSET', key, 'provider_id', ARGV[7])
  redis.call('SET', prov, id, 'EX', tonumber(ARGV[8]))
  local held = redis.call('HGETALL', early)
  redis.call('DEL', early)
  for _, v in ipairs(held) do table.insert(out, v) end
end
return out
"""

# A receipt: the message id its provider id stands for, or (not stored yet) keep the receipt.
_MATCH = """
local id = redis.call('GET', KEYS[1])
if id then return id end
redis.call('HSET', KEYS[2], 'status', ARGV[1], 'reason', ARGV[2])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
return false
"""


@dataclass(frozen=True)
class Claimed:
    id: str
    to: str
    text: str
    attempts: int


class SmsQueue:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._settle = redis.register_script(_SETTLE)
        self._renew = redis.register_script(_RENEW)
        self._match = redis.register_script(_MATCH)
        self._queue = redis.register_script(_ENQUEUE)

    async def enqueue(self, to: str, text: str, now: float, call: str = "") -> str:
        """Queue a message; return its id (its idempotency key)."""
        msg_id = await self._enqueue(to, text, now, call, "", 0)
        assert msg_id is not None
        return msg_id

    async def enqueue_once(self, once: str, ttl: int, to: str, text: str, now: float) -> str | None:
        """Queue a message unless ``once`` was queued before (within ``ttl`` seconds); the claim
        and the message are one script, so a failure to queue leaves the claim free."""
        return await self._enqueue(to, text, now, "", f"{PREFIX}{once}", ttl)

    async def _enqueue(
        self, to: str, text: str, now: float, call: str, once: str, ttl: int
    ) -> str | None:
        msg_id = f"sms_{secrets.token_hex(8)}"
        fields = {
            "status": "queued",
            "to": to,
            "to_masked": mask_phone(to),
            "text": text,
            "attempts": 0,
            "call": call,
            "created_at": now,
            "updated_at": now,
        }
        flat = [str(x) for pair in fields.items() for x in pair]
        done = await self._queue(
            keys=[f"{PREFIX}sms:{msg_id}", f"{PREFIX}sms:due", once or f"{PREFIX}sms:once"],
            args=[msg_id, now, KEEP_SECONDS, "1" if once else "", ttl, *flat],
        )
        if not done:
            return None
        await self._announce(msg_id, "queued", call)
        return msg_id

    async def claim(self, owner: str, now: float, lease: float, limit: int = 10) -> list[Claimed]:
        raw = await self._claim(
            keys=[f"{PREFIX}sms:due", f"{PREFIX}sms:leased"],
            args=[now, now + lease, limit, owner, f"{PREFIX}sms:"],
        )
        out = []
        for i in range(0, len(raw), 4):
            out.append(Claimed(raw[i], raw[i + 1], raw[i + 2], int(raw[i + 3])))
        for c in out:
            await self._announce(c.id, "sending", await self._call_of(c.id))
        return out

    async def renew(self, owner: str, claimed: list[Claimed], now: float, lease: float) -> set[str]:
        """Extend the leases of ``claimed`` to ``now + lease``; return the ids still held."""
        if not claimed:
            return set()
        args: list[object] = [now + lease, owner, f"{PREFIX}sms:"]
        for c in claimed:
            args += [c.id, c.attempts]
        kept = await self._renew(keys=[f"{PREFIX}sms:leased"], args=args)
        return set(kept)

    async def settle(
        self, msg_id: str, owner: str, decision: Decision, now: float, provider_id: str = ""
    ) -> bool:
        """Record one attempt's decision; False when the lease was lost (nothing changed)."""
        key = f"{PREFIX}sms:{msg_id}"
        done = await self._settle(
            keys=[key, f"{PREFIX}sms:leased", f"{PREFIX}sms:due",
                  f"{PREFIX}smsprov:{provider_id}", f"{PREFIX}smsearly:{provider_id}"],
            args=[msg_id, owner, decision.status, decision.retry_at or 0, decision.reason, now,
                  provider_id, KEEP_SECONDS],
        )  # fmt: skip
        if not done[0]:
            return False
        await self._announce(msg_id, decision.status, await self._call_of(msg_id), decision.reason)
        early = dict(zip(done[1::2], done[2::2], strict=True))
        if early.get("status"):  # its receipt came first: apply it now
            await self._apply(msg_id, early["status"], early.get("reason", ""), now)
        return True

    async def receipt(self, provider_id: str, status: str, reason: str, now: float) -> str | None:
        """An operator's receipt (``delivered`` or ``failed``); returns the message id if known.

        A receipt for a provider id not stored yet is kept a while and applied at its settle."""
        msg_id = await self._match(
            keys=[f"{PREFIX}smsprov:{provider_id}", f"{PREFIX}smsearly:{provider_id}"],
            args=[status, reason, EARLY_RECEIPT_SECONDS],
        )
        if msg_id is None:
            return None
        await self._apply(msg_id, status, reason, now)
        return str(msg_id)

    async def _apply(self, msg_id: str, status: str, reason: str, now: float) -> None:
        key = f"{PREFIX}sms:{msg_id}"
        current = await self.redis.hget(key, "status") or "queued"
        if moves_forward(current, status):
            await self.redis.hset(key, mapping={"status": status, "reason": reason,
                                                "updated_at": now})  # fmt: skip
            await self._announce(msg_id, status, await self._call_of(msg_id), reason)

    async def get(self, msg_id: str) -> dict[str, Any]:
        return await self.redis.hgetall(f"{PREFIX}sms:{msg_id}")

    async def _call_of(self, msg_id: str) -> str:
        return await self.redis.hget(f"{PREFIX}sms:{msg_id}", "call") or ""

    async def _announce(self, msg_id: str, status: str, call: str, reason: str = "") -> None:
        payload = {"id": msg_id, "status": status, "call": call, "reason": reason}
        await self.redis.publish(STATUS_CHANNEL, json.dumps(payload))
