"""The administrator's and the head of the prison's pages, and a kiosk's enrolment, in headless
Chromium against a real gateway and Redis.

The administrator creates a guard's account with a generated password and enrols the kiosk; a
fresh browser types the code on /kiosk/enrolement and becomes the kiosk; the administrator
revokes it and the kiosk is sent back to enrolment; the guard signs in on /connexion with the
handed-over password. The head of the prison suspends a detainee's video calls (a booking in
the period is refused), lifts it, sanctions a number and lifts it, extends a booking; every
decision is in the audit log. No page logs a console error; screenshots at 1280x800 and
360x740 go to tests/artifacts/.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from playwright.async_api import expect

from gateway.cli import Running
from gateway.core.roles import Role
from gateway.http import appkeys as keys
from gateway.store.directory import Correspondent, Detainee, hash_access_code

from .browser import chromium, screenshot, signed_in_context
from .staffkit import sign_in, staff_http

DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 360, "height": 740}
PARIS = {"locale": "fr-FR", "timezone_id": "Europe/Paris"}
NUMBER = "271828"
PHONE = "+33612345678"


def _watch(page: Any, problems: list[str]) -> None:
    """Script errors and console errors (a CSP violation is one). Chromium also logs every
    refused request ("Failed to load resource"): the refusals tested here are expected."""

    def console(msg: Any) -> None:
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            problems.append(f"{page.url}: console: {msg.text}")

    page.on("pageerror", lambda exc: problems.append(f"{page.url}: pageerror: {exc}"))
    page.on("console", console)


async def _both_sizes(page: Any, name: str) -> None:
    await screenshot(page, f"{name}-desktop")
    await page.set_viewport_size(NARROW)
    await page.wait_for_timeout(100)
    # Nothing wider than the screen at 360 px (tables turn into cards).
    overflow = await page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= NARROW["width"], f"{name}: {overflow}px wide at 360px"
    await screenshot(page, f"{name}-360")
    await page.set_viewport_size(DESKTOP)


async def test_admin_creates_an_account_enrols_and_revokes_a_kiosk(gateway_factory) -> None:
    gateway = await gateway_factory()
    base = gateway.base_url
    problems: list[str] = []
    async with chromium() as browser:
        admin = await signed_in_context(
            browser, gateway, roles=[Role.ADMIN], name="Administrateur Bernard",
            viewport=DESKTOP, **PARIS,
        )  # fmt: skip
        page = await admin.new_page()
        _watch(page, problems)
        await page.goto(f"{base}/admin")
        await page.wait_for_selector("body[data-ready='1']")
        await expect(page.locator(".session-who")).to_contain_text("Administrateur Bernard")

        # A new account for an activities-zone guard, with a generated password shown once.
        await page.click("#create-box > summary")
        await page.fill("#new-login", "b.martin")
        await page.fill("#new-name", "Brigadier Martin")
        await page.check("#new-role-activites")
        await page.click("#generate")
        password = await page.input_value("#new-password")
        assert re.fullmatch(r"[A-HJ-NP-Za-km-z2-9]{16}", password), password
        await page.click("#create-submit")
        await expect(page.locator("#secret-value")).to_have_text(password)
        await expect(page.locator("#secret-intro")).to_contain_text("b.martin")
        row = page.locator("#staff-body tr[data-login='b.martin']")
        await expect(row).to_contain_text("Surveillant de la zone d'activités")
        await expect(row).to_contain_text("actif")
        await expect(row).to_contain_text("Administrateur Bernard")
        assert await page.input_value("#new-password") == ""  # not left in the form
        # The same login again: the server's sentence.
        await page.fill("#new-login", "b.martin")
        await page.fill("#new-name", "Quelqu'un")
        await page.check("#new-role-etage")
        await page.click("#generate")
        await page.click("#create-submit")
        await expect(page.locator("#create-error")).to_have_text("Cet identifiant existe déjà.")
        # A name holding a right-to-left override (it would read reversed): the text rule's
        # sentence, the name field marked, no account.
        await page.fill("#new-login", "b.autre")
        await page.fill("#new-name", "Brig\u202eadier")
        await page.click("#create-submit")
        await expect(page.locator("#create-error")).to_contain_text("caractère invisible")
        await expect(page.locator("#new-name")).to_have_attribute("aria-invalid", "true")
        assert await page.locator("#staff-body tr[data-login='b.autre']").count() == 0
        await page.click("#secret-done")
        await expect(page.locator("#secret-box")).to_be_hidden()
        # A second role, then a new password (confirm step; shown once, replaces the first).
        await row.locator("button[data-action='roles']").click()
        await page.check("#edit-b\\.martin-etage")
        await page.click(".editor-row button[type='submit']")
        await expect(row).to_contain_text("Surveillant d'étage")
        await row.locator("button[data-action='reset']").click()
        await page.click(".confirm-box .btn-danger")
        await expect(page.locator("#secret-intro")).to_contain_text("b.martin")
        await expect(page.locator("#secret-value")).to_have_text(re.compile(r"^\S{16}$"))
        new_password = (await page.inner_text("#secret-value")).strip()
        assert len(new_password) == 16 and new_password != password
        password = new_password
        await page.click("#secret-done")
        # In English, with the roles' English labels.
        await page.click("#lang-toggle")
        await expect(page.locator("#staff-title")).to_have_text("Staff accounts")
        await expect(row).to_contain_text("Activities-zone guard")
        await page.click("#lang-toggle")
        await expect(page.locator("#staff-title")).to_have_text("Comptes des agents")
        # The only administrator cannot disable their own account (after a confirm step).
        me = page.locator("#staff-body tr").filter(has_text="Administrateur Bernard").first
        await me.locator("button[data-action='disable']").click()
        await page.click(".confirm-box .btn-danger")
        await expect(page.locator("#staff-error")).to_contain_text("dernier administrateur actif")

        # Enrolling kiosk-1: the one-time code, big, with the instruction.
        await page.click("#kiosk-body button[data-action='enrol'][data-kiosk='kiosk-1']")
        shape = re.compile(r"^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$")
        await expect(page.locator("#enrol-code")).to_have_text(shape)
        code = (await page.inner_text("#enrol-code")).strip()
        await expect(page.locator("#enrol-instruction")).to_have_text(
            "Sur la borne, ouvrez /kiosk/enrolement et tapez ce code (valable 30 minutes)."
        )
        await expect(page.locator("#kiosk-body tr[data-kiosk='kiosk-1']")).to_contain_text(
            "code en attente"
        )
        await _both_sizes(page, "admin")

        # A fresh browser on the kiosk: sent to enrolment; a wrong code typed (lower case, no
        # dashes: the page groups it) gets the server's sentence; the right one, given in the
        # address, makes it the kiosk.
        kiosk_ctx = await browser.new_context(viewport=DESKTOP, **PARIS)
        kiosk = await kiosk_ctx.new_page()
        _watch(kiosk, problems)
        await kiosk.goto(f"{base}/kiosk")
        await kiosk.wait_for_url(f"{base}/kiosk/enrolement")
        await kiosk.wait_for_selector("body[data-ready='1']")
        await kiosk.type("#code", "abcdefghjkmn")
        assert await kiosk.input_value("#code") == "ABCD-EFGH-JKMN"
        await kiosk.click("#enrol-submit")
        await expect(kiosk.locator("#enrol-error")).to_have_text(
            "Code d'enrôlement invalide ou expiré."
        )
        await kiosk.goto(f"{base}/kiosk/enrolement?code={code.replace('-', '').lower()}")
        await kiosk.wait_for_selector("body[data-ready='1']")
        assert await kiosk.input_value("#code") == code
        await _both_sizes(kiosk, "kiosk-enrol")
        await kiosk.click("#enrol-submit")
        await expect(kiosk.locator("#enrol-done")).to_contain_text(
            "Borne enrôlée : Salle d'audience"
        )
        await kiosk.wait_for_url(f"{base}/kiosk", timeout=5000)
        await expect(kiosk.locator("#step-login")).to_be_visible()

        # The administrator sees it enrolled, then revokes it (confirm step).
        await page.click("#kiosks-refresh")
        kiosk_row = page.locator("#kiosk-body tr[data-kiosk='kiosk-1']")
        await expect(kiosk_row).to_have_attribute("data-status", "enrolled")
        await expect(kiosk_row).to_contain_text("Enrôlée par Administrateur Bernard")
        await kiosk_row.locator("button[data-action='revoke']").click()
        await expect(kiosk_row.locator(".confirm-box")).to_contain_text("Révoquer la borne kiosk-1")
        await kiosk_row.locator(".confirm-box .btn-danger").click()
        await expect(kiosk_row).to_have_attribute("data-status", "revoked")
        await expect(kiosk_row).to_contain_text("révoquée")
        await kiosk.reload()
        await kiosk.wait_for_url(f"{base}/kiosk/enrolement")

        # The guard signs in with the handed-over password on the real sign-in page.
        guard_ctx = await browser.new_context(viewport=DESKTOP, **PARIS)
        guard = await guard_ctx.new_page()
        _watch(guard, problems)
        await guard.goto(f"{base}/connexion")
        await _both_sizes(guard, "login")
        await guard.fill("#login", "b.martin")
        await guard.fill("#password", password)
        await guard.click("#login-submit")
        # The administrator's password works once: the guard chooses their own first.
        await expect(guard.locator("#password-form")).to_be_visible()
        await expect(guard.locator("#current-field")).to_be_hidden()
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
            csrf = await sign_in(other, base, "b.martin", password)
            async with other.get(f"{base}/api/desk/day") as resp:
                assert resp.status == 403
                assert (await resp.json())["reason"] == "staff.password_change_required"
            async with other.get(f"{base}/desk", allow_redirects=False) as resp:
                assert resp.headers["Location"].startswith("/connexion?changer=1")
            assert csrf
        await guard.fill("#new-password", "un soir de novembre")
        await guard.fill("#new-password-2", "un soir de novembre ")
        await guard.click("#password-submit")
        await expect(guard.locator("#password-error")).to_contain_text("diffèrent")
        await guard.fill("#new-password-2", "un soir de novembre")
        await guard.click("#password-submit")
        await guard.wait_for_url(f"{base}/desk")
        await expect(guard.locator(".session-who")).to_contain_text("Brigadier Martin")
        audit = await gateway.app[keys.AUDIT].entries(since=0, until=time.time() + 1)
        assert "staff.password" in [e.action for e in audit]
        # Pages the role does not open are not offered.
        await expect(guard.locator("nav li:has(a[href='/desk/import'])")).to_be_hidden()
        # The head of the prison's parts of the desk (records, correspondents) are not shown.
        await expect(guard.locator("section[data-needs='people']")).to_be_hidden()
        await expect(guard.locator("#search-q")).to_be_visible()
        # A page the role does not open says so, with the way back.
        await guard.goto(f"{base}/monitor")
        await expect(guard.locator("#login-denied")).to_contain_text("/monitor")
        await guard.click("#login-home")
        await guard.wait_for_url(f"{base}/desk")
        await expect(guard.locator("nav a[href='/desk/mouvements']")).to_be_visible()
        me_json = await guard.evaluate("fetch('/api/staff/me').then((r) => r.json())")
        assert {"/monitor", "/admin", "/direction", "/regie"} <= set(me_json["denied_pages"])
    assert problems == []


async def _seed(gateway: Running) -> None:
    directory = gateway.app[keys.DIRECTORY]
    await directory.put_detainee(
        Detainee(
            number=NUMBER, first_name="Lucien", last_name="Garnier",
            code_hash=hash_access_code("2468"), building="A", floor="3", cell="305",
            charter_signed_at=time.time() - 86400, charter_signed_by="Brigadier Martin",
        )
    )  # fmt: skip
    await directory.put_correspondent(
        Correspondent(id="corr_lucie", detainee=NUMBER, name="Lucie Garnier",
                      phone="+33698765432", relationship="sœur")
    )  # fmt: skip
    await gateway.app[keys.LEDGER].credit(NUMBER, 5000, "regie", "seed-garnier", 0)


async def test_head_of_prison_sanctions_lifts_and_extends(gateway_factory) -> None:
    gateway = await gateway_factory()
    await _seed(gateway)
    base = gateway.base_url
    zone = gateway.app[keys.DESK].establishment.zone
    today = datetime.now(zone).date()
    problems: list[str] = []
    async with chromium() as browser, staff_http(gateway, roles=[Role.ACTIVITIES]) as desk:
        async with desk.get(f"{base}/api/slots?days=14") as resp:
            start = next(s["start"] for s in await resp.json() if s["bookable"])
        order = {"detainee": NUMBER, "correspondent": "corr_lucie", "kiosk": "kiosk-1",
                 "start": start}  # fmt: skip

        ctx = await signed_in_context(
            browser, gateway, roles=[Role.HEAD], name="Directrice Lambert", viewport=DESKTOP,
            **PARIS,
        )  # fmt: skip
        page = await ctx.new_page()
        _watch(page, problems)
        await page.goto(f"{base}/direction")
        await page.wait_for_selector("body[data-ready='1']")
        await expect(page.locator(".session-who")).to_contain_text("Directrice Lambert")
        for path in ("/direction", "/desk", "/enregistrements", "/audit", "/regie"):
            await expect(page.locator(f"nav a[href='{path}']")).to_be_visible()

        # Refusals: a missing end date (the page), an unknown detainee (the server's sentence).
        await page.fill("#det-number", "999999")
        await page.fill("#det-reason", "Incident du parloir")
        await page.click("#det-submit")
        await expect(page.locator("#det-form-error")).to_contain_text("Indiquez le dernier jour")
        await page.check("#det-withdrawal")
        await expect(page.locator("#det-until")).to_be_disabled()
        await page.click("#det-submit")
        await expect(page.locator("#det-form-error")).to_have_text("Détenu introuvable.")
        await page.uncheck("#det-withdrawal")

        # Video calls suspended from today to today + 20 days.
        last = (today + timedelta(days=20)).isoformat()
        await page.fill("#det-number", NUMBER)
        await page.fill("#det-from", today.isoformat())
        await page.fill("#det-until", last)
        await page.check("#det-scope-video")
        await page.click("#det-submit")
        row = page.locator(f"#det-body tr[data-detainee='{NUMBER}']")
        await expect(row).to_have_attribute("data-active", "1")
        await expect(row).to_contain_text("visiophonie")
        await expect(row).to_contain_text("suspension")
        await expect(row).to_contain_text((today + timedelta(days=20)).strftime("%d/%m/%Y"))
        await expect(row).to_contain_text("Directrice Lambert")
        await expect(row).to_contain_text("en cours")

        async with desk.post(f"{base}/api/desk/bookings", json=order) as resp:
            refused = await resp.json()
            assert resp.status == 409 and refused["reason"] == "booking.detainee_sanctioned"
            # The guard reads out the suspension's last day, the one the direction typed.
            until = (today + timedelta(days=20)).strftime("%d/%m/%Y")
            assert refused["message"].endswith(f"suspendu jusqu'au {until} inclus."), refused

        await row.locator("button[data-action='lift']").click()
        await expect(row).to_have_attribute("data-active", "0")
        await expect(row).to_contain_text("levée le")
        async with desk.post(f"{base}/api/desk/bookings", json=order) as resp:
            booking = await resp.json()
            assert resp.status == 201, booking

        # A sanctioned number, typed the French way, then lifted.
        await page.fill("#num-phone", "06 12 34 56 78")
        await page.fill("#num-until", (today + timedelta(days=7)).isoformat())
        await page.fill("#num-reason", "Propos menaçants lors de l'appel")
        await page.click("#num-submit")
        num_row = page.locator(f"#num-body tr[data-phone='{PHONE}']")
        await expect(num_row).to_have_attribute("data-active", "1")
        await expect(num_row).to_contain_text((today + timedelta(days=7)).strftime("%d/%m/%Y"))
        await expect(page.locator("#num-status")).to_contain_text("sanctionné")

        # A longer call for the booking.
        await page.fill("#ext-booking", booking["id"])
        await page.press("#ext-booking", "Tab")
        now_minutes = booking["max_seconds"] // 60
        await expect(page.locator("#ext-current")).to_contain_text(
            f"durée maximale actuelle {now_minutes} min, créneau de 45 min"
        )
        await page.fill("#ext-minutes", "40")
        await page.fill("#ext-reason", "Naissance dans la famille")
        await page.click("#ext-submit")
        await expect(page.locator("#ext-result")).to_contain_text("durée maximale 40 min")
        await expect(page.locator("#ext-current")).to_contain_text("durée maximale actuelle 40")
        await _both_sizes(page, "direction")

        await num_row.locator("button[data-action='lift']").click()
        await expect(num_row).to_have_attribute("data-active", "0")

    async with staff_http(gateway, roles=[Role.HEAD]) as head:
        async with head.get(f"{base}/api/audit") as resp:
            entries = await resp.json()
    mine = [
        (e["action"], e["target"])
        for e in entries
        if "Directrice Lambert" in e["actor"] and e["action"] != "staff.login"
    ]
    assert mine == [
        ("sanction.detainee", NUMBER),
        ("sanction.detainee_lift", NUMBER),
        ("sanction.number", PHONE),
        ("booking.extend", booking["id"]),
        ("sanction.lift", PHONE),
    ], mine
    assert problems == []


async def test_revoking_a_kiosk_cancels_its_pending_code(gateway_factory) -> None:
    """A code given before the revocation (or replaced by a newer one) enrols nothing."""
    gateway = await gateway_factory()
    base = gateway.base_url
    async with staff_http(gateway, roles=[Role.ADMIN]) as http:

        async def enrol_code() -> str:
            async with http.post(f"{base}/api/admin/kiosks/kiosk-1/enrol") as resp:
                assert resp.status == 201
                return str((await resp.json())["code"])

        async def redeem(code: str) -> int:
            async with http.post(f"{base}/api/kiosk/enrol", json={"code": code}) as resp:
                return resp.status

        replaced = await enrol_code()
        pending = await enrol_code()
        assert await redeem(replaced) == 403
        async with http.post(f"{base}/api/admin/kiosks/kiosk-1/revoke") as resp:
            assert resp.status == 200
            assert (await resp.json())["pending"] is False
        assert await redeem(pending) == 403
        assert await redeem(await enrol_code()) == 200
