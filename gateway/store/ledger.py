"""Phone-account ledger of each detainee, kept in Redis: atomic, idempotent, append-only.

Theory of operation
-------------------
Each detainee (by number) has an account with a ``balance`` (cents), a ``held`` amount (cents,
reserved by booked slots), ``available = balance - held`` and a ``tariff`` (plan name from
:mod:`gateway.core.pricing`). Prices are computed by :mod:`gateway.core.pricing`; this module only
moves
money.

* **Every movement is an entry** of an append-only Redis Stream per account, with ``kind``
  (``credit``, ``hold``, ``release``, ``charge``, ``refund``), ``amount``, ``actor`` (who/what
  caused it), ``ref`` (booking/hold id or call id), ``idem`` (idempotency key), ``at`` (epoch ms,
  passed in by the caller: nothing here reads a clock), ``balance_after`` and ``held_after``;
  plus ``hold`` (hold id), ``requested`` (a settlement's requested charge) and ``reason``
  (a refund's reason) where they apply.
* **Invariants**: ``balance == Σ credits − Σ charges + Σ refunds`` and
  ``held == Σ holds − Σ releases − Σ charges`` (a charge consumes part of its hold), and
  ``balance ≥ held ≥ 0``. :meth:`Ledger.verify` recomputes them from the stream.
* **One Lua script per operation**: the checks, the account update, the entries and the
  idempotency record are written in one atomic step, so concurrent gateways can never
  double-spend, and a crash leaves either all of an operation or none of it.
* **Idempotency**: replaying an operation returns its first result (flag ``replayed``) and
  changes nothing; reusing a key with different arguments is ``ledger.idempotency_conflict``.
  The key is the caller's ``idem`` for credits and refunds, the ``hold_id`` for holds, and the
  hold for settlements (settling a hold twice with the same call and charge charges once).
  The fingerprint compared is the operation and its money arguments (account, amount, call);
  ``actor``, ``reason`` and ``now_ms`` are not compared, so a retry later is still a replay.
  Refusals (insufficient credit…) are not recorded: a retry is evaluated afresh.
* **Settlement**: charges the actual cost and releases the rest of the hold in one step. The
  charge is **capped to the hold**: a call can never cost more than what was reserved at booking
  (the hold is the price of the longest call allowed); the excess is not charged, and the
  receipt says ``capped=True`` and keeps the ``requested`` amount for the record.
* **Refunds** are tied to a settled call and cannot exceed, in total, what was charged for it.
* **Replicas** (``replicas=N``, under Redis Sentinel): an operation is acknowledged only once N
  replicas have it. Its script is followed, on the same connection, by a marker write and
  ``WAIT N timeout``: the marker makes the wait cover every earlier write of the master, so a
  replay (which writes nothing) also waits for its first run to be replicated. Fewer replicas
  in time: ``ledger.unreplicated``; the operation may be done (on the master only), and the
  caller retries it with the same key: a replay if it survived, done once if a failover lost
  it. Never counted twice, either way (README, "Redis failover").

Key layout (``prefix`` defaults to ``parloir:``)::

    {prefix}acct:{number}          hash    balance, held, tariff
    {prefix}acct:{number}:ledger   stream  the entries
    {prefix}acct:{number}:idem     hash    idem key -> fingerprint + first result (credit, refund)
    {prefix}hold:{hold_id}         hash    number, amount, state (held/released/settled), call_id,
                                           requested, charged, released, first results
    {prefix}billing:{call_id}      hash    number, hold_id, charged, refunded

The scripts touch keys of several accounts' namespaces, so this layout needs a single Redis
(or one shard), not Redis Cluster.
"""

from __future__ import annotations

import collections
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from gateway.core.identifiers import is_detainee_number
from gateway.core.pricing import CHARTER_TARIFFS, TariffTable
from gateway.core.reasons import sentences
from gateway.core.records import MAX_AMOUNT, Entry
from gateway.core.text import clean
from gateway.store.keys import PREFIX

__all__ = [
    "MAX_AMOUNT",
    "Account",
    "Audit",
    "Entry",
    "HoldReceipt",
    "Ledger",
    "LedgerError",
    "Receipt",
]

COUNTS: collections.Counter[tuple[str, str]] = collections.Counter()
"""This process's ledger operations, for /metrics: (done|replayed, op) and (refused, reason)."""


