"""Detainees, their correspondents and their bookings, kept in Redis.

Key layout (prefix ``parloir:``):

* ``detainee:{number}`` hash; ``detainee:{number}:bookings`` sorted set of booking ids by start
* ``correspondent:{id}`` hash
* ``booking:{id}`` hash

The access code is stored only as an Argon2 hash. Phone numbers are E.164 (``phonenumbers``).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import asdict, dataclass, fields
from typing import TypeVar

import phonenumbers
import redis.asyncio as aioredis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

PREFIX = "parloir:"
_hasher = PasswordHasher()


class DirectoryError(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def to_e164(raw: str, region: str = "FR") -> str:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise DirectoryError("phone.invalid", f"Numéro de téléphone illisible : {raw}") from exc
    if not phonenumbers.is_valid_number(number):
        raise DirectoryError("phone.invalid", f"Numéro de téléphone invalide : {raw}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def hash_access_code(code: str) -> str:
    return _hasher.hash(code)


def _verify(code_hash: str, code: str) -> bool:
    try:
        return _hasher.verify(code_hash, code)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Detainee:
    number: str
    first_name: str
    last_name: str
    code_hash: str
    status: str = "active"

    @property
    def short_name(self) -> str:
        """What the relative's page shows: first name and initial."""
        return f"{self.first_name} {self.last_name[:1]}."


@dataclass(frozen=True)
class Correspondent:
    id: str
    detainee: str
    name: str
    phone: str
    relationship: str = ""
    status: str = "authorised"


@dataclass(frozen=True)
class Booking:
    id: str
    detainee: str
    correspondent: str
    kiosk: str
    start: float
    end: float
    status: str = "booked"


def _dump(obj: object) -> dict[str, str]:
    return {k: repr(v) if isinstance(v, float) else str(v) for k, v in asdict(obj).items()}  # type: ignore[call-overload]


T = TypeVar("T")


def _load(cls: type[T], data: dict[str, str]) -> T:
    kwargs: dict[str, object] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        raw = data[f.name]
        kwargs[f.name] = float(raw) if f.type in ("float", float) else raw
    return cls(**kwargs)


class Directory:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def put_detainee(self, detainee: Detainee) -> None:
        await self.redis.hset(f"{PREFIX}detainee:{detainee.number}", mapping=_dump(detainee))

    async def detainee(self, number: str) -> Detainee | None:
        data = await self.redis.hgetall(f"{PREFIX}detainee:{number}")
        return _load(Detainee, data) if data else None

    async def check_login(self, number: str, access_code: str) -> Detainee | None:
        """The detainee if number and access code match and access is active, else None."""
        detainee = await self.detainee(number)
        if detainee is None:
            # Spend the same time as a real check, so timing does not reveal numbers.
            await asyncio.to_thread(_verify, _DUMMY_HASH, access_code)
            return None
        ok = await asyncio.to_thread(_verify, detainee.code_hash, access_code)
        return detainee if ok and detainee.status == "active" else None

    async def put_correspondent(self, correspondent: Correspondent) -> None:
        key = f"{PREFIX}correspondent:{correspondent.id}"
        await self.redis.hset(key, mapping=_dump(correspondent))

    async def correspondent(self, cid: str) -> Correspondent | None:
        data = await self.redis.hgetall(f"{PREFIX}correspondent:{cid}")
        return _load(Correspondent, data) if data else None

    async def put_booking(self, booking: Booking) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(f"{PREFIX}booking:{booking.id}", mapping=_dump(booking))
        pipe.zadd(f"{PREFIX}detainee:{booking.detainee}:bookings", {booking.id: booking.start})
        await pipe.execute()

    async def booking(self, bid: str) -> Booking | None:
        data = await self.redis.hgetall(f"{PREFIX}booking:{bid}")
        return _load(Booking, data) if data else None

    async def booking_due(self, number: str, kiosk: str, now: float) -> Booking | None:
        """The detainee's booking at this kiosk whose slot contains ``now``."""
        # A slot is at most a few hours long: look at bookings that started in the last day.
        ids = await self.redis.zrangebyscore(
            f"{PREFIX}detainee:{number}:bookings", now - 86400, now
        )
        for bid in reversed(ids):
            booking = await self.booking(bid)
            if (
                booking
                and booking.kiosk == kiosk
                and booking.status == "booked"
                and booking.start <= now < booking.end
            ):
                return booking
        return None


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


_DUMMY_HASH = _hasher.hash(secrets.token_hex(8))
