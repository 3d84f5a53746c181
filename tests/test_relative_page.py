"""The relative's page for every family: the information notice, the rules remembered on the
phone, and the page as an installable web app (manifest, service worker, offline shell)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.config import ConfigError
from gateway.core.notice import Facts, default_notice, parse_custom
from gateway.http.notice import load

from .browser import (
    CHROMIUM_ARGS,
    accept_rules,
    chromium,
    chromium_path,
    enrolled_kiosk_context,
    kiosk_signs_in,
    screenshot,
)
from .callkit import seeded, wait_for_code
from .conftest import make_config

CACHED_JS = """(async () => {
  const out = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const url = new URL(request.url);
      const body = await (await cache.match(request)).text();
      out.push({ key: url.pathname + url.search, body });
    }
  }
  return out;
})()"""

LOADED_JS = """(async () => {
  const paths = performance.getEntriesByType('resource')
    .filter((e) => ['script', 'link', 'img', 'css'].includes(e.initiatorType))
    .map((e) => new URL(e.name).pathname);
  document.querySelectorAll('link[rel~="icon"], link[rel="apple-touch-icon"],'
    + ' link[rel="stylesheet"], link[rel="manifest"], script[src]')
    .forEach((el) => paths.push(new URL(el.href || el.src).pathname));
  const manifest = await (await fetch('/manifest.webmanifest')).json();
  manifest.icons.forEach((icon) => paths.push(new URL(icon.src, location.href).pathname));
  return [...new Set(paths)];
})()"""


async def _controlled(page: Any, url: str) -> None:
    """Open ``url`` until the service worker has installed and controls the page."""
    await page.goto(url)
    for _ in range(100):
        if await page.evaluate("!!navigator.serviceWorker.controller"):
            return
        await page.reload()
        await page.wait_for_timeout(100)
    raise AssertionError("the service worker never took the page over")


async def test_the_notice_says_who_why_how_long_and_the_rights(gateway_factory) -> None:
    gateway = await gateway_factory(establishment_name="Centre pénitentiaire de Test",
                                    retention_days=30)  # fmt: skip
    async with chromium() as browser:
        page = await (await browser.new_context(viewport={"width": 360, "height": 640})).new_page()
        await page.goto(f"{gateway.base_url}/confidentialite")
        text = await page.inner_text("main")
        for expected in ("Centre pénitentiaire de Test", "30 jours", "avocat", "CNIL",
                         "en direct ou en différé", "autorité judiciaire"):  # fmt: skip
            assert expected in text, expected
        assert "Your rights" not in text  # one language at a time
        await screenshot(page, "notice-fr")
        await page.click("#lang-toggle")
        text = await page.inner_text("main")
        assert "30 days" in text and "Your rights" in text and "Vos droits" not in text
        # The detainee's version, linked from the kiosk.
        await page.goto(f"{gateway.base_url}/confidentialite?pour=detenu")
        assert "prison number" in await page.inner_text("main")  # English was kept


def test_an_establishment_replaces_the_notice_with_its_own(tmp_path: Path) -> None:
    own = tmp_path / "notice.toml"
    own.write_text(
        '[fr.relative]\n"Qui traite vos données" = "La maison d\'arrêt de Nulle-Part."\n'
    )
    config = make_config(tmp_path, "redis://unused", privacy_notice_file=str(own))
    notices = load(config)
    assert [s.text for s in notices[("fr", "relative")]] == ["La maison d'arrêt de Nulle-Part."]
    assert notices[("en", "relative")][0].title == "Who processes your data"  # the default
    own.write_text("[fr.relative]\nbroken = \n")
    with pytest.raises(ConfigError):
        load(config)
    with pytest.raises(ValueError):
        parse_custom('[de.relative]\n"x" = "y"\n')
    facts = Facts(controller="X", contact="", retention_days=1)
    assert "1 jour," in default_notice(facts, "relative", "fr")[4].text
    with pytest.raises(ValueError, match="retention_dys"):
        parse_custom('[fr.relative]\n"Durée" = "{retention_dys} jours"\n')


def test_a_custom_notice_is_filled_with_the_configured_facts(tmp_path: Path) -> None:
    own = tmp_path / "notice.toml"
    own.write_text(
        '[fr.relative]\n"Combien de temps" = "Gardés {retention_days} jours ({retention}) par '
        '{controller}."\n[en.detainee]\n"How long" = "Kept {retention}."\n',
        encoding="utf-8",
    )
    config = make_config(tmp_path, "redis://unused", privacy_notice_file=str(own),
                         retention_days=45, establishment_name="CP de Test")  # fmt: skip
    notices = load(config)
    assert notices[("fr", "relative")][0].text == "Gardés 45 jours (45 jours) par CP de Test."
    assert notices[("en", "detainee")][0].text == "Kept 45 days."


async def test_the_notice_says_calls_are_not_recorded_when_they_are_not(
    gateway_factory, tmp_path: Path
) -> None:
    # The core: not recorded, nothing about recordings kept or who sees them.
    for lang in ("fr", "en"):
        for audience in ("relative", "detainee"):
            on = default_notice(Facts("X", "", 90), audience, lang)  # type: ignore[arg-type]
            off = default_notice(Facts("X", "", 90, record_calls=False), audience, lang)  # type: ignore[arg-type]
            text = " ".join(s.text for s in off)
            assert "90" not in text and "différé" not in text and "later" not in text
            assert ("ne sont pas enregistrés" if lang == "fr" else "not recorded") in text
            assert "90" in " ".join(s.text for s in on)
    # The page as served by a gateway that records nothing.
    gateway = await gateway_factory(record_calls=False, retention_days=30)
    async with chromium() as browser:
        page = await (await browser.new_context()).new_page()
        for query in ("", "?pour=detenu"):
            await page.goto(f"{gateway.base_url}/confidentialite{query}")
            text = await page.inner_text("main")
            assert "Ils ne sont pas enregistrés" in text and "30 jours" not in text, text
            assert "en direct" in text and "en différé" not in text


async def test_the_page_links_the_notice_and_remembers_the_rules(gateway_factory) -> None:
    gateway = await gateway_factory()
    async with chromium() as browser:
        ctx = await browser.new_context(viewport={"width": 360, "height": 640})
        page = await ctx.new_page()
        await page.goto(f"{gateway.base_url}/join")
        # Before the rules are accepted, and on every step: the notice is one tap away.
        assert await page.is_visible("#step-rules a[href='/confidentialite']")
        assert await page.is_visible("footer a[href='/confidentialite']")
        await accept_rules(page)
        await page.wait_for_selector("#code", state="visible")
        assert await page.is_visible("footer a[href='/confidentialite']")
        # The next time, on this phone: straight to the code (the flyer's three steps).
        await page.reload()
        await page.wait_for_selector("#code", state="visible")
        assert await page.is_visible("#rules-remembered")
        await page.click("#reread-rules")
        await page.wait_for_selector("#step-rules", state="visible")
        assert await page.is_checked("#rule-1")
        # A new phone (a new context) is asked again.
        other = await (await browser.new_context()).new_page()
        await other.goto(f"{gateway.base_url}/join")
        await other.wait_for_selector("#step-rules", state="visible")


async def test_installable_and_its_shell_opens_offline(gateway_factory, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    gateway = await gateway_factory()
    async with async_playwright() as pw:
        # A profile on disk, as on a phone: Chromium installs nothing from an incognito one.
        ctx = await pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=chromium_path(), args=CHROMIUM_ARGS,
            viewport={"width": 360, "height": 640},
        )  # fmt: skip
        page = await ctx.new_page()
        await page.goto(f"{gateway.base_url}/join")
        for _ in range(100):  # the worker installs and takes the page over
            if await page.evaluate("!!navigator.serviceWorker.controller"):
                break
            await page.reload()
            await page.wait_for_timeout(100)
        assert await page.evaluate("!!navigator.serviceWorker.controller")
        # Chromium's own installability check (manifest, icons, worker, secure origin).
        cdp = await ctx.new_cdp_session(page)
        errors = await cdp.send("Page.getInstallabilityErrors")
        assert errors["installabilityErrors"] == [], errors
        manifest = await cdp.send("Page.getAppManifest")
        assert manifest["errors"] == [] and manifest.get("url", "").endswith(
            "/manifest.webmanifest"
        )
        # The cache holds the shell, never what belongs to a call.
        cached = await page.evaluate(
            "(async () => { const out = []; for (const n of await caches.keys()) {"
            " const c = await caches.open(n); for (const r of await c.keys()) out.push("
            " new URL(r.url).pathname); } return out; })()"
        )
        assert "/join" in cached and "/static/join.js" in cached
        assert not [p for p in cached if p.startswith("/api") or p in ("/config.js", "/ws")]
        # Offline: the page still opens, and says a call needs a connection.
        await ctx.set_offline(True)
        await page.reload()
        await page.wait_for_selector("#offline", state="visible")
        assert "hors connexion" in await page.inner_text("#offline")
        await screenshot(page, "join-offline")
        await ctx.set_offline(False)
        await page.reload()
        await page.wait_for_selector("#offline", state="hidden")
        await ctx.close()


async def test_the_device_check_shows_camera_and_sound_and_sends_nothing(gateway_factory) -> None:
    gateway = await gateway_factory()
    async with chromium() as browser:
        ctx = await browser.new_context(viewport={"width": 360, "height": 640})
        page = await ctx.new_page()
        await page.goto(f"{gateway.base_url}/join")
        await accept_rules(page)
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        await page.click("#open-check")
        await page.wait_for_selector("#step-check", state="visible")
        # The camera's picture, and the fake microphone's tone moves the meter.
        levels = []
        for _ in range(100):
            width = await page.evaluate("document.getElementById('check-video').videoWidth")
            levels.append(await page.evaluate("document.getElementById('check-meter').value"))
            if width > 0 and max(levels) > 5:
                break
            await page.wait_for_timeout(50)
        assert width > 0 and max(levels) > 5, (width, levels)
        assert "fonctionne" in await page.inner_text("#check-camera")
        assert "il vous entend" in await page.inner_text("#check-mic")
        for _ in range(100):  # the connection, measured by a download of the page's own
            if "suffisante" in await page.inner_text("#check-network"):
                break
            await page.wait_for_timeout(50)
        assert "suffisante" in await page.inner_text("#check-network")
        assert [u for u in requests if "/static/check-probe.bin" in u]
        await screenshot(page, "join-device-check")
        await page.click("#close-check")
        await page.wait_for_selector("#code", state="visible")
        # Nothing of it reached the gateway: no socket, no request but the page's own files
        # (the browser fetching the app's icon for its manifest).
        sent = [u for u in requests if "/static/" not in u and "manifest" not in u]
        assert sockets == [] and sent == [], (sockets, requests)
        assert await page.evaluate("window.parloir.ws") is None


async def test_a_refused_permission_is_named_with_how_to_allow_it(gateway_factory) -> None:
    """The browser's own permissions, as the person left them (Playwright grants the listed
    ones; Chromium without its fake prompt refuses the others): the check names what is
    refused, says how to allow it on Android and iPhone, and tests what was allowed."""
    from playwright.async_api import async_playwright

    gateway = await gateway_factory()
    base = gateway.base_url
    args = [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=args)
        for granted, refused in (
            (["microphone"], "La caméra est refusée"),
            (["camera"], "Le micro est refusé"),
            ([], "La caméra et le micro sont refusés"),
        ):
            ctx = await browser.new_context(viewport={"width": 320, "height": 640})
            await ctx.grant_permissions(granted, origin=base)
            page = await ctx.new_page()
            await page.goto(f"{base}/join")
            await accept_rules(page)
            await page.click("#open-check")
            await page.wait_for_selector("#check-help", state="visible")
            error = await page.inner_text("#check-error")
            assert error.startswith(refused), (granted, error)
            help_text = await page.inner_text("#check-help")
            assert "Android" in help_text and "iPhone" in help_text
            assert await page.is_visible("#check-retry")
            if granted == ["microphone"]:
                # The microphone was allowed: its half of the test still runs.
                for _ in range(100):
                    if await page.evaluate("document.getElementById('check-meter').value") > 5:
                        break
                    await page.wait_for_timeout(50)
                assert "il vous entend" in await page.inner_text("#check-mic")
                assert await page.inner_text("#check-camera") == ""
                await screenshot(page, "join-320-check-camera-refused")
            await ctx.close()
        await browser.close()


async def test_the_cache_holds_the_whole_shell_and_nothing_of_a_call(
    gateway_factory, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    gateway = await gateway_factory()
    demo = await seeded(gateway)
    base = gateway.base_url
    async with async_playwright() as pw, chromium() as kiosk_browser:
        ctx = await pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=chromium_path(), args=CHROMIUM_ARGS,
            viewport={"width": 360, "height": 640},
        )  # fmt: skip
        page = await ctx.new_page()
        await _controlled(page, f"{base}/join")
        # Every script, stylesheet and icon the page loads is in the cache after install
        # (/config.js aside: TURN credentials, never cached).
        loaded = await page.evaluate(LOADED_JS)
        assert "/static/quality.js" in loaded and "/static/icon-512.png" in loaded, loaded
        keys = {entry["key"] for entry in await page.evaluate(CACHED_JS)}
        missing = [p for p in loaded if p not in keys and p != "/config.js"]
        assert missing == [], (missing, sorted(keys))
        # The two versions of the notice are kept apart: the detainee's does not overwrite
        # the relative's, offline either.
        await page.goto(f"{base}/confidentialite")
        await page.goto(f"{base}/confidentialite?pour=detenu")
        await ctx.set_offline(True)
        await page.goto(f"{base}/confidentialite")
        assert "numéro de téléphone" in await page.inner_text("main")
        await page.goto(f"{base}/confidentialite?pour=detenu")
        assert "numéro d'écrou" in await page.inner_text("main")
        await ctx.set_offline(False)

        # A real call's code, typed on the page opened from the SMS's link.
        kiosk_ctx = await enrolled_kiosk_context(kiosk_browser, gateway)
        kiosk = await kiosk_ctx.new_page()
        await kiosk_signs_in(kiosk, base, demo)
        await kiosk.click("#call")
        code, ref = await wait_for_code(gateway.config.outbox_path, timeout=10)
        await page.goto(f"{base}/join?appel={ref}")
        await accept_rules(page)
        await page.fill("#code", code)
        await page.click("#connect")
        await page.wait_for_selector("#accept-call", state="visible")
        await page.click("#accept-call")
        await page.wait_for_selector("#hangup", state="visible", timeout=15_000)
        cached = await page.evaluate(CACHED_JS)
        keys = {entry["key"] for entry in cached}
        assert "/join" in keys and "/confidentialite?pour=detenu" in keys, sorted(keys)
        never = [k for k in keys if k.startswith(("/api", "/ws", "/config.js")) or "appel" in k]
        assert never == [], never
        # Nor the code or the call's reference anywhere in what is stored.
        assert not [e["key"] for e in cached if code in e["body"] or ref in e["body"]]
        await page.click("#hangup")
        await ctx.close()