class LedgerError(Exception):
    """A refused ledger operation.

    ``reason`` is stable and machine-readable (``booking.insufficient_credit``); ``message`` is
    the table's French sentence (:mod:`gateway.core.reasons`; :meth:`text` in a language) for the
    person in front of the screen; ``details`` carries numbers such as ``available`` or
    ``refundable`` (in cents) when they help.
    """

    def __init__(
        self,
        reason: str,
        variant: str = "",
        details: Mapping[str, Any] | None = None,
        **values: object,
    ) -> None:
        self.reason = reason
        self.message, self._en = sentences(reason, variant, **values)
        self.details = dict(details or {})
        super().__init__(f"{reason}: {self.message}")

    def text(self, lang: str) -> str:
        return self._en if lang == "en" else self.message


@dataclass(frozen=True)
class Account:
    """A snapshot of one phone account. Amounts in cents."""

    number: str
    balance: int
    held: int
    tariff: str

    @property
    def available(self) -> int:
        """What can still be booked: ``balance - held``."""
        return self.balance - self.held


@dataclass(frozen=True)
class Receipt:
    """Result of a credit or a refund."""

    op: str
    """``credit`` or ``refund``."""
    number: str
    amount: int
    """Cents credited or refunded."""
    balance: int
    """Balance right after the operation (for a replay: after the first one)."""
    held: int
    """Held amount right after the operation."""
    entry_ids: tuple[str, ...]
    """Stream ids of the entries written."""
    call_id: str | None = None
    """The refunded call (refunds only)."""
    refunded: int | None = None
    """Total refunded for that call so far (refunds only)."""
    replayed: bool = field(default=False, compare=False)
    """``True`` if this call changed nothing and returned the first result."""


@dataclass(frozen=True)
class HoldReceipt:
    """Result of a hold, a release or a settlement. Amounts in cents."""

    op: str
    """``hold``, ``release`` or ``settle``."""
    number: str
    hold_id: str
    state: str
    """``held``, ``released``, ``settled``, or ``unknown`` (releasing a hold never made)."""
    amount: int
    """The amount of the hold."""
    charged: int
    """Charged at settlement (``≤ amount``)."""
    released: int
    """Given back to ``available``: all of it on release, the rest on settlement."""
    balance: int
    held: int
    entry_ids: tuple[str, ...]
    call_id: str | None = None
    """The call settled (settlements)."""
    requested: int | None = None
    """The charge asked for at settlement, before the cap."""
    capped: bool = False
    """``True`` if the requested charge exceeded the hold and was capped to it."""
    replayed: bool = field(default=False, compare=False)
    """``True`` if this call changed nothing (idempotent replay, or releasing a hold that is
    unknown or no longer held); the receipt then describes the earlier result or state."""


@dataclass(frozen=True)
class Audit:
    """Outcome of :meth:`Ledger.verify`."""

    number: str
    balance: int
    held: int
    ledger_balance: int
    """Σ signed amounts of the entries."""
    ledger_held: int
    """Σ holds − releases − charges."""
    entries: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


# --------------------------------------------------------------------------- Lua

_PRELUDE = r"""
local function fmt(n) return string.format('%d', n) end
local function num(v) if v then return tonumber(v) end return 0 end
local function err(reason, extra)
  local t = extra or {}
  t.err = reason
  return {'err', cjson.encode(t)}
end
local function append(stream, kind, amount, actor, ref, idem, at, bal, held, extra)
  local args = {'XADD', stream, '*', 'kind', kind, 'amount', fmt(amount), 'actor', actor,
                'ref', ref, 'idem', idem, 'at', at,
                'balance_after', fmt(bal), 'held_after', fmt(held)}
  if extra then for i = 1, #extra do args[#args + 1] = extra[i] end end
  return redis.call(unpack(args))
end
local function replay(prev, fp)
  local cut = string.find(prev, '\n', 1, true)
  if string.sub(prev, 1, cut - 1) ~= fp then return err('ledger.idempotency_conflict') end
  return {'replay', string.sub(prev, cut + 1)}
end
"""

