"""The relative's 6-digit code: how it is made, kept and judged (sans-IO).

Rules:

* A code is 6 digits from :mod:`secrets`. Only its HMAC-SHA256 under the service's secret is
  stored (a bare hash of a 6-digit code is reversed in a million tries); it is never logged.
* It is valid ``validity`` seconds from sending, single use, and burned after ``max_attempts``
  wrong tries made against that call (tries carry the call reference of the SMS link).
* Digests are compared in constant time.

:func:`judge` decides; the Redis adapter (:mod:`gateway.store.codes`) reads the record, asks
:func:`judge` and writes the new record back in one optimistic transaction.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace

CODE_DIGITS = 6


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def digest(secret: bytes, code: str) -> str:
    return hmac.new(secret, code.encode("ascii"), hashlib.sha256).hexdigest()


def well_formed(code: str) -> bool:
    return len(code) == CODE_DIGITS and code.isascii() and code.isdigit()


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"
    INVALID = "code.invalid"
    EXPIRED = "code.expired"
    USED = "code.used"
    BURNED = "code.burned"


@dataclass(frozen=True)
class CodeRecord:
    call_id: str
    digest: str
    expires_at: float
    attempts: int = 0
    used: bool = False
    burned: bool = False

    def to_fields(self) -> dict[str, str]:
        return {
            "call_id": self.call_id,
            "digest": self.digest,
            "expires_at": repr(self.expires_at),
            "attempts": str(self.attempts),
            "used": "1" if self.used else "0",
            "burned": "1" if self.burned else "0",
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> CodeRecord:
        return cls(
            call_id=fields["call_id"],
            digest=fields["digest"],
            expires_at=float(fields["expires_at"]),
            attempts=int(fields["attempts"]),
            used=fields["used"] == "1",
            burned=fields["burned"] == "1",
        )


@dataclass(frozen=True)
class Judgement:
    outcome: Outcome
    record: CodeRecord
    just_burned: bool = False


def judge(record: CodeRecord, candidate: str, now: float, max_attempts: int) -> Judgement:
    """Judge ``candidate`` (a digest) against ``record`` at ``now``."""
    if record.used:
        return Judgement(Outcome.USED, record)
    if record.burned:
        return Judgement(Outcome.BURNED, record)
    if now >= record.expires_at:
        return Judgement(Outcome.EXPIRED, record)
    if hmac.compare_digest(record.digest, candidate):
        return Judgement(Outcome.ACCEPTED, replace(record, used=True))
    attempts = record.attempts + 1
    if attempts >= max_attempts:
        return Judgement(
            Outcome.BURNED, replace(record, attempts=attempts, burned=True), just_burned=True
        )
    return Judgement(Outcome.INVALID, replace(record, attempts=attempts))


def code_minutes(validity_seconds: float) -> int:
    """The code's validity as the whole minutes people are told (rounded up, at least 1)."""
    return max(1, -int(-validity_seconds // 60))
