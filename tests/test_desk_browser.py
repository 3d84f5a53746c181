"""The booking desk pages in headless Chromium, against a real gateway and Redis.

A guard finds a detainee, books a slot in two clicks, prints the receipt, reads the day's
planning and movement list, is refused a second slot by the quota, and cancels. The slot is
picked in the browser (first free cell of the calendar), so the test works whatever today is.
"""

from __future__ import annotations

import io
import re
import time
from typing import Any
from urllib.parse import urljoin

from playwright.async_api import expect
from pypdf import PdfReader

from gateway.cli import Running
from gateway.http import appkeys as keys
from gateway.store.directory import Correspondent, Detainee, hash_access_code

from .browser import chromium, screenshot, signed_in_context

NUMBER = "314159"
NAME = "ROUSSEAU Amélie"
GUARD = "Brigadier Durand"


async def _seed(gateway: Running) -> None:
    directory = gateway.app[keys.DIRECTORY]
    now = time.time()
    await directory.put_detainee(
        Detainee(
            number=NUMBER,
            first_name="Amélie",
            last_name="Rousseau",
            code_hash=hash_access_code("4821"),
            building="B",
            floor="2",
            cell="214",
            charter_signed_at=now - 86400,
            charter_signed_by="Brigadier Martin",
        )
    )
    await directory.put_correspondent(
        Correspondent(
            id="corr_paul",
            detainee=NUMBER,
            name="Paul Rousseau",
            phone="+33612345678",
            relationship="frère",
            status="authorised",
        )
    )
    await gateway.app[keys.LEDGER].credit(NUMBER, 5000, "regie", "seed-1", int(now * 1000))


def _watch(page: Any, problems: list[str]) -> None:
    """Collect script errors and console errors (a CSP violation is one); a refused request
    (the quota's 409) is logged by Chromium too and is expected."""

    def console(msg: Any) -> None:
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            problems.append(f"console: {msg.text}")

    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    page.on("console", console)


async def _change_week(page: Any, button: str) -> None:
    label = page.locator("#week-label")
    before = await label.inner_text()
    await page.click(button)
    await expect(label).not_to_have_text(before)


async def _first_free_slot(page: Any) -> Any:
    """The first free cell of the calendar, moving to the next weeks if needed."""
    for _ in range(4):
        free = page.locator("#calendar td[data-state='free']")
        if await free.count():
            return free.first
        await _change_week(page, "#week-next")
    raise AssertionError("no free slot in the next four weeks")


