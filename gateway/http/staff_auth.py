"""Who is asking: the staff session behind a request, and the check of every route.

The middleware looks up the permission the matched route needs (:mod:`gateway.core.roles`), then:
public routes pass; staff routes need a live session whose roles grant it (401 without one,
a page is redirected to the sign-in page instead; 403 without the right); a state-changing
request also needs the session's CSRF token in ``X-CSRF-Token`` and, when the browser sends
one, an ``Origin`` of this very site. A route that nobody classified is refused to everyone.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any
from urllib.parse import quote

from aiohttp import web

from gateway.core.roles import Perm, allowed, required
from gateway.http import appkeys as keys
from gateway.http.refusals import error, lang_of
from gateway.store.staff import StaffMember, StaffSession

log = logging.getLogger(__name__)

COOKIE = "parloir_staff"
SECURE_COOKIE = "__Host-parloir_staff"  # over HTTPS: Secure, whole site, no Domain
CSRF_HEADER = "X-CSRF-Token"
MEMBER = web.RequestKey("parloir_staff_member", StaffMember)
SESSION = web.RequestKey("parloir_staff_session", StaffSession)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# What a member whose password an administrator set may still do: change it, or leave.
FIRST_SIGN_IN = {
    ("GET", "/api/staff/me"),
    ("HEAD", "/api/staff/me"),
    ("POST", "/api/staff/password"),
    ("POST", "/api/staff/logout"),
}


def is_secure(request: web.Request) -> bool:
    # request.scheme is already the client's when a trusted proxy said so (gateway.http.forwarded).
    return request.scheme == "https"


def session_token(request: web.Request) -> str:
    return request.cookies.get(SECURE_COOKIE) or request.cookies.get(COOKIE) or ""


def set_session_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    secure = is_secure(request)
    response.set_cookie(
        SECURE_COOKIE if secure else COOKIE,
        token,
        path="/",
        httponly=True,
        secure=secure,
        samesite="Strict",
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    for name in (COOKIE, SECURE_COOKIE):
        response.del_cookie(name, path="/")


def refusal(reason: str, request: web.Request, variant: str = "") -> web.HTTPError:
    """The refusal ``reason`` of the table, to raise, in the request's language."""
    return error(reason, lang_of(request), variant)


def member(request: web.Request) -> StaffMember:
    """The signed-in member (the middleware guarantees one on every staff route)."""
    return request[MEMBER]


def actor(request: web.Request) -> str:
    """How the member acting is written on bookings and in the audit log."""
    return member(request).signature


def _is_page(request: web.Request, canonical: str) -> bool:
    return request.method in ("GET", "HEAD") and not canonical.startswith("/api/")


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser's cross-site request: the CSRF token decides
    return origin == f"{request.scheme}://{request.host}"


@web.middleware
async def staff_auth(request: web.Request, handler: Any) -> web.StreamResponse:
    resource = request.match_info.route.resource
    if resource is None:  # 404 / 405: let aiohttp answer
        return await handler(request)
    canonical = resource.canonical
    perm = required(request.method, canonical)
    if perm is None:
        log.error(
            "route %s %s is not in gateway.core.roles.ROUTES: refused", request.method, canonical
        )
        raise refusal("route.unclassified", request)
    if perm is Perm.PUBLIC:
        return await handler(request)
    accounts = request.app[keys.STAFF]
    found = await accounts.session(session_token(request), request.app[keys.ENGINE].clock())
    if found is None:
        if _is_page(request, canonical):
            raise web.HTTPSeeOther("/connexion?suite=" + quote(request.path_qs, safe=""))
        raise refusal("staff.login_required", request)
    session, who = found
    if who.must_change and (request.method, canonical) not in FIRST_SIGN_IN:
        # A password an administrator chose (and knows): the member replaces it first.
        if _is_page(request, canonical):
            raise web.HTTPSeeOther(
                "/connexion?changer=1&suite=" + quote(request.path_qs, safe="")
            )
        raise refusal("staff.password_change_required", request)
    if not allowed(who.roles, perm):
        if _is_page(request, canonical):
            raise web.HTTPSeeOther("/connexion?interdit=" + quote(request.path, safe=""))
        raise refusal("staff.forbidden", request)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), session.csrf.encode()) or not _same_origin(
            request
        ):
            raise refusal("staff.csrf", request)
    request[MEMBER] = who
    request[SESSION] = session
    return await handler(request)


def session_of(request: web.Request) -> StaffSession:
    return request[SESSION]
