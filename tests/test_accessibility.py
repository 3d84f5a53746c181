"""Every page passes axe-core (no serious or critical violation), the relative's three steps
work with the keyboard alone, and the relative's flow fits a 320 px wide phone.

The list of pages comes from the application's router: a new page cannot escape the check."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.async_playwright import Axe

from .browser import (
    CHROMIUM_ARGS,
    accept_rules,
    chromium,
    chromium_path,
    enrolled_kiosk_context,
    kiosk_signs_in,
    screenshot,
    signed_in_context,
)
from .callkit import seeded, wait_for_code

SKIP = ("/api/", "/ws", "/static", "/config.js", "/healthz", "/readyz", "/metrics", "/sw.js",
        "/manifest.webmanifest", "/favicon.ico")  # fmt: skip


def html_paths(app: Any) -> list[str]:
    """Every GET route without a path parameter that is not an API, a socket or a file."""
    paths = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path")
        if route.method == "GET" and path and not path.startswith(SKIP):
            paths.add(path)
    return sorted(paths)


async def serious(axe: Axe, page: Any) -> list[tuple[str, str, int]]:
    result = await axe.run(page)
    return [(v["id"], v["impact"], len(v["nodes"])) for v in result.response["violations"]
            if v["impact"] in ("serious", "critical")]  # fmt: skip


async def test_every_page_passes_axe(gateway_factory) -> None:
    gateway = await gateway_factory()
    await seeded(gateway)
    paths = html_paths(gateway.app)
    # The router really is the source: the public, kiosk and staff pages are all there.
    assert {"/join", "/kiosk", "/confidentialite", "/desk", "/monitor", "/regie"} <= set(paths)
    axe = Axe()
    checked: dict[str, list[tuple[str, str, int]]] = {}
    async with chromium() as browser:
        staff = await signed_in_context(browser, gateway)
        kiosk = await enrolled_kiosk_context(browser, gateway)
        for path in paths:
            page = await (kiosk if path.startswith("/kiosk") else staff).new_page()
            response = await page.goto(gateway.base_url + path)
            assert response is not None
            if "text/html" not in (response.headers.get("content-type") or ""):
                await page.close()
                continue  # e.g. "/" redirects nowhere else but a file route
            await page.wait_for_load_state("networkidle")
            checked[page.url] = await serious(axe, page)
            await page.close()
    assert len(checked) >= 15, sorted(checked)
    assert all(not v for v in checked.values()), {k: v for k, v in checked.items() if v}


async def test_the_relatives_three_steps_with_the_keyboard_alone_at_320_px(gateway_factory) -> None:
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    axe = Axe()
    async with chromium() as browser:
        kiosk_ctx = await enrolled_kiosk_context(browser, gateway)
        kiosk = await kiosk_ctx.new_page()
        await kiosk_signs_in(kiosk, gateway.base_url, demo)
        await kiosk.click("#call")
        code, _ref = await wait_for_code(gateway.config.outbox_path, timeout=10)

        phone_ctx = await browser.new_context(
            viewport={"width": 320, "height": 640}, is_mobile=True
        )
        phone = await phone_ctx.new_page()
        await phone.goto(f"{gateway.base_url}/join")
        seen: dict[str, list[tuple[str, str, int]]] = {}

        async def tab_to(selector: str, limit: int = 30) -> None:
            """Press Tab until ``selector`` has the focus (as a keyboard user would)."""
            for _ in range(limit):
                if await phone.evaluate(f"document.activeElement.matches({selector!r})"):
                    return
                await phone.keyboard.press("Tab")
            raise AssertionError(f"{selector} never got the focus with Tab")

        async def fits() -> None:
            width = await phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 320, f"the page is {width} px wide at 320 px"

        # Step 1: the rules, ticked with Space, accepted with Enter.
        seen["rules"] = await serious(axe, phone)
        await fits()
        await screenshot(phone, "join-320-rules")
        for box in ("#rule-1", "#rule-2", "#rule-3"):
            await tab_to(box)
            await phone.keyboard.press("Space")
        await tab_to("#accept-rules")
        await phone.keyboard.press("Enter")
        # Step 2: the code, typed, and Enter (after the device check, opened and closed).
        await phone.wait_for_selector("#code", state="visible")
        seen["code"] = await serious(axe, phone)
        await fits()
        await screenshot(phone, "join-320-code")
        await tab_to("#open-check")
        await phone.keyboard.press("Enter")
        await phone.wait_for_selector("#close-check", state="visible")
        await phone.wait_for_timeout(500)
        seen["check"] = await serious(axe, phone)
        await fits()
        await screenshot(phone, "join-320-check")
        await tab_to("#close-check")
        await phone.keyboard.press("Enter")
        await tab_to("#code")
        await phone.keyboard.type(code)
        await phone.keyboard.press("Enter")
        # Step 3: accept the call.
        await phone.wait_for_selector("#accept-call", state="visible")
        seen["incoming"] = await serious(axe, phone)
        await fits()
        await screenshot(phone, "join-320-incoming")
        await tab_to("#accept-call")
        await phone.keyboard.press("Enter")
        await phone.wait_for_selector("#hangup", state="visible", timeout=15_000)
        for _ in range(200):  # (no wait_for_function: the page's CSP forbids eval)
            if await phone.evaluate("window.parloir.state") == "connected":
                break
            await phone.wait_for_timeout(100)
        assert await phone.evaluate("window.parloir.state") == "connected"
        seen["call"] = await serious(axe, phone)
        await fits()
        await screenshot(phone, "join-320-in-call")
        # Hanging up with the keyboard too.
        await tab_to("#hangup")
        await phone.keyboard.press("Enter")
        await phone.wait_for_selector("#ended", state="visible", timeout=10_000)
        seen["ended"] = await serious(axe, phone)
        await fits()
        await screenshot(phone, "join-320-ended")
        assert all(not v for v in seen.values()), seen


async def test_the_states_after_the_first_pass_axe_too(gateway_factory) -> None:
    """Beyond each page's first state (the walk above covers the relative's steps up to the
    end of a call): the kiosk signed in and calling, the relative's page in English with the
    rules remembered, the check with a refused camera and its help, the English notices."""
    from playwright.async_api import async_playwright

    gateway = await gateway_factory()
    demo = await seeded(gateway)
    base = gateway.base_url
    axe = Axe()
    seen: dict[str, list[tuple[str, str, int]]] = {}
    async with chromium() as browser:
        kiosk = await (await enrolled_kiosk_context(browser, gateway)).new_page()
        await kiosk_signs_in(kiosk, base, demo)
        await kiosk.wait_for_selector("#call", state="visible")
        seen["kiosk-signed-in"] = await serious(axe, kiosk)
        await kiosk.click("#call")
        await wait_for_code(gateway.config.outbox_path, timeout=10)
        await kiosk.wait_for_selector("#code-remaining", state="visible")
        seen["kiosk-calling"] = await serious(axe, kiosk)

        phone = await (await browser.new_context(viewport={"width": 320, "height": 640})).new_page()
        await phone.goto(f"{base}/join")
        await accept_rules(phone)
        await phone.click("#lang-toggle")
        await phone.wait_for_selector("html[lang='en']")
        seen["join-code-en"] = await serious(axe, phone)
        await phone.reload()
        await phone.wait_for_selector("#rules-remembered", state="visible")
        seen["join-remembered-en"] = await serious(axe, phone)

        notice = await (await browser.new_context()).new_page()
        for query in ("", "?pour=detenu"):
            await notice.goto(f"{base}/confidentialite{query}")
            if not await notice.is_visible("article[lang='en']"):  # the choice is remembered
                await notice.click("#lang-toggle")
            await notice.wait_for_selector("article[lang='en']:not([hidden])")
            seen[f"notice-en{query}"] = await serious(axe, notice)

    # The camera refused for real (no fake prompt; the microphone alone granted).
    args = [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"]
    async with async_playwright() as pw:
        refusing = await pw.chromium.launch(executable_path=chromium_path(), args=args)
        ctx = await refusing.new_context(viewport={"width": 320, "height": 640})
        await ctx.grant_permissions(["microphone"], origin=base)
        phone = await ctx.new_page()
        await phone.goto(f"{base}/join")
        await accept_rules(phone)
        await phone.click("#open-check")
        await phone.wait_for_selector("#check-help", state="visible")
        seen["join-check-refused"] = await serious(axe, phone)
        await refusing.close()
    assert all(not v for v in seen.values()), {k: v for k, v in seen.items() if v}
