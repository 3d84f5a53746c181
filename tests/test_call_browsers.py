"""End to end: a kiosk and a relative in two headless Chromium browsers, through the gateway."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.core.statements import euros
from gateway.http import appkeys as keys

from .browser import (
    accept_rules,
    chromium,
    enrolled_kiosk_context,
    frames_decoded,
    kiosk_signs_in,
    relative_enters_code,
    screenshot,
)
from .callkit import seeded, wait_for_code
from .netlab import start_browser_call

SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})


async def end_money(kiosk: Any) -> str:
    """The kiosk end screen's money as one line, no-break spaces read as spaces ("" if none
    is shown); a status region, so that a screen reader reads it out."""
    box = await kiosk.query_selector("#ended #ended-money:not([hidden])")
    if box is None:
        return ""
    assert await box.get_attribute("role") == "status"
    return " ".join((await box.inner_text()).translate(SPACES).split())


def en_euros(cents: int) -> str:
    return f"€{cents // 100}.{cents % 100:02d}"


async def _grows(page: Any, above: int, timeout: float = 20.0) -> int:
    async with asyncio.timeout(timeout):
        while (n := await frames_decoded(page)) <= above:
            await asyncio.sleep(0.2)
    return n


async def test_kiosk_calls_relative_in_browsers(gateway_factory, codec_spy) -> None:
    gateway = await gateway_factory(call_max_seconds=15, warning_seconds=(10,))
    demo = await seeded(gateway)
    base = gateway.base_url
    async with chromium() as browser:
        kiosk_ctx = await enrolled_kiosk_context(
            browser, gateway, viewport={"width": 1280, "height": 800}
        )
        phone_ctx = await browser.new_context(
            viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True
        )
        kiosk = await kiosk_ctx.new_page()
        phone = await phone_ctx.new_page()
        errors: list[str] = []
        for page in (kiosk, phone):
            page.on("pageerror", lambda exc: errors.append(str(exc)))

        # The detainee logs in at the kiosk and calls.
        await kiosk_signs_in(kiosk, base, demo)
        await kiosk.wait_for_selector("#call", state="visible")
        assert "Marie Martin" in await kiosk.inner_text("body")
        await screenshot(kiosk, "kiosk-ready")
        await kiosk.click("#call")
        code, _ref = await wait_for_code(gateway.config.outbox_path, timeout=10)

        # The relative follows the flyer: rules, code, accept. The bare address, as typed.
        await phone.goto(f"{base}/join")
        await screenshot(phone, "join-rules")
        await accept_rules(phone)
        await phone.fill("#code", code)
        await screenshot(phone, "join-code")
        await phone.click("#connect")
        await phone.wait_for_selector("#accept-call", state="visible")
        assert "Jean M." in await phone.inner_text("body")
        await phone.click("#accept-call")

        # Both decode each other's video, through the gateway.
        first_k = await _grows(kiosk, 10)
        first_p = await _grows(phone, 10)
        await _grows(kiosk, first_k + 20)
        await _grows(phone, first_p + 20)
        await phone.wait_for_selector("#remaining", state="visible")
        await screenshot(kiosk, "kiosk-in-call")
        await screenshot(phone, "join-in-call")

        # Both pages warn before the end (10 s here, 5 min and 1 min by default).
        for page in (kiosk, phone):
            await page.wait_for_selector("#warning", state="visible", timeout=15_000)
            assert (await page.inner_text("#warning")).strip()
        await screenshot(phone, "join-warning")

        # The time limit ends the call by itself; both pages show the end screen.
        await kiosk.wait_for_selector("#ended", state="visible", timeout=30_000)
        await phone.wait_for_selector("#ended", state="visible", timeout=30_000)
        assert "durée maximale" in await phone.inner_text("#ended")
        assert "durée maximale" in await kiosk.inner_text("#ended")
        await screenshot(phone, "join-ended")
        await screenshot(kiosk, "kiosk-ended")
        # The end screen shows what the ledger charged when the call settled its booking,
        # and the balance left, in French and in English.
        booking = await gateway.app[keys.DIRECTORY].booking(demo["booking"])
        account = await gateway.app[keys.LEDGER].account(demo["detainee"])
        assert booking is not None and booking.status == "done"
        assert await end_money(kiosk) == (
            f"Coût de l’appel : {euros(booking.charged)} € "
            f"Solde restant : {euros(account.balance)} €"
        )
        await kiosk.click("#lang-toggle")
        assert await end_money(kiosk) == (
            f"Cost of the call: {en_euros(booking.charged)} "
            f"Balance left: {en_euros(account.balance)}"
        )
        await screenshot(kiosk, "kiosk-ended-en")
        assert errors == []
        await kiosk_ctx.close()
        await phone_ctx.close()

    # The relay never decoded nor encoded a frame.
    assert codec_spy == {"decoders": 0, "encoders": 0}
    # Billed for the connected time only: the fee and one started minute.
    booking = await gateway.app[keys.DIRECTORY].booking(demo["booking"])
    assert booking is not None and booking.status == "done" and booking.charged == 14 + 30
    account = await gateway.app[keys.LEDGER].account(demo["detainee"])
    assert (account.balance, account.held) == (5000 - 44, 0)


async def test_unanswered_and_failed_calls_cost_nothing_in_browsers(gateway_factory) -> None:
    """The families' first complaint: being charged for calls that never connected."""
    gateway = await gateway_factory(code_validity_seconds=3, connect_timeout_seconds=3)
    demo = await seeded(gateway)
    base = gateway.base_url
    ledger, directory = gateway.app[keys.LEDGER], gateway.app[keys.DIRECTORY]
    async with chromium() as browser:
        kiosk_ctx = await enrolled_kiosk_context(
            browser, gateway, viewport={"width": 1280, "height": 800}
        )
        phone_ctx = await browser.new_context(viewport={"width": 360, "height": 640})
        kiosk, phone = await kiosk_ctx.new_page(), await phone_ctx.new_page()

        async def end_screen_says_free() -> None:
            # Nothing charged (no charge in the ledger), the balance as the ledger holds it.
            assert "charge" not in [e.kind for e in await ledger.entries(demo["detainee"])]
            balance = (await ledger.account(demo["detainee"])).balance
            assert await end_money(kiosk) == (
                f"Coût de l’appel : {euros(0)} € Solde restant : {euros(balance)} € "
                "L’appel n’a pas abouti : il ne vous est pas facturé."
            )

        async def kiosk_calls() -> str:
            await kiosk_signs_in(kiosk, base, demo)
            await kiosk.click("#call")
            code, _ref = await wait_for_code(gateway.config.outbox_path, count=sms + 1)
            return code

        # 1. Nobody enters the code: the call ends as no answer.
        sms = 0
        await kiosk_calls()
        await kiosk.wait_for_selector("#ended", state="visible", timeout=15_000)
        assert "pas connecté à temps" in await kiosk.inner_text("#ended")
        await end_screen_says_free()
        # 2. A new call in the same slot: the relative types the code but never takes the
        #    call, so the relative's leg never comes up and the call fails before connecting.
        sms = 1
        code = await kiosk_calls()
        await relative_enters_code(phone, base, code)
        await kiosk.wait_for_selector("#ended", state="visible", timeout=15_000)
        await end_screen_says_free()
        await kiosk_ctx.close()
        await phone_ctx.close()

    booking = await directory.booking(demo["booking"])
    assert booking is not None and booking.connected_ms == 0 and booking.charged == 0
    account = await ledger.account(demo["detainee"])
    assert account.balance == 5000  # nothing charged, fee included
    # When the slot ends the hold is released: the whole slot cost nothing.
    await gateway.app[keys.DESK].close_overdue(booking.end, set(), "test")
    account = await ledger.account(demo["detainee"])
    assert (account.balance, account.held) == (5000, 0)
    assert [e.kind for e in await ledger.entries(demo["detainee"])] == ["credit", "hold", "release"]


