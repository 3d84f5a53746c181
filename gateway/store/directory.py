"""Detainees, their correspondents and their bookings, kept in Redis.

Key layout (prefix ``parloir:``):

* ``detainees`` set of numbers; ``detainee:{number}`` hash;
  ``detainee:{number}:bookings`` sorted set of booking ids by start;
  ``detainee:{number}:correspondents`` set of correspondent ids
* ``correspondent:{id}`` hash
* ``booking:{id}`` hash; ``bookings`` sorted set of every booking id by start;
  ``kioskslot:{kiosk}:{start}`` the booking holding that kiosk at that slot (see booking_desk)

The access code is stored only as an Argon2 hash. Phone numbers are E.164. The records
themselves are plain data of the core (:mod:`gateway.core.records`).
"""

from __future__ import annotations

import asyncio
import secrets
import unicodedata
from dataclasses import asdict, fields
from typing import TypeVar

import redis.asyncio as aioredis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.core.records import Booking, Correspondent, Detainee, DirectoryError
from gateway.core.text import is_clean
from gateway.store import keys
from gateway.store.keys import PREFIX

_hasher = PasswordHasher()


def hash_access_code(code: str) -> str:
    return _hasher.hash(code)


def _verify(code_hash: str, code: str) -> bool:
    try:
        return _hasher.verify(code_hash, code)
    except (VerificationError, InvalidHashError):
        return False


def _dump(obj: object) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in asdict(obj).items():  # type: ignore[call-overload]
        if value is None:
            out[key] = ""
        elif isinstance(value, bool):
            out[key] = "1" if value else "0"
        elif isinstance(value, float):
            out[key] = repr(value)
        else:
            out[key] = str(value)
    return out


T = TypeVar("T")


def _load(cls: type[T], data: dict[str, str]) -> T:
    kwargs: dict[str, object] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            continue  # older records: the dataclass default applies
        raw, kind = data[f.name], str(f.type)
        if kind == "bool":
            kwargs[f.name] = raw == "1"
        elif kind == "int":
            kwargs[f.name] = int(raw or 0)
        elif kind == "float":
            kwargs[f.name] = float(raw)
        elif kind == "float | None":
            kwargs[f.name] = float(raw) if raw else None
        else:
            kwargs[f.name] = raw
    return cls(**kwargs)


