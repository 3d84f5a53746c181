"""HTTP handlers: staff sign-in and sessions, the administrator's accounts and kiosks, and the
kiosk's enrolment. Every route's permission is in :mod:`gateway.core.roles`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.core.roles import ROLE_LABELS, ROUTES, Perm, Role, home_page, permissions
from gateway.http import appkeys as keys
from gateway.http.desk_api import BadRequest, body, parsed
from gateway.http.models import (
    FieldError,
    KioskEnrolRequest,
    M,
    PasswordRequest,
    StaffCreateRequest,
    StaffLoginRequest,
    StaffUpdateRequest,
    validate,
)
from gateway.http.refusals import answer, error, lang_of
from gateway.http.staff_auth import (
    actor,
    clear_session_cookie,
    is_secure,
    member,
    refusal,
    session_of,
    session_token,
    set_session_cookie,
)
from gateway.store.kiosks import CREDENTIAL_COOKIE, KioskRegistry
from gateway.store.staff import StaffAccounts, StaffError, check_password


def _refuse(request: web.Request, reason: str) -> web.Response:
    return answer(reason, lang_of(request))


async def _validated(request: web.Request, model: type[M]) -> M:
    """The body as ``model``, its ``staff.*`` refusals (all ``400``) with the table's
    sentences."""
    try:
        return validate(model, await body(request))
    except FieldError as exc:
        raise BadRequest(exc.reason, exc.fr, exc.en) from None


def _now(request: web.Request) -> float:
    return request.app[keys.ENGINE].clock()


def _address(request: web.Request) -> str:
    return request.remote or "unknown"


def _pages(roles: Any) -> tuple[list[str], list[str]]:
    """The staff pages this member may open, and those they may not (links to hide)."""
    granted = permissions(roles)
    pages = sorted(
        (path, perm)
        for (method, path), perm in ROUTES.items()
        if method == "GET" and not path.startswith(("/api/", "/static"))
        and perm not in (Perm.PUBLIC, Perm.STAFF)
    )  # fmt: skip
    return (
        [path for path, perm in pages if perm in granted],
        [path for path, perm in pages if perm not in granted],
    )


# ------------------------------------------------------------------------ sessions


async def login(request: web.Request) -> web.Response:
    """POST /api/staff/login {login, password}: opens a session in an HttpOnly cookie."""
    given = parsed(request, StaffLoginRequest)
    name, password = given.login, given.password
    now = _now(request)
    if not await request.app[keys.STAFF_LOGIN_LIMITER].hit(_address(request), now):
        raise refusal("rate_limited", request, "staff")
    accounts: StaffAccounts = request.app[keys.STAFF]
    try:
        who = await accounts.authenticate(name, password)
    except StaffError as exc:
        if exc.reason == "staff.bad_credentials":
            failures = await accounts.failures(name)
            if failures == accounts.failures_allowed:
                await request.app[keys.AUDIT].record(
                    name[:64], "staff.locked", name[:64], now, address=_address(request)
                )
        return _refuse(request, exc.reason)
    token, session = await accounts.open_session(who, now)
    await request.app[keys.AUDIT].record(
        who.signature, "staff.login", who.login, now, address=_address(request)
    )
    response = web.json_response(
        {**who.public(), "csrf": session.csrf, "home": home_page(who.roles)}
    )
    set_session_cookie(response, request, token)
    return response


async def logout(request: web.Request) -> web.Response:
    await request.app[keys.STAFF].close_session(session_token(request))
    response = web.json_response({"signed_out": True})
    clear_session_cookie(response)
    return response


async def me(request: web.Request) -> web.Response:
    """GET /api/staff/me: who is signed in, their roles, pages, and the CSRF token."""
    who, session = member(request), session_of(request)
    lang = 1 if request.query.get("lang") == "en" else 0
    pages, denied = _pages(who.roles)
    return web.json_response(
        {
            **who.public(),
            "role_labels": [ROLE_LABELS[r][lang] for r in who.roles],
            "csrf": session.csrf,
            "expires": int(session.expires * 1000),
            "idle_seconds": request.app[keys.STAFF].idle_seconds,
            "home": home_page(who.roles),
            "pages": pages,
            "denied_pages": denied,
            "permissions": sorted(p for p in permissions(who.roles) if p != Perm.PUBLIC),
        }
    )


async def change_password(request: web.Request) -> web.Response:
    """POST /api/staff/password {current, new}: every other session of the member ends."""
    given = parsed(request, PasswordRequest)
    current, new = given.current, given.new
    accounts: StaffAccounts = request.app[keys.STAFF]
    who = member(request)
    try:
        await accounts.authenticate(who.login, current)
        if new == current:
            raise StaffError("staff.same_password")
        await accounts.set_password(who.login, new)
    except StaffError as exc:
        return _refuse(request, exc.reason)
    now = _now(request)
    token, session = await accounts.open_session(who, now)
    await request.app[keys.AUDIT].record(who.signature, "staff.password", who.login, now)
    response = web.json_response({"changed": True, "csrf": session.csrf})
    set_session_cookie(response, request, token)
    return response


# ------------------------------------------------------------------------ administrator


async def list_staff(request: web.Request) -> web.Response:
    members = await request.app[keys.STAFF].all()
    return web.json_response(
        {
            "staff": [m.public() for m in members],
            "roles": [
                {"id": str(r), "fr": ROLE_LABELS[r][0], "en": ROLE_LABELS[r][1]} for r in Role
            ],
        }
    )


async def create_staff(request: web.Request) -> web.Response:
    """POST /api/admin/staff {login, name, roles, password}."""
    given = await _validated(request, StaffCreateRequest)
    try:
        created = await request.app[keys.STAFF].create(
            given.login, given.name, given.roles or [], given.password, actor(request),
            _now(request), must_change=True,
        )  # fmt: skip
    except StaffError as exc:
        return _refuse(request, exc.reason)
    await request.app[keys.AUDIT].record(
        actor(request), "staff.create", created.login, _now(request),
        roles=",".join(created.roles),
    )  # fmt: skip
    return web.json_response(created.public(), status=201)


async def update_staff(request: web.Request) -> web.Response:
    """POST /api/admin/staff/{login} {roles?, active?, name?, password?}."""
    given = await _validated(request, StaffUpdateRequest)
    roles, active, name, password = given.roles, given.active, given.name or None, given.password
    accounts: StaffAccounts = request.app[keys.STAFF]
    login = request.match_info["login"]
    try:
        if password:
            check_password(password)  # before any change: a refusal changes nothing
        updated = await accounts.update(login, roles=roles, active=active, name=name)
        if password:
            await accounts.set_password(updated.login, password, must_change=True)
    except StaffError as exc:
        return _refuse(request, exc.reason)
    details = {"roles": ",".join(updated.roles), "active": str(updated.active).lower()}
    if password:
        details["password"] = "reset"
    await request.app[keys.AUDIT].record(
        actor(request), "staff.update", updated.login, _now(request), **details
    )
    return web.json_response(updated.public())


def _kiosk_id(request: web.Request) -> str:
    kiosk = request.match_info["kiosk"]
    if kiosk not in request.app[keys.DESK].establishment.rooms:
        raise error("kiosk.unknown", lang_of(request))
    return kiosk


async def list_kiosks(request: web.Request) -> web.Response:
    registry: KioskRegistry = request.app[keys.KIOSKS]
    rooms = request.app[keys.DESK].establishment.rooms
    kiosks = [{"id": k, "room": room, **await registry.state(k)} for k, room in rooms.items()]
    return web.json_response({"kiosks": kiosks})


async def enrol_kiosk(request: web.Request) -> web.Response:
    """POST /api/admin/kiosks/{kiosk}/enrol: a one-time code to type on the kiosk."""
    kiosk = _kiosk_id(request)
    now = _now(request)
    code = await request.app[keys.KIOSKS].start_enrolment(kiosk, actor(request), now)
    await request.app[keys.AUDIT].record(actor(request), "kiosk.enrol_start", kiosk, now)
    return web.json_response(
        {"kiosk": kiosk, "code": code, "expires_in": 30 * 60, "url": "/kiosk/enrolement"},
        status=201,
    )


async def revoke_kiosk(request: web.Request) -> web.Response:
    kiosk = _kiosk_id(request)
    now = _now(request)
    await request.app[keys.KIOSKS].revoke(kiosk, actor(request), now)
    await request.app[keys.AUDIT].record(actor(request), "kiosk.revoke", kiosk, now)
    return web.json_response({"kiosk": kiosk, **await request.app[keys.KIOSKS].state(kiosk)})


# ------------------------------------------------------------------------ the kiosk itself


async def kiosk_enrol(request: web.Request) -> web.Response:
    """POST /api/kiosk/enrol {code}: the kiosk's browser gets its device credential cookie."""
    given = parsed(request, KioskEnrolRequest)
    lang = "en" if given.lang == "en" else "fr"
    code = given.code
    now = _now(request)
    if not await request.app[keys.ENROL_LIMITER].hit(_address(request), now):
        raise refusal("rate_limited", request, "staff")
    redeemed = await request.app[keys.KIOSKS].redeem(code, now)
    if redeemed is None:
        return answer("kiosk.bad_enrolment_code", lang)
    kiosk, credential = redeemed
    await request.app[keys.AUDIT].record("parloir", "kiosk.enrol", kiosk, now)
    room = request.app[keys.DESK].establishment.rooms.get(kiosk, "")
    response = web.json_response({"kiosk": kiosk, "room": room})
    response.set_cookie(
        CREDENTIAL_COOKIE,
        credential,
        path="/",
        max_age=5 * 365 * 86400,
        httponly=True,
        secure=is_secure(request),
        samesite="Strict",
    )
    return response
