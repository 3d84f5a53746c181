"""The authorization matrix, called for real: every HTTP route of the application by every role
and by no one, and every signaling message by every kind of participant.

The expected answer comes from ``gateway.core.roles`` (the same matrix the README prints): a route
a role may use must never answer 401/403 for the role's sake, one it may not must answer
exactly 403 ``staff.forbidden`` (a page: a redirect to the sign-in page saying so), and no one
signed in gets 401 ``staff.login_required`` (a page: a redirect to sign in). Every state-changing
staff request without the session's CSRF token, or from another site, gets 403 ``staff.csrf``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.core.roles import GRANTS, ROUTES, Perm, Role, matrix_markdown, required
from gateway.http import appkeys as keys
from tests.callkit import Client, join, kiosk_login, seeded, start_calling, wait_until
from tests.staffkit import create_member, sign_in

SAMPLE = {
    "number": "100042",
    "cid": "corr_demo",
    "call": "call_0000",
    "side": "kiosk",
    "kind": "detainees",
    "phone": "+33600000000",
    "login": "nobody",
    "kiosk": "kiosk-1",
}
IDENTITIES: list[Role | None] = [None, *Role]


def _url(canonical: str, booking: str) -> str:
    path = canonical
    for name, value in {**SAMPLE, "bid": booking}.items():
        path = path.replace("{" + name + "}", value)
    return path


def _is_page(method: str, canonical: str) -> bool:
    return method == "GET" and not canonical.startswith("/api/")


async def _answer(resp: aiohttp.ClientResponse) -> tuple[int, str, str]:
    reason = ""
    if resp.content_type == "application/json":
        body = await resp.json()
        reason = body.get("reason", "") if isinstance(body, dict) else ""
    return resp.status, reason, resp.headers.get("Location", "")


# The words, role by role: the matrix in gateway.core.roles must say exactly this.
EXPECTED = {
    Role.ACTIVITIES: {Perm.DESK_VIEW, Perm.BOOK, Perm.MOVEMENTS},
    Role.FLOOR: {Perm.MOVEMENTS},
    Role.MONITORING: {Perm.MONITOR, Perm.RECORDINGS},
    Role.ACCOUNTS: {Perm.ACCOUNTS_READ, Perm.ACCOUNTS},
    Role.HEAD: {Perm.DESK_VIEW, Perm.MOVEMENTS, Perm.PEOPLE, Perm.RECORDINGS, Perm.LEGAL_HOLD,
                Perm.AUDIT, Perm.ACCOUNTS_READ, Perm.REFUNDS, Perm.SANCTIONS, Perm.EXTENSIONS},
    Role.ADMIN: {Perm.ADMIN},
}  # fmt: skip


def test_the_matrix_is_the_one_decided_and_the_readme_prints_it() -> None:
    assert {role: set(perms) for role, perms in GRANTS.items()} == EXPECTED
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert matrix_markdown() in readme


def test_every_route_is_classified_and_every_role_has_a_use() -> None:
    assert all(GRANTS[role] for role in Role)
    assert required("HEAD", "/desk") is Perm.DESK_VIEW
    assert required("DELETE", "/desk") is None  # anything unlisted is refused


async def test_every_route_by_every_role(gateway_factory) -> None:
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    base = gateway.base_url
    routed = {
        (route.method, route.resource.canonical)
        for route in gateway.app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    assert routed == set(ROUTES), (routed - set(ROUTES), set(ROUTES) - routed)
    # Log out last: it ends the session the other calls use.
    order = sorted(routed, key=lambda r: (r[1] == "/api/staff/logout", r))
    checked = 0
    for identity in IDENTITIES:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            headers: dict[str, str] = {}
            granted: frozenset[Perm] = frozenset({Perm.PUBLIC})
            if identity is not None:
                login, password = await create_member(gateway, [identity])
                headers["X-CSRF-Token"] = await sign_in(http, base, login, password)
                granted = GRANTS[identity] | {Perm.PUBLIC, Perm.STAFF}
            for method, canonical in order:
                if canonical == "/ws":
                    continue  # the signaling socket: see the test below
                perm = ROUTES[(method, canonical)]
                url = base + _url(canonical, demo["booking"])
                kwargs: dict[str, Any] = {"headers": headers, "allow_redirects": False}
                if method == "POST":
                    kwargs["json"] = {}
                async with http.request(method, url, **kwargs) as resp:
                    status, reason, location = await _answer(resp)
                where = (str(identity), method, canonical, status, reason, location)
                assert status < 500, where
                if perm is Perm.PUBLIC:
                    assert not reason.startswith("staff."), where
                elif identity is None:
                    if _is_page(method, canonical):
                        assert status == 303 and location.startswith("/connexion?suite="), where
                    else:
                        assert (status, reason) == (401, "staff.login_required"), where
                elif perm not in granted:
                    if _is_page(method, canonical):
                        assert status == 303 and location.startswith("/connexion?interdit="), where
                    else:
                        assert (status, reason) == (403, "staff.forbidden"), where
                else:
                    assert status not in (401, 403) or not reason.startswith("staff."), where
                    assert not location.startswith("/connexion"), where
                checked += 1
    assert checked == len(IDENTITIES) * (len(routed) - 1)


async def test_csrf_token_and_origin_are_required_on_every_staff_write(gateway_factory) -> None:
    gateway = await gateway_factory(staff_logins_per_minute=1000)  # one sign-in per route
    demo = await seeded(gateway)
    base = gateway.base_url
    writes = [
        (m, c) for (m, c), perm in ROUTES.items()
        if m == "POST" and perm is not Perm.PUBLIC and c != "/api/staff/logout"
    ]  # fmt: skip
    assert len(writes) > 20
    for method, canonical in writes:
        perm = ROUTES[(method, canonical)]
        role = next(r for r in Role if perm in GRANTS[r] or perm is Perm.STAFF)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            login, password = await create_member(gateway, [role])
            token = await sign_in(http, base, login, password)
            url = base + _url(canonical, demo["booking"])
            for headers in (
                {},  # no token
                {"X-CSRF-Token": ("y" if token[0] == "x" else "x") + token[1:]},  # a wrong one
                {"X-CSRF-Token": token, "Origin": "https://evil.example"},  # another site
            ):
                async with http.post(url, json={}, headers=headers) as resp:
                    answer = await _answer(resp)
                assert answer[:2] == (403, "staff.csrf"), (canonical, headers, answer)
            # The same request with the token and this site's origin passes the check.
            ok_headers = {"X-CSRF-Token": token, "Origin": base}
            async with http.post(url, json={}, headers=ok_headers) as resp:
                answer = await _answer(resp)
            assert answer[1] != "staff.csrf", (canonical, answer)


async def _first_close(base: str, messages: list[dict[str, Any]], **kw: Any) -> tuple[Any, ...]:
    """Send ``messages`` on a new socket; what came back and how it closed."""
    async with aiohttp.ClientSession(**kw) as http:
        ws = await http.ws_connect(base.replace("http", "ws") + "/ws")
        for msg in messages:
            await ws.send_json(msg)
        got = []
        async for frame in ws:
            if frame.type == aiohttp.WSMsgType.TEXT:
                got.append(frame.json()["type"])
                if len(got) >= len(messages):
                    break
        code = ws.close_code
        await ws.close()
        return tuple(got), code


async def test_every_signaling_message_by_every_participant(gateway_factory) -> None:
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    base = gateway.base_url
    kinds = [{"type": "call"}, {"type": "offer", "sdp": "v=0"}, {"type": "hangup"},
             {"type": "ping"}]  # fmt: skip
    # No one, and a signed-in staff member (staff never take part in a call): 4401 whatever
    # they send first, a made-up token included.
    login, password = await create_member(gateway, list(Role))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as staff:
        await sign_in(staff, base, login, password)
        cookies = staff.cookie_jar
        for first in [*kinds, {"type": "hello", "token": "made-up"}]:
            assert (await _first_close(base, [first]))[1] == 4401, first
            _got, code = await _first_close(base, [first], cookie_jar=cookies)
            assert code == 4401, first

    async with aiohttp.ClientSession() as http:
        kiosk, relative = Client(base, http), Client(base, http)
        try:
            # The kiosk: ping, call; a second hello is out of order.
            code, _ref = await start_calling(kiosk, gateway, demo)
            await kiosk.send({"type": "ping"})
            await kiosk.expect("pong")
            status, _ = await join(relative, code)
            assert status == 200
            # The relative: ping yes; "call" is the kiosk's (4409); a second hello neither.
            await relative.connect()
            await relative.send({"type": "ping"})
            await relative.expect("pong")
            for msg in ({"type": "call"}, {"type": "hello", "token": relative.token}):
                got, close = await _first_close(
                    base, [{"type": "hello", "token": relative.token}, msg]
                )
                assert got[:1] == ("welcome",) and close == 4409, (msg, got, close)
            got, close = await _first_close(
                base, [{"type": "hello", "token": kiosk.token}, {"type": "hello", "token": "x"}]
            )
            assert got[:1] == ("welcome",) and close == 4409
            # Those sockets took the kiosk's leg over (one socket per leg): it comes back.
            await wait_until(lambda: kiosk.close_code is not None)
            assert kiosk.close_code == 4410
            while not kiosk.inbox.empty():  # the old socket's last words
                kiosk.inbox.get_nowait()
            kiosk.close_code = None
            await kiosk.connect()
            # A revoked kiosk: its session token no longer opens the socket, nor starts a call.
            await gateway.app[keys.KIOSKS].revoke(gateway.config.kiosk_id, "test", time.time())
            got, close = await _first_close(base, [{"type": "hello", "token": kiosk.token}])
            assert close == 4401, (got, close)
            await kiosk.send({"type": "call"})  # the socket opened before: no new call from it
            refused = await kiosk.expect("error")
            assert refused["reason"] == "kiosk.not_enrolled"
            relogin = Client(base, http)
            with pytest.raises(AssertionError, match="kiosk.not_enrolled"):
                await kiosk_login(relogin, demo["detainee"], demo["access_code"])
        finally:
            await kiosk.close()
            await relative.close()
