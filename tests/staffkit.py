"""Signed-in staff for the tests: real accounts, the real sign-in route, the real cookie and
CSRF token (no shortcut around the authentication being tested elsewhere)."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import aiohttp

from gateway.cli import Running
from gateway.core.roles import Role
from gateway.http import appkeys as keys

# Every role but the administrator's: the functional tests act as one member who may do all
# the establishment's work; tests/test_authorization.py separates the roles.
ALL_WORK = (Role.ACTIVITIES, Role.FLOOR, Role.MONITORING, Role.ACCOUNTS, Role.HEAD)


async def create_member(
    gateway: Running, roles: Iterable[Role] = ALL_WORK, login: str = "", name: str = ""
) -> tuple[str, str]:
    """A new account; returns (login, password)."""
    login = login or f"agent{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(12)
    await gateway.app[keys.STAFF].create(
        login, name or f"Agent {login}", list(roles), password, "test", time.time()
    )
    return login, password


async def sign_in(http: aiohttp.ClientSession, base: str, login: str, password: str) -> str:
    """Sign in through the API; the cookie lands in the jar; returns the CSRF token."""
    async with http.post(
        base + "/api/staff/login", json={"login": login, "password": password}
    ) as resp:
        body = await resp.json()
        assert resp.status == 200, body
        return str(body["csrf"])


@asynccontextmanager
async def staff_http(
    gateway: Running, roles: Iterable[Role] = ALL_WORK, name: str = "", login: str = ""
) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP session signed in as a new member with ``roles``, sending its CSRF token."""
    login, password = await create_member(gateway, roles, login=login, name=name)
    # unsafe=True: the test gateways are addressed by IP, where aiohttp keeps no cookie else.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await sign_in(http, gateway.base_url, login, password)
        http.headers["X-CSRF-Token"] = csrf
        yield http
