"""Headless Debian Chromium, driven by Playwright, with a fake camera and microphone."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).parent / "artifacts"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    # ICE on loopback only: the gateway listens on 127.0.0.1 in the tests.
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Debian's chromium is not installed: ./run test installs it")
    return path


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


FRAMES_DECODED_JS = """async () => {
  const pc = window.parloir && window.parloir.pc;
  if (!pc) return -1;
  const stats = await pc.getStats();
  let n = 0;
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') n += s.framesDecoded || 0;
  });
  return n;
}"""


async def frames_decoded(page: Any) -> int:
    return int(await page.evaluate(FRAMES_DECODED_JS))


async def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def signed_in_context(browser: Any, gateway: Any, roles: Any = None, **options: Any) -> Any:
    """A browser context signed in as a new staff member with ``roles`` (all the
    establishment's work by default) through the real sign-in route; the session cookie is
    the browser's own."""
    from tests.staffkit import ALL_WORK, create_member

    login, password = await create_member(
        gateway, roles or ALL_WORK, login=options.pop("login", ""), name=options.pop("name", "")
    )
    context = await browser.new_context(**options)
    response = await context.request.post(
        gateway.base_url + "/api/staff/login", data={"login": login, "password": password}
    )
    assert response.status == 200, await response.text()
    return context


async def enrolled_kiosk_context(browser: Any, gateway: Any, **options: Any) -> Any:
    """A browser context holding the demo kiosk's device credential cookie, as after
    enrolment on /kiosk/enrolement."""
    import time
    from urllib.parse import urlsplit

    from gateway.http import appkeys as keys
    from gateway.store.kiosks import CREDENTIAL_COOKIE

    credential = await gateway.app[keys.KIOSKS].enrol(gateway.config.kiosk_id, "test", time.time())
    context = await browser.new_context(**options)
    host = urlsplit(gateway.base_url).hostname
    await context.add_cookies(
        [{"name": CREDENTIAL_COOKIE, "value": credential, "domain": host, "path": "/",
          "httpOnly": True, "sameSite": "Strict"}]
    )  # fmt: skip
    return context


async def kiosk_signs_in(kiosk: Any, base: str, detainee: dict[str, Any]) -> None:
    """The detainee types their number and access code at the kiosk (``detainee`` holds
    ``detainee`` and ``access_code``, as the demo's seed does)."""
    await kiosk.goto(f"{base}/kiosk")
    await kiosk.fill("#detainee", detainee["detainee"])
    await kiosk.fill("#access-code", detainee["access_code"])
    await kiosk.click("#login")


async def accept_rules(phone: Any) -> None:
    """The relative ticks the three rules and accepts them (the join page's first step)."""
    for rule in ("#rule-1", "#rule-2", "#rule-3"):
        await phone.check(rule)
    await phone.click("#accept-rules")


async def relative_enters_code(phone: Any, base: str, code: str) -> None:
    """The flyer's steps up to the call's offer: the page, the rules, the code; the page then
    shows who is calling and waits for 'Accepter'."""
    await phone.goto(f"{base}/join")
    await accept_rules(phone)
    await phone.fill("#code", code)
    await phone.click("#connect")
    await phone.wait_for_selector("#accept-call", state="visible")
