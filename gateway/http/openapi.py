"""OpenAPI 3.1 description of Parloir's JSON REST API, served at ``GET /api/openapi.json``.

The document is plain data, built once per version by :func:`document`; :func:`serve` answers it
as JSON. It describes every route under ``/api/`` (kiosk login, relative's code entry, public
calendar, staff sign-in, booking desk, accounts office, monitoring, recordings, audit log, the
direction's sanctions, the administrator's accounts and kiosks, kiosk enrolment) with its
parameters, bodies, responses, the access it needs (staff session cookie, CSRF header, kiosk
device credential) and the stable ``reason`` codes of its refusals. ``tests/test_openapi.py``
checks that it validates, that it matches the routes of the application, and that real
responses match its schemas. The WebSocket ``/ws`` is described in
``docs/signaling.md`` (OpenAPI does not model WebSockets).
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterable, Mapping
from importlib import metadata
from typing import Any

from aiohttp import web

from gateway.core import reasons
from gateway.core.booking_rules import RefusalCode
from gateway.core.csv_import import ERROR_REASONS, MAX_ROWS, WARNING_REASONS
from gateway.core.lifecycle import CallState
from gateway.core.pricing import CHARTER_TARIFFS
from gateway.core.roles import HOME_PAGES, ROLE_LABELS, Perm, Role
from gateway.core.routes import ROUTE_TABLE, Route
from gateway.core.sms_queue import FAILURE_KINDS
from gateway.http import desk_api, models
from gateway.http import public_api as api
from gateway.http.desk_api import MAX_CSV, MAX_DAYS
from gateway.store.sanctions import DETAINEE_KINDS, DETAINEE_SCOPES
from recorder.audit import ACTION_LABELS

__all__ = ["REASONS", "document", "serve"]

STAFF_BODY = f"At most {desk_api.MAX_BODY // 1024} KiB."
PUBLIC_BODY = f"At most {api.MAX_BODY // 1024} KiB."
JSON = "application/json"

# -- reasons ---------------------------------------------------------------------------------

def _doc(entry: reasons.Reason) -> str:
    return entry.doc.replace("{max_days}", str(MAX_DAYS))


REASONS: dict[str, str] = {code: _doc(r) for code, r in reasons.REASONS.items()}
"""What each refusal means: the table of reasons' documentation (:mod:`gateway.core.reasons`)."""


def _explain(reason: str) -> str:
    if reason in REASONS:
        return REASONS[reason]
    return reasons.lookup(reason).doc.replace("{name}", reason.removeprefix("field."))


def _fields(*names: str) -> list[str]:
    return [f"field.{name}" for name in names]


# -- small builders --------------------------------------------------------------------------


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _obj(
    properties: Mapping[str, Any],
    required: Iterable[str] | None = None,
    description: str | None = None,
    strict: bool = True,
) -> dict[str, Any]:
    """An object schema; ``required`` defaults to every property."""
    out: dict[str, Any] = {"type": "object"}
    if description:
        out["description"] = description
    out["properties"] = dict(properties)
    req = list(properties) if required is None else list(required)
    if req:
        out["required"] = req
    if strict:
        out["additionalProperties"] = False
    return out


