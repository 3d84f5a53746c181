"""The staff navigation, rendered once by web/static/staff-kit.js from /api/staff/me, in
headless Chromium against a real gateway and Redis.

Members with different roles sign in: each sees exactly the staff pages their roles open (the
lists below are written out by hand from the service note's split of the work, not computed
from the matrix the server uses), in the navigation's order, with the page shown marked
aria-current="page"; every link opens its page (200, not the sign-in page), where the
navigation is the same. The links are reached with Tab and followed with Enter, and the
language toggle renames them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import expect

from gateway.core.roles import Role

from .browser import chromium, screenshot, signed_in_context

DESKTOP = {"width": 1280, "height": 800}

DESK = ["/desk", "/desk/jour", "/desk/mouvements", "/desk/charte"]
EXPECTED: dict[tuple[Role, ...], list[str]] = {
    (Role.ACTIVITIES,): DESK,
    (Role.FLOOR,): ["/desk/mouvements"],
    (Role.MONITORING,): ["/monitor", "/enregistrements"],
    (Role.ACCOUNTS,): ["/regie"],
    (Role.HEAD,): [*DESK, "/desk/import", "/enregistrements", "/audit", "/direction", "/regie"],
    (Role.ADMIN,): ["/admin"],
    (Role.MONITORING, Role.ACCOUNTS): ["/monitor", "/enregistrements", "/regie"],
}

NAV_JS = """() => Array.from(document.querySelectorAll('#staff-nav a')).map((a) => ({
  path: new URL(a.href).pathname, text: a.textContent, current: a.getAttribute('aria-current'),
}))"""


async def _nav(page: Any) -> list[dict[str, Any]]:
    await page.wait_for_selector("#staff-nav a")
    return list(await page.evaluate(NAV_JS))


def _watch(page: Any, problems: list[str]) -> None:
    def console(msg: Any) -> None:
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            problems.append(f"{page.url}: console: {msg.text}")

    page.on("pageerror", lambda exc: problems.append(f"{page.url}: pageerror: {exc}"))
    page.on("console", console)


@pytest.mark.parametrize("roles", list(EXPECTED), ids=lambda r: "+".join(r))
async def test_the_navigation_shows_exactly_the_pages_the_roles_open(
    gateway_factory: Any, roles: tuple[Role, ...]
) -> None:
    gateway = await gateway_factory()
    base = gateway.base_url
    expected = EXPECTED[roles]
    problems: list[str] = []
    async with chromium() as browser:
        ctx = await signed_in_context(browser, gateway, roles=list(roles), viewport=DESKTOP)
        page = await ctx.new_page()
        _watch(page, problems)
        for path in expected:
            response = await page.goto(base + path)
            assert response is not None and response.status == 200, path
            assert urlsplit(page.url).path == path, f"{path} went to {page.url}"
            nav = await _nav(page)
            assert [link["path"] for link in nav] == expected, path
            assert [link["path"] for link in nav if link["current"] == "page"] == [path]
            assert all(link["current"] in (None, "page") for link in nav)
            # One staff navigation: the copies that were in the HTML are gone.
            assert await page.locator("nav:has(a[href^='/'])").count() == 1, path
        await screenshot(page, "staff-nav-" + "-".join(roles))
        await ctx.close()
    assert not problems, problems


async def test_the_navigation_by_keyboard_and_in_english(gateway_factory: Any) -> None:
    gateway = await gateway_factory()
    base = gateway.base_url
    problems: list[str] = []
    async with chromium() as browser:
        ctx = await signed_in_context(browser, gateway, roles=[Role.HEAD], viewport=DESKTOP)
        page = await ctx.new_page()
        _watch(page, problems)
        await page.goto(base + "/direction")
        nav = await _nav(page)
        # Without the booking permission the desk is the detainees' files.
        assert nav[0] == {"path": "/desk", "text": "Dossiers", "current": None}
        assert await page.get_attribute("#staff-nav", "aria-label") == "Pages des agents"

        # Tab: the skip link, then the navigation's first link; Enter follows it.
        await page.keyboard.press("Tab")
        await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement.getAttribute('href')")
        assert focused == "/desk"
        await page.keyboard.press("Enter")
        await page.wait_for_url(base + "/desk")
        await expect(page.locator("#staff-nav a[aria-current='page']")).to_have_text("Dossiers")

        # The language toggle renames the links and the navigation's label.
        await page.click("#lang-toggle")
        await expect(page.locator("#staff-nav a[aria-current='page']")).to_have_text("Files")
        await expect(page.locator("#staff-nav a[href='/direction']")).to_have_text(
            "Sanctions and durations"
        )
        assert await page.get_attribute("#staff-nav", "aria-label") == "Staff pages"
        await page.goto(base + "/audit")
        nav = await _nav(page)
        assert [link["text"] for link in nav if link["current"]] == ["Audit log"]
        await ctx.close()
    assert not problems, problems