async def test_a_call_cut_by_a_failure_shows_a_provisional_cost(gateway_factory) -> None:
    """A connected call cut by a failure leaves its slot open for another try, so nothing is
    charged yet: the kiosk's end screen shows its own estimate, said to be provisional, and
    that is what the ledger charges when the slot ends."""
    gateway = await gateway_factory(reconnect_grace_seconds=2)
    demo = await seeded(gateway)
    async with chromium() as browser:
        call = await start_browser_call(gateway, browser, browser, demo)
        try:
            await call.phone_context.close()  # the phone is gone for good
            await call.kiosk.wait_for_selector("#ended", state="visible", timeout=15_000)
            shown = await end_money(call.kiosk)
            await screenshot(call.kiosk, "kiosk-ended-provisional")
            assert call.errors == []
        finally:
            await call.close()
    booking = await gateway.app[keys.DIRECTORY].booking(demo["booking"])
    assert booking is not None and booking.status == "booked" and booking.connected_ms > 0
    await gateway.app[keys.DESK].close_overdue(booking.end, set(), "test")
    booking = await gateway.app[keys.DIRECTORY].booking(demo["booking"])
    account = await gateway.app[keys.LEDGER].account(demo["detainee"])
    assert booking is not None and booking.status == "done" and booking.charged > 0
    assert shown == (
        f"Coût estimé de l’appel : {euros(booking.charged)} € "
        f"Solde restant estimé : {euros(account.balance)} € "
        "Montant provisoire : il sera débité au plus tard à la fin de votre créneau."
    )