async def test_guard_books_prints_lists_and_cancels(gateway_factory) -> None:
    gateway = await gateway_factory()
    await _seed(gateway)
    base = gateway.base_url
    problems: list[str] = []
    async with chromium() as browser:
        ctx = await signed_in_context(
            browser, gateway, name=GUARD, viewport={"width": 1280, "height": 800}
        )
        page = await ctx.new_page()
        _watch(page, problems)

        # The signed-in guard is named in the top bar, finds the detainee by part of the name
        # and opens the file.
        await page.goto(f"{base}/desk")
        await page.wait_for_selector("body[data-ready='1']")
        await page.wait_for_selector(f"#session-box:has-text('{GUARD}')")
        await page.fill("#search-q", "rouss")
        await page.press("#search-q", "Enter")
        await page.click(f"#search-results button[data-number='{NUMBER}']")
        await expect(page.locator("#file-title")).to_contain_text(NAME)
        await expect(page.locator("#identity")).to_contain_text("cellule 214")
        await expect(page.locator("#account-balance")).to_have_text("50,00\u00a0€")
        await expect(page.locator("#corr-list")).to_contain_text("+33 6 •• •• •• 78")
        # No "agent" field: the server writes the signed-in member on the booking.
        assert await page.locator("#guard").count() == 0

        # Two clicks: a free slot, then confirm (the only authorised correspondent is chosen).
        slot = await _first_free_slot(page)
        start = await slot.get_attribute("data-start")
        assert start
        day, hour = start[:10], start[11:16]
        await slot.locator("button").click()
        await expect(page.locator("#book-dialog")).to_be_visible()
        assert await page.input_value("#book-correspondent") == "corr_paul"
        await page.click("#book-confirm")
        await expect(page.locator("#book-result")).to_be_visible()
        receipt = (await page.inner_text("#receipt-number")).strip()
        assert re.fullmatch(r"\d{4}-\d{6}", receipt), receipt
        cell = page.locator(f"#calendar td[data-start='{start}']")
        await expect(cell).to_have_attribute("data-state", "booked")
        await expect(cell).to_contain_text(NAME)
        await expect(page.locator("#bookings-coming")).to_contain_text(receipt)
        await expect(page.locator("#bookings-coming")).to_contain_text(f"Réservée par {GUARD} (")
        await expect(page.locator("#account-held")).not_to_have_text("0,00\u00a0€")
        await screenshot(page, "desk-booked")

        # The receipt PDF behind the page's link.
        href = await page.get_attribute("#receipt-link", "href")
        assert href
        pdf = await page.request.get(urljoin(f"{base}/desk", href))
        assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
        reader = PdfReader(io.BytesIO(await pdf.body()))
        text = "\n".join(p.extract_text() for p in reader.pages).replace("\u2019", "'")
        assert receipt in text
        assert NAME in text
        assert "code d'accès" in text

        # A second slot for the same detainee a week later: the quota refusal is shown.
        await _change_week(page, "#week-next")
        await page.locator("#calendar td[data-state='free'] button").first.click()
        await page.click("#book-confirm")
        refusal = page.locator("#book-dialog [role='alert']")
        await expect(refusal).to_contain_text("un seul créneau par période de 28 jours")
        await screenshot(page, "desk-refusal")
        await page.click("#book-close")
        await expect(page.locator("#book-dialog")).to_be_hidden()
        await _change_week(page, "#week-prev")
        await expect(cell).to_have_attribute("data-state", "booked")
        await screenshot(page, "desk-calendar")

        # The day's planning and the floor guards' movement list, from the result's links.
        other = await ctx.new_page()
        _watch(other, problems)
        day_href = await page.get_attribute("#result-day-link", "href")
        assert day_href == f"/desk/jour?date={day}"
        await other.goto(urljoin(base, day_href))
        await other.wait_for_selector("body[data-ready='1']")
        row = other.locator(f"#day-table tr[data-number='{NUMBER}']")
        for expected in (hour, NAME, NUMBER, "Paul Rousseau", "cellule 214", "Réservé"):
            await expect(row).to_contain_text(expected)
        await screenshot(other, "planning")
        await other.emulate_media(media="print")
        await screenshot(other, "planning-print")
        await other.emulate_media(media="screen")

        await other.goto(f"{base}/desk/mouvements?date={day}")
        await other.wait_for_selector("body[data-ready='1']")
        group = other.locator("#movements-table tbody[data-building='B']")
        await expect(group).to_contain_text("Bâtiment B")
        row = group.locator(f"tr[data-number='{NUMBER}']")
        for expected in ("214", hour, NAME, NUMBER, "Salle d'audience"):
            await expect(row).to_contain_text(expected)
        await screenshot(other, "movements")
        await other.emulate_media(media="print")
        await screenshot(other, "movements-print")

        # The printable charter, filled in.
        await other.emulate_media(media="screen")
        await other.goto(f"{base}/desk/charte?numero={NUMBER}")
        await other.wait_for_selector("body[data-ready='1']")
        await expect(other.locator("#charter-name")).to_have_text(NAME)
        await expect(other.locator("#charter-number-value")).to_have_text(NUMBER)
        await expect(other.locator("article")).to_contain_text("Règles d’utilisation du service")
        await screenshot(other, "charter")
        await other.emulate_media(media="print")
        await screenshot(other, "charter-print")
        await other.close()

        # Cancel with a reason: the slot is free again and the hold is released.
        await page.click("#bookings-coming button[data-cancel]")
        await expect(page.locator("#cancel-dialog")).to_be_visible()
        await page.click("#cancel-confirm")  # no reason yet: asked for
        await expect(page.locator("#cancel-error")).to_contain_text("motif")
        await page.fill("#cancel-reason", "Transfert au quartier arrivants")
        await page.click("#cancel-confirm")
        await expect(page.locator("#cancel-dialog")).to_be_hidden()
        await expect(cell).to_have_attribute("data-state", "free")
        await expect(page.locator("#account-held")).to_have_text("0,00\u00a0€")
        await expect(page.locator("#bookings-past")).to_contain_text("Transfert au quartier")
        account = await gateway.app[keys.LEDGER].account(NUMBER)
        assert (account.balance, account.held) == (5000, 0)

        # English on demand, French back.
        await page.click("#lang-toggle")
        await expect(page.locator("h1")).to_have_text("Video call bookings")
        await expect(page.locator("#account-balance")).to_have_text("€50.00")
        await page.click("#lang-toggle")
        await expect(page.locator("h1")).to_have_text("Réservations de visiophonie")

        # Readable on a narrow screen: nothing wider than the viewport but the calendar's own
        # scrolling region.
        narrow = await signed_in_context(browser, gateway, viewport={"width": 360, "height": 740})
        small = await narrow.new_page()
        _watch(small, problems)
        await small.goto(f"{base}/desk?numero={NUMBER}")
        await small.wait_for_selector("body[data-ready='1']")
        await expect(small.locator("#file-title")).to_contain_text(NAME)
        assert await small.evaluate("document.documentElement.scrollWidth") <= 360
        await screenshot(small, "desk-360")
        await small.goto(f"{base}/desk/mouvements?date={day}")
        await small.wait_for_selector("body[data-ready='1']")
        assert await small.evaluate("document.documentElement.scrollWidth") <= 360
        await narrow.close()
        await ctx.close()
    assert problems == []


