"""The accounts office page and the kiosk's money lines in headless Chromium, on a real gateway."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from gateway.core.pricing import CHARTER_TARIFFS, Rounding, call_cost
from gateway.http import appkeys as keys

from .browser import (
    chromium,
    enrolled_kiosk_context,
    kiosk_signs_in,
    screenshot,
    signed_in_context,
)
from .callkit import Client, join, seeded, wait_for_code
from .test_regie_api import _closed_call, people

SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})


async def text_of(page: Any, selector: str) -> str:
    return (await page.inner_text(selector)).translate(SPACES)


async def wait_text(page: Any, selector: str, needle: str, timeout: float = 10.0) -> str:
    """The element's text once it contains ``needle`` (no-break spaces read as spaces)."""
    async with asyncio.timeout(timeout):
        while needle not in (text := await text_of(page, selector)):
            await asyncio.sleep(0.05)
    return text


def zone_on_another_day(zone: tzinfo) -> str:
    """A time zone whose date, now, differs from ``zone``'s (one of the two always does: they
    are 25 hours apart)."""
    now = datetime.now(UTC)
    for name in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # UTC+14, UTC-11
        if now.astimezone(ZoneInfo(name)).date() != now.astimezone(zone).date():
            return name
    raise AssertionError("no zone on another day")


def watch_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "Failed to load resource" not in msg.text
            else None
        ),
    )
    return errors


