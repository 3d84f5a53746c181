"""A figure the configuration sets (the code's validity) is never written into a sentence: the
pages, the server's refusals and the receipt all say what this establishment configured."""

from __future__ import annotations

import dataclasses

from gateway.core.codes import code_minutes
from gateway.core.i18n import message
from gateway.core.receipt_pdf import render_receipt

from .browser import (
    accept_rules,
    chromium,
    enrolled_kiosk_context,
    kiosk_signs_in,
    signed_in_context,
)
from .callkit import seeded
from .test_receipt_pdf import RECEIPT, read


def test_the_validity_in_whole_minutes_and_in_the_servers_sentence() -> None:
    assert [code_minutes(s) for s in (300, 120, 90, 30)] == [5, 2, 2, 1]
    assert "valable 2 minutes" in message("code.expired", "fr", minutes=2)
    assert "valid for 2 minutes" in message("code.expired", "en", minutes=2)
    _reader, text = read(render_receipt(dataclasses.replace(RECEIPT, code_minutes=2)))
    assert "dispose de 2 minutes" in " ".join(text.split())


async def test_the_pages_say_the_configured_validity(gateway_factory) -> None:
    gateway = await gateway_factory(code_validity_seconds=120)
    demo = await seeded(gateway)
    async with chromium() as browser:
        phone = await (await browser.new_context(viewport={"width": 360, "height": 640})).new_page()
        await phone.goto(f"{gateway.base_url}/join")
        await accept_rules(phone)
        intro = phone.locator("#step-code [data-i18n='join.code.intro']")
        assert "valable 2 minutes" in await intro.inner_text()
        await phone.click("#lang-toggle")
        assert "valid for 2 minutes" in await intro.inner_text()
        # A refused code: the page shows the server's sentence, in the page's language (the
        # table of reasons, gateway/core/reasons.py), not a copy of its own.
        await phone.fill("#code", "000000")  # no call yet: no code is live
        await phone.click("#connect")
        await phone.wait_for_selector("#join-error:not(:empty)")
        assert await phone.inner_text("#join-error") == message("code.invalid", "en")
        await phone.click("#lang-toggle")
        await phone.click("#connect")
        await phone.wait_for_function(
            "t => document.querySelector('#join-error').textContent === t",
            arg=message("code.invalid", "fr"),
        )

        kiosk = await (await enrolled_kiosk_context(browser, gateway)).new_page()
        await kiosk_signs_in(kiosk, gateway.base_url, demo)
        await kiosk.wait_for_selector("#call", state="visible")
        assert "Il aura 2 minutes" in await kiosk.inner_text("#call-hint")


async def test_the_recordings_page_says_the_configured_retention(gateway_factory) -> None:
    gateway = await gateway_factory(retention_days=30)
    async with chromium() as browser:
        staff = await signed_in_context(browser, gateway)
        page = await staff.new_page()
        await page.goto(f"{gateway.base_url}/enregistrements")
        legal = page.locator("p.legal-note")
        await page.wait_for_selector("p.legal-note:has-text('30 jours')")
        assert "90" not in await legal.inner_text()
        assert "30 jours" in await page.inner_text("[data-i18n='rec.hold.label']")
        await page.click("#lang-toggle")
        assert "destroyed 30 days after" in await legal.inner_text()
