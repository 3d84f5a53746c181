"""HTTP handlers of the kiosk login and the relative's code entry (JSON in, JSON out)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from gateway.core.codes import Outcome, code_minutes
from gateway.core.i18n import message, pick_lang
from gateway.core.lifecycle import Leg
from gateway.core.reasons import status as status_of
from gateway.http import appkeys as keys
from gateway.http.models import FieldError, JoinRequest, KioskLoginRequest, validate
from gateway.http.refusals import answer, error
from gateway.service.engine import CallEngine
from gateway.service.sms import mask_phone
from gateway.store.directory import Directory
from gateway.store.kiosks import credential_digest, credential_of
from gateway.store.sanctions import DetaineeSanctions
from gateway.store.tokens import RateLimiter, SlidingBudget, Tokens

MAX_BODY = 4096


def refusal(status: int, reason: str, lang: str, **values: object) -> web.Response:
    assert status == status_of(reason), reason
    return answer(reason, lang, **values)


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The whole body, refused with 413 past ``limit`` bytes (read in chunks: one ``read()``
    returns only what has arrived so far)."""
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
        chunks.append(chunk)
    return b"".join(chunks)


def load_json(raw: bytes) -> Any:
    """The JSON value of ``raw``, or None if no handler may use it: not JSON, nested past the
    recursion limit, or holding a lone surrogate ("\\ud800": no hash, encoding or Redis key
    takes it)."""
    try:
        data = json.loads(raw or b"null")
        json.dumps(data, ensure_ascii=False).encode()
    except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        return None
    return data


async def read_json(request: web.Request) -> dict[str, Any]:
    data = load_json(await read_limited(request, MAX_BODY))
    if not isinstance(data, dict):
        raise error("request.malformed", pick_lang(request.query.get("lang")))
    return data


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"


async def kiosk_login(request: web.Request) -> web.Response:
    app = request.app
    data = await read_json(request)
    lang = pick_lang(data.get("lang"), app[keys.CONFIG].lang)
    try:
        given = validate(KioskLoginRequest, data)
    except FieldError as exc:
        return refusal(400, exc.reason, lang)
    number, code = given.detainee, given.access_code
    if len(number) > 32 or len(code) > 64:
        return refusal(401, "kiosk.bad_credentials", lang)
    # Only an enrolled kiosk device may even try a detainee's access code.
    credential = credential_of(request.headers, request.cookies)
    kiosk = await app[keys.KIOSKS].kiosk_for(credential)
    if kiosk is None or credential is None:
        return refusal(401, "kiosk.not_enrolled", lang)
    limiter: RateLimiter = app[keys.KIOSK_LIMITER]
    engine: CallEngine = app[keys.ENGINE]
    if not await limiter.hit(number, engine.clock()):
        return refusal(429, "rate_limited", lang)
    directory: Directory = app[keys.DIRECTORY]
    detainee = await directory.check_login(number, code)
    if detainee is None:
        return refusal(401, "kiosk.bad_credentials", lang)
    now = engine.clock()
    booking = await directory.booking_due(number, kiosk, now)
    body: dict[str, Any] = {
        "detainee": {
            "number": detainee.number,
            "first_name": detainee.first_name,
            "last_name": detainee.last_name,
        },
        "booking": None,
        "message": message("kiosk.no_booking", lang),
    }
    account = await app[keys.LEDGER].account(detainee.number)
    body["account"] = {"balance_cents": account.balance, "available_cents": account.available}
    ttl = 3600
    if booking is not None and await DetaineeSanctions(app[keys.REDIS]).blocking(
        detainee.number, now, now + 1
    ):
        body["message"] = message("call.detainee_suspended", lang)
        booking = None
    if booking is not None:
        correspondent = await directory.correspondent(booking.correspondent)
        if correspondent is not None and correspondent.status == "authorised":
            body["booking"] = {
                "id": booking.id,
                "start": int(booking.start * 1000),
                "end": int(booking.end * 1000),
                "kiosk": booking.kiosk,
                "correspondent": {
                    "name": correspondent.name,
                    "relationship": correspondent.relationship,
                    "phone_masked": mask_phone(correspondent.phone),
                },
            }
            body["message"] = ""
            ttl = max(60, int(booking.end - now) + 600)
    tokens: Tokens = app[keys.TOKENS]
    claims = {
        "role": str(Leg.KIOSK),
        "detainee": detainee.number,
        "booking": booking.id if body["booking"] else None,
        "lang": lang,
        "kiosk": kiosk,
        "device": credential_digest(credential),
    }
    body["token"] = await tokens.issue(claims, ttl)
    body["ice_servers"] = app[keys.CONFIG].ice_servers(
        user=f"kiosk-{kiosk}", now=now, ttl=ttl
    )
    return web.json_response(body)


async def join(request: web.Request) -> web.Response:
    app = request.app
    data = await read_json(request)
    lang = pick_lang(data.get("lang"), app[keys.CONFIG].lang)
    try:
        given = validate(JoinRequest, data)
    except FieldError as exc:
        return refusal(400, exc.reason, lang)
    engine: CallEngine = app[keys.ENGINE]
    limiter: RateLimiter = app[keys.JOIN_LIMITER]
    if not await limiter.hit(client_address(request), engine.clock()):
        return refusal(429, "rate_limited", lang)
    code = given.code.strip().replace(" ", "")[:16]
    ref = (given.ref or "").strip()[:32] or None
    failures: SlidingBudget = app[keys.JOIN_FAILURES]
    # A code typed on the bare address may match any live code: wrong ones there share one
    # budget for the whole service. The SMS link (ref) has its own 5 tries per code.
    # Each try reserves a unit of the budget first (atomic under concurrency); a right code
    # gives it back.
    receipt = await failures.take("all", engine.clock()) if ref is None else None
    if ref is None and receipt is None:
        return refusal(429, "rate_limited", lang)
    outcome, call = await engine.join(code, ref)
    if ref is None and outcome is Outcome.ACCEPTED:
        assert receipt is not None
        await failures.give_back("all", receipt)
    if outcome is not Outcome.ACCEPTED or call is None:
        # Without the SMS link's reference, say nothing about whether a code exists.
        reason = str(outcome) if ref else str(Outcome.INVALID)
        minutes = code_minutes(app[keys.CONFIG].code_validity_seconds)
        return refusal(403, reason, lang, minutes=minutes)
    # The call may be owned by another process: ``call`` is what its owner answered.
    tokens: Tokens = app[keys.TOKENS]
    ttl = int(max(60.0, call.booking_end - engine.clock()) + 600)
    token = await tokens.issue({"role": str(Leg.RELATIVE), "call": call.id, "lang": lang}, ttl)
    ice = app[keys.CONFIG].ice_servers(user=f"call-{call.id}", now=engine.clock(), ttl=ttl)
    return web.json_response(
        {
            "token": token,
            "call": {"id": call.id, "detainee_name": call.detainee_name},
            "ice_servers": ice,
        }
    )
