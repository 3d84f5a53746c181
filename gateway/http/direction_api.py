"""The head of the prison's API: sanctions on phone numbers and on detainees, longer calls
(each one in the audit log)."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp import web

from gateway.core.records import to_e164
from gateway.http import appkeys as keys
from gateway.http import models
from gateway.http.desk_api import BadRequest, parse_day, parsed
from gateway.http.refusals import error, lang_of
from gateway.http.staff_auth import actor
from gateway.store.bookings import DeskError
from gateway.store.sanctions import (
    DetaineeSanction,
    DetaineeSanctions,
    NumberSanction,
    Sanctions,
)


def sanction_json(s: NumberSanction, now: float) -> dict[str, object]:
    return {"phone": s.phone, "since": int(s.since * 1000), "until": int(s.until * 1000),
            "reason": s.reason, "by": s.by, "active": s.active(now)}  # fmt: skip


async def list_sanctions(request: web.Request) -> web.Response:
    now = request.app[keys.ENGINE].clock()
    found = await Sanctions(request.app[keys.REDIS]).numbers()
    return web.json_response([sanction_json(s, now) for s in found])


async def sanction_number(request: web.Request) -> web.Response:
    """POST /api/direction/sanctions {phone, until: YYYY-MM-DD (included), reason, staff}."""
    data = parsed(request, models.SanctionRequest)
    staff = actor(request)
    reason = data.reason
    phone = to_e164(data.phone)
    zone = request.app[keys.DESK].establishment.zone
    now = request.app[keys.ENGINE].clock()
    last = parse_day(data.until, datetime.fromtimestamp(now, zone).date())
    until = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone).timestamp()
    if until <= now:
        raise BadRequest("field.until", variant="past")
    sanction = await Sanctions(request.app[keys.REDIS]).sanction_number(
        phone, now, until, reason, staff
    )
    await request.app[keys.AUDIT].record(
        staff, "sanction.number", phone, now, until=last.isoformat(), reason=reason
    )
    return web.json_response(sanction_json(sanction, now), status=201)


async def lift_sanction(request: web.Request) -> web.Response:
    staff = actor(request)
    phone = to_e164(request.match_info["phone"])
    now = request.app[keys.ENGINE].clock()
    sanctions = Sanctions(request.app[keys.REDIS])
    if await sanctions.number(phone) is None:
        raise web.HTTPNotFound()
    await sanctions.lift_number(phone, now, staff)
    await request.app[keys.AUDIT].record(staff, "sanction.lift", phone, now)
    sanction = await sanctions.number(phone)
    assert sanction is not None
    return web.json_response(sanction_json(sanction, now))


async def extend_booking(request: web.Request) -> web.Response:
    """POST /api/direction/bookings/{bid}/extend {minutes, staff, reason}: a longer call."""
    data = parsed(request, models.ExtendRequest)
    staff = actor(request)
    reason, minutes = data.reason, data.minutes
    app = request.app
    now = app[keys.ENGINE].clock()
    booking = await app[keys.DESK].extend(
        request.match_info["bid"], minutes * 60, staff, reason, now
    )
    # The booking's live call, on whichever process owns it.
    call_id = await app[keys.ENGINE].extend_live(booking.id, booking.max_seconds)
    await app[keys.AUDIT].record(
        staff, "booking.extend", booking.id, now, minutes=str(minutes), reason=reason
    )
    return web.json_response(
        {"booking": booking.id, "max_seconds": booking.max_seconds, "hold": booking.hold,
         "live_call": call_id}
    )  # fmt: skip


def detainee_sanction_json(s: DetaineeSanction, now: float) -> dict[str, object]:
    return {
        "detainee": s.number, "scope": s.scope, "kind": s.kind, "since": int(s.since * 1000),
        "until": None if s.until == float("inf") else int(s.until * 1000),
        "reason": s.reason, "by": s.by, "active": s.active(now),
    }  # fmt: skip


async def list_detainee_sanctions(request: web.Request) -> web.Response:
    now = request.app[keys.ENGINE].clock()
    found = await DetaineeSanctions(request.app[keys.REDIS]).all()
    return web.json_response([detainee_sanction_json(s, now) for s in found])


async def sanction_detainee(request: web.Request) -> web.Response:
    """POST /api/direction/detainees/{number}/sanctions {scope: video|phone, from?, until?,
    reason}: a suspension between two dates (included), or a withdrawal without ``until``."""
    given = parsed(request, models.DetaineeSanctionRequest)
    staff, reason, scope = actor(request), given.reason, given.scope
    number = request.match_info["number"]
    if await request.app[keys.DIRECTORY].detainee(number) is None:
        raise DeskError("booking.unknown_detainee")
    zone = request.app[keys.DESK].establishment.zone
    now = request.app[keys.ENGINE].clock()
    today = datetime.fromtimestamp(now, zone).date()
    first = parse_day(given.since or None, today)
    since = max(now, datetime.combine(first, datetime.min.time(), zone).timestamp())
    raw_until = given.until
    until = float("inf")
    if raw_until:
        last = parse_day(raw_until, today)
        until = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone).timestamp()
        if until <= since:
            raise BadRequest("field.until", variant="before_start")
    sanction = await DetaineeSanctions(request.app[keys.REDIS]).sanction(
        number, scope, since, until, reason, staff
    )
    await request.app[keys.AUDIT].record(
        staff, "sanction.detainee", number, now, scope=scope, kind=sanction.kind,
        until=raw_until or "", reason=reason,
    )  # fmt: skip
    return web.json_response(detainee_sanction_json(sanction, now), status=201)


async def lift_detainee_sanction(request: web.Request) -> web.Response:
    staff = actor(request)
    number = request.match_info["number"]
    now = request.app[keys.ENGINE].clock()
    lifted = await DetaineeSanctions(request.app[keys.REDIS]).lift(number, now, staff)
    if lifted is None:
        raise error("sanction.not_found", lang_of(request))
    await request.app[keys.AUDIT].record(staff, "sanction.detainee_lift", number, now)
    return web.json_response(detainee_sanction_json(lifted, now))
