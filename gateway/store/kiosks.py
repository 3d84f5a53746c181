"""Kiosks as enrolled devices.

The kiosks themselves (id and room) are the establishment's configuration; a kiosk *device*
works only once an administrator has enrolled it. Enrolling gives a one-time code (valid 30
minutes) that someone types on the kiosk's page ``/kiosk/enrolement``; the gateway answers with
the device credential, kept by the kiosk's browser in a long-lived HttpOnly cookie (programs
send it as the ``X-Parloir-Kiosk`` header). The kiosk's login and its signaling check it every
time; revoking the enrolment makes the kiosk useless at once.

Redis: ``parloir:kiosk:{id}`` hash (status, credential hash, who and when);
``parloir:kioskcred:{sha256}`` -> kiosk id; ``parloir:kioskenrol:{sha256}`` -> kiosk id, with
the code's expiry. Only hashes of secrets are stored.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import redis.asyncio as aioredis

from gateway.store.keys import PREFIX

ENROLMENT_SECONDS = 30 * 60
CREDENTIAL_HEADER = "X-Parloir-Kiosk"
CREDENTIAL_COOKIE = "parloir_kiosk"
# No 0/O, 1/I/L: typed by hand on a kiosk's touch keyboard.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def credential_digest(credential: str) -> str:
    """What a kiosk's session token remembers of its device (checked again at each step)."""
    return _digest(credential)


def _clean_code(raw: str) -> str:
    return "".join(c for c in raw.upper() if c.isalnum())


class KioskRegistry:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def enrol(self, kiosk_id: str, by: str = "", now: float = 0.0) -> str:
        """A new device credential for ``kiosk_id``; any previous one stops working."""
        credential = secrets.token_urlsafe(32)
        old = await self.redis.hget(f"{PREFIX}kiosk:{kiosk_id}", "cred")
        pipe = self.redis.pipeline(transaction=True)
        if old:
            pipe.delete(f"{PREFIX}kioskcred:{old}")
        pipe.set(f"{PREFIX}kioskcred:{_digest(credential)}", kiosk_id)
        pipe.hset(
            f"{PREFIX}kiosk:{kiosk_id}",
            mapping={
                "status": "enrolled",
                "cred": _digest(credential),
                "enrolled_at": repr(now),
                "enrolled_by": by,
            },
        )
        await pipe.execute()
        return credential

    async def start_enrolment(self, kiosk_id: str, by: str, now: float) -> str:
        """A one-time code to type on the kiosk, valid :data:`ENROLMENT_SECONDS`; the kiosk's
        previous code, if any, stops working (one live code per kiosk)."""
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        old = await self.redis.hget(f"{PREFIX}kiosk:{kiosk_id}", "pending_code")
        pipe = self.redis.pipeline(transaction=True)
        if old:
            pipe.delete(f"{PREFIX}kioskenrol:{old}")
        pipe.set(f"{PREFIX}kioskenrol:{_digest(raw)}", kiosk_id, ex=ENROLMENT_SECONDS)
        pipe.hset(
            f"{PREFIX}kiosk:{kiosk_id}",
            mapping={"pending_since": repr(now), "pending_by": by, "pending_code": _digest(raw)},
        )
        await pipe.execute()
        return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"

    async def redeem(self, code: str, now: float) -> tuple[str, str] | None:
        """(kiosk id, credential) for a valid code, used up at once; None otherwise."""
        cleaned = _clean_code(code)
        if len(cleaned) != 12:
            return None
        kiosk_id = await self.redis.getdel(f"{PREFIX}kioskenrol:{_digest(cleaned)}")
        if kiosk_id is None:
            return None
        by = await self.redis.hget(f"{PREFIX}kiosk:{kiosk_id}", "pending_by") or ""
        credential = await self.enrol(kiosk_id, by, now)
        await self.redis.hdel(
            f"{PREFIX}kiosk:{kiosk_id}", "pending_since", "pending_by", "pending_code"
        )
        return kiosk_id, credential

    async def kiosk_for(self, credential: str | None) -> str | None:
        """The enrolled kiosk holding this credential, or None (unknown or revoked)."""
        if not credential or len(credential) > 128:
            return None
        return await self.redis.get(f"{PREFIX}kioskcred:{_digest(credential)}")

    async def still_enrolled(self, kiosk_id: str, digest: str) -> bool:
        """True while the device behind a session (its credential's digest) is enrolled."""
        if not digest:
            return False
        return await self.redis.get(f"{PREFIX}kioskcred:{digest}") == kiosk_id

    async def revoke(self, kiosk_id: str, by: str, now: float) -> bool:
        """The device stops working at once, and a code given but not yet typed with it."""
        old, pending = await self.redis.hmget(f"{PREFIX}kiosk:{kiosk_id}", ["cred", "pending_code"])
        pipe = self.redis.pipeline(transaction=True)
        if old:
            pipe.delete(f"{PREFIX}kioskcred:{old}")
        if pending:
            pipe.delete(f"{PREFIX}kioskenrol:{pending}")
        pipe.hdel(f"{PREFIX}kiosk:{kiosk_id}", "pending_since", "pending_by", "pending_code")
        pipe.hset(
            f"{PREFIX}kiosk:{kiosk_id}",
            mapping={"status": "revoked", "cred": "", "revoked_at": repr(now), "revoked_by": by},
        )
        await pipe.execute()
        return bool(old)

    async def state(self, kiosk_id: str) -> dict[str, Any]:
        data = await self.redis.hgetall(f"{PREFIX}kiosk:{kiosk_id}")

        def ms(name: str) -> int | None:
            return int(float(data[name]) * 1000) if data.get(name) else None

        return {
            "status": data.get("status", "not_enrolled"),
            "enrolled_at": ms("enrolled_at"),
            "enrolled_by": data.get("enrolled_by", ""),
            "revoked_at": ms("revoked_at"),
            "revoked_by": data.get("revoked_by", ""),
            # A code that expired unused is no longer pending (its key is gone with its TTL).
            "pending": bool(data.get("pending_code"))
            and bool(await self.redis.exists(f"{PREFIX}kioskenrol:{data['pending_code']}")),
        }


def credential_of(headers: Any, cookies: Any) -> str | None:
    """The device credential a request carries: the header (programs) or the cookie (page)."""
    return headers.get(CREDENTIAL_HEADER) or cookies.get(CREDENTIAL_COOKIE)
