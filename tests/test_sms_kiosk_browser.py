"""The kiosk page (headless Chromium) shows what became of the code's SMS."""

from __future__ import annotations

from pathlib import Path

from .browser import (
    chromium,
    enrolled_kiosk_context,
    kiosk_signs_in,
    screenshot,
    signed_in_context,
)
from .callkit import seeded


async def _call(gateway, browser):  # type: ignore[no-untyped-def]
    demo = await seeded(gateway)
    ctx = await enrolled_kiosk_context(browser, gateway, viewport={"width": 1280, "height": 800})
    kiosk = await ctx.new_page()
    errors: list[str] = []
    kiosk.on("pageerror", lambda exc: errors.append(str(exc)))
    await kiosk_signs_in(kiosk, gateway.base_url, demo)
    await kiosk.wait_for_selector("#call", state="visible")
    await kiosk.click("#call")
    return kiosk, errors


async def test_the_kiosk_shows_sms_sent(gateway_factory) -> None:  # type: ignore[no-untyped-def]
    gateway = await gateway_factory()
    async with chromium() as browser:
        kiosk, errors = await _call(gateway, browser)
        await kiosk.wait_for_selector("#sms-status[data-status=sent]", timeout=15_000)
        assert await kiosk.inner_text("#sms-status") == "SMS envoyé"
        await screenshot(kiosk, "kiosk-sms-sent")
        assert errors == []


async def test_an_sms_that_cannot_leave_offers_a_new_code(  # type: ignore[no-untyped-def]
    gateway_factory, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    gateway = await gateway_factory(
        sms_outbox_path=str(blocker / "outbox.jsonl"), sms_max_attempts=1
    )
    async with chromium() as browser:
        kiosk, errors = await _call(gateway, browser)
        # The outbox could not be written: not the number's fault, and a new code may help.
        await kiosk.wait_for_selector("#new-code", state="visible", timeout=15_000)
        body = await kiosk.inner_text("body")
        assert "échec : SMS non envoyé après plusieurs essais" in body
        assert "numéro injoignable" not in body
        await screenshot(kiosk, "kiosk-sms-failed")
        assert errors == []
        # The monitoring page says the same of the call, in its own words.
        staff = await signed_in_context(browser, gateway, name="Lieutenant Moreau", locale="fr-FR")
        monitor = await staff.new_page()
        await monitor.goto(f"{gateway.base_url}/monitor")
        line = monitor.locator(".sms-status[data-status=failed]")
        await line.wait_for(timeout=15_000)
        assert await line.inner_text() == "SMS du code : échec après plusieurs essais"