def fold(text: str) -> str:
    """Lower case without accents, for searching names as guards type them."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


# The human texts of each record, under the core's one text rule (gateway.core.text).
DETAINEE_TEXTS = ("first_name", "last_name", "building", "floor", "cell", "charter_signed_by")
CORRESPONDENT_TEXTS = ("name", "relationship", "consent_by")


def broken_texts(record: object, names: tuple[str, ...]) -> list[str]:
    """The fields of ``record`` that break the text rule (what ``check-texts`` reports)."""
    return [n for n in names if not is_clean(getattr(record, n))]


def _guard_texts(record: object, names: tuple[str, ...]) -> None:
    """The last line of defence: whatever path a record comes by, no broken text is stored."""
    for name in broken_texts(record, names):
        raise DirectoryError(f"field.{name}", "stored")


class Directory:
    """People and bookings in Redis. Every write of a booking goes through
    :mod:`gateway.store.bookings`, which keeps the indexes and the hold consistent."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    # -- detainees --------------------------------------------------------------------------
    async def put_detainee(self, detainee: Detainee) -> None:
        _guard_texts(detainee, DETAINEE_TEXTS)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(f"{PREFIX}detainee:{detainee.number}", mapping=_dump(detainee))
        pipe.sadd(keys.DETAINEES, detainee.number)
        await pipe.execute()

    async def detainee(self, number: str) -> Detainee | None:
        data = await self.redis.hgetall(f"{PREFIX}detainee:{number}")
        return _load(Detainee, data) if data else None

    async def detainees(self, numbers: list[str]) -> list[Detainee]:
        pipe = self.redis.pipeline(transaction=False)
        for number in numbers:
            pipe.hgetall(f"{PREFIX}detainee:{number}")
        return [_load(Detainee, d) for d in await pipe.execute() if d]

    async def detainee_numbers(self) -> list[str]:
        """Every detainee number in the directory, sorted."""
        return sorted(await self.redis.smembers(keys.DETAINEES))

    async def search_detainees(self, query: str, limit: int = 50) -> list[Detainee]:
        """By number (exact or prefix) or by any part of the names, accents ignored."""
        needle = fold(query)
        if not needle:
            return []
        numbers = await self.detainee_numbers()
        found = []
        for detainee in await self.detainees(numbers):
            names = fold(f"{detainee.last_name} {detainee.first_name}")
            if detainee.number.startswith(needle) or all(w in names for w in needle.split()):
                found.append(detainee)
        found.sort(key=lambda d: (not d.number.startswith(needle), fold(d.last_name), d.number))
        return found[:limit]

    async def check_login(self, number: str, access_code: str) -> Detainee | None:
        """The detainee if number and access code match and access is active, else None."""
        detainee = await self.detainee(number)
        if detainee is None:
            # Spend the same time as a real check, so timing does not reveal numbers.
            await asyncio.to_thread(_verify, _DUMMY_HASH, access_code)
            return None
        ok = await asyncio.to_thread(_verify, detainee.code_hash, access_code)
        return detainee if ok and detainee.status == "active" else None

    # -- correspondents ---------------------------------------------------------------------
    async def put_correspondent(self, correspondent: Correspondent) -> None:
        _guard_texts(correspondent, CORRESPONDENT_TEXTS)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(f"{PREFIX}correspondent:{correspondent.id}", mapping=_dump(correspondent))
        pipe.sadd(f"{PREFIX}detainee:{correspondent.detainee}:correspondents", correspondent.id)
        await pipe.execute()

    async def correspondent(self, cid: str) -> Correspondent | None:
        data = await self.redis.hgetall(f"{PREFIX}correspondent:{cid}")
        return _load(Correspondent, data) if data else None

    async def correspondents_of(self, number: str) -> list[Correspondent]:
        ids = sorted(await self.redis.smembers(f"{PREFIX}detainee:{number}:correspondents"))
        pipe = self.redis.pipeline(transaction=False)
        for cid in ids:
            pipe.hgetall(f"{PREFIX}correspondent:{cid}")
        found = [_load(Correspondent, d) for d in await pipe.execute() if d]
        return sorted(found, key=lambda c: fold(c.name))

    # -- bookings (read side) ---------------------------------------------------------------
    async def put_booking(self, booking: Booking) -> None:
        """Write a booking record as is (demo seeding and tests; the desk books through
        :class:`gateway.store.bookings.BookingDesk`)."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(f"{PREFIX}booking:{booking.id}", mapping=_dump(booking))
        pipe.zadd(f"{PREFIX}detainee:{booking.detainee}:bookings", {booking.id: booking.start})
        pipe.zadd(f"{PREFIX}bookings", {booking.id: booking.start})
        await pipe.execute()

    async def booking(self, bid: str) -> Booking | None:
        if not bid:
            return None
        data = await self.redis.hgetall(f"{PREFIX}booking:{bid}")
        return _load(Booking, data) if data else None

    async def _bookings(self, ids: list[str]) -> list[Booking]:
        pipe = self.redis.pipeline(transaction=False)
        for bid in ids:
            pipe.hgetall(f"{PREFIX}booking:{bid}")
        return [_load(Booking, d) for d in await pipe.execute() if d]

    async def bookings_of(self, number: str) -> list[Booking]:
        """All the detainee's bookings, by start."""
        ids = await self.redis.zrange(f"{PREFIX}detainee:{number}:bookings", 0, -1)
        return await self._bookings(ids)

    async def bookings_between(self, start: float, end: float) -> list[Booking]:
        """Every booking (any status) starting in ``[start, end)``, by start."""
        ids = await self.redis.zrangebyscore(f"{PREFIX}bookings", start, f"({end}")
        return await self._bookings(ids)

    async def booking_due(self, number: str, kiosk: str, now: float) -> Booking | None:
        """The detainee's booking at this kiosk whose slot contains ``now``."""
        # A slot is at most a few hours long: look at bookings that started in the last day.
        ids = await self.redis.zrangebyscore(
            f"{PREFIX}detainee:{number}:bookings", now - 86400, now
        )
        for booking in reversed(await self._bookings(ids)):
            if booking.kiosk == kiosk and booking.status == "booked":
                if booking.start <= now < booking.end:
                    return booking
        return None


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


_DUMMY_HASH = _hasher.hash(secrets.token_hex(8))