async def test_import_enabled_only_after_clean_dry_run(gateway_factory) -> None:
    """CSV import: every error of the dry run is listed; "Importer" only after a clean one."""
    gateway = await gateway_factory()
    base = gateway.base_url
    directory = gateway.app[keys.DIRECTORY]
    bad = b"ecrou;nom;prenom\n12/3;MARTIN;\n"
    good = (
        "ecrou;nom;prenom;batiment;etage;cellule;code_acces;statut\n"
        "123456;MARTIN;Hélène;B;2;214;4821;actif\n"
    ).encode("cp1252")  # what French Excel writes
    contacts = b"ecrou;nom;telephone;lien\n123456;Paul MARTIN;06 12 34 56 78;fils\n"
    sent: list[tuple[str, bytes]] = []
    problems: list[str] = []
    async with chromium() as browser:
        ctx = await signed_in_context(browser, gateway, viewport={"width": 1280, "height": 800})
        page = await ctx.new_page()
        _watch(page, problems)
        page.on(
            "request",
            lambda r: (
                sent.append((r.url.split(base)[1], r.post_data_buffer or b""))
                if "/api/desk/import/" in r.url
                else None
            ),
        )
        await page.goto(f"{base}/desk/import")
        await page.wait_for_selector("body[data-ready='1']")
        do_import = page.locator("#do-import")
        await expect(do_import).to_be_disabled()

        def file(data: bytes) -> list[dict[str, Any]]:
            return [{"name": "export.csv", "mimeType": "text/csv", "buffer": data}]

        # A faulty file: every error in the table, nothing to import.
        await page.set_input_files("#import-file", files=file(bad))
        await page.click("#dry-run")
        await expect(page.locator("#report-summary")).to_contain_text("rien n’a été importé")
        rows = page.locator("#errors-table tbody tr")
        await expect(rows.first).to_contain_text("ecrou")
        assert await rows.count() >= 2  # the number and the missing first name
        await expect(rows.nth(1)).to_contain_text("prenom")
        await expect(do_import).to_be_disabled()
        await screenshot(page, "import-errors")

        # A clean file (Windows-1252): checked, then imported; another kind needs a new check.
        await page.set_input_files("#import-file", files=file(good))
        await page.click("#dry-run")
        await expect(page.locator("#report-summary")).to_contain_text("Fichier correct")
        await expect(do_import).to_be_enabled()
        await page.click("#kind-correspondents")
        await expect(do_import).to_be_disabled()
        await page.click("#kind-detainees")
        await page.click("#dry-run")
        await expect(do_import).to_be_enabled()
        assert await directory.detainee("123456") is None  # a dry run writes nothing
        await do_import.click()
        await expect(page.locator("#report-summary")).to_contain_text("1 fiche(s) enregistrée(s)")
        await expect(do_import).to_be_disabled()
        detainee = await directory.detainee("123456")
        assert detainee is not None and detainee.first_name == "Hélène" and detainee.cell == "214"

        # Then their correspondents.
        await page.click("#kind-correspondents")
        await page.set_input_files("#import-file", files=file(contacts))
        await page.click("#dry-run")
        await expect(do_import).to_be_enabled()
        await do_import.click()
        await expect(page.locator("#report-summary")).to_contain_text("Import terminé")
        assert [c.name for c in await directory.correspondents_of("123456")] == ["Paul MARTIN"]
        await ctx.close()
    assert [url for url, _ in sent] == [
        "/api/desk/import/detainees?dry_run=1&lang=fr",
        "/api/desk/import/detainees?dry_run=1&lang=fr",
        "/api/desk/import/detainees?dry_run=1&lang=fr",
        "/api/desk/import/detainees?lang=fr",
        "/api/desk/import/correspondents?dry_run=1&lang=fr",
        "/api/desk/import/correspondents?lang=fr",
    ]
    assert sent[3][1] == good and sent[5][1] == contacts
    assert problems == []