def _str(description: str = "", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string"}
    if description:
        out["description"] = description
    out.update(extra)
    return out


def _int(description: str = "", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "integer"}
    if description:
        out["description"] = description
    out.update(extra)
    return out


def _bool(description: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": "boolean"}
    if description:
        out["description"] = description
    return out


def _datetime(description: str, nullable: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": ["string", "null"] if nullable else "string",
        "format": "date-time",
        "description": description,
    }
    return out


def _cents(description: str, minimum: int | None = 0) -> dict[str, Any]:
    return _int(description + " (euro cents)", **({} if minimum is None else {"minimum": minimum}))


def _json_body(
    description: str, example: Any = None, schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A JSON request body; its schema is the route's model (``body`` in the route table)
    unless one is given here."""
    media: dict[str, Any] = {} if schema is None else {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"required": True, "description": description, "content": {JSON: media}}


def _ok(description: str, schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"description": description, "content": {JSON: media}}


def _refusal(status: int, reasons: list[str]) -> dict[str, Any]:
    listed = "\n".join(f"- `{r}`: {_explain(r)}" for r in reasons)
    return {
        "description": f"Refused ({status}), nothing changed. `reason` is one of:\n\n{listed}",
        "content": {
            JSON: {
                "schema": {
                    "allOf": [_ref("Refusal"), {"properties": {"reason": {"enum": reasons}}}]
                }
            }
        },
    }


_STATUS_NAMES = {
    400: "Bad request",
    401: "Unauthorised",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large",
    422: "Unprocessable content",
    429: "Too many requests",
    503: "Service unavailable",
}

STAFF_NOTE = (
    "**Staff only**: served only to clients on the configured `staff_networks` (the prison's "
    "internal network; by default the gateway's own machine); any other client gets `403` "
    "`staff.forbidden_network`."
)
SESSION_NOTE = (
    "**Signed-in staff**: needs the session cookie of `POST /api/staff/login` (`401` "
    "`staff.login_required` without a live one) and a role granting this operation (`403` "
    "`staff.forbidden` otherwise; see the role matrix in the README and `gateway/core/roles.py`)."
)
CSRF_NOTE = (
    "State-changing: the request must also carry the session's CSRF token in the "
    "`X-CSRF-Token` header, and a browser's `Origin`, when sent, must be this site's (`403` "
    "`staff.csrf` otherwise)."
)
_SESSION_403 = (
    "- `403` (Forbidden): `staff.forbidden_network`, `staff.forbidden`, "
    "`staff.password_change_required`"
)
_STAFF_SECURITY = "staffSession"
_CSRF_SECURITY = "csrfToken"


def _op(
    op_id: str,
    tag: str,
    summary: str,
    description: str,
    ok: Mapping[str, Any],
    *,
    parameters: Iterable[dict[str, Any]] = (),
    body: dict[str, Any] | None = None,
    lang: bool = True,
) -> dict[str, Any]:
    """The prose of one operation, keyed by its ``operationId`` in the route table
    (:mod:`gateway.core.routes`), which gives its path, method, access and refusals."""
    params = list(parameters)
    if lang:
        params.append({"$ref": "#/components/parameters/lang"})
    operation: dict[str, Any] = {
        "operationId": op_id,
        "tags": [tag],
        "summary": summary,
        "description": description.strip(),
    }
    if params:
        operation["parameters"] = params
    if body is not None:
        operation["requestBody"] = body
    operation["responses"] = dict(ok)
    return operation


def _operation(route: Route, prose: dict[str, Any]) -> dict[str, Any]:
    """A route of the table with its prose: its responses, refusal summary and security.

    Staff-only routes answer `403` `staff.forbidden_network` to other networks; routes needing
    a session add its `401`/`403`, and state-changing ones the CSRF check."""
    op = copy.deepcopy(prose)
    refusals = {status: list(reasons) for status, reasons in route.refusals.items()}
    if route.body:
        model = models.MODELS.get(route.body)
        if model is not None:  # its fields' refusals come from the model itself
            fields = models.field_reasons(model)
            first, *rest = refusals.get(400, ["request.malformed"])
            refusals[400] = list(dict.fromkeys([first, *fields, *rest]))
        media = op["requestBody"]["content"][JSON]
        op["requestBody"]["content"][JSON] = {"schema": _ref(route.body), **media}
    staff, session = route.staff_only, route.session
    write = session and route.method == "POST"
    if session and 401 in refusals:  # the operation's own 401s share the status with the session's
        refusals[401] = ["staff.login_required", *refusals[401]]
    assert 403 not in refusals or not staff, route.op
    responses: dict[str, Any] = op["responses"]
    for status in sorted(refusals):
        responses[str(status)] = _refusal(status, refusals[status])
    if session and 401 not in refusals:
        responses["401"] = {"$ref": "#/components/responses/StaffLoginRequired"}
    if staff:
        forbidden = ("StaffWriteForbidden" if write else "StaffForbidden") if session else (
            "StaffNetworkForbidden"
        )  # fmt: skip
        responses["403"] = {"$ref": f"#/components/responses/{forbidden}"}
    op["responses"] = dict(sorted(responses.items()))
    summary_lines = [
        f"- `{status}` ({_STATUS_NAMES[status]}): " + ", ".join(f"`{r}`" for r in reasons)
        for status, reasons in sorted(refusals.items())
    ]
    if session and 401 not in refusals:
        summary_lines.append("- `401` (Unauthorised): `staff.login_required`")
    text = op["description"]
    if staff:
        forbidden_line = _SESSION_403 + (", `staff.csrf`" if write else "")
        summary_lines.append(
            forbidden_line if session else "- `403` (Forbidden): `staff.forbidden_network`"
        )
        summary_lines.sort()
        text += "\n\n" + STAFF_NOTE
    if session:
        text += " " + SESSION_NOTE + (" " + CSRF_NOTE if write else "")
    if summary_lines:
        text += "\n\nRefusals (`{reason, message, details?}`):\n\n" + "\n".join(summary_lines)
    op["description"] = text
    if session:
        op["security"] = [
            {_STAFF_SECURITY: [], _CSRF_SECURITY: []} if write else {_STAFF_SECURITY: []}
        ]
    if staff:
        op["x-parloir-staff-only"] = True
    return op


def _table_paths() -> dict[str, Any]:
    """The document's paths: every route of the table with an ``operationId``, in its order."""
    prose = {op["operationId"]: op for op in _paths()}
    paths: dict[str, Any] = {}
    for route in ROUTE_TABLE:
        if route.op:
            op = _operation(route, prose.pop(route.op))
            paths.setdefault(route.path, {})[route.method.lower()] = op
    assert not prose, f"operations that no route declares: {sorted(prose)}"
    return paths


def _path_param(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def _query(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        **extra,
    }


def _from(default: str) -> dict[str, Any]:
    return _query(
        "from",
        f"First day, `YYYY-MM-DD` (local date of the establishment). Default: {default}.",
        {"type": "string", "format": "date"},
        example="2026-03-02",
    )


_DAYS = _query(
    "days",
    f"Number of days listed, 1 to {MAX_DAYS}. Default 7.",
    {"type": "integer", "minimum": 1, "maximum": MAX_DAYS, "default": 7},
)

_DRY_RUN = _query(
    "dry_run",
    "`1`, `true` or `oui`: check the file and report, write nothing. Any other value (or none) "
    "imports the file if it is clean.",
    {"type": "string", "examples": ["1", "true", "oui"]},
)

_NUMBER = _path_param(
    "number", "Numéro d'écrou (prisoner number): letters and digits.", maxLength=20
)
_BID = _path_param("bid", "Booking id (`bk_…`).", maxLength=40)
_CID = _path_param("cid", "Correspondent id (`corr_…`).", maxLength=40)

_IMPORT_ERRORS = sorted(ERROR_REASONS | {"csv.unknown_detainee", "csv.reference_conflict"})
"""The file's own errors, and the API's: a detainee unknown to the directory, a credit reference
already used for another amount."""
_IMPORT_WARNINGS = sorted(WARNING_REASONS | {"csv.already_imported"})
"""The file's own warnings, and the API's: a credit already made with this reference."""

_TEXT_LIMITS = (
    "Text fields follow one rule (`gateway/core/text.py`): Unicode NFC, trimmed, no control "
    "(Cc) or format (Cf) character but ZWNJ/ZWJ, no line or paragraph separator (U+2028/9) "
    "(bidi overrides, zero-width spaces, NUL, BOM are refused; in `reason` and `comment` line "
    "breaks become spaces). A field breaking it, "
    "longer than its `maxLength` (after trimming), of the wrong type, or required and empty is "
    "refused with `400` `field.<name>`. Other fields of the body are ignored."
)

# -- schemas ---------------------------------------------------------------------------------


def _schemas() -> dict[str, Any]:
    tariffs = [t.name for t in CHARTER_TARIFFS]
    detainee_status = {"type": "string", "enum": ["active", "suspended", "released"]}
    corr_status = {"type": "string", "enum": ["authorised", "suspended", "withdrawn"]}
    booking_props: dict[str, Any] = {
        "id": _str("Booking id.", examples=["bk_3f2a9c1d0b4e"]),
        "detainee": _str("Numéro d'écrou of the detainee."),
        "correspondent": _str("Correspondent id."),
        "kiosk": _str("Kiosk id."),
        "room": _str("The kiosk's room (from the `kiosks` setting), or the kiosk id."),
        "start": _datetime("Start of the slot, local time of the establishment with offset."),
        "end": _datetime("End of the slot, local time with offset."),
        "status": {
            "type": "string",
            "enum": ["booked", "cancelled", "done", "no_answer"],
            "description": "`booked` until the slot ends or its call ends; then `done` (some "
            "connected time) or `no_answer` (none); or `cancelled`.",
        },
        "receipt": _str("Receipt number printed on the bon, `YYYY-NNNNNN` (empty if none)."),
        "booked_by": _str("The staff member who booked, `Name (login)`."),
        "booked_at": _datetime("When it was booked.", nullable=True),
        "cancelled_by": _str("The staff member who cancelled (empty if not cancelled)."),
        "cancelled_at": _datetime("When it was cancelled.", nullable=True),
        "cancel_reason": _str("Why it was cancelled."),
        "tariff": _str("Tariff of the phone account when booked (the hold was priced with it)."),
        "hold": _cents("Credit held on the phone account for this booking"),
        "max_seconds": _int("Longest connected time allowed (0: the gateway default).", minimum=0),
        "connected_ms": _int("Connected time of the booking's calls so far, in ms.", minimum=0),
        "charged": _cents("Charged when the booking was closed"),
        "closed_at": _datetime("When the booking was closed (`done`/`no_answer`).", nullable=True),
    }
    summary_extra: dict[str, Any] = {
        "detainee_name": _str("`LASTNAME Firstname` of the detainee."),
        "location": _str("Where the detainee is: `Bât. B, étage 2, cellule 214`."),
        "building": _str("Bâtiment."),
        "floor": _str("Étage."),
        "cell": _str("Cellule."),
        "correspondent_name": _str("The correspondent's name."),
        "correspondent_relationship": _str("The correspondent's relationship to the detainee."),
    }
    problem = _obj(
        {
            "line": _int(
                "Line in the file (1-based, the header is line 1); 0: the whole file.", minimum=0
            ),
            "column": {"type": ["string", "null"], "description": "Column name, or null."},
            "reason": _str("Stable reason code (`csv.…`)."),
            "message": _str("Sentence for the guard, in the request's language."),
        },
        description="One problem found in an imported file.",
    )
    return {
        "Refusal": _obj(
            {
                "reason": _str("Stable machine-readable reason, e.g. `booking.quota`."),
                "message": _str(
                    "Sentence for the person in front of the screen, in French (default) or "
                    "English (`lang`)."
                ),
                "details": {
                    "type": "object",
                    "description": "Numbers that help, in cents (e.g. `needed`, `available`, "
                    "`refundable`).",
                    "additionalProperties": {"type": "integer"},
                },
            },
            required=["reason", "message"],
            description="Every refusal: a 4xx or 5xx status, and nothing changed.",
        ),
        "Slot": {
            **_obj(
                {
                    "start": _datetime("Start, ISO 8601 with the establishment's offset."),
                    "end": _datetime("End, ISO 8601 with offset."),
                    "bookable": _bool("Whether the slot can be booked now."),
                    "reason": {
                        "type": "string",
                        "enum": ["sunday", "holiday", "too_late", "full"],
                        "description": "Only when not bookable: closed day (`sunday`, "
                        "`holiday`), deadline passed or slot started (`too_late`), every kiosk "
                        "booked (`full`).",
                    },
                },
                required=["start", "end", "bookable"],
                description="One slot of the establishment's grid.",
            ),
            "if": {"properties": {"bookable": {"const": False}}},
            "then": {"required": ["reason"]},
            "else": {"not": {"required": ["reason"]}},
        },
        "CalendarSlot": _obj(
            {
                "start": _datetime("Start, local time with offset."),
                "end": _datetime("End, local time with offset."),
                "deadline": _datetime("Last instant at which the slot can be booked."),
                "state": {"type": "string", "enum": ["free", "booked", "closed"]},
                "reason": {
                    "type": ["string", "null"],
                    "enum": ["sunday", "holiday", "too_late", None],
                    "description": "Why `closed`; null otherwise.",
                },
                "booking": _nullable(_ref("BookingSummary")),
            },
            description="One slot of a kiosk's calendar.",
        ),
        "CalendarDay": _obj(
            {
                "date": _str("Local date.", format="date"),
                "closed": {
                    "type": ["string", "null"],
                    "enum": ["sunday", "holiday", None],
                    "description": "Why the day has no calls, or null.",
                },
                "slots": {"type": "array", "items": _ref("CalendarSlot")},
            },
            description="One day of a kiosk's calendar.",
        ),
        "KioskCalendar": _obj(
            {
                "kiosk": _str("Kiosk id."),
                "days": {"type": "array", "items": _ref("CalendarDay")},
            }
        ),
        "Establishment": _obj(
            {
                "name": _str("Name printed on receipts and plannings."),
                "time_zone": _str("IANA time zone; every slot time is local to it."),
                "holiday_region": {"type": "string", "enum": ["metropole", "alsace-moselle"]},
                "kiosks": {
                    "type": "array",
                    "items": _obj({"id": _str("Kiosk id."), "room": _str("Room name.")}),
                },
                "slot_times": {
                    "type": "array",
                    "items": _str(
                        "`HH:MM-HH:MM`, local.", pattern=r"^\d{1,2}:\d{2}-\d{1,2}:\d{2}$"
                    ),
                },
                "quota": _obj(
                    {
                        "count": _int("At most this many bookings…", minimum=1),
                        "window_days": _int("…in any window of this many days.", minimum=1),
                    }
                ),
                "call_max_seconds": _int("Longest call, in seconds.", minimum=1),
                "now": _datetime("The gateway's clock, local time with offset."),
            }
        ),
        "Detainee": _obj(
            {
                "number": _str("Numéro d'écrou."),
                "first_name": _str(),
                "last_name": _str(),
                "status": detainee_status,
                "building": _str("Bâtiment."),
                "floor": _str("Étage."),
                "cell": _str("Cellule."),
                "charter_signed": _bool("Whether the charter is signed."),
                "charter_signed_at": _datetime("When the charter was signed.", nullable=True),
                "charter_signed_by": _str("The staff member who took the signature."),
                "full_name": _str("`LASTNAME Firstname`."),
                "location": _str("`Bât. B, étage 2, cellule 214` (empty parts left out)."),
            },
            description="A detainee (never the access code nor its hash).",
        ),
        "Correspondent": _obj(
            {
                "id": _str("Correspondent id."),
                "detainee": _str("Numéro d'écrou of the detainee."),
                "name": _str(),
                "phone": _str("E.164 (`+33612345678`).", pattern=r"^\+[1-9]\d{1,14}$"),
                "phone_masked": _str("`+33 6 •• •• •• 78`: enough to recognise, not to dial."),
                "relationship": _str("Lien (relationship)."),
                "status": {
                    **corr_status,
                    "description": "Mirrors the telephone authorisation.",
                },
                "minor": _bool("Under 18."),
                "consent_by": _str("Holder(s) of parental authority who consented (minors)."),
                "consent_at": _datetime("When that consent was recorded.", nullable=True),
                "parental_consent": _bool("Whether a consent is recorded."),
                "lawyer": _bool("A lawyer: calls neither recorded nor monitored."),
            },
            description="A person a detainee may call.",
        ),
        "Booking": _obj(booking_props, description="A booking of a kiosk for one slot."),
        "BookingSummary": _obj(
            {**booking_props, **summary_extra},
            required=list(booking_props),
            description="A booking with who and where (the people's fields are present when "
            "the people are found).",
        ),
        "Account": _obj(
            {
                "number": _str("Numéro d'écrou (accounts office answers only)."),
                "balance": _cents("Balance", minimum=None),
                "held": _cents("Held by booked slots"),
                "available": _cents("`balance - held`: what can still be booked", minimum=None),
                "tariff": _str("Tariff (plan) name.", examples=tariffs),
            },
            required=["balance", "held", "available", "tariff"],
            description="A detainee's phone account.",
        ),
        "DetaineeFile": _obj(
            {
                "detainee": _ref("Detainee"),
                "correspondents": {"type": "array", "items": _ref("Correspondent")},
                "bookings": {"type": "array", "items": _ref("BookingSummary")},
                "account": _ref("Account"),
            },
            description="Everything the desk shows about one detainee.",
        ),
        "DayList": _obj(
            {
                "date": _str(format="date"),
                "establishment": _str("Establishment name."),
                "bookings": {
                    "type": "array",
                    "items": _ref("BookingSummary"),
                    "description": "The day's bookings by start, cancelled ones left out.",
                },
            }
        ),
        "ImportProblem": problem,
        "ImportReport": _obj(
            {
                "ok": _bool("No error: the file was (or, in a dry run, would be) imported."),
                "dry_run": _bool(),
                "rows": _int(
                    "Rows that passed the file's own checks (a row whose detainee is unknown "
                    "is counted here and reported in `errors`).",
                    minimum=0,
                ),
                "imported": _int(
                    "Rows written (credits: new credits, replays not counted).", minimum=0
                ),
                "errors": {
                    "type": "array",
                    "items": {
                        "allOf": [
                            _ref("ImportProblem"),
                            {"properties": {"reason": {"enum": _IMPORT_ERRORS}}},
                        ]
                    },
                },
                "warnings": {
                    "type": "array",
                    "items": {
                        "allOf": [
                            _ref("ImportProblem"),
                            {"properties": {"reason": {"enum": _IMPORT_WARNINGS}}},
                        ]
                    },
                },
            },
            description="Outcome of a CSV import: nothing is written unless `ok`.",
        ),
        "CreditResult": _obj(
            {
                "replayed": _bool("True when this reference was already credited."),
                "account": _ref("Account"),
            }
        ),
        "Tariff": _obj(
            {
                "name": _str("Plan name."),
                "per_minute_cents": _cents("Price of a minute"),
                "connection_fee_cents": _cents("Connection fee of a call that connected"),
            },
            description="One plan of the charter's price table.",
        ),
        "TariffTable": _obj(
            {
                "default": _str("The plan of an account that never chose one."),
                "tariffs": {"type": "array", "items": _ref("Tariff")},
            }
        ),
        "RefundResult": _obj(
            {
                "replayed": _bool("True when this reference was already used for this refund."),
                "refunded": _cents("Total refunded for this call so far"),
                "account": _ref("Account"),
            }
        ),
        "StatementLine": _obj(
            {
                "at": _datetime("When, local time with offset."),
                "kind": {"type": "string", "enum": ["call", "no_answer", "credit", "refund"]},
                "label": _str("Correspondent (calls), actor (credits) or reason (refunds)."),
                "connected_seconds": _int(minimum=0),
                "billed_minutes": _int(minimum=0),
                "tariff": _str("Tariff of a call; empty for money lines."),
                "rate": _cents("Price per minute", minimum=0),
                "fee": _cents("Connection fee", minimum=0),
                "amount": _cents("Signed effect on the balance: calls negative", minimum=None),
                "amount_eur": _str(
                    "`amount` in euros, French style: `-4,34`.", pattern=r"^-?\d+,\d{2}$"
                ),
                "reference": _str("Receipt number (calls), or the credit/refund reference."),
            },
            description="One line of a phone account's statement.",
        ),
        "Statement": _obj(
            {
                "account": _ref("Account"),
                "lines": {"type": "array", "items": _ref("StatementLine")},
            }
        ),
        "DailyReport": _obj(
            {
                "date": _str(format="date"),
                "establishment": _str(),
                "calls": _int("Bookings of the day that connected (`done`).", minimum=0),
                "no_answer": _int(minimum=0),
                "cancelled": _int(minimum=0),
                "booked": _int("Still open.", minimum=0),
                "connected_seconds": _int(minimum=0),
                "billed_minutes": _int(minimum=0),
                "charged": _cents("Charged for the day's calls"),
                "refunds": _int("Refunds made that day.", minimum=0),
                "refunded": _cents("Refunded that day"),
                "credits": _int("Credits made that day.", minimum=0),
                "credited": _cents("Credited that day"),
            },
            description="Totals of one day: the bookings whose slot is on that day, and the "
            "money moved that day.",
        ),
        "KioskLogin": _obj(
            {
                "token": _str("Session token for the WebSocket `hello`."),
                "detainee": _obj({"number": _str(), "first_name": _str(), "last_name": _str()}),
                "booking": _nullable(
                    _obj(
                        {
                            "id": _str(),
                            "start": _int("Epoch milliseconds (UTC)."),
                            "end": _int("Epoch milliseconds (UTC)."),
                            "kiosk": _str(),
                            "correspondent": _obj(
                                {
                                    "name": _str(),
                                    "relationship": _str(),
                                    "phone_masked": _str(),
                                }
                            ),
                        },
                        description="The booking due now at this kiosk.",
                    )
                ),
                "message": _str("Why there is no booking; empty when there is one."),
                "account": _obj(
                    {
                        "balance_cents": _int(),
                        "available_cents": _int(),
                    },
                    description="The detainee's phone account.",
                ),
                "ice_servers": {
                    "type": "array",
                    "description": (
                        "ICE servers for this session's RTCPeerConnection: STUN, and TURN with "
                        "short-lived credentials (coturn's REST scheme) when `turn_secret` is set."
                    ),
                    "items": {"type": "object"},
                },
            }
        ),
        "Join": _obj(
            {
                "token": _str("Session token for the WebSocket `hello`."),
                "call": _obj({"id": _str(), "detainee_name": _str("`Jean M.`")}),
                "ice_servers": {
                    "type": "array",
                    "description": (
                        "ICE servers for this session's RTCPeerConnection: STUN, and TURN with "
                        "short-lived credentials (coturn's REST scheme) when `turn_secret` is set."
                    ),
                    "items": {"type": "object"},
                },
            }
        ),
        **_monitor_schemas(),
    }


_RECORDING_STATES = ["recording", "sealed", "failed", "destroyed"]
_ACTION = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"


def _monitor_schemas() -> dict[str, Any]:
    call_state = {
        "type": "string",
        "enum": [str(s) for s in CallState],
        "description": "`waiting_relative` (code sent, the relative has not joined), "
        "`connecting`, `connected`, `reconnecting` (a leg lost, may come back), `ended`.",
    }
    side = {"type": "string", "enum": ["kiosk", "relative"]}
    recording_props: dict[str, Any] = {
        "call": _str("Call id."),
        "state": {
            "type": "string",
            "enum": _RECORDING_STATES,
            "description": "`recording` (the call is going on), `sealed` (complete, its files "
            "fixed by a hash chain), `failed` (see `failure`; what was written is kept), "
            "`destroyed` (past retention: the files are gone, the entry stays).",
        },
        "started_at": _int("Start of the recording, epoch milliseconds (UTC)."),
        "ended_at": {
            "type": ["integer", "null"],
            "description": "End, epoch milliseconds (UTC); null while recording.",
        },
        "detainee": _str("Numéro d'écrou."),
        "detainee_name": _str("`LASTNAME Firstname`; empty if the detainee is gone."),
        "correspondent": _str("Correspondent id."),
        "correspondent_name": _str("Empty if the correspondent is gone."),
        "phone": _str("The number called, E.164 (as at the time of the call)."),
        "kiosk": _str("Kiosk id."),
        "flags": _int("Moments flagged by the monitoring staff.", minimum=0),
        "legal_hold": _bool("On legal hold (« réquisition judiciaire »): never destroyed."),
        "hold_reason": _str("Why it was put on (or taken off) legal hold."),
        "failure": _str("Why the recording failed (e.g. `recording.lost`); empty otherwise."),
    }
    return {
        "LiveCall": _obj(
            {
                "id": _str("Call id."),
                "state": call_state,
                "kiosk": _str("Kiosk id."),
                "owner": _str("The gateway process running the call."),
                "watchable": _bool(
                    "Whether `watch` can be asked of this gateway: the call is run by this "
                    "process and is not with a lawyer."
                ),
                "created_at": _int("When the kiosk started calling, epoch ms (UTC)."),
                "connected_at": {
                    "type": ["integer", "null"],
                    "description": "When both sides connected, epoch ms (UTC), or null.",
                },
                "ends_at": {
                    "type": ["integer", "null"],
                    "description": "When the call will be ended (time limit or end of the "
                    "slot), epoch ms (UTC), or null before it connects.",
                },
                "detainee": _obj(
                    {
                        "number": _str("Numéro d'écrou."),
                        "name": _str("`LASTNAME Firstname` (empty if not found)."),
                    }
                ),
                "correspondent": _obj(
                    {
                        "name": _str(),
                        "relationship": _str(),
                        "phone_masked": _str("`+33 6 •• •• •• 78`."),
                        "lawyer": _bool("A lawyer: the call is neither recorded nor watched."),
                    },
                    description="Empty strings if the correspondent is not found.",
                ),
                "recording": {
                    "type": "string",
                    "enum": ["none", *_RECORDING_STATES],
                    "description": "State of the call's recording; `none`: not recorded "
                    "(a lawyer, recording disabled, or not connected yet).",
                },
                "sms": {
                    "type": ["object", "null"],
                    "description": "The latest outcome of the code's SMS, or null before any.",
                    "properties": {
                        "status": {"type": "string", "enum": ["sent", "delivered", "failed"]},
                        "reason": _str("Machine-readable, e.g. `sms.unreachable`."),
                        "failure": {
                            "type": ["string", "null"],
                            "enum": [*FAILURE_KINDS, None],
                            "description": "For a failed SMS, what the reason amounts to "
                            "(`account`: the provider refuses the prison's token; `retries`: "
                            "given up after its attempts); null otherwise.",
                        },
                    },
                    "required": ["status", "reason", "failure"],
                    "additionalProperties": False,
                },
                "relative_media": {
                    "type": "string",
                    "enum": ["video", "camera_off", "audio_only"],
                    "description": "The relative's choice: `camera_off` (they send no video), "
                    "`audio_only` (no video either way, to save data) or `video`. Each change "
                    "is a `MediaChosen` entry in the call's events.",
                },
            },
            description="A call in progress (on any gateway process).",
        ),
        "LiveCalls": _obj(
            {
                "server_time": _int("The gateway's clock, epoch ms (UTC)."),
                "calls": {
                    "type": "array",
                    "items": _ref("LiveCall"),
                    "description": "By call id.",
                },
            }
        ),
        "WatchAnswer": _obj(
            {
                "sdp": _str("The gateway's SDP answer (send-only)."),
                "tracks": {
                    "type": "array",
                    "description": "Which side and kind each section (`mid`) of the offer carries.",
                    "items": _obj(
                        {
                            "mid": _str("The section's `mid`."),
                            "side": side,
                            "kind": {"type": "string", "enum": ["audio", "video"]},
                        }
                    ),
                },
            }
        ),
        "FlagResult": _obj(
            {
                "id": _str("Flag id (`<ms>-<n>`)."),
                "at": _int("When the flagged moment happened, epoch ms (UTC)."),
            }
        ),
        "CutResult": _obj(
            {
                "id": _str("Call id."),
                "state": {**call_state, "description": "The call's state: `ended`."},
            }
        ),
        "Recording": _obj(recording_props, description="A call's recording, from the index."),
        "RecordingDetail": _obj(
            {
                **recording_props,
                "files": {
                    "type": "array",
                    "description": "The media files on disk (none once destroyed).",
                    "items": _obj(
                        {
                            "side": side,
                            "url": _str(
                                "`/api/recordings/{call}/{side}.webm` (add `download=1` to "
                                "download)."
                            ),
                        }
                    ),
                },
                "flags_list": {
                    "type": "array",
                    "description": "The flagged moments, in the order they were flagged.",
                    "items": _obj(
                        {
                            "id": _str("Flag id."),
                            "at": _int("When the moment happened, epoch ms (UTC)."),
                            "by": _str("The staff member."),
                            "comment": _str(),
                        }
                    ),
                },
            },
            description="A recording with its files and flags.",
        ),
        "HoldResult": _obj({"call": _str("Call id."), "legal_hold": _bool()}),
        "Sanction": _obj(
            {
                "phone": _str("The number, E.164.", pattern=r"^\+[1-9]\d{1,14}$"),
                "since": _int("When the sanction was given, epoch ms (UTC)."),
                "until": _int(
                    "When it ends (excluded): midnight after its last day, local time, or when "
                    "it was lifted; epoch ms (UTC)."
                ),
                "reason": _str("Why."),
                "by": _str("Who gave it."),
                "active": _bool("In force now."),
            },
            description="A sanction of the direction on a phone number.",
        ),
        "Extension": _obj(
            {
                "booking": _str("Booking id."),
                "max_seconds": _int("The booking's longest connected time, seconds."),
                "hold": _int("Cents now held for the booking."),
                "live_call": {
                    "type": ["string", "null"],
                    "description": "The call in progress whose timer moved, if any.",
                },
            }
        ),
        "AuditEntry": _obj(
            {
                "id": _str("Entry id, `<ms>-<n>`: increasing."),
                "at": _int("When, epoch ms (UTC); never earlier than the entry before."),
                "actor": _str(
                    "Who: the signed-in member as `Name (login)`, `parloir` for the system (or "
                    "the login typed, for `staff.locked`)."
                ),
                "action": _str(
                    "What (a stable code).", examples=sorted(ACTION_LABELS), pattern=_ACTION
                ),
                "target": _str("To what: a call id, a detainee number…"),
                "details": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "Strings: `reason` (cut, hold, refund, sanction), `comment` "
                    "(flag), `side` (play, download), `files` and `manifest` (destroy), "
                    "`amount_cents` (refund), `until` (sanction), `scope` and `kind` (a "
                    "detainee's sanction), `address` (sign-in), `roles`, `active` and "
                    "`password` (an account's change)…",
                },
            },
            description="One entry of the audit log (append-only).",
        ),
        **_staff_schemas(),
    }


_PAGES = [path for _, path in HOME_PAGES]


def _staff_schemas() -> dict[str, Any]:
    member_props: dict[str, Any] = {
        "login": _str("Login (lower case)."),
        "name": _str("Name, as written with the login on bookings and in the audit log."),
        "roles": {"type": "array", "items": models.ROLE, "description": "In the matrix's order."},
        "active": _bool("False once disabled: no sign-in, every session ended."),
        "created_at": _int("When the account was created, epoch ms (UTC)."),
        "created_by": _str("Who created it (`Name (login)`, or the command line)."),
        "must_change": _bool(
            "True while the password is one an administrator chose: until the member sets "
            "their own (`POST /api/staff/password`), every other staff route answers 403 "
            "`staff.password_change_required` (a page: a redirect to `/connexion?changer=1`)."
        ),
    }
    home = _str("The page to open after signing in (`/connexion` if the roles grant none).",
                enum=[*_PAGES, "/connexion"])  # fmt: skip
    csrf = _str("The session's CSRF token: send it as `X-CSRF-Token` on every `POST`.")
    page = _str("A staff page, e.g. `/desk/jour`.", pattern="^/[a-z/_-]*$")
    kiosk_state: dict[str, Any] = {
        "status": {
            "type": "string",
            "enum": ["not_enrolled", "enrolled", "revoked"],
            "description": "Whether a device holds this kiosk's credential now.",
        },
        "enrolled_at": {
            "type": ["integer", "null"],
            "description": "When the current (or last) device was enrolled, epoch ms (UTC).",
        },
        "enrolled_by": _str("The administrator who asked for that enrolment."),
        "revoked_at": {
            "type": ["integer", "null"],
            "description": "When the enrolment was last revoked, epoch ms (UTC).",
        },
        "revoked_by": _str("Who revoked it."),
        "pending": _bool("An enrolment code was given and not used yet (it may have expired)."),
    }
    return {
        "StaffMember": _obj(member_props, description="A staff account (never its password)."),
        "StaffLogin": _obj(
            {**member_props, "csrf": csrf, "home": home},
            description="The member signed in; the session itself is in the cookie.",
        ),
        "StaffMe": _obj(
            {
                **member_props,
                "role_labels": {
                    "type": "array",
                    "items": _str(),
                    "description": "The roles' names in the request's language.",
                },
                "csrf": csrf,
                "expires": _int("The session's absolute end, epoch ms (UTC)."),
                "idle_seconds": _int(
                    "The session ends after this long without a request.", minimum=1
                ),
                "home": home,
                "pages": {
                    "type": "array",
                    "items": page,
                    "description": "The staff pages the roles open, by path.",
                },
                "denied_pages": {
                    "type": "array",
                    "items": page,
                    "description": "The other staff pages, by path: links to hide.",
                },
                "permissions": {
                    "type": "array",
                    "items": {"type": "string", "enum": sorted(p for p in Perm if p != "public")},
                    "description": "What the roles grant (`gateway/core/roles.py`), sorted.",
                },
            },
            description="The signed-in member and their session.",
        ),
        "SignedOut": _obj({"signed_out": {"const": True}}),
        "PasswordChanged": _obj(
            {"changed": {"const": True}, "csrf": _str("The new session's CSRF token.")},
            description="Every session of the member ended; a new one is in the cookie.",
        ),
        "StaffList": _obj(
            {
                "staff": {
                    "type": "array",
                    "items": _ref("StaffMember"),
                    "description": "Every account, by login.",
                },
                "roles": {
                    "type": "array",
                    "description": "The roles an account can have, with their names.",
                    "items": _obj(
                        {"id": models.ROLE, "fr": _str("French name."), "en": _str("English name.")}
                    ),
                },
            }
        ),
        "Kiosk": _obj(
            {"id": _str("Kiosk id."), "room": _str("Its room."), **kiosk_state},
            description="A kiosk of the establishment and the state of its enrolment.",
        ),
        "KioskList": _obj({"kiosks": {"type": "array", "items": _ref("Kiosk")}}),
        "KioskEnrolment": _obj(
            {
                "kiosk": _str("Kiosk id."),
                "code": _str(
                    "The one-time code to type on the kiosk: 12 letters and digits without "
                    "0, O, 1, I, L, in groups of 4.",
                    pattern="^[A-HJ-KM-NP-Z2-9]{4}-[A-HJ-KM-NP-Z2-9]{4}-[A-HJ-KM-NP-Z2-9]{4}$",
                ),
                "expires_in": _int("Seconds the code stays valid.", minimum=1),
                "url": _str("The kiosk's page where the code is typed.", const="/kiosk/enrolement"),
            }
        ),
        "KioskRevoked": _obj(
            {"kiosk": _str("Kiosk id."), **kiosk_state},
            description="The kiosk's state: `revoked`.",
        ),
        "KioskEnrolled": _obj(
            {"kiosk": _str("Kiosk id."), "room": _str("Its room.")},
            description="This browser is now the kiosk: the credential is in its cookie.",
        ),
        "DetaineeSanction": _obj(
            {
                "detainee": _str("Numéro d'écrou."),
                "scope": {
                    "type": "string",
                    "enum": list(DETAINEE_SCOPES),
                    "description": "`video`: video calls; `phone`: every phone access (video "
                    "calls too). Both forbid video calls.",
                },
                "kind": {
                    "type": "string",
                    "enum": list(DETAINEE_KINDS),
                    "description": "`suspension`: until a day; `withdrawal`: until lifted.",
                },
                "since": _int("When it starts (or started), epoch ms (UTC)."),
                "until": {
                    "type": ["integer", "null"],
                    "description": "When it ends (excluded): midnight after its last day, local "
                    "time, or when it was lifted; epoch ms (UTC). Null: a withdrawal in force.",
                },
                "reason": _str("Why."),
                "by": _str("Who decided, `Name (login)`."),
                "active": _bool("In force now."),
            },
            description="The direction's current (or last) sanction of a detainee.",
        ),
    }


# -- operations ------------------------------------------------------------------------------

_CSV_BODY_NOTE = (
    f"Body: the CSV file itself (at most {MAX_CSV:,} bytes, else `413`; at most {MAX_ROWS:,} "
    "rows), "
    "UTF-8 (with or without BOM) or Windows-1252, `;`, `,` or tab separated, header first "
    "(column names case-insensitive, accents optional). Every problem of the file is reported "
    "at once, by line and column; nothing is written unless the whole file is clean. The "
    "report answers `200` even when the file has errors (`ok: false`)."
)


def _csv_body(description: str, example: str) -> dict[str, Any]:
    return {
        "required": True,
        "description": description,
        "content": {"text/csv": {"schema": {"type": "string"}, "example": example}},
    }


def _paths() -> list[dict[str, Any]]:
    rule_codes = [str(code) for code in _RULE_ORDER]
    booking_example = {
        "detainee": "123456",
        "correspondent": "corr_1a2b3c4d5e",
        "kiosk": "kiosk-1",
        "start": "2026-03-05T08:30:00+01:00",
    }
    return [
        _op(
            "kioskLogin",
            "kiosk",
            "Detainee logs in at the kiosk",
            """
The kiosk page (`/kiosk`, « borne » of the hearing room) sends the numéro d'écrou and the
access code the detainee typed. **Enrolled kiosks only**: the request must carry the device
credential of an enrolled kiosk, in the `X-Parloir-Kiosk` header (programs) or the HttpOnly
`parloir_kiosk` cookie that `POST /api/kiosk/enrol` gave the kiosk's browser; without one
(never enrolled, revoked, or enrolled again since) the answer is `401` `kiosk.not_enrolled`,
before any access code is tried. The answer carries a session token for the WebSocket `hello`
(bound to that device: revoking the kiosk ends it), the booking due **now** for this detainee
at this kiosk (the kiosk the credential belongs to) with its correspondent, and the phone
account. When `booking` is null, `message` says why (« Vous n'avez pas de créneau réservé en ce
moment. », or the detainee's access is suspended by the direction). Times here are epoch
milliseconds (UTC), like the WebSocket protocol. Checked in this order: the body, the lengths,
the device, the rate limit per prisoner number (`kiosk_logins_per_minute`), the access code.
`lang` in the body picks the language of `message`.
""",
            {"200": _ok("Logged in.", _ref("KioskLogin"))},
            body=_json_body(
                PUBLIC_BODY,
                {"detainee": "123456", "access_code": "2468", "lang": "fr"},
            ),
            lang=False,
        )
        | {"security": [{"kioskDevice": []}, {"kioskDeviceCookie": []}]},
        _op(
            "joinCall",
            "relative",
            "Relative enters the code received by SMS",
            """
The relative's page (`/join`, « Rejoindre l'appel ») sends the 6-digit code of the SMS, the
call reference of the SMS link when there is one, and the acceptance of the rules of use
(« J'accepte les règles d'utilisation »). The answer carries a session token for the WebSocket
`hello` and the detainee's short name. Attempts are rate-limited per client address
(`join_attempts_per_minute`); and since a code typed without `ref` may match any live code, the
wrong codes typed without `ref` share one budget for the whole service
(`join_failures_per_hour`): past it, only the SMS link (with `ref`) works until the hour ends.
`lang` in the body picks the language of `message`.
""",
            {"200": _ok("Code accepted: join the call over `/ws`.", _ref("Join"))},
            body=_json_body(
                PUBLIC_BODY,
                {"code": "123456", "ref": "c_8f3a", "rules_accepted": True, "lang": "fr"},
            ),
            lang=False,
        ),
        _op(
            "smsStatusWebhook",
            "provider",
            "The HTTPS SMS provider reports what became of a message",
            """
Public, called by the SMS provider (`sms_sender = "https"`), signed: header
`X-Parloir-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>` with
`sms_webhook_secret`, compared in constant time, refused outside `sms_webhook_window_seconds`.
`id` is the provider's id of the message (its answer to the send). A status only moves forward,
so a replay changes nothing. `known`: whether the id matched a message of the last day.
""",
            {
                "200": _ok(
                    "Recorded (or already known).",
                    _obj({"known": {"type": "boolean"}}),
                    {"known": True},
                )
            },
            body=_json_body(
                "At most 16 KiB.",
                {"id": "prov-81f2", "status": "delivered"},
                schema=_obj(
                    {
                        "id": {"type": "string"},
                        "status": {"enum": ["delivered", "failed"]},
                        "reason": {"type": "string"},
                    },
                    required=["id", "status"],
                    strict=False,
                ),
            ),
            lang=False,
        ),
        _op(
            "listSlots",
            "calendar",
            "The establishment's slots and whether each can be booked",
            """
Public: every slot of the establishment's grid over `days` days from `from`, in order, with
whether it can be booked now. Not bookable: a closed day (`sunday`, `holiday`: public holidays
of the `holiday_region`), a deadline passed or a slot started (`too_late`; by default the
deadline is 48 hours before, and for Monday and Tuesday slots the Saturday before at
23:59:59), or every kiosk already booked (`full`). Days without slots in the grid (Sundays
by default) list nothing. Nothing about people or kiosks is given. The same rules drive the
desk's calendar (« Réservations de visiophonie ») and `python -m gateway slots`.
""",
            {
                "200": _ok(
                    "The slots, by start.",
                    {"type": "array", "items": _ref("Slot")},
                    [
                        {
                            "start": "2026-03-02T08:30:00+01:00",
                            "end": "2026-03-02T09:15:00+01:00",
                            "bookable": False,
                            "reason": "too_late",
                        },
                        {
                            "start": "2026-03-05T08:30:00+01:00",
                            "end": "2026-03-05T09:15:00+01:00",
                            "bookable": True,
                        },
                    ],
                )
            },
            parameters=[_from("today"), _DAYS],
        ),
        *_staff_paths(),
        _op(
            "getEstablishment",
            "desk",
            "The establishment's settings",
            """
Name, time zone, holiday region, kiosks and their rooms, daily slot times, quota and longest
call, and the gateway's clock: what the desk pages (« Bureau de la zone activités ») show in
their header and use to lay out the calendar.
""",
            {"200": _ok("The settings.", _ref("Establishment"))},
        ),
        _op(
            "getKioskCalendar",
            "desk",
            "A kiosk's calendar: free, booked and closed slots",
            """
The booking desk's week view (`/desk`, « Réservations de visiophonie »): for one kiosk, every
slot of each day from `from`, `free`, `booked` (with the booking, the detainee and the
correspondent) or `closed` (`sunday`, `holiday`, `too_late`), with its booking deadline.
""",
            {"200": _ok("The calendar.", _ref("KioskCalendar"))},
            parameters=[
                _from("the Monday of the current week"),
                _DAYS,
                _query(
                    "kiosk",
                    "Kiosk id. Default: the first configured kiosk.",
                    {"type": "string"},
                ),
            ],
        ),
        _op(
            "searchDetainees",
            "desk",
            "Search detainees by number or name",
            """
« Rechercher une personne détenue » on the desk page: by numéro d'écrou (exact or prefix) or by
any part of the names, accents and case ignored. At most 50 results, number matches first. An
empty `q` finds nothing.
""",
            {"200": _ok("Matches.", {"type": "array", "items": _ref("Detainee"), "maxItems": 50})},
            parameters=[
                _query(
                    "q",
                    "Number or name (only the first 60 characters are used).",
                    {"type": "string"},
                    example="martin",
                )
            ],
        ),
        _op(
            "saveDetainee",
            "desk",
            "Create or update a detainee",
            f"""
« Créer une fiche » / « Modifier la fiche » on the desk page. Creates the detainee, or replaces
the record of an existing number: names and location are replaced by what is sent, `status`
and the access code are kept when omitted. The access code is required for a new detainee and is
stored only as an Argon2 hash. Answers `201` for a new detainee, `200` for an update.
{_TEXT_LIMITS}
""",
            {
                "201": _ok("Created.", _ref("Detainee")),
                "200": _ok("Updated.", _ref("Detainee")),
            },
            body=_json_body(
                STAFF_BODY,
                {
                    "number": "123456",
                    "access_code": "4821",
                    "first_name": "Hélène",
                    "last_name": "Martin",
                    "building": "B",
                    "floor": "2",
                    "cell": "214",
                },
            ),
        ),
        _op(
            "getDetaineeFile",
            "desk",
            "A detainee's file: correspondents, bookings, phone account",
            """
What the desk page shows once a detainee is chosen: the record, the correspondents
(« Correspondants »), every booking (« À venir », « Passées ou annulées ») and the phone account
(« Compte téléphonique »: solde, bloqué, disponible).
""",
            {"200": _ok("The file.", _ref("DetaineeFile"))},
            parameters=[_NUMBER],
        ),
        _op(
            "signCharter",
            "desk",
            "Record the detainee's signature of the charter",
            """
« Enregistrer la signature de la charte »: records that the detainee signed the charte
d'utilisation (printed from `/desk/charte`), now, taken by the signed-in member (written as
`charter_signed_by`; no body is read, a `guard` field is ignored). A booking is refused until
then (`booking.charter_not_signed`). Signing again records the new date.
""",
            {"200": _ok("Signed.", _ref("Detainee"))},
            parameters=[_NUMBER],
        ),
        _op(
            "addCorrespondent",
            "desk",
            "Add a correspondent to a detainee",
            f"""
« Ajouter un correspondant » on the desk page. The phone number is stored as E.164. For a minor,
`consent_by` records the consent of the holders of parental authority (without it no call can be
booked with them); a lawyer's calls are neither recorded nor monitored. {_TEXT_LIMITS}
""",
            {"201": _ok("Created.", _ref("Correspondent"))},
            parameters=[_NUMBER],
            body=_json_body(
                STAFF_BODY,
                {
                    "name": "Paul Martin",
                    "phone": "06 12 34 56 78",
                    "relationship": "fils",
                    "minor": True,
                    "consent_by": "Sophie Martin (mère)",
                },
            ),
        ),
        _op(
            "updateCorrespondent",
            "desk",
            "Update a correspondent",
            f"""
« Enregistrer le correspondant » on an existing correspondent. `status`, `minor` and `lawyer`
keep their value when omitted (a withdrawn authorisation is never lifted by omission); the other
fields are replaced by what is sent: an omitted `relationship` or `consent_by` is emptied (for a
minor, that withdraws the recorded consent), so send them. The parental consent's time is kept
when `consent_by` is unchanged. Answers `200`. {_TEXT_LIMITS}
""",
            {"200": _ok("Saved.", _ref("Correspondent"))},
            parameters=[_CID],
            body=_json_body(STAFF_BODY),
        ),
        _op(
            "createBooking",
            "desk",
            "Book a kiosk for a slot",
            f"""
« Réserver » on the desk page. Checks every booking rule (note de service 267-2020; see
`gateway/core/booking_rules.py`) and the phone credit, then writes the booking, claims the kiosk for
the slot and holds on the phone account the price of the longest call allowed, in one atomic
step: two guards booking the same kiosk and slot at once make exactly one booking. The booking
rules are checked in this order, and the first that fails is the `409` reason:
{", ".join(f"`{c}`" for c in rule_codes)}; then `booking.number_sanctioned` (the correspondent's
number is under a sanction of the direction, see `/api/direction/sanctions`); then
`booking.detainee_sanctioned` (the detainee's access is suspended over the slot or withdrawn,
see `/api/direction/detainee-sanctions`); then `booking.insufficient_credit` (with `details`
`needed` and `available`, in cents). The receipt (« bon ») is then printed from
`/api/desk/bookings/{{bid}}/receipt.pdf`. The booking is made in the name of the signed-in
member (`booked_by`; a `guard` field is ignored). {_TEXT_LIMITS}
""",
            {"201": _ok("Booked.", _ref("Booking"))},
            body=_json_body(STAFF_BODY, booking_example),
        ),
        _op(
            "getBooking",
            "desk",
            "One booking, with who and where",
            "A booking with the detainee's name and location and the correspondent's name.",
            {"200": _ok("The booking.", _ref("BookingSummary"))},
            parameters=[_BID],
        ),
        _op(
            "cancelBooking",
            "desk",
            "Cancel a booking",
            f"""
« Annuler » on the desk page: a booking whose slot has not started turns `cancelled`, the kiosk's
slot is freed and the hold on the phone account released, in one atomic step. Cancelling a
cancelled booking answers it again, unchanged. `cancelled_by` is the signed-in member (a
`guard` field is ignored). {_TEXT_LIMITS}
""",
            {"200": _ok("Cancelled.", _ref("Booking"))},
            parameters=[_BID],
            body=_json_body(
                STAFF_BODY,
                {"reason": "Transfert au quartier arrivants"},
            ),
        ),
        _op(
            "getBookingReceipt",
            "desk",
            "The booking's receipt (« bon de visiophonie ») as a PDF",
            """
The bon handed to the detainee: establishment, detainee, correspondent (phone masked), slot,
room, who booked and when; marked cancelled with its reason for a cancelled booking. `lang`
picks the PDF's language.
""",
            {
                "200": {
                    "description": "The PDF, shown inline.",
                    "headers": {
                        "Content-Disposition": {
                            "description": 'inline; filename="bon-visiophonie-<receipt>.pdf"',
                            "schema": {"type": "string"},
                            "required": True,
                        }
                    },
                    "content": {
                        "application/pdf": {
                            "schema": {
                                "type": "string",
                                "contentMediaType": "application/pdf",
                            }
                        }
                    },
                }
            },
            parameters=[_BID],
        ),
        _op(
            "getDayList",
            "desk",
            "The day's bookings, for the planning and the movement list",
            """
« Planning du jour » (`/desk/jour`) and « Liste des mouvements » (`/desk/mouvements`, for the
floor guards who bring each detainee from their cell to the hearing room): the day's bookings
by start, cancelled ones left out, with who, where from (building, floor, cell) and where to
(room).
""",
            {"200": _ok("The day.", _ref("DayList"))},
            parameters=[
                _query(
                    "date",
                    "The day, `YYYY-MM-DD` (local). Default: today.",
                    {"type": "string", "format": "date"},
                    example="2026-03-05",
                )
            ],
        ),
        _op(
            "importPeople",
            "desk",
            "Import detainees or correspondents from a CSV file",
            f"""
« Import d'un fichier CSV » (`/desk/import`): the files exported by the prison's systems.
`detainees`: columns `ecrou`, `nom`, `prenom` (required), `batiment`, `etage`, `cellule`,
`code_acces` (required for a new detainee), `statut` (`actif`, `suspendu`, `libéré`).
`correspondents`: `ecrou`, `nom`, `telephone` (required), `lien`, `mineur`,
`consentement_par`, `consentement_le`, `avocat`, `statut` (`autorisé`, `suspendu`, `retiré`);
every detainee must exist first (`csv.unknown_detainee`). A correspondent is matched by detainee
and phone number. See `gateway/core/csv_import.py` for every rule. {_CSV_BODY_NOTE}
""",
            {"200": _ok("The report (also when the file has errors).", _ref("ImportReport"))},
            parameters=[
                _path_param(
                    "kind",
                    "What the file holds.",
                    enum=["detainees", "correspondents"],
                ),
                _DRY_RUN,
            ],
            body=_csv_body(
                "The CSV file.",
                "ecrou;nom;prenom;batiment;etage;cellule;code_acces;statut\r\n"
                "123456;MARTIN;Hélène;B;2;214;4821;actif\r\n",
            ),
        ),
        _op(
            "creditAccount",
            "regie",
            "Credit a detainee's phone account",
            f"""
Accounts office (« régie », `/regie`): adds money bought by the detainee to the phone account.
`reference` is the idempotency key: a retry with the same reference and amount credits once and
answers `200` with `replayed: true`; the same reference with another amount is
`ledger.idempotency_conflict`. The credit is labelled with the signed-in member (an `actor`
field is ignored). Ledger refusals are in French whatever `lang`. {_TEXT_LIMITS}
""",
            {
                "201": _ok("Credited.", _ref("CreditResult")),
                "200": _ok(
                    "Already credited with this reference: nothing changed.",
                    _ref("CreditResult"),
                ),
            },
            body=_json_body(
                STAFF_BODY,
                {
                    "detainee": "123456",
                    "amount_cents": 1250,
                    "reference": "REGIE-2026-03-0001",
                },
            ),
        ),
        _op(
            "importCredits",
            "regie",
            "Import credits from a CSV file",
            f"""
Accounts office (« régie »): credits many accounts from a file. Columns `ecrou`, `montant`
(euros: `12,50`, `12.5`, `1 234,56 €`), `reference` (unique in the file; the idempotency key:
importing the same file twice credits once), `libelle` (optional). Every detainee must exist
(`csv.unknown_detainee`). A reference already credited with the same amount is a warning
(`csv.already_imported`: it will not be credited twice), with another amount an error
(`csv.reference_conflict`). `imported` counts the new credits only. The credits are labelled
with the signed-in member (an `actor` query parameter is ignored). {_CSV_BODY_NOTE}
""",
            {"200": _ok("The report (also when the file has errors).", _ref("ImportReport"))},
            parameters=[_DRY_RUN],
            body=_csv_body(
                "The CSV file.",
                "ecrou;montant;reference;libelle\r\n"
                "123456;12,50;REGIE-2026-03-0001;Versement famille\r\n",
            ),
        ),
        _op(
            "setTariff",
            "regie",
            "Choose the phone account's tariff",
            f"""
Accounts office (« régie »): the plan the detainee's calls are priced with (the charter's price
table: {", ".join(f"`{t.name}`" for t in CHARTER_TARIFFS)}; see `GET /api/regie/tariffs`). Bookings
already made keep the tariff they were held with. {_TEXT_LIMITS}
""",
            {"200": _ok("The account.", _ref("Account"))},
            parameters=[_NUMBER],
            body=_json_body(STAFF_BODY, {"tariff": "forfait_20"}),
        ),
        _op(
            "listTariffs",
            "regie",
            "The tariffs an account can be on",
            """
Accounts office (« régie »): the charter's price table (« Est payant »), each plan's price per
minute and connection fee in cents, and the plan of an account that never chose one. What the
tariff selector of `/regie` lists.
""",
            {"200": _ok("The price table.", _ref("TariffTable"))},
            lang=False,
        ),
        _op(
            "getStatement",
            "regie",
            "A phone account's statement",
            """
Accounts office (« relevé de compte »): every closed call (with its connected time, billed
minutes, tariff, fee and what was charged) and every credit and refund, oldest first, and the
account.
""",
            {"200": _ok("The statement.", _ref("Statement"))},
            parameters=[_NUMBER],
        ),
        _op(
            "downloadStatement",
            "regie",
            "A phone account's statement as a CSV file",
            """
The statement for French spreadsheets: `;` separated, UTF-8 with BOM, amounts in euros with a
decimal comma. Columns: `date`, `heure`, `operation`, `libelle`, `duree_connectee_s`,
`minutes_facturees`, `tarif`, `prix_minute_eur`, `mise_en_relation_eur`, `montant_eur`,
`reference`.
""",
            {
                "200": {
                    "description": "The CSV file, as an attachment `releve-<number>.csv`.",
                    "headers": {
                        "Content-Disposition": {
                            "description": 'attachment; filename="releve-<number>.csv"',
                            "schema": {"type": "string"},
                            "required": True,
                        }
                    },
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                }
            },
            parameters=[_NUMBER],
        ),
        _op(
            "refundCall",
            "regie",
            "Refund (part of) a call",
            f"""
Accounts office, on the direction's decision (e.g. a call cut by a fault): gives back money
charged for the call of a closed booking. The refunds of a call never exceed what it cost.
`reference` is the idempotency key (`200` with `replayed: true` on a retry). Each refund (not
its replays) is written to the audit log (`refund`, by the signed-in member, with
`amount_cents` and `reason`; see `GET /api/audit`; an `actor` field is ignored). Ledger
refusals are in French whatever `lang`. {_TEXT_LIMITS}
""",
            {
                "201": _ok("Refunded.", _ref("RefundResult")),
                "200": _ok(
                    "Already refunded with this reference: nothing changed.",
                    _ref("RefundResult"),
                ),
            },
            body=_json_body(
                STAFF_BODY,
                {
                    "booking": "bk_3f2a9c1d0b4e",
                    "amount_cents": 434,
                    "reason": "Appel coupé (panne)",
                    "reference": "REMB-2026-0007",
                },
            ),
        ),
        _op(
            "getDailyReport",
            "regie",
            "The establishment's daily report",
            """
Accounts office (« rapport du jour »): counts of the day's bookings by outcome, connected time,
billed minutes and charges; refunds and credits made that day.
""",
            {"200": _ok("The report.", _ref("DailyReport"))},
            parameters=[
                _query(
                    "date",
                    "The day, `YYYY-MM-DD` (local). Default: today.",
                    {"type": "string", "format": "date"},
                )
            ],
        ),
        *_monitor_paths(),
        *_direction_paths(),
        _op(
            "getOpenApi",
            "meta",
            "This document",
            "The OpenAPI 3.1 description of this API.",
            {
                "200": _ok(
                    "The OpenAPI document.",
                    {"type": "object", "required": ["openapi", "info", "paths"]},
                )
            },
            lang=False,
        ),
    ]


_CALL = _path_param("call", "Call id (`call_…`).", maxLength=40)
_STAFF_AUDITED = (
    "The signed-in member (`Name (login)`) is written to the audit log with the action (a "
    "`staff` field, typed before staff accounts existed, is ignored)."
)
_FRENCH_ONLY = (
    "`lang` applies to the `400` refusals only: the other refusals' `message` is in French, or "
    "the HTTP reason phrase for `http.*`."
)


def _days(default_from: str) -> list[dict[str, Any]]:
    return [
        _query(
            "from",
            f"First day, `YYYY-MM-DD` (local date of the establishment). Default: {default_from}.",
            {"type": "string", "format": "date"},
            example="2026-03-02",
        ),
        _query(
            "to",
            "Last day (included), `YYYY-MM-DD` (local). Default: today.",
            {"type": "string", "format": "date"},
        ),
    ]


def _monitor_paths() -> list[dict[str, Any]]:
    staff = "Brigadier Lefèvre (lefevre)"
    live_example = {
        "server_time": 1772695800000,
        "calls": [
            {
                "id": "call_5d1e8a2b9c3f4a70",
                "state": "connected",
                "kiosk": "kiosk-1",
                "owner": "gw_1a2b3c4d",
                "watchable": True,
                "created_at": 1772695500000,
                "connected_at": 1772695560000,
                "ends_at": 1772697360000,
                "detainee": {"number": "123456", "name": "MARTIN Hélène"},
                "correspondent": {
                    "name": "Paul Martin",
                    "relationship": "fils",
                    "phone_masked": "+33 6 •• •• •• 78",
                    "lawyer": False,
                },
                "recording": "recording",
                "sms": {"status": "delivered", "reason": "", "failure": None},
                "relative_media": "video",
            }
        ],
    }
    recording_example = {
        "call": "call_5d1e8a2b9c3f4a70",
        "state": "sealed",
        "started_at": 1772695560000,
        "ended_at": 1772697360000,
        "detainee": "123456",
        "detainee_name": "MARTIN Hélène",
        "correspondent": "corr_1a2b3c4d5e",
        "correspondent_name": "Paul Martin",
        "phone": "+33612345678",
        "kiosk": "kiosk-1",
        "flags": 1,
        "legal_hold": False,
        "hold_reason": "",
        "failure": "",
    }
    media_headers = {
        "Accept-Ranges": {
            "description": "`bytes`.",
            "schema": {"type": "string"},
            "required": True,
        },
        "ETag": {"schema": {"type": "string"}, "required": True},
        "Last-Modified": {"schema": {"type": "string"}, "required": True},
    }
    webm = {"video/webm": {"schema": {"type": "string", "contentMediaType": "video/webm"}}}
    return [
        _op(
            "listLiveCalls",
            "monitor",
            "The calls in progress",
            """
« Surveillance » (`/monitor`): every call in progress, on any gateway process, by id: its state,
kiosk, the detainee, the correspondent (phone masked), its times and its recording's state. Times
are epoch milliseconds (UTC), like the WebSocket protocol; `server_time` is the gateway's clock.
Calls with a lawyer are listed, marked `lawyer`, and are never `watchable`. Reading the list is
not audited.
""",
            {"200": _ok("The calls.", _ref("LiveCalls"), live_example)},
            lang=False,
        ),
        _op(
            "watchCall",
            "monitor",
            "Watch and listen to a call in progress",
            f"""
Live monitoring (« écoute / visionnage en direct »): the viewer sends a receive-only WebRTC offer
(two audio and two video sections, all `recvonly`, Opus and VP8) and gets the gateway's answer,
complete with its ICE candidates (no trickle), and which side and kind each section carries
(`tracks`). Nothing is sent to the participants, who cannot tell. Only a call run by this gateway
process can be watched (`watchable` in `GET /api/monitor/calls`), and never a call with a lawyer.
{_STAFF_AUDITED} Each watch is logged (`monitor.watch`) once the answer is made. Checked in this
order: the body, the call, a lawyer, the call's end, the offer. {_FRENCH_ONLY}
""",
            {
                "200": _ok(
                    "The answer.",
                    _ref("WatchAnswer"),
                    {
                        "sdp": "v=0\r\no=- 3920 0 IN IP4 10.0.0.5\r\n…",
                        "tracks": [
                            {"mid": "0", "side": "kiosk", "kind": "video"},
                            {"mid": "1", "side": "relative", "kind": "video"},
                            {"mid": "2", "side": "kiosk", "kind": "audio"},
                            {"mid": "3", "side": "relative", "kind": "audio"},
                        ],
                    },
                )
            },
            parameters=[_CALL],
            body=_json_body(
                STAFF_BODY,
                {"sdp": "v=0\r\no=- 4611 2 IN IP4 127.0.0.1\r\n…"},
            ),
        ),
        _op(
            "flagCall",
            "monitor",
            "Flag a moment of a call",
            f"""
« Signaler »: marks a moment of a call, live or afterwards on its recording, with who and why.
The call must be in progress (on any gateway process) or have a recording. The recording's
`flags` count goes up and the flag is listed by `GET /api/recordings/{{call}}`. {_STAFF_AUDITED}
The flag is logged (`call.flag`, with the `comment`). {_FRENCH_ONLY} {_TEXT_LIMITS}
""",
            {"201": _ok("Flagged.", _ref("FlagResult"))},
            parameters=[_CALL],
            body=_json_body(
                STAFF_BODY,
                {"comment": "Objet passé devant la caméra", "at": 1772696100000},
            ),
        ),
        _op(
            "cutCall",
            "monitor",
            "Cut a call in progress",
            f"""
« Interrompre »: ends the call for both sides at once (they get `ended` with reason `cut` on the
WebSocket); its connected time is billed and its recording sealed as at any end. Any call in
progress can be cut, whichever gateway process owns it (the request is forwarded to the owner).
{_STAFF_AUDITED} The cut is logged (`call.cut`, with the `reason`) before the call is cut.
{_FRENCH_ONLY} {_TEXT_LIMITS}
""",
            {"200": _ok("Cut.", _ref("CutResult"))},
            parameters=[_CALL],
            body=_json_body(
                STAFF_BODY,
                {"reason": "Menaces envers le correspondant"},
            ),
        ),
        _op(
            "listRecordings",
            "recordings",
            "Search the recordings",
            """
« Enregistrements » (`/enregistrements`): the recordings of the calls that started between `from`
and `to` (local days, both included), newest first, optionally of one detainee, one
correspondent, a phone number, or only the flagged ones. Destroyed recordings stay listed
(`destroyed`, without files). Times are epoch milliseconds (UTC). Searching is not audited;
playing and downloading are.
""",
            {
                "200": _ok(
                    "The recordings, newest first.",
                    {"type": "array", "items": _ref("Recording")},
                    [recording_example],
                )
            },
            parameters=[
                *_days("90 days before today"),
                _query("detainee", "Numéro d'écrou (exact).", {"type": "string"}),
                _query("correspondent", "Correspondent id (exact).", {"type": "string"}),
                _query(
                    "phone",
                    "Part of the number called as stored, E.164 (`+33612…` or `612345`); "
                    "spaces are ignored.",
                    {"type": "string"},
                ),
                _query(
                    "flagged",
                    "`1` or `true`: only the recordings with at least one flag.",
                    {"type": "string", "examples": ["1", "true"]},
                ),
            ],
        ),
        _op(
            "getRecording",
            "recordings",
            "One recording, its files and flags",
            """
A recording from the index, with the URLs of its media files (one per side that sent media; none
once destroyed) and its flagged moments. Reading it is not audited; playing a file is.
""",
            {
                "200": _ok(
                    "The recording.",
                    _ref("RecordingDetail"),
                    {
                        **recording_example,
                        "files": [
                            {
                                "side": "kiosk",
                                "url": "/api/recordings/call_5d1e8a2b9c3f4a70/kiosk.webm",
                            },
                            {
                                "side": "relative",
                                "url": "/api/recordings/call_5d1e8a2b9c3f4a70/relative.webm",
                            },
                        ],
                        "flags_list": [
                            {
                                "id": "1772696100512-0",
                                "at": 1772696100000,
                                "by": staff,
                                "comment": "Objet passé devant la caméra",
                            }
                        ],
                    },
                )
            },
            parameters=[_CALL],
            lang=False,
        ),
        _op(
            "getRecordingMedia",
            "recordings",
            "Play or download one side of a recording",
            """
One side's recording, a WebM file with that side's VP8 video and Opus audio: what the kiosk (the
detainee) or the relative sent. For the player of `/enregistrements`, or as a file with
`download=1` (an attachment `<call>-<side>.webm`). HTTP `Range` requests are answered `206`
(one range per request; `416` when unsatisfiable), and conditional requests (`ETag`,
`Last-Modified`) `304` or `412`. **Audited**: every playback and every download is written to
the audit log in the name of the signed-in member (`recording.play`, `recording.download`, with
the `side`; a `staff` query parameter is ignored), once per playback: a request without `Range`
or whose range starts at byte 0 is logged, the later range requests of the same playback are
not. `404` `http.404`: no recording of this call, a side other than `kiosk` or `relative`, or no
file for this side (destroyed, or that side never sent media).
""",
            {
                "200": {
                    "description": "The whole file.",
                    "headers": {
                        **media_headers,
                        "Content-Disposition": {
                            "description": "With `download=1` only: attachment; "
                            'filename="<call>-<side>.webm"',
                            "schema": {"type": "string"},
                        },
                    },
                    "content": webm,
                },
                "206": {
                    "description": "The requested range.",
                    "headers": {
                        **media_headers,
                        "Content-Range": {
                            "description": "`bytes <first>-<last>/<size>`.",
                            "schema": {"type": "string"},
                            "required": True,
                        },
                    },
                    "content": webm,
                },
                "304": {"description": "Not modified (`If-None-Match`, `If-Modified-Since`)."},
                "412": {"description": "Precondition failed (`If-Match`, `If-Unmodified-Since`)."},
                "416": {
                    "description": "Range not satisfiable (starts past the end, or several "
                    "ranges); no body.",
                    "headers": {
                        "Content-Range": {
                            "description": "`bytes */<size>`.",
                            "schema": {"type": "string"},
                            "required": True,
                        }
                    },
                },
            },
            parameters=[
                _CALL,
                _path_param(
                    "side",
                    "Whose media: the kiosk's (the detainee) or the relative's.",
                    enum=["kiosk", "relative"],
                ),
                _query(
                    "download",
                    "`1` or `true`: as an attachment, logged as `recording.download`.",
                    {"type": "string", "examples": ["1", "true"]},
                ),
            ],
        ),
        _op(
            "holdRecording",
            "recordings",
            "Put a recording on legal hold, or release it",
            f"""
« Conservation » on a judicial requisition: a recording on legal hold is never destroyed at the
end of its retention (`retention_days`, 90 by default) until the hold is released
(`held: false`). {_STAFF_AUDITED} Both are logged (`recording.hold`, `recording.release_hold`,
with the `reason`). The body is checked before the recording. {_FRENCH_ONLY} {_TEXT_LIMITS}
""",
            {"200": _ok("Done.", _ref("HoldResult"))},
            parameters=[_CALL],
            body=_json_body(
                STAFF_BODY,
                {"held": True, "reason": "Réquisition PV 2026/118"},
            ),
        ),
        _op(
            "getAuditLog",
            "audit",
            "The audit log",
            """
« Journal d'audit » (`/audit`): every use of the monitoring and recording system (Code
pénitentiaire, L. 223-3) between `from` and `to` (local days, both included), oldest first, at
most 10,000 entries: who watched which call (`monitor.watch`), played or downloaded which
recording (`recording.play`, `recording.download`), flagged or cut a call (`call.flag`,
`call.cut`), put a recording on legal hold or released it (`recording.hold`,
`recording.release_hold`), the recordings destroyed at the end of their retention
(`recording.destroy`, by `parloir`); the decisions recorded with them: refunds (`refund`),
sanctions on phone numbers (`sanction.number`, `sanction.lift`) and on detainees
(`sanction.detainee`, `sanction.detainee_lift`), longer calls (`booking.extend`); and the
staff accounts and kiosks: sign-ins (`staff.login`, `staff.locked`), password changes
(`staff.password`), accounts created or changed (`staff.create`, `staff.update`), kiosk
enrolments and revocations (`kiosk.enrol_start`, `kiosk.enrol`, `kiosk.revoke`). Every entry
names the signed-in member as `Name (login)`. The log is append-only. Reading it is not
audited.
""",
            {
                "200": _ok(
                    "The entries, oldest first.",
                    {"type": "array", "items": _ref("AuditEntry"), "maxItems": 10_000},
                    [
                        {
                            "id": "1772696100512-0",
                            "at": 1772696100512,
                            "actor": staff,
                            "action": "call.flag",
                            "target": "call_5d1e8a2b9c3f4a70",
                            "details": {"comment": "Objet passé devant la caméra"},
                        }
                    ],
                )
            },
            parameters=[
                *_days("30 days before today"),
                _query(
                    "action",
                    "Only this action (exact code, e.g. `recording.play`).",
                    {"type": "string", "examples": sorted(ACTION_LABELS)},
                ),
            ],
        ),
        _op(
            "downloadAuditLog",
            "audit",
            "The audit log as a CSV file",
            """
The entries of `GET /api/audit` (same parameters) for French spreadsheets: `;` separated, UTF-8
with BOM. Columns: `date` (`JJ/MM/AAAA`), `heure`, `agent`, `action` (in French: « Lecture d'un
enregistrement »…), `objet`, `details` (`key=value, …`). Times are French time (Europe/Paris).
A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'`, so that
no spreadsheet runs it as a formula.
""",
            {
                "200": {
                    "description": "The CSV file, as an attachment `journal-audit.csv`.",
                    "headers": {
                        "Content-Disposition": {
                            "description": 'attachment; filename="journal-audit.csv"',
                            "schema": {"type": "string"},
                            "required": True,
                        }
                    },
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                }
            },
            parameters=[
                *_days("30 days before today"),
                _query("action", "Only this action (exact code).", {"type": "string"}),
            ],
        ),
    ]


def _direction_paths() -> list[dict[str, Any]]:
    phone = _path_param(
        "phone",
        "The sanctioned number, E.164 (`+33612345678`) or any form `POST` accepts.",
        maxLength=30,
    )
    sanction_example = {
        "phone": "+33612345678",
        "since": 1772615100000,
        "until": 1775340000000,
        "reason": "Incident du 28/11 (CRI n° 2026-114)",
        "by": "Mme Garnier (garnier)",
        "active": True,
    }
    detainee_sanction_example = {
        "detainee": "123456",
        "scope": "video",
        "kind": "suspension",
        "since": 1772615100000,
        "until": 1775340000000,
        "reason": "Commission de discipline du 02/03",
        "by": "Mme Garnier (garnier)",
        "active": True,
    }
    return [
        _op(
            "listSanctions",
            "direction",
            "Every phone number ever sanctioned",
            """
The direction's sanctions on phone numbers, by number, current or over (kept for the record, a
lifted one with its new end): when, until when, why, by whom, and whether in force now. Times
are epoch milliseconds (UTC). Reading is not audited.
""",
            {
                "200": _ok(
                    "The sanctions, by number.",
                    {"type": "array", "items": _ref("Sanction")},
                    [sanction_example],
                )
            },
            lang=False,
        ),
        _op(
            "sanctionNumber",
            "direction",
            "Sanction a phone number",
            f"""
The head of the prison sanctions a phone number: « the number called at the incident is the one
sanctioned, whoever was speaking ». From now until the end of `until` (a local day, included),
that number can be booked for no detainee (`booking.number_sanctioned`) and is sent no code: the
kiosk's `call` is refused (a WebSocket `error` with reason `call.number_sanctioned`), also for
the bookings made before, which are not cancelled. Sanctioning a number again replaces its
sanction. {_STAFF_AUDITED} Logged as
`sanction.number` (target: the number; with `until` and `reason`). {_TEXT_LIMITS}
""",
            {"201": _ok("Sanctioned.", _ref("Sanction"), sanction_example)},
            body=_json_body(
                STAFF_BODY,
                {
                    "phone": "06 12 34 56 78",
                    "until": "2026-04-04",
                    "reason": "Incident du 28/11 (CRI n° 2026-114)",
                },
            ),
        ),
        _op(
            "liftSanction",
            "direction",
            "Lift a sanction early",
            f"""
Ends the number's sanction now: its `until` becomes now (the sanction is kept for the record).
No body is read. {_STAFF_AUDITED} Logged as `sanction.lift` (target: the number). `404`
`http.404`: the number was never sanctioned.
""",
            {"200": _ok("Lifted: `active` is false.", _ref("Sanction"))},
            parameters=[phone],
        ),
        _op(
            "extendBooking",
            "direction",
            "Allow a longer call for one booking",
            f"""
« Une durée supérieure peut être autorisée. » Raises the booking's longest connected time to
`minutes` (more than now, never more than the slot): the hold on the phone account grows by the
difference (refused with `booking.insufficient_credit` when it does not fit), and a call in
progress gets its new end and warnings at once. {_STAFF_AUDITED} Logged as `booking.extend`.
{_TEXT_LIMITS}
""",
            {"200": _ok("Extended.", _ref("Extension"))},
            parameters=[_BID],
            body=_json_body(
                STAFF_BODY,
                {"minutes": 40, "reason": "situation familiale"},
            ),
        ),
        _op(
            "listDetaineeSanctions",
            "direction",
            "Every detainee ever sanctioned, with the current (or last) sanction",
            """
The direction's sanctions on detainees, by numéro d'écrou: each detainee's current or last
sanction (a new one replaces it; the audit log keeps them all), its scope, whether a suspension
(until a day) or a withdrawal (until lifted), why, by whom, and whether in force now. Times are
epoch milliseconds (UTC). Reading is not audited.
""",
            {
                "200": _ok(
                    "The sanctions, by detainee.",
                    {"type": "array", "items": _ref("DetaineeSanction")},
                    [detainee_sanction_example],
                )
            },
            lang=False,
        ),
        _op(
            "sanctionDetainee",
            "direction",
            "Suspend or withdraw a detainee's access",
            f"""
The head of the prison suspends a detainee's access to video calls (`scope: video`) or to every
phone access (`scope: phone`, video calls too) from `from` (default: now) to the end of `until`
(a local day, included), or withdraws it (no `until`) until lifted. While it covers a slot, no
booking can be made (`booking.detainee_sanctioned`), and at the kiosk the detainee's login
answers no booking (the bookings made before are not cancelled). A new sanction replaces the
detainee's current one. {_STAFF_AUDITED} Logged as `sanction.detainee` (target: the number;
with `scope`, `kind`, `until` and `reason`). Checked in this order: the body's `reason` and
`scope`, the detainee, the dates. {_TEXT_LIMITS}
""",
            {"201": _ok("Sanctioned.", _ref("DetaineeSanction"), detainee_sanction_example)},
            parameters=[_NUMBER],
            body=_json_body(
                STAFF_BODY,
                {
                    "scope": "video",
                    "from": "2026-03-03",
                    "until": "2026-04-04",
                    "reason": "Commission de discipline du 02/03",
                },
            ),
        ),
        _op(
            "liftDetaineeSanction",
            "direction",
            "Lift a detainee's sanction",
            f"""
Ends the detainee's current sanction now (or leaves it as it is if it is already over): its
`until` becomes now, and the sanction is kept for the record. No body is read.
{_STAFF_AUDITED} Logged as `sanction.detainee_lift` (target: the number). `404`
`sanction.not_found`: the detainee was never sanctioned.
""",
            {"200": _ok("Lifted: `active` is false.", _ref("DetaineeSanction"))},
            parameters=[_NUMBER],
            lang=False,
        ),
    ]


def _staff_paths() -> list[dict[str, Any]]:
    member = {
        "login": "garnier",
        "name": "Mme Garnier",
        "roles": ["direction"],
        "active": True,
        "created_at": 1772615100000,
        "created_by": "M. Perrin (admin)",
        "must_change": False,
    }
    kiosk_param = _path_param("kiosk", "Kiosk id (from the `kiosks` setting).", maxLength=40)
    login_param = _path_param("login", "The account's login (case-insensitive).", maxLength=64)
    session_cookie = {
        "Set-Cookie": {
            "description": "The session: `parloir_staff=<token>; HttpOnly; Path=/; "
            "SameSite=Strict` (over HTTPS `__Host-parloir_staff=<token>; Secure; …`).",
            "schema": {"type": "string"},
            "required": True,
        }
    }
    return [
        _op(
            "staffLogin",
            "staff",
            "Sign in",
            f"""
« Connexion » (`/connexion`): opens a staff session. The session token goes in an HttpOnly,
`SameSite=Strict` cookie (`parloir_staff`, or `__Host-parloir_staff` with `Secure` over HTTPS)
that no script can read; the answer gives the member, the session's CSRF token (`csrf`: send
it as `X-CSRF-Token` on every `POST`) and the page to open first (`home`). A session ends after
`staff_session_idle_seconds` without a request, after `staff_session_max_seconds` in any case, on
`POST /api/staff/logout`, and when the password or the roles change or the account is disabled.
Wrong passwords: `staff_login_failures` in 15 minutes lock the account for 15 minutes
(`staff.locked`, logged as `staff.locked`); attempts are also rate-limited per client address
(`staff_logins_per_minute`, `rate_limited`). A wrong login and a wrong password answer alike.
Logged as `staff.login`, with the client's address. No session, role or CSRF token is needed
here. {_TEXT_LIMITS}
""",
            {
                "200": {
                    **_ok(
                        "Signed in.",
                        _ref("StaffLogin"),
                        {**member, "csrf": "Jx3…", "home": "/direction"},
                    ),
                    "headers": session_cookie,
                }
            },
            body=_json_body(
                STAFF_BODY,
                {"login": "garnier", "password": "correct horse battery"},
            ),
        ),
        _op(
            "staffLogout",
            "staff",
            "Sign out",
            """
« Se déconnecter »: ends this session (the member's other sessions go on) and clears the
cookie. No body is read.
""",
            {"200": _ok("Signed out.", _ref("SignedOut"), {"signed_out": True})},
        ),
        _op(
            "staffMe",
            "staff",
            "Who is signed in",
            """
The signed-in member, their roles (with their names in the request's language), the pages and
permissions those roles open, the session's CSRF token (for a page that was reloaded) and its
limits: what every staff page asks first. Any signed-in member may ask, whatever their roles.
""",
            {
                "200": _ok(
                    "The member and the session.",
                    _ref("StaffMe"),
                    {
                        **member,
                        "role_labels": ["Direction (chef d'établissement ou adjoint)"],
                        "csrf": "Jx3…",
                        "expires": 1772658300000,
                        "idle_seconds": 1800,
                        "home": "/direction",
                        "pages": ["/audit", "/desk", "/desk/jour", "/direction"],
                        "denied_pages": ["/admin", "/monitor"],
                        "permissions": ["desk_view", "sanctions", "staff"],
                    },
                )
            },
        ),
        _op(
            "changePassword",
            "staff",
            "Change one's password",
            """
« Changer mon mot de passe »: needs the current password (a wrong one answers `401`
`staff.bad_credentials` and counts towards the lock, `staff.locked`). Every session of the
member ends, this one included; the answer opens a new one (new cookie, new `csrf`). Logged as
`staff.password`.
""",
            {
                "200": {
                    **_ok(
                        "Changed: use the new CSRF token from now on.",
                        _ref("PasswordChanged"),
                    ),
                    "headers": session_cookie,
                }
            },
            body=_json_body(
                STAFF_BODY,
                {"current": "correct horse battery", "new": "staple cheval batterie"},
            ),
        ),
        _op(
            "listStaff",
            "admin",
            "Every staff account, and the roles",
            """
« Comptes des agents » (`/admin`): every account (active or disabled, never a password), by
login, and the roles an account can have with their French and English names. Administrators
only.
""",
            {
                "200": _ok(
                    "The accounts and the roles.",
                    _ref("StaffList"),
                    {
                        "staff": [member],
                        "roles": [
                            {"id": str(r), "fr": ROLE_LABELS[r][0], "en": ROLE_LABELS[r][1]}
                            for r in Role
                        ],
                    },
                )
            },
        ),
        _op(
            "createStaff",
            "admin",
            "Create a staff account",
            f"""
« Créer un compte »: a new account with its login, name, roles (at least one; see the role
matrix) and first password, to be given to the member in person. Administrators only. Logged as
`staff.create` (with the `roles`). {_TEXT_LIMITS}
""",
            {"201": _ok("Created.", _ref("StaffMember"), member)},
            body=_json_body(
                STAFF_BODY,
                {
                    "login": "garnier",
                    "name": "Mme Garnier",
                    "roles": ["direction"],
                    "password": "correct horse battery",
                },
            ),
        ),
        _op(
            "updateStaff",
            "admin",
            "Change a staff account: roles, name, disable, reset the password",
            f"""
« Modifier le compte »: each field sent is changed, the others kept. New `roles`, `active:
false` or a new `password` end every session of the account (the new rights apply at the next
sign-in). The service always keeps an active administrator (`staff.last_admin`).
Administrators only. Logged as `staff.update` (with `roles`, `active`, and `password: reset`
when it was reset). {_TEXT_LIMITS}
""",
            {"200": _ok("Changed.", _ref("StaffMember"))},
            parameters=[login_param],
            body=_json_body(
                STAFF_BODY,
                {"roles": ["direction", "surveillance"], "active": True},
            ),
        ),
        _op(
            "listKiosks",
            "admin",
            "The kiosks and their enrolment",
            """
« Bornes » (`/admin`): every kiosk of the establishment's configuration, its room, and whether a
device is enrolled as that kiosk (when, by whom), was revoked, or has an enrolment code waiting.
Administrators only.
""",
            {
                "200": _ok(
                    "The kiosks.",
                    _ref("KioskList"),
                    {
                        "kiosks": [
                            {
                                "id": "kiosk-1",
                                "room": "Salle 1",
                                "status": "enrolled",
                                "enrolled_at": 1772615100000,
                                "enrolled_by": "M. Perrin (admin)",
                                "revoked_at": None,
                                "revoked_by": "",
                                "pending": False,
                            }
                        ]
                    },
                )
            },
        ),
        _op(
            "startKioskEnrolment",
            "admin",
            "Enrol a kiosk: get a one-time code",
            """
« Enrôler la borne »: a one-time code, valid 30 minutes, that someone types on the kiosk's
enrolment page (`/kiosk/enrolement`, `POST /api/kiosk/enrol`) to make that browser the kiosk.
Each call gives a new code (an earlier one stays valid until it expires or is used); the device
enrolled so far keeps working until a code is used. No body is read. Administrators only.
Logged as `kiosk.enrol_start`.
""",
            {
                "201": _ok(
                    "The code: show it to whoever stands at the kiosk.",
                    _ref("KioskEnrolment"),
                    {
                        "kiosk": "kiosk-1",
                        "code": "K7QW-3MZP-X9RT",
                        "expires_in": 1800,
                        "url": "/kiosk/enrolement",
                    },
                )
            },
            parameters=[kiosk_param],
            lang=False,
        ),
        _op(
            "revokeKiosk",
            "admin",
            "Revoke a kiosk's enrolment",
            """
« Révoquer »: the device enrolled as this kiosk stops working at once: its credential is
forgotten, its login answers `kiosk.not_enrolled` and its sessions end at their next step. A
code waiting stays usable. No body is read. Administrators only. Logged as `kiosk.revoke`.
""",
            {"200": _ok("Revoked.", _ref("KioskRevoked"))},
            parameters=[kiosk_param],
            lang=False,
        ),
        _op(
            "enrolKiosk",
            "kiosk",
            "The kiosk's browser redeems an enrolment code",
            f"""
The kiosk's enrolment page (`/kiosk/enrolement`) sends the code an administrator got from
`POST /api/admin/kiosks/{{kiosk}}/enrol`. The code works once; the answer sets the device
credential in a long-lived (5 years) HttpOnly, `SameSite=Strict` cookie, `parloir_kiosk`, that
`/kiosk` and `POST /api/kiosk/login` then require (programs send it as the `X-Parloir-Kiosk`
header instead); any device enrolled before as this kiosk stops working. Public (the kiosk has
no staff session), rate-limited per client address (10 a minute, `rate_limited`). Logged as
`kiosk.enrol`. `lang` in the body picks the language of `kiosk.bad_enrolment_code`'s message.
{_TEXT_LIMITS}
""",
            {
                "200": {
                    **_ok(
                        "Enrolled: this browser is the kiosk.",
                        _ref("KioskEnrolled"),
                        {"kiosk": "kiosk-1", "room": "Salle 1"},
                    ),
                    "headers": {
                        "Set-Cookie": {
                            "description": "`parloir_kiosk=<credential>; HttpOnly; Path=/; "
                            "Max-Age=157680000; SameSite=Strict` (and `Secure` over HTTPS).",
                            "schema": {"type": "string"},
                            "required": True,
                        }
                    },
                }
            },
            body=_json_body(STAFF_BODY, {"code": "K7QW-3MZP-X9RT"}),
        ),
    ]


_RULE_ORDER = (
    RefusalCode.DETAINEE_RELEASED,
    RefusalCode.DETAINEE_SUSPENDED,
    RefusalCode.CHARTER_NOT_SIGNED,
    RefusalCode.CORRESPONDENT_NOT_AUTHORISED,
    RefusalCode.MINOR_WITHOUT_CONSENT,
    RefusalCode.SUNDAY,
    RefusalCode.HOLIDAY,
    RefusalCode.NOT_IN_GRID,
    RefusalCode.IN_PAST,
    RefusalCode.TOO_LATE,
    RefusalCode.QUOTA,
    RefusalCode.KIOSK_BUSY,
)
"""The order of :func:`gateway.core.booking_rules.check_booking`."""

_INFO = """
The JSON API of **Parloir**, the video-call gateway (visiophonie) for French prisons: the kiosk
in the hearing room and the relative's page start calls; the booking desk (« bureau de la zone
activités ») manages people and bookings; the accounts office (« régie ») manages the phone
accounts; the monitoring staff watch calls live, review their recordings and read the audit
log of every such use; the direction (head of the prison) sanctions phone numbers and
detainees and allows longer calls; the administrator manages the staff accounts and enrols the
kiosks. The pages are in French (`?lang=en` switches to English): `/kiosk` and
`/kiosk/enrolement` (the kiosk), `/join` (the relative), `/connexion` (staff sign-in), `/desk`,
`/desk/jour`, `/desk/mouvements`, `/desk/charte`, `/desk/import` (the desk), `/regie` (the
accounts office), `/monitor`, `/enregistrements`, `/audit` (monitoring, recordings, audit log),
`/direction`, `/admin`.

**Conventions.** JSON in, JSON out (CSV files for imports, statements and the audit log, a PDF
for receipts, WebM for recordings). Every refusal is `{"reason", "message", "details"?}` with a
4xx (or 503) status and changes nothing: `reason` is a stable machine-readable code
(`booking.quota`, `booking.too_late`…), to be switched on; `message` is a sentence for the
person in front of the screen, in French by default, in English with `?lang=en` (desk and
accounts office) or `"lang": "en"` in the body (kiosk and relative); `details` carries numbers
when they help. Each reason, its status and its sentences are declared once
(`gateway/core/reasons.py`); the list under each refusal below comes from there. Unknown
paths and methods, and bodies over the limit, answer
`{"reason": "http.404" | "http.405" | "http.413", "message"}`; an unexpected error answers
`500` `{"reason": "server.error", "message"}`. Amounts are integer euro cents. Times of the desk and
accounts office API are ISO 8601 with the establishment's offset (`2026-03-05T08:30:00+01:00`);
times of the kiosk and relative API, and of the monitoring, recordings and audit API, are epoch
milliseconds (UTC), like the WebSocket protocol.

**Who may call.** `/api/join`, `/api/slots` and `/api/kiosk/enrol` are public (the first and
the last are rate-limited); `/api/kiosk/login` needs an enrolled kiosk (below). The staff endpoints
(`/api/staff/*`, `/api/desk/*`, `/api/regie/*`, `/api/monitor/*`, `/api/recordings*`,
`/api/audit*`, `/api/direction/*`, `/api/admin/*` and this document, `/api/openapi.json`) are
marked `x-parloir-staff-only`: they are served only to clients on the configured
`staff_networks` (the prison's internal network; by default the gateway's own machine), any
other client getting `403` `{"reason": "staff.forbidden_network"}`; and all of them but
`POST /api/staff/login` need a signed-in staff member whose role allows the operation.

**Signing in.** `POST /api/staff/login` with `{login, password}` opens a session: its token is
in an HttpOnly, `SameSite=Strict` cookie (`parloir_staff`; `__Host-parloir_staff`, `Secure`,
over HTTPS: the `staffSession` security scheme), never readable by a script; the answer gives
the session's CSRF token. Sessions end after `staff_session_idle_seconds` without a request,
after `staff_session_max_seconds` in any case, on `POST /api/staff/logout`, and when the member's
password or roles change or the account is disabled. Without a live session a staff endpoint
answers `401` `staff.login_required` (a staff page redirects to `/connexion`). There is no
default account: `python -m gateway staff create-admin` makes the first administrator, who
creates the others (`/api/admin/staff`).

**Roles.** Each account has one or more roles: `activites` (activities-zone guard: calendar,
bookings, the charter's signature), `etage` (floor guard: the day's movements), `surveillance`
(monitoring: live calls, recordings), `regie` (accounts office: credits, tariffs, statements),
`direction` (head of the prison or deputy: people and authorisations, recordings and legal
holds, the audit log, statements, refunds, sanctions, longer calls) and `admin` (staff accounts
and kiosks, nothing else). The full matrix of which role may do what is in the README (section
« Staff accounts, roles, kiosks ») and, route by route, in `gateway/core/roles.py`, which the
gateway enforces (a route missing from it is refused to everyone); a member without the right
role gets `403` `staff.forbidden`. Every action is written to the audit log and on bookings as
the signed-in member, `Name (login)`: the names that requests used to carry (`guard`, `staff`,
`actor`) are ignored.

**CSRF.** Every state-changing staff request (`POST`) must send the session's CSRF token in the
`X-CSRF-Token` header (the `csrfToken` security scheme; `csrf` of the sign-in answer and of
`GET /api/staff/me`), and a browser's `Origin`, when sent, must be this very site; otherwise
`403` `staff.csrf`. Together with the `SameSite=Strict` cookie, another site cannot act in a
member's name.

**Kiosk enrolment.** A kiosk works only once its device is enrolled: an administrator asks for
a one-time code (`POST /api/admin/kiosks/{kiosk}/enrol`, valid 30 minutes), which is typed on
the kiosk's page `/kiosk/enrolement` (`POST /api/kiosk/enrol`); the kiosk's browser then holds
the device credential in a long-lived HttpOnly cookie, `parloir_kiosk` (programs send it as the
`X-Parloir-Kiosk` header). `POST /api/kiosk/login` and the kiosk's WebSocket session require it
(`401` `kiosk.not_enrolled` otherwise); `POST /api/admin/kiosks/{kiosk}/revoke` disables the
device at once.

**WebSocket.** The calls themselves run over the WebSocket `GET /ws`: the kiosk and the
relative open it with `{"type": "hello", "token": …}` (the token of `/api/kiosk/login` or
`/api/join`), then exchange `call`, `offer`/`answer` (WebRTC SDP), `state`, `warning`,
`hangup`, `ended`… One JSON object per text message. OpenAPI does not model WebSockets: the
protocol, its messages and its close codes are described in `docs/signaling.md`.
"""


@functools.cache
def _build(version: str) -> dict[str, Any]:
    lang = {
        "name": "lang",
        "in": "query",
        "required": False,
        "description": "Language of `message` in refusals and reports (and of the receipt PDF):"
        " `fr` or `en`. Default: the gateway's `lang` setting (French).",
        "schema": {"type": "string", "enum": ["fr", "en"]},
    }
    staff_network = {
        "description": "The client is not on the `staff_networks`. `reason` is "
        "`staff.forbidden_network`.",
        "content": {
            JSON: {
                "schema": {
                    "allOf": [
                        _ref("Refusal"),
                        {"properties": {"reason": {"const": "staff.forbidden_network"}}},
                    ]
                },
                "example": {
                    "reason": "staff.forbidden_network",
                    "message": reasons.sentence("staff.forbidden_network"),
                },
            }
        },
    }
    login_required = {
        **_refusal(401, ["staff.login_required"]),
        "description": "No live staff session (the cookie is missing, unknown or over): sign in "
        "again with `POST /api/staff/login`. `reason` is `staff.login_required`.",
    }
    login_required["content"][JSON]["example"] = {
        "reason": "staff.login_required",
        "message": reasons.sentence("staff.login_required"),
    }
    staff_forbidden = _refusal(
        403, ["staff.forbidden_network", "staff.forbidden", "staff.password_change_required"]
    )
    staff_forbidden["content"][JSON]["example"] = {
        "reason": "staff.forbidden",
        "message": reasons.sentence("staff.forbidden"),
    }
    write_forbidden = _refusal(
        403,
        ["staff.forbidden_network", "staff.forbidden", "staff.password_change_required",
         "staff.csrf"],
    )  # fmt: skip
    write_forbidden["content"][JSON]["example"] = {
        "reason": "staff.csrf",
        "message": reasons.sentence("staff.csrf"),
    }
    security_schemes = {
        _STAFF_SECURITY: {
            "type": "apiKey",
            "in": "cookie",
            "name": "parloir_staff",
            "description": "The staff session of `POST /api/staff/login`: an HttpOnly, "
            "`SameSite=Strict` cookie, named `__Host-parloir_staff` (and `Secure`) when the "
            "gateway is reached over HTTPS. Browsers send it by themselves; other clients keep "
            "it from the `Set-Cookie` of the sign-in.",
        },
        _CSRF_SECURITY: {
            "type": "apiKey",
            "in": "header",
            "name": "X-CSRF-Token",
            "description": "The session's CSRF token (`csrf` of `POST /api/staff/login` and "
            "`GET /api/staff/me`), required with the cookie on every state-changing request "
            "(`403` `staff.csrf` without it).",
        },
        "kioskDevice": {
            "type": "apiKey",
            "in": "header",
            "name": "X-Parloir-Kiosk",
            "description": "An enrolled kiosk's device credential, for programs (the kiosk's "
            "browser sends the `parloir_kiosk` cookie instead).",
        },
        "kioskDeviceCookie": {
            "type": "apiKey",
            "in": "cookie",
            "name": "parloir_kiosk",
            "description": "An enrolled kiosk's device credential, set by "
            "`POST /api/kiosk/enrol` in the kiosk's browser (HttpOnly, `SameSite=Strict`).",
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Parloir API",
            "version": version,
            "summary": "Video calls for prisons: kiosk, relatives, booking desk, accounts "
            "office, monitoring, direction, administration.",
            "description": _INFO.strip(),
            "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
        },
        "servers": [{"url": "/", "description": "The gateway itself."}],
        "tags": [
            {
                "name": "kiosk",
                "description": "The kiosk (« borne ») in the hearing room: its enrolment and "
                "the detainee's login.",
            },
            {"name": "relative", "description": "The relative's page (« proche »)."},
            {"name": "calendar", "description": "The establishment's public calendar."},
            {"name": "provider", "description": "Calls from the SMS provider (signed)."},
            {
                "name": "staff",
                "description": "Staff sign-in and sessions (« connexion »). Staff network only.",
            },
            {
                "name": "desk",
                "description": "The booking desk (« bureau de la zone activités ») and the "
                "floor guards. Staff only.",
            },
            {
                "name": "regie",
                "description": "The accounts office (« régie »): phone accounts. Staff only.",
            },
            {
                "name": "monitor",
                "description": "Live monitoring of the calls (« surveillance »): watch, flag, "
                "cut. Staff only; every use is audited.",
            },
            {
                "name": "recordings",
                "description": "The calls' recordings: search, play, download, legal hold. "
                "Staff only; every playback and download is audited.",
            },
            {
                "name": "audit",
                "description": "The audit log of the monitoring and recording system, refunds and "
                "sanctions. Staff only.",
            },
            {
                "name": "direction",
                "description": "The head of the prison (« direction »): sanctions on phone "
                "numbers and detainees, longer calls. Staff only; every decision is audited.",
            },
            {
                "name": "admin",
                "description": "The administrator: staff accounts and kiosk enrolment. Staff "
                "only; every change is audited.",
            },
            {"name": "meta", "description": "About the API. Staff only."},
        ],
        "paths": _table_paths(),
        "components": {
            "schemas": {**_schemas(), **models.schemas()},
            "parameters": {"lang": lang},
            "responses": {
                "StaffNetworkForbidden": staff_network,
                "StaffLoginRequired": login_required,
                "StaffForbidden": staff_forbidden,
                "StaffWriteForbidden": write_forbidden,
            },
            "securitySchemes": security_schemes,
        },
    }


def document(version: str = "0.1.0") -> dict[str, Any]:
    """The OpenAPI 3.1 document of the JSON API (a fresh copy: callers may change it)."""
    return copy.deepcopy(_build(version))


def _package_version() -> str:
    try:
        return metadata.version("parloir")
    except metadata.PackageNotFoundError:
        return "0.1.0"


@functools.cache
def _serialised(version: str) -> bytes:
    return json.dumps(_build(version), ensure_ascii=False, indent=1).encode("utf-8")


async def serve(request: web.Request) -> web.Response:
    """``GET /api/openapi.json``: the document, as JSON."""
    return web.Response(
        body=_serialised(_package_version()),
        content_type=JSON,
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )
