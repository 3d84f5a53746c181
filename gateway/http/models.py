"""Request shapes as pydantic models: what a handler accepts is what the OpenAPI document says.

The router validates a route's ``body`` (:mod:`gateway.core.routes`) with its model before the
handler runs (:mod:`gateway.http.routes`), and :mod:`gateway.http.openapi` publishes
``model_json_schema()`` under ``components/schemas``: one declaration for both. Text fields go
through the core's one text rule (:func:`gateway.core.text.clean`: NFC, trimmed, no control or
format character, a length limit) *before* the model's own constraints (pattern, enum), so a
refusal is the same ``field.<name>`` with the same sentence as before the models. Unknown fields
are ignored (the old clients' ``guard``, ``staff``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
)

from gateway.core.identifiers import (
    ACCESS_CODE_MAX,
    ACCESS_CODE_PATTERN,
    DETAINEE_NUMBER_MAX,
    DETAINEE_NUMBER_PATTERN,
)
from gateway.core.pricing import CHARTER_TARIFFS
from gateway.core.text import TextRefused, clean

TARIFFS = [t.name for t in CHARTER_TARIFFS]

__all__ = ["MODELS", "FieldError", "field_reasons", "schemas", "validate"]

M = TypeVar("M", bound="Body")


def _text_rule(limit: int, required: bool, lines: bool) -> Any:
    def check(value: object, info: ValidationInfo) -> object:
        name = info.field_name or "?"
        if value is None:  # given as null: a field is a text, or absent
            raise TextRefused(
                name, "invalid", f"Champ « {name} » invalide.", f"Invalid field {name}."
            )
        return clean(value, name, required=required, limit=limit, lines=lines)

    return BeforeValidator(check)


def Text(  # noqa: N802 - reads as a type in the models
    limit: int = 100, *, required: bool = True, lines: bool = False, **constraints: Any
) -> Any:
    """A text field under the text rule; ``constraints`` (pattern…) apply to the clean text."""
    # The constraints first: the text rule wraps them, so it runs before them.
    return Annotated[
        str,
        Field(max_length=limit, min_length=1 if required else None, **constraints),
        _text_rule(limit, required, lines),
    ]


def Choice(*values: str) -> Any:  # noqa: N802
    """One of ``values`` (after the text rule), or absent (``None``)."""
    return Annotated[
        Literal[values] | None,
        WithJsonSchema({"type": "string", "enum": list(values)}),  # absent, never null
        _text_rule(100, False, False),
    ]


class Body(BaseModel):
    """A request body: unknown fields ignored, the first wrong field refused."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    MESSAGES: ClassVar[dict[str, tuple[str, str]]] = {}
    """Sentences (fr, en) of a field refused by its constraints rather than the text rule."""

    def given(self, name: str) -> bool:
        """Whether the request named the field (an update keeps what it does not name)."""
        return name in self.model_fields_set


@dataclass(frozen=True)
class FieldError(Exception):
    reason: str
    fr: str
    en: str


def validate(model: type[M], data: object) -> M:
    """``data`` as ``model``, or :class:`FieldError` for its first wrong field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _refusal(model, exc.errors()[0]) from None


def _refusal(model: type[Body], error: Any) -> FieldError:
    if not error["loc"]:
        return FieldError("request.malformed", "Requête illisible.", "Malformed request.")
    name = str(error["loc"][0])
    cause = (error.get("ctx") or {}).get("error")
    if error["type"] == "missing":
        try:
            clean("", name)
        except TextRefused as refused:
            cause = refused
    if isinstance(cause, TextRefused):
        return FieldError(cause.reason, cause.fr, cause.en)
    fr, en = model.MESSAGES.get(name, (f"Champ « {name} » invalide.", f"Invalid field {name}."))
    return FieldError(f"field.{name}", fr, en)


def field_reasons(model: type[Body]) -> list[str]:
    """The ``field.<name>`` refusals of a model, in the order its fields are checked."""
    return [f"field.{name}" for name in model.model_fields]


# -- the booking desk ------------------------------------------------------------------------

DetaineeStatus = Choice("active", "suspended", "released")
CorrespondentStatus = Choice("authorised", "suspended", "withdrawn")


class DetaineeInput(Body):
    """A detainee's record, created or replaced (``status`` and the code kept when omitted)."""

    MESSAGES = {
        "number": ("Numéro d'écrou invalide.", "Invalid prisoner number."),
        "access_code": ("Le code d'accès a 4 à 8 chiffres.", "The access code has 4 to 8 digits."),
        "status": ("Statut invalide.", "Invalid status."),
    }
    number: Text(DETAINEE_NUMBER_MAX, pattern=DETAINEE_NUMBER_PATTERN) = Field(
        description="Numéro d'écrou: ASCII letters and digits."
    )
    access_code: Text(ACCESS_CODE_MAX, required=False, pattern=ACCESS_CODE_PATTERN) = Field(
        "",
        description="Kiosk access code, 4 to 8 ASCII digits; required for a new detainee, kept "
        "when omitted on an update. Stored as an Argon2 hash only.",
    )
    first_name: Text(100)
    last_name: Text(100)
    building: Text(20, required=False) = ""
    floor: Text(20, required=False) = ""
    cell: Text(20, required=False) = ""
    status: DetaineeStatus = Field(None, description="Default: unchanged, or `active`.")


