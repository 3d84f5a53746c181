"""Staff accounts and their sessions, in Redis.

Accounts: ``parloir:staff:{login}`` hash (name, roles, Argon2 hash of the password, status,
who created it and when); ``parloir:staff:index`` lists the logins. No account exists until
``python -m gateway staff create-admin`` makes the first administrator: there is no default
password anywhere.

Sessions: a 32-byte random token in an HttpOnly cookie; Redis keeps only its SHA-256 as
``parloir:staffsess:{hash}`` (login, CSRF token, times) with the idle timeout as its expiry,
renewed on use but never past the absolute limit. ``parloir:staffsess:of:{login}`` lists a
member's sessions so that disabling an account or changing its password ends them all.

Sign-in throttling: wrong passwords per account (``staff_login_failures`` in 15 minutes locks
the account for 15 minutes, whoever tries) and attempts per client address (a rate limit in
the HTTP handler).
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.core.roles import Role
from gateway.core.text import clean
from gateway.store.keys import PREFIX

LOCK_SECONDS = 15 * 60
MIN_PASSWORD = 12
_hasher = PasswordHasher()
# Verified against when the login does not exist, so that a wrong login costs as long as a
# wrong password and timing does not tell which logins exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class StaffError(Exception):
    """A refused account operation: a stable ``reason`` the HTTP layer turns into a status."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StaffMember:
    login: str
    name: str
    roles: tuple[Role, ...]
    active: bool
    created_at: float
    created_by: str
    must_change: bool = False
    """Set by an administrator's password: the member must choose their own before anything."""

    def public(self) -> dict[str, Any]:
        return {
            "login": self.login,
            "name": self.name,
            "roles": [str(r) for r in self.roles],
            "active": self.active,
            "created_at": int(self.created_at * 1000),
            "created_by": self.created_by,
            "must_change": self.must_change,
        }

    @property
    def signature(self) -> str:
        """How the member is written in the audit log and on bookings: name and login."""
        return f"{self.name} ({self.login})"


@dataclass(frozen=True)
class StaffSession:
    login: str
    csrf: str
    created: float
    expires: float