# KEYS: acct, stream, idem.  ARGV: amount, actor, idem, at
_CREDIT = (
    _PRELUDE
    + r"""
local amount, actor, idem, at = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local fp = 'credit|' .. ARGV[1]
local prev = redis.call('HGET', KEYS[3], idem)
if prev then return replay(prev, fp) end
local bal = redis.call('HINCRBY', KEYS[1], 'balance', amount)
local held = num(redis.call('HGET', KEYS[1], 'held'))
local id = append(KEYS[2], 'credit', amount, actor, '', idem, at, bal, held)
local res = cjson.encode({op = 'credit', amount = ARGV[1], balance = fmt(bal),
                          held = fmt(held), entries = {id}})
redis.call('HSET', KEYS[3], idem, fp .. '\n' .. res)
return {'new', res}
"""
)

# KEYS: acct, stream, hold.  ARGV: number, hold_id, amount, actor, at
_HOLD = (
    _PRELUDE
    + r"""
local number, hold_id, amount, actor, at = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local h = redis.call('HMGET', KEYS[3], 'number', 'amount', 'hold_result', 'initial')
if h[1] then
  local initial = h[4] or h[2]
  if h[1] ~= number or initial ~= ARGV[3] then return err('ledger.idempotency_conflict') end
  return {'replay', h[3]}
end
local a = redis.call('HMGET', KEYS[1], 'balance', 'held')
local bal, held = num(a[1]), num(a[2])
if bal - held < amount then
  return err('booking.insufficient_credit', {available = fmt(bal - held), requested = ARGV[3]})
end
held = redis.call('HINCRBY', KEYS[1], 'held', amount)
local id = append(KEYS[2], 'hold', amount, actor, hold_id, 'hold:' .. hold_id, at, bal, held,
                  {'hold', hold_id})
local res = cjson.encode({op = 'hold', hold_id = hold_id, state = 'held', amount = ARGV[3],
                          charged = '0', released = '0', balance = fmt(bal), held = fmt(held),
                          entries = {id}})
redis.call('HSET', KEYS[3], 'number', number, 'amount', ARGV[3], 'state', 'held',
           'actor', actor, 'at', at, 'hold_result', res)
return {'new', res}
"""
)

# KEYS: acct, stream, hold, idem.  ARGV: number, hold_id, delta, actor, idem, at
_TOP_UP = (
    _PRELUDE
    + r"""
local number, hold_id, delta, actor, idem, at =
  ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local fp = 'topup|' .. hold_id .. '|' .. ARGV[3]
local prev = redis.call('HGET', KEYS[4], idem)
if prev then return replay(prev, fp) end
local h = redis.call('HMGET', KEYS[3], 'number', 'amount', 'state', 'initial')
if not h[1] then return err('ledger.unknown_hold') end
if h[1] ~= number then return err('ledger.wrong_account') end
if h[3] ~= 'held' then return err('ledger.hold_released') end
local a = redis.call('HMGET', KEYS[1], 'balance', 'held')
local bal, held = num(a[1]), num(a[2])
if bal - held < delta then
  return err('booking.insufficient_credit', {available = fmt(bal - held), requested = ARGV[3]})
end
if not h[4] then redis.call('HSET', KEYS[3], 'initial', h[2]) end
held = redis.call('HINCRBY', KEYS[1], 'held', delta)
local amount = redis.call('HINCRBY', KEYS[3], 'amount', delta)
local id = append(KEYS[2], 'hold', delta, actor, hold_id, idem, at, bal, held, {'hold', hold_id})
local res = cjson.encode({op = 'hold', hold_id = hold_id, state = 'held', amount = fmt(amount),
                          charged = '0', released = '0', balance = fmt(bal), held = fmt(held),
                          entries = {id}})
redis.call('HSET', KEYS[4], idem, fp .. '\n' .. res)
return {'new', res}
"""
)