class CorrespondentInput(Body):
    """A person the detainee may call; an update keeps what it does not name."""

    MESSAGES = {"status": ("Statut invalide.", "Invalid status.")}
    status: CorrespondentStatus = Field(
        None, description="Default: `authorised` for a new correspondent, unchanged on an update."
    )
    minor: StrictBool = Field(
        False, description="Default: false for a new correspondent, unchanged on an update."
    )
    consent_by: Text(100, required=False) = Field(
        "",
        description="Who gave the parental consent; kept only for a minor. The consent time is "
        "recorded now, or kept when the same name was already recorded.",
    )
    name: Text(100)
    phone: Text(30) = Field(description="Any French or international form; stored as E.164.")
    relationship: Text(40, required=False) = ""
    lawyer: StrictBool = Field(
        False,
        description="A lawyer: calls neither recorded nor monitored. Default: false for a new "
        "correspondent, unchanged on an update.",
    )


DATE_TIME = {"format": "date-time"}


def _slot_start(value: str) -> str:
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        start = None
    if start is None or start.tzinfo is None:
        raise ValueError("not ISO 8601 with an offset")
    return value


class BookingRequest(Body):
    """Who books is the signed-in member (a `guard` field is ignored)."""

    MESSAGES = {
        "start": (
            "Début du créneau invalide (date ISO 8601 avec fuseau attendue).",
            "Invalid slot start (ISO 8601 with offset expected).",
        )
    }
    start: Annotated[Text(40), AfterValidator(_slot_start), Field(json_schema_extra=DATE_TIME)] = (
        Field(
            description="Start of the slot: ISO 8601 with offset (`2026-03-05T08:30:00+01:00`), as "
            "listed by the calendar."
        )
    )
    detainee: Text(20) = Field(description="Numéro d'écrou.")
    correspondent: Text(40) = Field(description="Correspondent id.")
    kiosk: Text(40) = Field(description="Kiosk id.")

    @property
    def start_at(self) -> datetime:
        return datetime.fromisoformat(self.start)


class CancelRequest(Body):
    """Who cancels is the signed-in member (a `guard` field is ignored)."""

    reason: Text(200, lines=True) = Field(description="Why (« motif »).")


# -- the accounts office ---------------------------------------------------------------------

_AMOUNT = (
    "Montant invalide : un nombre entier de centimes, positif, est attendu.",
    "Invalid amount: a positive whole number of cents is expected.",
)
Cents = Annotated[StrictInt, Field(ge=1, le=1_000_000_000)]


class CreditRequest(Body):
    """Who credits is the signed-in member (an `actor` field is ignored)."""

    MESSAGES = {"amount_cents": _AMOUNT}
    detainee: Text(20) = Field(description="Numéro d'écrou.")
    amount_cents: Cents = Field(description="Amount credited, in cents.")
    reference: Text(64) = Field(
        description="The accounts office's reference: the idempotency key (a retry with the "
        "same reference credits once)."
    )


class TariffRequest(Body):
    """The plan of one phone account (the ledger knows the establishment's plans)."""

    tariff: Annotated[Text(40), Field(json_schema_extra=lambda s: s.update(enum=TARIFFS))] = Field(
        description="Plan name."
    )


class RefundRequest(Body):
    """Who refunds is the signed-in member (an `actor` field is ignored)."""

    MESSAGES = {"amount_cents": _AMOUNT}
    booking: Text(40) = Field(description="The booking whose call is refunded.")
    amount_cents: Cents = Field(description="Amount refunded, in cents.")
    reason: Text(200, lines=True) = Field(description="Why (shown on the statement).")
    reference: Text(64) = Field(description="Idempotency key.")


# -- the direction --------------------------------------------------------------------------

_SIGNED = "The signed-in member is written to the audit log (a `staff` field is ignored)."


class SanctionRequest(Body):
    __doc__ = _SIGNED

    reason: Text(500, lines=True) = Field(description="Why (e.g. the incident report).")
    phone: Text(30) = Field(description="Any French or international form; stored as E.164.")
    until: Annotated[Text(10), Field(json_schema_extra={"format": "date"})] = Field(
        description="Last day of the sanction (included), `YYYY-MM-DD`, local; today or later."
    )


class ExtendRequest(Body):
    __doc__ = _SIGNED

    MESSAGES = {"minutes": ("Durée invalide (minutes).", "Invalid minutes.")}
    reason: Text(500, lines=True) = Field(description="Why the longer call is allowed.")
    minutes: Annotated[StrictInt, Field(ge=1, le=600)] = Field(
        description="The booking's new longest connected time, in minutes."
    )


MODELS: dict[str, type[Body]] = {
    m.__name__: m
    for m in (DetaineeInput, CorrespondentInput, BookingRequest, CancelRequest, CreditRequest,
              TariffRequest, RefundRequest, SanctionRequest, ExtendRequest)
}  # fmt: skip


def schemas() -> dict[str, Any]:
    """Every model's JSON Schema, for ``components/schemas``."""
    out: dict[str, Any] = {}
    for name, model in MODELS.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)  # pydantic's "Access Code": the name says it already
            if prop.get("default", 0) in ("", None):  # absent, not a value to send
                del prop["default"]
        out[name] = schema
    return out
