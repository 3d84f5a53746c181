"""JSON API of the booking desk (activities guard, floor guards): people, calendar, bookings.

Thin handlers: they parse and validate the request, call :class:`~gateway.store.bookings.
BookingDesk` or :class:`~gateway.store.directory.Directory`, and answer JSON. Every refusal is
``{"reason": ..., "message": ...}`` with a 4xx status and changes nothing. The staff API is only
served to the prison's internal network (``staff_networks``) until staff accounts exist.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from aiohttp import web

from gateway.core import csv_import
from gateway.core.codes import code_minutes
from gateway.core.reasons import sentences
from gateway.core.receipt_pdf import ReceiptData, render_receipt
from gateway.core.records import Booking, Correspondent, Detainee, DirectoryError, to_e164
from gateway.core.text import TextRefused
from gateway.core.text import clean as clean_text
from gateway.http import appkeys as keys
from gateway.http import models, sms_api
from gateway.http.public_api import load_json, read_limited
from gateway.http.refusals import lang_of
from gateway.http.staff_auth import actor
from gateway.service.sms import mask_phone
from gateway.store.bookings import BookingDesk, DeskError
from gateway.store.directory import Directory, hash_access_code

MAX_BODY = 64 * 1024
MAX_DAYS = 62


_lang = lang_of


def _given(request: web.Request, reason: str, fr: str, en: str) -> web.Response:
    """A 400 whose sentences are already made (a field's, by the text rule or a model)."""
    text = en if _lang(request) == "en" else fr
    return web.json_response({"reason": reason, "message": text}, status=400)


def desk_refusal(request: web.Request, exc: DeskError) -> web.Response:
    body: dict[str, Any] = {"reason": exc.reason, "message": exc.message(_lang(request))}
    if exc.details:
        body["details"] = exc.details
    return web.json_response(body, status=exc.status)


class BadRequest(Exception):
    """A 400: the table's sentences of ``reason`` (its ``variant``, filled with ``values``),
    unless the refusal comes with its own (``fr``, ``en``: a field's)."""

    def __init__(
        self, reason: str, fr: str = "", en: str = "", variant: str = "", **values: object
    ) -> None:
        super().__init__(reason)
        if not fr:
            fr, en = sentences(reason, variant, **values)
        self.reason, self.fr, self.en = reason, fr, en


@web.middleware
async def desk_errors(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except DeskError as exc:
        return desk_refusal(request, exc)
    except BadRequest as exc:
        return _given(request, exc.reason, exc.fr, exc.en)
    except DirectoryError as exc:
        return _given(request, exc.reason, exc.message, exc.message_en)
    except TextRefused as exc:  # a store's own check of the text rule (the last line)
        return _given(request, exc.reason, exc.fr, exc.en)


async def body(request: web.Request) -> dict[str, Any]:
    data = load_json(await read_limited(request, MAX_BODY))
    if not isinstance(data, dict):
        raise BadRequest("request.malformed")
    return data


def missing(name: str) -> BadRequest:
    """The refusal of a required text left empty: the text rule's own sentence."""
    try:
        clean_text("", name)
    except TextRefused as exc:
        return BadRequest(exc.reason, exc.fr, exc.en)
    raise AssertionError("an empty text is refused")


M = TypeVar("M", bound=models.Body)


def parsed(request: web.Request, model: type[M]) -> M:
    """The request's body, validated by the route's model (gateway.http.routes)."""
    data = request[keys.BODY]
    assert isinstance(data, model), (type(data), model)
    return data


def parse_day(raw: str | None, default: date) -> date:
    if not raw:
        return default
    try:
        day = date.fromisoformat(raw)
        if not 2000 <= day.year <= 2100:  # keeps every date sum far from date.max
            raise ValueError(raw)
        return day
    except ValueError:
        raise BadRequest("request.bad_date") from None


def parse_days(raw: str | None, default: int) -> int:
    try:
        days = int(raw) if raw else default
    except ValueError:
        days = -1
    if not 1 <= days <= MAX_DAYS:
        raise BadRequest("request.bad_days", max_days=MAX_DAYS)
    return days


def iso(epoch: float | None, desk: BookingDesk) -> str | None:
    return None if epoch is None else desk.local(epoch).isoformat()


def booking_json(b: Booking, desk: BookingDesk) -> dict[str, Any]:
    data = b.public()
    for name in ("start", "end", "booked_at", "cancelled_at", "closed_at"):
        data[name] = iso(getattr(b, name), desk)
    data["room"] = desk.establishment.rooms.get(b.kiosk, b.kiosk)
    return data


def detainee_json(d: Detainee, desk: BookingDesk) -> dict[str, Any]:
    data = d.public()
    data["charter_signed_at"] = iso(d.charter_signed_at, desk)
    data["full_name"] = d.full_name
    data["location"] = d.location
    return data


def correspondent_json(c: Correspondent, desk: BookingDesk) -> dict[str, Any]:
    data = c.public()
    data["consent_at"] = iso(c.consent_at, desk)
    data["phone_masked"] = mask_phone(c.phone)
    return data


def _desk(request: web.Request) -> BookingDesk:
    return request.app[keys.DESK]


def _now(request: web.Request) -> float:
    return request.app[keys.ENGINE].clock()


# -- establishment and calendar ------------------------------------------------------------


async def establishment(request: web.Request) -> web.Response:
    desk = _desk(request)
    est = desk.establishment
    config = request.app[keys.CONFIG]
    return web.json_response(
        {
            "name": est.name,
            "time_zone": est.grid.time_zone,
            "holiday_region": est.grid.holiday_region,
            "kiosks": [{"id": k, "room": r} for k, r in est.rooms.items()],
            "slot_times": list(config.slot_times),
            "quota": {"count": est.grid.quota_count, "window_days": est.grid.quota_window_days},
            "call_max_seconds": est.call_max_seconds,
            "now": desk.local(_now(request)).isoformat(),
        }
    )


async def public_slots(request: web.Request) -> web.Response:
    """GET /api/slots?from=YYYY-MM-DD&days=N: the establishment's calendar."""
    desk = _desk(request)
    today = desk.local(_now(request)).date()
    first = parse_day(request.query.get("from"), today)
    days = parse_days(request.query.get("days"), 7)
    return web.json_response(slots_json(await desk.establishment_slots(first, days, _now(request))))


def slots_json(listed: list[Any]) -> list[dict[str, Any]]:
    out = []
    for info in listed:
        item: dict[str, Any] = {
            "start": info.start.isoformat(),
            "end": info.end.isoformat(),
            "bookable": info.bookable,
        }
        if not info.bookable:
            item["reason"] = str(info.reason)
        out.append(item)
    return out


async def calendar(request: web.Request) -> web.Response:
    desk = _desk(request)
    now = _now(request)
    today = desk.local(now).date()
    first = parse_day(request.query.get("from"), today - timedelta(days=today.weekday()))
    days = parse_days(request.query.get("days"), 7)
    kiosk = request.query.get("kiosk") or next(iter(desk.establishment.rooms))
    week = await desk.kiosk_calendar(kiosk, first, days, now)
    people = await _people_of([s.booking for d in week for s in d.slots if s.booking], request)
    out = []
    for day in week:
        out.append(
            {
                "date": day.day.isoformat(),
                "closed": day.closed,
                "slots": [
                    {
                        "start": s.start.isoformat(),
                        "end": s.end.isoformat(),
                        "deadline": s.deadline.isoformat(),
                        "state": s.state,
                        "reason": s.reason,
                        "booking": _booking_summary(s.booking, people, desk) if s.booking else None,
                    }
                    for s in day.slots
                ],
            }
        )
    return web.json_response({"kiosk": kiosk, "days": out})


async def _people_of(
    bookings: list[Booking | None], request: web.Request
) -> dict[str, Detainee | Correspondent]:
    directory: Directory = request.app[keys.DIRECTORY]
    found: dict[str, Detainee | Correspondent] = {}
    for b in bookings:
        if b is None:
            continue
        if b.detainee not in found and (d := await directory.detainee(b.detainee)):
            found[b.detainee] = d
        if b.correspondent not in found and (c := await directory.correspondent(b.correspondent)):
            found[b.correspondent] = c
    return found


def _booking_summary(
    b: Booking, people: dict[str, Detainee | Correspondent], desk: BookingDesk
) -> dict[str, Any]:
    data = booking_json(b, desk)
    d, c = people.get(b.detainee), people.get(b.correspondent)
    if isinstance(d, Detainee):
        data["detainee_name"] = d.full_name
        data["location"] = d.location
        data["building"], data["floor"], data["cell"] = d.building, d.floor, d.cell
    if isinstance(c, Correspondent):
        data["correspondent_name"] = c.name
        data["correspondent_relationship"] = c.relationship
    return data


# -- people ---------------------------------------------------------------------------------


async def search(request: web.Request) -> web.Response:
    directory: Directory = request.app[keys.DIRECTORY]
    query = request.query.get("q", "")[:60]
    found = await directory.search_detainees(query)
    return web.json_response([detainee_json(d, _desk(request)) for d in found])


async def detainee_file(request: web.Request) -> web.Response:
    desk = _desk(request)
    directory: Directory = request.app[keys.DIRECTORY]
    number = request.match_info["number"]
    detainee = await directory.detainee(number)
    if detainee is None:
        raise DeskError("booking.unknown_detainee")
    correspondents = await directory.correspondents_of(number)
    bookings = await directory.bookings_of(number)
    account = await desk.ledger.account(number)
    names = {c.id: c for c in correspondents}
    return web.json_response(
        {
            "detainee": detainee_json(detainee, desk),
            "correspondents": [correspondent_json(c, desk) for c in correspondents],
            "bookings": [_booking_summary(b, {**names, number: detainee}, desk) for b in bookings],
            "account": {
                "balance": account.balance,
                "held": account.held,
                "available": account.available,
                "tariff": account.tariff,
            },
        }
    )


async def save_detainee(request: web.Request) -> web.Response:
    """Create or update a detainee; the access code is only set when given."""
    directory: Directory = request.app[keys.DIRECTORY]
    data = parsed(request, models.DetaineeInput)
    existing = await directory.detainee(data.number)
    if existing is None and not data.access_code:
        raise missing("access_code")  # required for a new detainee
    base = existing or Detainee(number=data.number, first_name="", last_name="", code_hash="")
    detainee = replace(
        base,
        first_name=data.first_name,
        last_name=data.last_name,
        building=data.building,
        floor=data.floor,
        cell=data.cell,
        status=data.status or (existing.status if existing else "active"),
        code_hash=hash_access_code(data.access_code) if data.access_code else base.code_hash,
    )
    await directory.put_detainee(detainee)
    return web.json_response(
        detainee_json(detainee, _desk(request)), status=200 if existing else 201
    )


async def sign_charter(request: web.Request) -> web.Response:
    directory: Directory = request.app[keys.DIRECTORY]
    guard = actor(request)
    detainee = await directory.detainee(request.match_info["number"])
    if detainee is None:
        raise DeskError("booking.unknown_detainee")
    signed = replace(detainee, charter_signed_at=_now(request), charter_signed_by=guard)
    await directory.put_detainee(signed)
    return web.json_response(detainee_json(signed, _desk(request)))


async def save_correspondent(request: web.Request) -> web.Response:
    """Create (``POST .../detainees/{number}/correspondents``) or update
    (``POST .../correspondents/{cid}``) a correspondent."""
    directory: Directory = request.app[keys.DIRECTORY]
    data = parsed(request, models.CorrespondentInput)
    cid = request.match_info.get("cid")
    if cid:
        existing = await directory.correspondent(cid)
        if existing is None:
            raise DeskError("booking.unknown_correspondent")
        number = existing.detainee
    else:
        number = request.match_info["number"]
        if await directory.detainee(number) is None:
            raise DeskError("booking.unknown_detainee")
        existing = None
    # An update keeps what it does not name: a withdrawn authorisation is never lifted by
    # omission.
    status = data.status or (existing.status if existing else "authorised")
    minor = data.minor if data.given("minor") else bool(existing and existing.minor)
    if data.given("consent_by"):
        consent_by = data.consent_by if minor else ""
    else:  # an update that does not name the consent keeps it
        consent_by = existing.consent_by if existing and minor else ""
    consent_at: float | None = None
    if consent_by:
        kept = existing and existing.consent_by == consent_by and existing.consent_at
        consent_at = existing.consent_at if kept else _now(request)  # type: ignore[union-attr]
    correspondent = Correspondent(
        id=cid or f"corr_{secrets.token_hex(5)}",
        detainee=number,
        name=data.name,
        phone=to_e164(data.phone),
        relationship=data.relationship,
        status=status,
        minor=minor,
        consent_by=consent_by,
        consent_at=consent_at,
        lawyer=data.lawyer if data.given("lawyer") else bool(existing and existing.lawyer),
    )
    await directory.put_correspondent(correspondent)
    return web.json_response(
        correspondent_json(correspondent, _desk(request)), status=200 if existing else 201
    )


# -- bookings --------------------------------------------------------------------------------


async def create_booking(request: web.Request) -> web.Response:
    desk = _desk(request)
    data = parsed(request, models.BookingRequest)
    booking = await desk.book(
        detainee=data.detainee,
        correspondent=data.correspondent,
        kiosk=data.kiosk,
        start=data.start_at,
        guard=actor(request),
        now=_now(request),
    )
    await request.app[sms_api.BOOKING_NOTICES].notify(booking, "booked", _now(request))
    return web.json_response(booking_json(booking, desk), status=201)


async def get_booking(request: web.Request) -> web.Response:
    desk = _desk(request)
    booking = await desk.directory.booking(request.match_info["bid"])
    if booking is None:
        raise DeskError("booking.not_found")
    people = await _people_of([booking], request)
    return web.json_response(_booking_summary(booking, people, desk))


async def cancel_booking(request: web.Request) -> web.Response:
    desk = _desk(request)
    data = parsed(request, models.CancelRequest)
    bid = request.match_info["bid"]
    booking = await desk.cancel(bid, actor(request), data.reason, _now(request))
    await request.app[sms_api.BOOKING_NOTICES].notify(booking, "cancelled", _now(request))
    return web.json_response(booking_json(booking, desk))


async def day_list(request: web.Request) -> web.Response:
    """GET /api/desk/day?date=: the day's bookings with who, where from and where to."""
    desk = _desk(request)
    today = desk.local(_now(request)).date()
    day = parse_day(request.query.get("date"), today)
    zone = desk.establishment.zone
    begin = datetime.combine(day, datetime.min.time(), zone).astimezone(UTC).timestamp()
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
    bookings = [
        b
        for b in await desk.directory.bookings_between(begin, end.astimezone(UTC).timestamp())
        if b.status != "cancelled"
    ]
    people = await _people_of(list(bookings), request)
    return web.json_response(
        {
            "date": day.isoformat(),
            "establishment": desk.establishment.name,
            "bookings": [_booking_summary(b, people, desk) for b in bookings],
        }
    )


async def receipt(request: web.Request) -> web.Response:
    """GET /api/desk/bookings/{bid}/receipt.pdf: the signed bon, as a PDF."""
    desk = _desk(request)
    booking = await desk.directory.booking(request.match_info["bid"])
    if booking is None:
        raise DeskError("booking.not_found")
    people = await _people_of([booking], request)
    detainee, corr = people.get(booking.detainee), people.get(booking.correspondent)
    if not isinstance(detainee, Detainee) or not isinstance(corr, Correspondent):
        raise DeskError("booking.not_found")
    data = ReceiptData(
        number=booking.receipt or booking.id,
        establishment=desk.establishment.name,
        detainee_number=detainee.number,
        detainee_name=detainee.full_name,
        location=detainee.location,
        correspondent_name=corr.name,
        correspondent_relationship=corr.relationship,
        correspondent_phone=mask_phone(corr.phone),
        start=desk.local(booking.start),
        end=desk.local(booking.end),
        room=desk.establishment.rooms.get(booking.kiosk, booking.kiosk),
        kiosk=booking.kiosk,
        booked_by=booking.booked_by or "—",
        booked_at=desk.local(booking.booked_at or booking.start),
        status="cancelled" if booking.status == "cancelled" else "booked",
        cancel_reason=booking.cancel_reason,
        code_minutes=code_minutes(request.app[keys.CONFIG].code_validity_seconds),
    )
    pdf = await asyncio.to_thread(render_receipt, data, _lang(request))
    name = f"bon-visiophonie-{data.number}.pdf"
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


# -- CSV import ------------------------------------------------------------------------------

MAX_CSV = 2_000_000


async def read_csv(request: web.Request) -> bytes:
    return await read_limited(request, MAX_CSV)


def report_json(report: Any, lang: str, dry_run: bool, imported: int) -> dict[str, Any]:
    def item(e: Any) -> dict[str, Any]:
        text = e.message_en if lang == "en" else e.message_fr
        return {"line": e.line, "column": e.column, "reason": e.reason, "message": text}

    return {
        "ok": report.ok,
        "dry_run": dry_run,
        "rows": len(report.rows),
        "imported": imported,
        "errors": [item(e) for e in report.errors],
        "warnings": [item(w) for w in report.warnings],
    }


async def import_people(request: web.Request) -> web.Response:
    """POST /api/desk/import/{detainees|correspondents}[?dry_run=1], body: the CSV file.

    Nothing is written unless the whole file is clean (and, for correspondents, every detainee
    exists); a dry run only reports."""
    kind = request.match_info["kind"]
    if kind not in ("detainees", "correspondents"):
        raise web.HTTPNotFound()
    directory: Directory = request.app[keys.DIRECTORY]
    dry_run = request.query.get("dry_run", "") in ("1", "true", "oui")
    data = await read_csv(request)
    lang = _lang(request)
    report: Any
    if kind == "detainees":
        report = await asyncio.to_thread(csv_import.parse_detainees, data)
        known = {d.number: d for d in await directory.detainees([r.number for r in report.rows])}
        missing = [r for r in report.rows if r.access_code is None and r.number not in known]
        errors = [
            csv_import.RowError(
                r.line,
                "code_acces",
                "csv.required",
                "Code d'accès obligatoire pour un nouveau détenu.",
                "Access code required for a new detainee.",
            )  # fmt: skip
            for r in missing
        ]
    else:
        report = await asyncio.to_thread(csv_import.parse_correspondents, data)
        numbers = sorted({r.detainee for r in report.rows})
        known = {d.number: d for d in await directory.detainees(numbers)}
        errors = [
            csv_import.RowError(
                r.line,
                "ecrou",
                "csv.unknown_detainee",
                f"Détenu {r.detainee} inconnu : importez d'abord les détenus.",
                f"Unknown detainee {r.detainee}: import the detainees first.",
            )  # fmt: skip
            for r in report.rows
            if r.detainee not in known
        ]
    if errors:
        report = replace(report, errors=tuple(sorted(report.errors + tuple(errors),
                                                     key=lambda e: e.line)))  # fmt: skip
    imported = 0
    if report.ok and not dry_run:
        imported = await _apply_people(kind, report.rows, known, directory)
    return web.json_response(report_json(report, lang, dry_run, imported))


async def _apply_people(
    kind: str, rows: tuple[Any, ...], known: dict[str, Detainee], directory: Directory
) -> int:
    if kind == "detainees":
        for r in rows:
            base = known.get(r.number) or Detainee(r.number, "", "", "")
            code_hash = (
                await asyncio.to_thread(hash_access_code, r.access_code)
                if r.access_code
                else base.code_hash
            )
            await directory.put_detainee(
                replace(base, first_name=r.first_name, last_name=r.last_name,
                        building=r.building, floor=r.floor, cell=r.cell, status=r.status,
                        code_hash=code_hash)
            )  # fmt: skip
        return len(rows)
    existing: dict[tuple[str, str], Correspondent] = {}
    for number in {r.detainee for r in rows}:
        for c in await directory.correspondents_of(number):
            existing[(number, c.phone)] = c
    for r in rows:
        old = existing.get((r.detainee, r.phone))
        consent_at = (
            datetime.combine(r.consent_on, datetime.min.time(), UTC).timestamp()
            if r.consent_on
            else None
        )
        await directory.put_correspondent(
            Correspondent(
                id=old.id if old else f"corr_{secrets.token_hex(5)}",
                detainee=r.detainee, name=r.name, phone=r.phone, relationship=r.relationship,
                status=r.status, minor=r.minor, consent_by=r.consent_by,
                consent_at=consent_at if r.consent_by else None, lawyer=r.lawyer,
            )
        )  # fmt: skip
    return len(rows)
