"""Request shapes as pydantic models: what a handler accepts is what the OpenAPI document says.

The router validates a route's ``body`` (:mod:`gateway.core.routes`) with its model before the
handler runs (:mod:`gateway.http.routes`), or the handler itself when its refusals are its own
(``ROUTER = False``: the kiosk's and relative's, in the body's language; the staff accounts'),
and :mod:`gateway.http.openapi` publishes ``model_json_schema()`` under ``components/schemas``:
one declaration for both. Text fields go
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
    StrictStr,
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
from gateway.core.reasons import sentences
from gateway.core.roles import ROLE_LABELS, Role, parse_roles
from gateway.core.text import TextRefused, clean
from gateway.store.sanctions import DETAINEE_SCOPES

TARIFFS = [t.name for t in CHARTER_TARIFFS]

__all__ = ["MODELS", "FieldError", "field_reasons", "schemas", "validate"]

M = TypeVar("M", bound="Body")


def _text_rule(limit: int, required: bool, lines: bool, name: str = "") -> Any:
    def check(value: object, info: ValidationInfo) -> object:
        name_ = name or info.field_name or "?"
        if value is None:  # given as null: a field is a text, or absent
            raise TextRefused(
                name_, "invalid", f"Champ « {name_} » invalide.", f"Invalid field {name_}."
            )
        return clean(value, name_, required=required, limit=limit, lines=lines)

    return BeforeValidator(check)


def Text(  # noqa: N802 - reads as a type in the models
    limit: int = 100, *, required: bool = True, lines: bool = False, name: str = "",
    **constraints: Any,
) -> Any:
    """A text field under the text rule; ``constraints`` (pattern…) apply to the clean text.
    ``name``: the field's name in the body when it is not a Python name (``from``)."""
    # The constraints first: the text rule wraps them, so it runs before them.
    return Annotated[
        str,
        Field(max_length=limit, min_length=1 if required else None, **constraints),
        _text_rule(limit, required, lines, name),
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
    REFUSED_AS: ClassVar[dict[str, str]] = {}
    """Fields refused under another reason than ``field.<name>``, whatever is wrong with them
    (absent too), with that reason's sentence: the endpoint's own reasons of before. A field
    refused by its constraints (a pattern, a range) says the sentence the table of reasons
    (:mod:`gateway.core.reasons`) declares for ``field.<name>``, or the generic one."""
    ROUTER: ClassVar[bool] = True
    """Validated by the router before the handler (``400`` ``field.<name>`` in the query's
    language); ``False``: by the handler, which answers the refusal in its own way (the
    language of the body, the status and sentence of its reasons)."""

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
        return FieldError("request.malformed", *sentences("request.malformed"))
    name = str(error["loc"][0])
    if name in model.REFUSED_AS:
        return FieldError(model.REFUSED_AS[name], *sentences(model.REFUSED_AS[name]))
    cause = (error.get("ctx") or {}).get("error")
    if error["type"] == "missing":
        try:
            clean("", name)
        except TextRefused as refused:
            cause = refused
    if isinstance(cause, TextRefused):
        return FieldError(cause.reason, cause.fr, cause.en)
    return FieldError(f"field.{name}", *sentences(f"field.{name}"))


def field_reasons(model: type[Body]) -> list[str]:
    """The refusals of a model's fields (``field.<name>`` unless ``REFUSED_AS`` says
    otherwise), in the order its fields are checked."""
    names = [f.alias or n for n, f in model.model_fields.items() if f.annotation is not Any]
    return list(dict.fromkeys(model.REFUSED_AS.get(n, f"field.{n}") for n in names))


# -- the booking desk ------------------------------------------------------------------------

DetaineeStatus = Choice("active", "suspended", "released")
CorrespondentStatus = Choice("authorised", "suspended", "withdrawn")


class DetaineeInput(Body):
    """A detainee's record, created or replaced (``status`` and the code kept when omitted)."""

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

Cents = Annotated[StrictInt, Field(ge=1, le=1_000_000_000)]


class CreditRequest(Body):
    """Who credits is the signed-in member (an `actor` field is ignored)."""

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

    booking: Text(40) = Field(description="The booking whose call is refunded.")
    amount_cents: Cents = Field(description="Amount refunded, in cents.")
    reason: Text(200, lines=True) = Field(description="Why (shown on the statement).")
    reference: Text(64) = Field(description="Idempotency key.")


# -- the direction --------------------------------------------------------------------------

SIGNED = "The signed-in member is written to the audit log (a `staff` field is ignored)."


class SanctionRequest(Body):
    __doc__ = SIGNED

    reason: Text(500, lines=True) = Field(description="Why (e.g. the incident report).")
    phone: Text(30) = Field(description="Any French or international form; stored as E.164.")
    until: Annotated[Text(10), Field(json_schema_extra={"format": "date"})] = Field(
        description="Last day of the sanction (included), `YYYY-MM-DD`, local; today or later."
    )


class ExtendRequest(Body):
    __doc__ = SIGNED

    reason: Text(500, lines=True) = Field(description="Why the longer call is allowed.")
    minutes: Annotated[StrictInt, Field(ge=1, le=600)] = Field(
        description="The booking's new longest connected time, in minutes."
    )


def _scope(value: str) -> str:
    if value not in DETAINEE_SCOPES:
        raise ValueError("not a scope")
    return value


class DetaineeSanctionRequest(Body):
    __doc__ = SIGNED

    reason: Text(500, lines=True) = Field(description="Why (e.g. the disciplinary decision).")
    scope: Annotated[
        Text(10), AfterValidator(_scope), Field(json_schema_extra={"enum": list(DETAINEE_SCOPES)})
    ] = Field(description="`video` (video calls) or `phone` (every phone access).")
    since: Annotated[Text(10, required=False, name="from"), Field(json_schema_extra={
        "format": "date"})] = Field(  # fmt: skip
        "", alias="from", description="First day (included), `YYYY-MM-DD`, local. Default: now."
    )
    until: Text(10, required=False) = Field(
        "",
        description="Last day (included), `YYYY-MM-DD`, local: a suspension. Omitted or empty: "
        "a withdrawal, until lifted.",
    )


# -- monitoring and recordings --------------------------------------------------------------


def Documented(schema: dict[str, Any]) -> Any:  # noqa: N802
    """A field the model never refuses (its handler reads it leniently), documented by
    ``schema``."""
    return Annotated[Any, WithJsonSchema(schema)]


class WatchRequest(Body):
    __doc__ = SIGNED

    REFUSED_AS = {"sdp": "field.sdp"}  # absent too: the offer's sentence, not the text rule's
    sdp: Annotated[StrictStr, Field(max_length=60_000)] = Field(
        description="The viewer's WebRTC offer: two audio and two video sections, all "
        "`recvonly`, Opus and VP8."
    )


class FlagRequest(Body):
    __doc__ = SIGNED

    comment: Text(500, lines=True) = Field(description="What happened.")
    at: Documented({
        "type": "number", "exclusiveMinimum": 0,
        "description": "When the moment happened, epoch ms (UTC). Default (or anything but a "
        "positive number): now."}) = None  # fmt: skip


class CutRequest(Body):
    __doc__ = SIGNED

    reason: Text(500, lines=True) = Field(description="Why the call is cut.")


class HoldRequest(Body):
    __doc__ = SIGNED

    reason: Text(500, lines=True) = Field(
        description="Why (e.g. the judicial requisition's number); required to release too."
    )
    held: StrictBool = Field(True, description="`true`: put on legal hold; `false`: release it.")


# -- the kiosk and the relative --------------------------------------------------------------

BODY_LANG = {
    "description": "Language of `message`: `fr` or `en`; anything else, or none: the gateway's "
    "`lang` setting.",
    "examples": ["fr", "en"],
}
Lang = Documented(BODY_LANG)  # read by the handler before the body: its refusals speak it


class KioskEnrolRequest(Body):
    code: Text(32) = Field(
        description="The code given to the administrator (case, spaces and dashes ignored)."
    )
    lang: Lang = None


Given = Annotated[StrictStr, Field(min_length=1)]


class KioskLoginRequest(Body):
    ROUTER = False
    REFUSED_AS = {"detainee": "join.malformed", "access_code": "join.malformed"}
    detainee: Given = Field(description="Numéro d'écrou (longer than 32: `kiosk.bad_credentials`).")
    access_code: Given = Field(
        description="Access code (longer than 64: `kiosk.bad_credentials`)."
    )
    lang: Lang = None


def _true(value: bool) -> bool:
    if value is not True:
        raise ValueError("not accepted")
    return value


class JoinRequest(Body):
    ROUTER = False
    REFUSED_AS = {
        "code": "join.malformed", "ref": "join.malformed",
        "rules_accepted": "join.rules_not_accepted",
    }  # fmt: skip
    code: StrictStr = Field(description="The 6-digit code received by SMS (spaces ignored).")
    ref: Annotated[StrictStr | None, WithJsonSchema({"type": ["string", "null"]})] = Field(
        None, description="Call reference from the SMS link (`?appel=`)."
    )
    rules_accepted: Annotated[
        StrictBool, AfterValidator(_true), WithJsonSchema({"const": True})
    ] = Field(description="The rules of use accepted.")
    lang: Lang = None


# -- staff accounts --------------------------------------------------------------------------

LOGIN = "Login: 2 to 32 letters, digits, `.`, `_`, `-`; case-insensitive (stored in lower case)."
PASSWORD = {
    "type": "string", "description": "At least 12 characters, at most 256.", "minLength": 12,
    "maxLength": 256,
}  # fmt: skip
ROLE = {
    "type": "string",
    "enum": [str(r) for r in Role],
    "description": "A role of the matrix: "
    + ", ".join(f"`{r}` ({ROLE_LABELS[r][1].lower()})" for r in Role)
    + ".",
}


class StaffLoginRequest(Body):
    REFUSED_AS = {"password": "field.password"}
    login: Text(64) = Field(description=LOGIN)
    password: Annotated[StrictStr, Field(min_length=1, max_length=256)] = Field(
        description="The password."
    )


class PasswordRequest(Body):
    REFUSED_AS = {"current": "request.malformed", "new": "request.malformed"}
    current: StrictStr = Field(description="The current password.")
    # Its length is the store's rule (staff.weak_password), checked after the current password.
    new: Annotated[StrictStr, WithJsonSchema(PASSWORD)]


def _roles(value: object) -> list[Role]:
    if not isinstance(value, list) or len(value) > len(Role):
        raise ValueError("not a list of roles")
    return parse_roles(value)


Roles = Annotated[
    list[Role],
    BeforeValidator(_roles),
    WithJsonSchema({"type": "array", "items": ROLE, "minItems": 1, "maxItems": len(Role)}),
]
_STAFF_REASONS = {"roles": "staff.bad_role", "password": "staff.weak_password"}


class StaffCreateRequest(Body):
    # The handler answers staff.* with the accounts' sentences; no roles: staff.no_role.
    ROUTER = False
    REFUSED_AS = _STAFF_REASONS
    model_config = ConfigDict(
        json_schema_extra=lambda s: s.update(required=["login", "name", "roles", "password"])
    )
    login: Text(64) = Field(description=LOGIN)
    name: Text(64) = Field(description="Name (spaces collapsed).")
    roles: Roles = None
    password: Annotated[StrictStr, WithJsonSchema(PASSWORD)]


class StaffUpdateRequest(Body):
    """What it does not name stays as it is."""

    ROUTER = False
    REFUSED_AS = _STAFF_REASONS
    roles: Roles = Field(None, description="The new roles (omitted: unchanged); ends the sessions.")
    active: StrictBool = Field(  # absent: unchanged; never null
        None, description="`false` disables the account and ends its sessions."
    )
    name: Text(64, required=False) = Field(
        "", description="New name (empty or omitted: unchanged)."
    )
    password: Annotated[StrictStr, WithJsonSchema({
        **PASSWORD, "minLength": 0,
        "description": "A new password (omitted or empty: unchanged); ends the sessions.",
    })] = None  # fmt: skip


MODELS: dict[str, type[Body]] = {
    m.__name__: m
    for m in (DetaineeInput, CorrespondentInput, BookingRequest, CancelRequest, CreditRequest,
              TariffRequest, RefundRequest, SanctionRequest, ExtendRequest,
              DetaineeSanctionRequest, WatchRequest, FlagRequest, CutRequest, HoldRequest,
              KioskEnrolRequest, KioskLoginRequest, JoinRequest, StaffLoginRequest,
              PasswordRequest, StaffCreateRequest, StaffUpdateRequest)
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
