"""The records the core's rules read and the stores keep, as plain data: the directory's
detainee, correspondent and booking, the ledger's entry and its largest amount, and the rule of
a phone number (E.164). No I/O here: :mod:`gateway.store.directory` and
:mod:`gateway.store.ledger` read and write them in Redis; the statements and the CSV import
(:mod:`gateway.core.statements`, :mod:`gateway.core.csv_import`) compute on them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import phonenumbers

from gateway.core.reasons import sentences

__all__ = [
    "MAX_AMOUNT", "Booking", "Correspondent", "Detainee", "DirectoryError", "Entry", "to_e164",
]  # fmt: skip

MAX_AMOUNT = 10**9
"""Largest single amount accepted, in cents (10 M€): keeps every number exact in Lua."""


class DirectoryError(ValueError):
    """A value of the directory refused: a stable ``reason`` and its sentences (French
    ``message``, ``message_en``) from the table of reasons."""

    def __init__(self, reason: str, variant: str = "", **values: object) -> None:
        self.message, self.message_en = sentences(reason, variant, **values)
        super().__init__(self.message)
        self.reason = reason


def to_e164(raw: str, region: str = "FR") -> str:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise DirectoryError("phone.invalid", "unreadable", raw=raw) from exc
    if not phonenumbers.is_valid_number(number):
        raise DirectoryError("phone.invalid", raw=raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class Detainee:
    number: str
    "Numéro d'écrou."
    first_name: str
    last_name: str
    code_hash: str
    "Argon2 hash of the kiosk access code."
    status: str = "active"
    "``active``, ``suspended`` or ``released`` (see :mod:`gateway.core.booking_rules`)."
    building: str = ""
    floor: str = ""
    cell: str = ""
    charter_signed_at: float | None = None
    "When the detainee signed the charte d'utilisation (epoch seconds)."
    charter_signed_by: str = ""
    "The guard who took the signature."

    @property
    def short_name(self) -> str:
        """What the relative's page shows: first name and initial."""
        return f"{self.first_name} {self.last_name[:1]}."

    @property
    def full_name(self) -> str:
        return f"{self.last_name.upper()} {self.first_name}"

    @property
    def location(self) -> str:
        parts = [
            f"Bât. {self.building}" if self.building else "",
            f"étage {self.floor}" if self.floor else "",
            f"cellule {self.cell}" if self.cell else "",
        ]
        return ", ".join(p for p in parts if p)

    def public(self) -> dict[str, object]:
        """The record without the access-code hash, for the staff API."""
        data = asdict(self)
        del data["code_hash"]
        data["charter_signed"] = self.charter_signed_at is not None
        return data


@dataclass(frozen=True)
class Correspondent:
    id: str
    detainee: str
    name: str
    phone: str
    "E.164."
    relationship: str = ""
    status: str = "authorised"
    "``authorised``, ``suspended`` or ``withdrawn``: mirrors the telephone authorisation."
    minor: bool = False
    consent_by: str = ""
    "Holder(s) of parental authority who consented, for a minor."
    consent_at: float | None = None
    "When that consent was recorded (epoch seconds)."
    lawyer: bool = False
    "Calls with a lawyer are neither recorded nor monitored."

    @property
    def parental_consent(self) -> bool:
        return bool(self.consent_by) and self.consent_at is not None

    def public(self) -> dict[str, object]:
        data = asdict(self)
        data["parental_consent"] = self.parental_consent
        return data


@dataclass(frozen=True)
class Booking:
    id: str
    detainee: str
    correspondent: str
    kiosk: str
    start: float
    end: float
    status: str = "booked"
    "``booked``, ``cancelled``, ``done`` or ``no_answer``."
    receipt: str = ""
    "Receipt number printed on the bon, ``YYYY-NNNNNN``."
    booked_by: str = ""
    booked_at: float | None = None
    cancelled_by: str = ""
    cancelled_at: float | None = None
    cancel_reason: str = ""
    tariff: str = ""
    "Tariff of the account when booked (the hold was computed with it)."
    hold: int = 0
    "Cents held on the phone account for this booking."
    max_seconds: int = 0
    "Longest connected time allowed for this booking (0: the gateway default)."
    connected_ms: int = 0
    "Connected time of the calls of this booking so far (their checkpoints once ended)."
    charged: int = 0
    "Cents charged when the booking was closed."
    closed_at: float | None = None

    def public(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Entry:
    """One ledger entry, as read back from the stream."""

    id: str
    kind: str
    amount: int
    actor: str
    ref: str
    idem: str
    at: int
    balance_after: int
    held_after: int
    hold_id: str | None = None
    requested: int | None = None
    reason: str | None = None

    @property
    def signed(self) -> int:
        """Effect on the balance: credits and refunds +, charges −, holds and releases 0."""
        if self.kind in ("credit", "refund"):
            return self.amount
        if self.kind == "charge":
            return -self.amount
        return 0

    @property
    def held_delta(self) -> int:
        """Effect on the held amount: holds +, releases and charges −."""
        if self.kind == "hold":
            return self.amount
        if self.kind in ("release", "charge"):
            return -self.amount
        return 0