# KEYS: acct, stream, hold.  ARGV: number, hold_id, actor, at
_RELEASE = (
    _PRELUDE
    + r"""
local number, hold_id, actor, at = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local h = redis.call('HMGET', KEYS[3], 'number', 'amount', 'state', 'charged', 'released',
                     'call_id')
local a = redis.call('HMGET', KEYS[1], 'balance', 'held')
local bal, held = num(a[1]), num(a[2])
if not h[1] then
  return {'noop', cjson.encode({op = 'release', hold_id = hold_id, state = 'unknown',
                                amount = '0', charged = '0', released = '0',
                                balance = fmt(bal), held = fmt(held)})}
end
if h[1] ~= number then return err('ledger.wrong_account') end
if h[3] ~= 'held' then
  return {'noop', cjson.encode({op = 'release', hold_id = hold_id, state = h[3],
                                amount = h[2], charged = h[4] or '0', released = h[5] or '0',
                                call_id = h[6] or nil, balance = fmt(bal), held = fmt(held)})}
end
local amount = tonumber(h[2])
held = redis.call('HINCRBY', KEYS[1], 'held', -amount)
local id = append(KEYS[2], 'release', amount, actor, hold_id, 'release:' .. hold_id, at,
                  bal, held, {'hold', hold_id})
redis.call('HSET', KEYS[3], 'state', 'released', 'charged', '0', 'released', h[2],
           'released_at', at, 'released_by', actor)
return {'new', cjson.encode({op = 'release', hold_id = hold_id, state = 'released',
                             amount = h[2], charged = '0', released = h[2],
                             balance = fmt(bal), held = fmt(held), entries = {id}})}
"""
)

# KEYS: acct, stream, hold, call.  ARGV: number, hold_id, charge, actor, call_id, at
_SETTLE = (
    _PRELUDE
    + r"""
local number, hold_id, requested, actor, call_id, at =
  ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local h = redis.call('HMGET', KEYS[3], 'number', 'amount', 'state', 'call_id', 'requested',
                     'settle_result')
if not h[1] then return err('ledger.unknown_hold') end
if h[1] ~= number then return err('ledger.wrong_account') end
if h[3] == 'settled' then
  if h[4] == call_id and h[5] == ARGV[3] then return {'replay', h[6]} end
  return err('ledger.idempotency_conflict')
end
if h[3] ~= 'held' then return err('ledger.hold_released') end
if redis.call('EXISTS', KEYS[4]) == 1 then return err('ledger.idempotency_conflict') end
local amount = tonumber(h[2])
local charged = math.min(requested, amount)
local rest = amount - charged
local a = redis.call('HMGET', KEYS[1], 'balance', 'held')
local bal, held = num(a[1]), num(a[2])
local ids = {}
if charged > 0 then
  bal = redis.call('HINCRBY', KEYS[1], 'balance', -charged)
  held = redis.call('HINCRBY', KEYS[1], 'held', -charged)
  ids[#ids + 1] = append(KEYS[2], 'charge', charged, actor, call_id, 'settle:' .. hold_id, at,
                         bal, held, {'hold', hold_id, 'requested', ARGV[3]})
end
if rest > 0 then
  held = redis.call('HINCRBY', KEYS[1], 'held', -rest)
  ids[#ids + 1] = append(KEYS[2], 'release', rest, actor, hold_id, 'settle:' .. hold_id, at,
                         bal, held, {'hold', hold_id})
end
redis.call('HSET', KEYS[4], 'number', number, 'hold_id', hold_id, 'charged', fmt(charged),
           'refunded', '0')
local res = cjson.encode({op = 'settle', hold_id = hold_id, state = 'settled', amount = h[2],
                          charged = fmt(charged), released = fmt(rest), call_id = call_id,
                          requested = ARGV[3], capped = requested > amount,
                          balance = fmt(bal), held = fmt(held), entries = ids})
redis.call('HSET', KEYS[3], 'state', 'settled', 'call_id', call_id, 'requested', ARGV[3],
           'charged', fmt(charged), 'released', fmt(rest), 'settled_at', at,
           'settled_by', actor, 'settle_result', res)
return {'new', res}
"""
)

# KEYS: acct, stream, idem, call.  ARGV: number, call_id, amount, actor, reason, idem, at
_REFUND = (
    _PRELUDE
    + r"""
local number, call_id, amount, actor, reason, idem, at =
  ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local fp = 'refund|' .. call_id .. '|' .. ARGV[3]
local prev = redis.call('HGET', KEYS[3], idem)
if prev then return replay(prev, fp) end
local c = redis.call('HMGET', KEYS[4], 'number', 'charged', 'refunded')
if not c[1] or c[1] ~= number then return err('ledger.unknown_call') end
local charged, refunded = tonumber(c[2]), tonumber(c[3])
if refunded + amount > charged then
  return err('ledger.refund_exceeds_charge', {refundable = fmt(charged - refunded)})
end
refunded = redis.call('HINCRBY', KEYS[4], 'refunded', amount)
local bal = redis.call('HINCRBY', KEYS[1], 'balance', amount)
local held = num(redis.call('HGET', KEYS[1], 'held'))
local id = append(KEYS[2], 'refund', amount, actor, call_id, idem, at, bal, held,
                  {'reason', reason})
local res = cjson.encode({op = 'refund', amount = ARGV[3], balance = fmt(bal),
                          held = fmt(held), call_id = call_id, refunded = fmt(refunded),
                          entries = {id}})
redis.call('HSET', KEYS[3], idem, fp .. '\n' .. res)
return {'new', res}
"""
)