async def test_regie_page_credits_imports_and_shows_statements(gateway_factory, tmp_path) -> None:
    gateway = await gateway_factory()
    await people(gateway, "100001")
    await people(gateway, "100002", credit=5000)
    booking = await _closed_call(gateway, "100002")  # 125 s connected: 1,04 € charged
    ledger = gateway.app[keys.LEDGER]
    base = gateway.base_url
    async with chromium() as browser:
        # The officer's computer is on another day than the establishment: the day report must
        # still open on the establishment's today (the credits below).
        zone = gateway.app[keys.DESK].establishment.zone
        ctx = await signed_in_context(
            browser, gateway, name="Agent Dupont", login="dupont",
            viewport={"width": 1280, "height": 800}, locale="fr-FR",
            timezone_id=zone_on_another_day(zone),
        )  # fmt: skip
        page = await ctx.new_page()
        errors = watch_errors(page)
        await page.goto(f"{base}/regie")
        assert await page.title() == "Parloir — Régie des comptes téléphone"
        await screenshot(page, "regie-empty")

        # The signed-in officer is named in the top bar and on every entry.
        await page.wait_for_selector("#session-box:has-text('Agent Dupont')")
        await page.fill("#credit-detainee", "100001")

        # A French amount is credited in cents; the balance is shown; a new reference offered.
        await page.fill("#credit-amount", "12,5x")
        await page.click("#credit-submit")
        assert "Montant invalide" in await text_of(page, "#credit-error")
        await page.fill("#credit-amount", "12,50")
        reference = await page.input_value("#credit-reference")
        assert reference.startswith("REGIE-")
        await page.click("#credit-submit")
        result = await wait_text(page, "#credit-result", "Nouveau solde")
        assert "crédité de 12,50 €" in result and "Nouveau solde : 12,50 €" in result
        assert (await ledger.account("100001")).balance == 1250
        (entry,) = await ledger.entries("100001")
        actor = "regie:Agent Dupont (dupont)"
        assert (entry.amount, entry.idem, entry.actor) == (1250, reference, actor)
        assert await page.input_value("#credit-reference") != reference
        assert await page.input_value("#credit-amount") == ""
        await screenshot(page, "regie-credited")

        # Double click: one credit.
        await page.fill("#credit-amount", "7,25")
        await page.eval_on_selector("#credit-submit", "b => { b.click(); b.click(); }")
        await page.dblclick("#credit-submit")  # and a real double click, on the disabled button
        await wait_text(page, "#credit-result", "Nouveau solde : 19,75 €")
        await asyncio.sleep(0.3)
        assert (await ledger.account("100001")).balance == 1975
        assert len(await ledger.entries("100001")) == 2

        # The answer is lost on the way back: the retry reuses the reference and credits once.
        async def lose_answer(route: Any) -> None:
            await route.fetch()  # the gateway credits...
            await route.abort()  # ...but the page never hears of it

        await page.route("**/api/regie/credits*", lose_answer, times=1)
        await page.fill("#credit-amount", "1 000")
        reference = await page.input_value("#credit-reference")
        await page.click("#credit-submit")
        await wait_text(page, "#credit-error", "Le serveur ne répond pas")
        assert await page.input_value("#credit-reference") == reference
        assert (await ledger.account("100001")).balance == 1975 + 100_000
        await page.click("#credit-submit")
        await wait_text(page, "#credit-result", "déjà enregistré")
        assert (await ledger.account("100001")).balance == 1975 + 100_000
        assert await page.input_value("#credit-reference") != reference
        await page.fill("#credit-detainee", "999999")
        await page.fill("#credit-amount", "5")
        await page.click("#credit-submit")
        await wait_text(page, "#credit-error", "Détenu introuvable")  # the server's sentence
        assert await page.get_attribute("#credit-detainee", "aria-invalid") == "true"
        assert await page.get_attribute("#credit-error", "role") == "alert"

        # CSV import: a file with errors is refused line by line, nothing written.
        bad = tmp_path / "credits-bad.csv"
        bad.write_bytes(
            b"ecrou;montant;reference;libelle\n100001;3,00;CSV-1;\n777777;2;CSV-2;\n100001;0;CSV-3;\n"
        )
        await page.set_input_files("#import-file", str(bad))
        await page.click("#import-check")
        await wait_text(page, "#import-error", "2 erreur(s) : rien n’a été enregistré")
        problems = await text_of(page, "#import-problems")
        assert "3\tecrou\tErreur\tDétenu 777777 inconnu." in problems
        assert "4\tmontant\tErreur" in problems
        assert await page.is_disabled("#import-run")
        await screenshot(page, "regie-import-errors")

        # A clean file: checked (nothing written), then imported; again: nothing more.
        good = tmp_path / "credits.csv"
        good.write_bytes(
            "\ufeffecrou;montant;reference;libelle\r\n"
            "100001;3,00;CSV-2026-1;Mandat\r\n"
            "100002;20;CSV-2026-2;Versement famille\r\n".encode()
        )
        await page.set_input_files("#import-file", str(good))
        assert await page.is_disabled("#import-run")
        await page.click("#import-check")
        await wait_text(page, "#import-result", "Fichier vérifié : 2 ligne(s)")
        assert (await ledger.account("100001")).balance == 101_975
        assert await page.is_hidden("#import-problems")
        await page.click("#import-run")
        await wait_text(page, "#import-result", "Import terminé : 2 crédit(s)")
        assert (await ledger.account("100001")).balance == 101_975 + 300
        assert (await ledger.account("100002")).balance == 5000 - 104 + 2000
        assert await page.is_disabled("#import-run")
        await page.click("#import-check")
        await wait_text(page, "#import-result", "Fichier vérifié")
        await page.click("#import-run")
        await wait_text(page, "#import-result", "2 ligne(s) étaient déjà importées")
        assert (await ledger.account("100001")).balance == 102_275
        await screenshot(page, "regie-imported")

        # The statement of 100002: credit, the call (3 minutes, 1,04 €), the import.
        await page.fill("#account-detainee", "100002")
        await page.click("#account-show")
        await page.wait_for_selector("#account-view", state="visible")
        heading = await text_of(page, "#account-heading")
        assert "100002" in heading and "MARTIN Jean" in heading
        assert await text_of(page, "#account-balance") == "68,96 €"
        rows = await page.query_selector_all("#statement-body tr")
        assert len(rows) == 3
        call_row = (await text_of(page, "#statement-body tr.line-call")).split("\t")
        assert call_row[1:5] == ["Appel", "Marie Martin", "2 min 05 s", "3"]
        assert "0,30 €/min + 0,14 € de mise en relation" in call_row[5]
        assert call_row[6:8] == ["-1,04 €", booking.receipt]
        href = await page.get_attribute("#statement-csv", "href")
        assert href == "/api/regie/accounts/100002/statement.csv"
        resp = await ctx.request.get(base + href)  # the page's own session
        assert resp.status == 200 and (await resp.body()).startswith(b"\xef\xbb\xbf")
        await screenshot(page, "regie-statement")

        # Refund part of the call from its line; more than what is left is refused.
        await page.click("#statement-body tr.line-call button")
        assert await page.input_value("#refund-booking") == booking.id
        assert "remboursable au plus 1,04 €" in await text_of(page, "#refund-booking-hint")
        await page.fill("#refund-amount", "0,30")
        await page.fill("#refund-reason", "Coupure réseau")
        await page.click("#refund-submit")
        await wait_text(page, "#refund-result", "Remboursement de 0,30 € enregistré")
        await wait_text(page, "#account-balance", "69,26 €")
        assert (await ledger.account("100002")).balance == 6926
        await page.fill("#refund-booking", booking.id)
        await page.fill("#refund-amount", "0,75")
        await page.fill("#refund-reason", "Erreur")
        await page.click("#refund-submit")
        await wait_text(page, "#refund-error", "au plus 0,74 €")
        assert (await ledger.account("100002")).balance == 6926
        await screenshot(page, "regie-refund")

        # The tariff.
        await page.select_option("#tariff-select", "forfait_40")
        await page.click("#tariff-submit")
        await wait_text(page, "#tariff-result", "Forfait 40")
        assert (await ledger.account("100002")).tariff == "forfait_40"
        assert await text_of(page, "#account-tariff") == "Forfait 40"

        # Today's report: 6 credits (the seed, three typed, two imported) and the refund.
        await page.click("#report-show")
        await page.wait_for_selector("#report-view", state="visible")
        report = await text_of(page, "#report-body")
        assert "Crédits\t6" in report and "Montant crédité\t1 092,75 €" in report
        assert "Remboursements\t1" in report and "Montant remboursé\t0,30 €" in report
        await screenshot(page, "regie-report")

        # Printing the statement shows only the statement.
        await page.evaluate("document.body.dataset.print = 'account'")
        await page.emulate_media(media="print")
        assert await page.is_hidden("#credit") and await page.is_hidden("#report")
        assert await page.is_visible("#statement-body")
        await screenshot(page, "regie-print-statement")
        await page.emulate_media(media="screen")
        await page.evaluate("delete document.body.dataset.print")

        # English.
        await page.click("#lang-toggle")
        assert await text_of(page, "h1") == "Phone accounts office"
        assert await text_of(page, "#account-balance") == "€69.26"
        assert "Credit" in await text_of(page, "#statement-body")
        await screenshot(page, "regie-english")
        assert errors == []
        await ctx.close()
    for number in ("100001", "100002"):
        assert (await ledger.verify(number)).ok