def normalise_login(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip().lower()


def check_login_name(login: str) -> None:
    if not (2 <= len(login) <= 32) or not all(c.isalnum() or c in "._-" for c in login):
        raise StaffError("staff.bad_login")


def check_password(password: str) -> None:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= 256:
        raise StaffError("staff.weak_password")


def _name(raw: str) -> str:
    """A member's name under the core's text rule (whatever the caller: API, command line,
    demo): :class:`~gateway.core.text.TextRefused` ``field.name`` before anything is written."""
    return " ".join(clean(raw, "name", limit=64).split())


def _token_key(token: str) -> str:
    return f"{PREFIX}staffsess:{hashlib.sha256(token.encode()).hexdigest()}"


class StaffAccounts:
    def __init__(
        self,
        redis: aioredis.Redis,
        idle_seconds: int = 30 * 60,
        max_seconds: int = 12 * 3600,
        failures_allowed: int = 5,
    ) -> None:
        self.redis = redis
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds
        self.failures_allowed = failures_allowed

    @staticmethod
    def key(login: str) -> str:
        return f"{PREFIX}staff:{login}"

    # ------------------------------------------------------------------ accounts

    async def create(
        self,
        login: str,
        name: str,
        roles: list[Role],
        password: str,
        by: str,
        now: float,
        must_change: bool = False,
    ) -> StaffMember:
        login = normalise_login(login)
        check_login_name(login)
        check_password(password)
        name = _name(name)
        if not roles:
            raise StaffError("staff.no_role")
        fields = {
            "name": name,
            "roles": ",".join(roles),
            "pw": _hasher.hash(password),
            "status": "active",
            "created_at": repr(now),
            "created_by": by,
            "must_change": "1" if must_change else "0",
        }
        # HSETNX on the name field claims the login atomically; the rest follows in one MULTI.
        if not await self.redis.hsetnx(self.key(login), "name", name):
            raise StaffError("staff.exists")
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.key(login), mapping=fields)
        pipe.sadd(f"{PREFIX}staff:index", login)
        await pipe.execute()
        member = await self.get(login)
        assert member is not None
        return member

    async def get(self, login: str) -> StaffMember | None:
        data = await self.redis.hgetall(self.key(normalise_login(login)))
        if not data or "pw" not in data:
            return None
        return self._member(normalise_login(login), data)

    @staticmethod
    def _member(login: str, data: dict[str, str]) -> StaffMember:
        roles = []
        for name in data.get("roles", "").split(","):
            try:
                roles.append(Role(name))
            except ValueError:
                continue
        return StaffMember(
            login=login,
            name=data["name"],
            roles=tuple(roles),
            active=data.get("status") == "active",
            created_at=float(data.get("created_at", 0)),
            created_by=data.get("created_by", ""),
            must_change=data.get("must_change") == "1",
        )

    async def all(self) -> list[StaffMember]:
        found = []
        for login in sorted(await self.redis.smembers(f"{PREFIX}staff:index")):
            member = await self.get(login)
            if member:
                found.append(member)
        return found

    async def count_admins(self) -> int:
        return sum(1 for m in await self.all() if m.active and Role.ADMIN in m.roles)

    async def update(
        self,
        login: str,
        *,
        roles: list[Role] | None = None,
        active: bool | None = None,
        name: str | None = None,
    ) -> StaffMember:
        member = await self.get(login)
        if member is None:
            raise StaffError("staff.not_found")
        # Never leave the service without an active administrator.
        loses_admin = (
            Role.ADMIN in member.roles
            and member.active
            and ((roles is not None and Role.ADMIN not in roles) or active is False)
        )
        if loses_admin and await self.count_admins() <= 1:
            raise StaffError("staff.last_admin")
        mapping: dict[str, str] = {}
        if roles is not None:
            if not roles:
                raise StaffError("staff.no_role")
            mapping["roles"] = ",".join(roles)
        if active is not None:
            mapping["status"] = "active" if active else "disabled"
        if name is not None:
            mapping["name"] = _name(name)
        if mapping:
            await self.redis.hset(self.key(member.login), mapping=mapping)
        if active is False or roles is not None:
            await self.end_sessions(member.login)  # the new rights apply at the next sign-in
        updated = await self.get(member.login)
        assert updated is not None
        return updated

    async def set_password(self, login: str, password: str, must_change: bool = False) -> None:
        """A new password (all sessions end); ``must_change`` when someone else chose it."""
        check_password(password)
        member = await self.get(login)
        if member is None:
            raise StaffError("staff.not_found")
        await self.redis.hset(
            self.key(member.login),
            mapping={"pw": _hasher.hash(password), "must_change": "1" if must_change else "0"},
        )
        await self.end_sessions(member.login)

    # ------------------------------------------------------------------ signing in

    async def failures(self, login: str) -> int:
        """Wrong passwords on this account in the current 15-minute lock window."""
        return int(await self.redis.get(f"{PREFIX}stafffail:{normalise_login(login)}") or 0)

    async def authenticate(self, login: str, password: str) -> StaffMember:
        """The member if the password is right; StaffError otherwise (same reason whether the
        login exists or not, so the answer does not reveal which logins exist)."""
        login = normalise_login(login)
        fail_key = f"{PREFIX}stafffail:{login}"
        failures = int(await self.redis.get(fail_key) or 0)
        if failures >= self.failures_allowed:
            raise StaffError("staff.locked")
        data = await self.redis.hgetall(self.key(login)) if login else {}
        stored = data.get("pw", _DUMMY_HASH)
        try:
            ok = _hasher.verify(stored, password) and "pw" in data
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            pipe = self.redis.pipeline(transaction=True)
            pipe.incr(fail_key)
            pipe.expire(fail_key, LOCK_SECONDS)
            await pipe.execute()
            raise StaffError("staff.bad_credentials")
        member = self._member(login, data)
        if not member.active:
            raise StaffError("staff.bad_credentials")
        await self.redis.delete(fail_key)
        if _hasher.check_needs_rehash(stored):
            await self.redis.hset(self.key(login), "pw", _hasher.hash(password))
        return member

    async def open_session(self, member: StaffMember, now: float) -> tuple[str, StaffSession]:
        token = secrets.token_urlsafe(32)
        session = StaffSession(
            login=member.login,
            csrf=secrets.token_urlsafe(24),
            created=now,
            expires=now + self.max_seconds,
        )
        key = _token_key(token)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(
            key,
            mapping={
                "login": session.login,
                "csrf": session.csrf,
                "created": repr(now),
                "expires": repr(session.expires),
            },
        )
        pipe.expire(key, self.idle_seconds)
        pipe.sadd(f"{PREFIX}staffsess:of:{member.login}", key)
        pipe.expire(f"{PREFIX}staffsess:of:{member.login}", self.max_seconds)
        await pipe.execute()
        return token, session

    async def session(self, token: str, now: float) -> tuple[StaffSession, StaffMember] | None:
        """The session and its member, renewing the idle timeout; None when over or unknown."""
        if not token or len(token) > 128:
            return None
        key = _token_key(token)
        data = await self.redis.hgetall(key)
        if not data:
            return None
        session = StaffSession(
            data["login"], data["csrf"], float(data["created"]), float(data["expires"])
        )
        member = await self.get(session.login)
        if now >= session.expires or member is None or not member.active:
            await self.redis.delete(key)
            return None
        remaining = int(session.expires - now) + 1
        await self.redis.expire(key, min(self.idle_seconds, remaining))
        return session, member

    async def close_session(self, token: str) -> None:
        key = _token_key(token)
        login = await self.redis.hget(key, "login")
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(key)
        if login:
            pipe.srem(f"{PREFIX}staffsess:of:{login}", key)
        await pipe.execute()

    async def end_sessions(self, login: str) -> None:
        index = f"{PREFIX}staffsess:of:{login}"
        keys = await self.redis.smembers(index)
        if keys:
            await self.redis.delete(*keys, index)