# --------------------------------------------------------------------------- validation

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_MAX_TEXT = 256
_MAX_MS = 2**53


def _bad(what: str) -> LedgerError:
    return LedgerError("ledger.bad_argument", "detail", what=what)


def _number(value: object) -> str:
    if not is_detainee_number(value):  # the desk's and the import's rule, exactly
        raise _bad("numéro de compte")
    return value


def _ident(value: object, what: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise _bad(what)
    return value


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_TEXT:
        raise _bad(what)
    return value


def _amount(value: object, *, zero_ok: bool = False) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LedgerError("ledger.bad_amount")
    if value > MAX_AMOUNT or value < 0 or (value == 0 and not zero_ok):
        raise LedgerError("ledger.bad_amount")
    return str(value)


def _now(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _MAX_MS:
        raise _bad("horodatage (ms)")
    return str(value)


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _ids(value: Any) -> tuple[str, ...]:
    # cjson encodes an empty Lua table as an object: ``{}``.
    return tuple(value) if isinstance(value, list) else ()


# --------------------------------------------------------------------------- adapter


class Ledger:
    """The ledger adapter over a ``redis.asyncio.Redis`` client.

    ``prefix`` namespaces every key; ``tariffs`` is the table :meth:`set_tariff` accepts names
    from, and its ``default`` is the tariff of an account that never chose one.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = PREFIX,
        tariffs: TariffTable = CHARTER_TARIFFS,
        replicas: int = 0,
        replica_timeout_ms: int = 1000,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._tariffs = tariffs
        self._replicas = replicas
        "Replicas that must hold an operation before it is acknowledged (0: the master only)."
        self._replica_timeout_ms = replica_timeout_ms
        self._credit = redis.register_script(_CREDIT)
        self._hold = redis.register_script(_HOLD)
        self._release = redis.register_script(_RELEASE)
        self._top_up = redis.register_script(_TOP_UP)
        self._settle = redis.register_script(_SETTLE)
        self._refund = redis.register_script(_REFUND)

    # keys -----------------------------------------------------------------

    def account_key(self, number: str) -> str:
        return f"{self._prefix}acct:{number}"

    def ledger_key(self, number: str) -> str:
        return f"{self._prefix}acct:{number}:ledger"

    def idem_key(self, number: str) -> str:
        return f"{self._prefix}acct:{number}:idem"

    def hold_key(self, hold_id: str) -> str:
        return f"{self._prefix}hold:{hold_id}"

    def call_key(self, call_id: str) -> str:
        return f"{self._prefix}billing:{call_id}"

    # operations -----------------------------------------------------------

    async def credit(self, number: str, amount: int, actor: str, idem: str, now_ms: int) -> Receipt:
        """Add ``amount`` cents (> 0) to the balance (credits bought by the detainee)."""
        number = _number(number)
        args = [_amount(amount), _text(actor, "auteur"), _text(idem, "clé d'idempotence")]
        args.append(_now(now_ms))
        keys = [self.account_key(number), self.ledger_key(number), self.idem_key(number)]
        res, replayed = await self._run(self._credit, keys, args)
        return self._receipt(number, res, replayed)

    def _hold_call(
        self, number: str, hold_id: str, amount: int, actor: str, now_ms: int
    ) -> tuple[str, list[str], list[str]]:
        number = _number(number)
        hold_id = _ident(hold_id, "identifiant de réservation")
        args = [number, hold_id, _amount(amount), _text(actor, "auteur"), _now(now_ms)]
        keys = [self.account_key(number), self.ledger_key(number), self.hold_key(hold_id)]
        return number, keys, args

    def _release_call(
        self, number: str, hold_id: str, actor: str, now_ms: int
    ) -> tuple[str, list[str], list[str]]:
        number = _number(number)
        hold_id = _ident(hold_id, "identifiant de réservation")
        args = [number, hold_id, _text(actor, "auteur"), _now(now_ms)]
        keys = [self.account_key(number), self.ledger_key(number), self.hold_key(hold_id)]
        return number, keys, args

    def _settle_call(
        self, number: str, hold_id: str, charge_amount: int, actor: str, call_id: str, now_ms: int
    ) -> tuple[str, list[str], list[str]]:
        number = _number(number)
        hold_id = _ident(hold_id, "identifiant de réservation")
        call_id = _ident(call_id, "identifiant d'appel")
        args = [number, hold_id, _amount(charge_amount, zero_ok=True), _text(actor, "auteur")]
        args += [call_id, _now(now_ms)]
        keys = [
            self.account_key(number),
            self.ledger_key(number),
            self.hold_key(hold_id),
            self.call_key(call_id),
        ]
        return number, keys, args

    async def hold(
        self, number: str, hold_id: str, amount: int, actor: str, now_ms: int
    ) -> HoldReceipt:
        """Reserve ``amount`` cents for a booked slot; idempotent per ``hold_id``.

        Refused with ``booking.insufficient_credit`` (``details["available"]``) if the available
        amount is smaller.
        """
        number, keys, args = self._hold_call(number, hold_id, amount, actor, now_ms)
        res, replayed = await self._run(self._hold, keys, args)
        return self._hold_receipt(number, res, replayed)

    async def top_up(
        self, number: str, hold_id: str, delta: int, actor: str, idem: str, now_ms: int
    ) -> HoldReceipt:
        """Raise a held hold by ``delta`` cents (a longer call was allowed); idempotent per
        ``idem``. Refused with ``booking.insufficient_credit`` when it does not fit."""
        number = _number(number)
        hold_id = _ident(hold_id, "identifiant de réservation")
        args = [number, hold_id, _amount(delta), _text(actor, "auteur")]
        args += [_text(idem, "clé d'idempotence"), _now(now_ms)]
        keys = [
            self.account_key(number),
            self.ledger_key(number),
            self.hold_key(hold_id),
            self.idem_key(number),
        ]
        res, replayed = await self._run(self._top_up, keys, args)
        return self._hold_receipt(number, res, replayed)

    async def release(self, number: str, hold_id: str, actor: str, now_ms: int) -> HoldReceipt:
        """Release all of a hold (the booking is cancelled).

        Releasing a hold that is unknown, already released or settled changes nothing and
        returns its state (``unknown``, ``released``, ``settled``) with ``replayed=True``.
        """
        number, keys, args = self._release_call(number, hold_id, actor, now_ms)
        res, replayed = await self._run(self._release, keys, args)
        return self._hold_receipt(number, res, replayed)

    async def settle(
        self,
        number: str,
        hold_id: str,
        charge_amount: int,
        actor: str,
        call_id: str,
        now_ms: int,
    ) -> HoldReceipt:
        """Charge the call's cost and release the rest of its hold, in one atomic step.

        ``charge_amount`` (≥ 0) is capped to the hold (``capped=True``). Settling the same hold
        again with the same call and amount returns the first result; with anything else it is
        ``ledger.idempotency_conflict``, as is settling a second hold for the same call.
        """
        number, keys, args = self._settle_call(
            number, hold_id, charge_amount, actor, call_id, now_ms
        )
        res, replayed = await self._run(self._settle, keys, args)
        return self._hold_receipt(number, res, replayed)

    # The same operations queued on a caller's MULTI/EXEC pipeline, so that a booking and its
    # hold (or a booking's closing and its settlement) commit together or not at all. The
    # caller WATCHes the account and checks the amounts first; :meth:`hold_result` reads the
    # reply out of ``execute()``.

    async def queue_hold(
        self, pipe: Any, number: str, hold_id: str, amount: int, actor: str, now_ms: int
    ) -> None:
        _, keys, args = self._hold_call(number, hold_id, amount, actor, now_ms)
        await self._hold(keys=keys, args=args, client=pipe)

    async def queue_release(
        self, pipe: Any, number: str, hold_id: str, actor: str, now_ms: int
    ) -> None:
        _, keys, args = self._release_call(number, hold_id, actor, now_ms)
        await self._release(keys=keys, args=args, client=pipe)

    async def queue_settle(
        self,
        pipe: Any,
        number: str,
        hold_id: str,
        charge_amount: int,
        actor: str,
        call_id: str,
        now_ms: int,
    ) -> None:
        _, keys, args = self._settle_call(number, hold_id, charge_amount, actor, call_id, now_ms)
        await self._settle(keys=keys, args=args, client=pipe)

    def hold_result(self, number: str, reply: Any) -> HoldReceipt:
        """The receipt of a queued hold, release or settlement (raises :class:`LedgerError`)."""
        if isinstance(reply, Exception):
            raise LedgerError("ledger.bad_argument", "detail", what=reply)
        status, payload = reply
        status, res = _s(status), json.loads(_s(payload))
        if status == "err":
            reason = res.pop("err")
            COUNTS["refused", str(reason)] += 1
            raise LedgerError(reason, details={k: int(v) for k, v in res.items()})
        COUNTS["replayed" if status != "new" else "done", str(res.get("op", ""))] += 1
        return self._hold_receipt(_number(number), res, status != "new")

    async def previous_credit(self, number: str, idem: str) -> int | None:
        """The amount an earlier credit with this idempotency key gave, or ``None``; ``-1`` if
        the key was used for another kind of operation (a dry run's question)."""
        prev = await self._redis.hget(self.idem_key(_number(number)), idem)
        if prev is None:
            return None
        fingerprint = _s(prev).split("\n", 1)[0]
        kind, _, amount = fingerprint.partition("|")
        return int(amount) if kind == "credit" and amount.isdigit() else -1

    @property
    def tariffs(self) -> TariffTable:
        return self._tariffs

    async def refund(
        self,
        number: str,
        call_id: str,
        amount: int,
        actor: str,
        reason: str,
        idem: str,
        now_ms: int,
    ) -> Receipt:
        """Give back ``amount`` cents charged for ``call_id`` (e.g. a call cut by a fault).

        The total refunded for a call never exceeds what was charged for it
        (``ledger.refund_exceeds_charge``, ``details["refundable"]``).
        """
        number = _number(number)
        call_id = _ident(call_id, "identifiant d'appel")
        args = [number, call_id, _amount(amount), _text(actor, "auteur")]
        reason = clean(reason, "reason", limit=_MAX_TEXT, lines=True)  # the one text rule
        args += [_text(reason, "motif"), _text(idem, "clé d'idempotence"), _now(now_ms)]
        keys = [
            self.account_key(number),
            self.ledger_key(number),
            self.idem_key(number),
            self.call_key(call_id),
        ]
        res, replayed = await self._run(self._refund, keys, args)
        return self._receipt(number, res, replayed)

    async def set_tariff(self, number: str, tariff: str) -> Account:
        """Choose the account's plan (a name from the tariff table)."""
        number = _number(number)
        if tariff not in self._tariffs:
            raise LedgerError("ledger.unknown_tariff", "named", tariff=repr(tariff))
        await self._redis.hset(self.account_key(number), "tariff", tariff)
        return await self.account(number)

    async def account(self, number: str) -> Account:
        """The account's balance, held, available and tariff (zeros if it never existed)."""
        number = _number(number)
        values = await self._redis.hmget(self.account_key(number), ["balance", "held", "tariff"])
        return self._account(number, values)

    async def entries(self, number: str) -> list[Entry]:
        """All the account's ledger entries, oldest first."""
        number = _number(number)
        out: list[Entry] = []
        start = "-"
        while True:
            batch = await self._redis.xrange(self.ledger_key(number), start, "+", count=1000)
            out.extend(self._entry(i, f) for i, f in batch)
            if len(batch) < 1000:
                return out
            start = "(" + _s(batch[-1][0])

    async def verify(self, number: str) -> Audit:
        """Recompute balance and held from the stream and compare with the account.

        Reads both in one MULTI/EXEC so the snapshot is consistent even under load. Also checks
        that each entry's ``balance_after``/``held_after`` follow from the previous one.
        """
        number = _number(number)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hmget(self.account_key(number), ["balance", "held", "tariff"])
            pipe.xrange(self.ledger_key(number), "-", "+")
            values, raw = await pipe.execute()
        account = self._account(number, values)
        problems: list[str] = []
        balance = held = 0
        for i, fields in raw:
            entry = self._entry(i, fields)
            balance += entry.signed
            held += entry.held_delta
            if (entry.balance_after, entry.held_after) != (balance, held):
                problems.append(f"entry {entry.id}: running totals {balance}/{held} differ")
        if account.balance != balance:
            problems.append(f"balance {account.balance} != ledger {balance}")
        if account.held != held:
            problems.append(f"held {account.held} != ledger {held}")
        if not account.balance >= account.held >= 0:
            problems.append(f"balance {account.balance} < held {account.held} or held < 0")
        return Audit(
            number, account.balance, account.held, balance, held, len(raw), tuple(problems)
        )

    # plumbing -------------------------------------------------------------

    async def _run(
        self, script: Any, keys: list[str], args: list[str]
    ) -> tuple[dict[str, Any], bool]:
        if self._replicas:
            for attempt in (1, 2):
                try:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        await script(keys=keys, args=args, client=pipe)
                        self._queue_wait(pipe)
                        (status, payload), _mark, acked = await pipe.execute()
                    break
                except NoScriptError:  # loaded on a master that failed over before the call:
                    if attempt == 2:  # the next pipeline loads it on the new one
                        raise
        else:
            status, payload = await script(keys=keys, args=args)
        status, res = _s(status), json.loads(_s(payload))
        if status == "err":
            reason = res.pop("err")
            COUNTS["refused", str(reason)] += 1
            raise LedgerError(reason, details={k: int(v) for k, v in res.items()})
        if self._replicas:
            self._check_replicas(int(acked))
        COUNTS["replayed" if status != "new" else "done", str(res.get("op", ""))] += 1
        return res, status != "new"

    def _queue_wait(self, pipe: Any) -> None:
        pipe.incr(f"{self._prefix}ledger:replication")  # the marker: see the module's notes
        pipe.execute_command("WAIT", self._replicas, self._replica_timeout_ms)

    def _check_replicas(self, acked: int) -> None:
        if acked < self._replicas:
            COUNTS["refused", "ledger.unreplicated"] += 1
            raise LedgerError(
                "ledger.unreplicated", details={"replicas": acked, "wanted": self._replicas}
            )

    async def replicated(self) -> None:
        """After a caller's MULTI/EXEC holding a queued operation (:meth:`queue_hold`…): wait
        until the replicas have it, or raise ``ledger.unreplicated``. Nothing to wait for
        without ``replicas``."""
        if not self._replicas:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            self._queue_wait(pipe)
            _mark, acked = await pipe.execute()
        self._check_replicas(int(acked))

    def _account(self, number: str, values: list[Any]) -> Account:
        balance, held, tariff = values
        return Account(
            number,
            int(balance or 0),
            int(held or 0),
            _s(tariff) if tariff else self._tariffs.default,
        )

    @staticmethod
    def _receipt(number: str, res: dict[str, Any], replayed: bool) -> Receipt:
        refunded = res.get("refunded")
        return Receipt(
            op=res["op"],
            number=number,
            amount=int(res["amount"]),
            balance=int(res["balance"]),
            held=int(res["held"]),
            entry_ids=_ids(res.get("entries")),
            call_id=res.get("call_id"),
            refunded=None if refunded is None else int(refunded),
            replayed=replayed,
        )

    @staticmethod
    def _hold_receipt(number: str, res: dict[str, Any], replayed: bool) -> HoldReceipt:
        requested = res.get("requested")
        return HoldReceipt(
            op=res["op"],
            number=number,
            hold_id=res["hold_id"],
            state=res["state"],
            amount=int(res["amount"]),
            charged=int(res["charged"]),
            released=int(res["released"]),
            balance=int(res["balance"]),
            held=int(res["held"]),
            entry_ids=_ids(res.get("entries")),
            call_id=res.get("call_id"),
            requested=None if requested is None else int(requested),
            capped=bool(res.get("capped", False)),
            replayed=replayed,
        )

    @staticmethod
    def _entry(entry_id: Any, raw: Mapping[Any, Any]) -> Entry:
        f = {_s(k): _s(v) for k, v in raw.items()}
        requested = f.get("requested")
        return Entry(
            id=_s(entry_id),
            kind=f["kind"],
            amount=int(f["amount"]),
            actor=f["actor"],
            ref=f["ref"],
            idem=f["idem"],
            at=int(f["at"]),
            balance_after=int(f["balance_after"]),
            held_after=int(f["held_after"]),
            hold_id=f.get("hold"),
            requested=None if requested is None else int(requested),
            reason=f.get("reason"),
        )