async def test_kiosk_shows_the_balance_and_the_running_cost(gateway_factory) -> None:
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    base = gateway.base_url
    async with chromium() as browser, aiohttp.ClientSession() as http:
        ctx = await enrolled_kiosk_context(
            browser, gateway, viewport={"width": 1280, "height": 800}
        )
        kiosk = await ctx.new_page()
        errors = watch_errors(kiosk)
        await kiosk_signs_in(kiosk, base, demo)
        await kiosk.wait_for_selector("#balance-line", state="visible")
        line = await text_of(kiosk, "#balance-line")
        assert line == "Solde de votre compte téléphone : 50,00 €"
        await screenshot(kiosk, "kiosk-balance")

        # The kiosk's arithmetic is the server's, for both roundings and every plan.
        cases = []
        for tariff in CHARTER_TARIFFS:
            for rounding in Rounding:
                for ms in (0, 1, 999, 1000, 1001, 59_999, 60_000, 60_001, 125_000, 1_799_999):
                    billing = {
                        "per_minute_cents": tariff.per_minute_cents,
                        "fee_cents": tariff.connection_fee_cents, "rounding": str(rounding),
                        "hold_cents": 0,
                    }  # fmt: skip
                    cases.append((billing, ms, call_cost(tariff, ms / 1000, rounding).amount))
        got = await kiosk.evaluate(
            "cases => cases.map(([b, ms]) => window.parloir.callCost(b, ms))",
            [[b, ms] for b, ms, _ in cases],
        )
        assert got == [expected for _, _, expected in cases]
        capped = await kiosk.evaluate(
            "window.parloir.callCost({per_minute_cents: 30, fee_cents: 14, hold_cents: 100,"
            " rounding: 'per_started_minute'}, 600000)"
        )
        assert capped == 100  # the ledger never charges more than the hold

        # A call: 0 before the relative connects, the fee and a started minute once connected.
        await kiosk.click("#call")
        code, _ref = await wait_for_code(gateway.config.outbox_path, timeout=10)
        assert (await kiosk.text_content("#call-cost") or "").translate(SPACES) == "0,00 €"
        relative = Client(base, http)
        try:
            status, _ = await join(relative, code)
            assert status == 200
            await relative.connect()
            await relative.start_media()
            await kiosk.wait_for_selector("#money-box", state="visible", timeout=15_000)
            await wait_text(kiosk, "#call-cost", "0,44 €", timeout=15_000)
            assert await text_of(kiosk, "#balance-left") == "49,56 €"
            shown = " ".join((await kiosk.text_content("#money-box") or "").split())
            assert shown == "Coût de l’appel : 0,44 € Solde restant : 49,56 €"
            assert await text_of(kiosk, "#remaining") != "--:--"
            await screenshot(kiosk, "kiosk-call-cost")
            await kiosk.click("#hangup")
            await kiosk.wait_for_selector("#ended", state="visible", timeout=10_000)
        finally:
            await relative.close()
        assert errors == []
        await ctx.close()
    # What the kiosk showed is what the ledger charged.
    booking = await gateway.app[keys.DIRECTORY].booking(demo["booking"])
    async with asyncio.timeout(10):
        while booking is None or booking.status == "booked":
            await asyncio.sleep(0.05)
            booking = await gateway.app[keys.DIRECTORY].booking(demo["booking"])
    assert booking.status == "done" and booking.charged == 44
    assert (await gateway.app[keys.LEDGER].account(demo["detainee"])).balance == 5000 - 44


async def test_each_role_sees_its_own_part_of_the_page(gateway_factory) -> None:
    """The accounts office credits and does not refund; the head of the prison refunds and
    does not credit (the server refuses either way: tests/test_authorization.py)."""
    from gateway.core.roles import Role

    gateway = await gateway_factory()
    async with chromium() as browser:
        for roles, shown, hidden in (
            ([Role.ACCOUNTS], "#credit", "#refund"),
            ([Role.HEAD], "#refund", "#credit"),
        ):
            ctx = await signed_in_context(browser, gateway, roles)
            page = await ctx.new_page()
            await page.goto(f"{gateway.base_url}/regie")
            await page.wait_for_selector("#session-box")
            assert await page.is_visible(shown), roles
            assert not await page.is_visible(hidden), roles
            assert await page.is_visible("#session-box .link-button")
            await ctx.close()
