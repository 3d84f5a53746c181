"""Issue 19: ``/ws`` refuses a socket whose ``Origin`` is not one of the service's own
addresses (close 4403 ``signaling.bad_origin``), for kiosk, relative and staff sockets alike."""

from __future__ import annotations

import aiohttp

from gateway.core.roles import Role
from signaling import messages as m
from signaling.websocket import origin_allowed
from tests.staffkit import create_member, sign_in

from .callkit import Client, join, seeded, start_calling

EVIL = "http://evil.example"


def test_origin_rule() -> None:
    assert origin_allowed(None, "", "http", "127.0.0.1:8080")  # not a browser
    assert origin_allowed("http://127.0.0.1:8080", "", "http", "127.0.0.1:8080")
    assert origin_allowed("http://localhost:8080", "", "http", "localhost:8080")
    assert not origin_allowed(EVIL, "", "http", "127.0.0.1:8080")
    assert not origin_allowed("https://127.0.0.1:8080", "", "http", "127.0.0.1:8080")
    assert not origin_allowed("http://127.0.0.1:9999", "", "http", "127.0.0.1:8080")
    # Behind the proxy: the public address (any process of the cluster has the same config).
    public = "https://parloir.example"
    assert origin_allowed("https://parloir.example", public + "/", "https", "parloir.example")
    assert not origin_allowed(EVIL, public, "https", "parloir.example")
    # A name that is not public_url's (DNS rebinding: the Host follows the attacker's name).
    assert not origin_allowed(EVIL, public, "http", "evil.example")
    assert not origin_allowed(EVIL, "", "http", "evil.example")


async def hello_answer(base: str, token: str, origin: str, **kw: object) -> tuple[str, int | None]:
    """The first answer to a hello from a page at ``origin``, and the close code if closed."""
    async with aiohttp.ClientSession(**kw) as http:  # type: ignore[arg-type]
        ws = await http.ws_connect(base.replace("http", "ws") + "/ws", headers={"Origin": origin})
        try:
            await ws.send_json({"type": "hello", "token": token})
        except ConnectionResetError:
            pass
        msg = await ws.receive(timeout=10)
        first = msg.json()["type"] if msg.type == aiohttp.WSMsgType.TEXT else str(msg.extra)
        await ws.close()
        return first, ws.close_code


async def test_sockets_from_another_origin_are_refused(gateway_factory) -> None:
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    base = gateway.base_url
    async with aiohttp.ClientSession() as http:
        kiosk, relative = Client(base, http), Client(base, http)
        try:
            code, _ref = await start_calling(kiosk, gateway, demo)
            status, _ = await join(relative, code)
            assert status == 200
            for token in (kiosk.token, relative.token):
                assert await hello_answer(base, token, EVIL) == (
                    "signaling.bad_origin", m.FORBIDDEN_ORIGIN,
                )  # fmt: skip
            # The same tokens from the service's own page are welcome.
            first, _ = await hello_answer(base, relative.token, base)
            assert first == "welcome"
        finally:
            for c in (kiosk, relative):
                await c.close()
    # A staff member's socket (signed in, cookie sent): refused on the origin first.
    login, password = await create_member(gateway, list(Role))
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as staff:
        await sign_in(staff, base, login, password)
    assert await hello_answer(base, "x", EVIL, cookie_jar=jar) == (
        "signaling.bad_origin", m.FORBIDDEN_ORIGIN,
    )  # fmt: skip
    assert (await hello_answer(base, "x", base, cookie_jar=jar))[1] == m.UNAUTHORIZED
