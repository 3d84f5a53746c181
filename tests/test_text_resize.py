"""Text resizes to 200 % without loss (WCAG 1.4.4), on the relative's phone, the kiosk, the
information notice and staff pages.

How the text is made larger: Chromium's own font-size preference, set through the DevTools
protocol (``Page.setFontSizes``: the default font size 16 px -> 32 px, monospace 13 -> 26 px),
which is what "Taille de la police : très grande" in a browser's settings does, and what
Android's text scaling does to a page's root size. It enlarges the text only: the viewport
stays 360 CSS pixels wide and images, video and px-sized boxes keep their size, so the layout
must absorb text twice as large. Page zoom (Ctrl +, CSS zoom or a device scale) would enlarge
everything and shrink the viewport to 180 CSS px: that is reflow (WCAG 1.4.10, 320 px,
tested by the 320 px tests), not text resize. A page that fixed its text in px would not grow
here, and the test checks that the text did grow.

What counts as loss, on every visible text: cut by an ancestor that hides its overflow (the
text's own line boxes, from ``Range.getClientRects``, outside that box), outside the viewport,
overlapping another element's text; the page scrolling sideways; a button or a field whose
content is wider or taller than its box. A wide data table may scroll sideways inside its own
focusable region (``role="region" tabindex="0"``, reached with the arrow keys): that is not loss.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .browser import ARTIFACTS, chromium, enrolled_kiosk_context, signed_in_context
from .callkit import seeded
from .netlab import observe, start_browser_call

TEXT_LOSS_JS = """() => {
  const problems = [];
  const root = document.documentElement;
  const vw = root.clientWidth;
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.classList.length ? '.' + [...el.classList].join('.') : '');
  const shown = (el) => {
    if (el.closest('.sr-only, [hidden], [aria-hidden="true"], select, script, style, template'))
      return false;
    const closed = el.closest('details:not([open])');   // its content is not rendered
    if (closed && !el.closest('summary')) return false;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || s.display === 'none' || Number(s.opacity) === 0) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  // Beyond the screen but inside a region that scrolls sideways and takes the focus (a wide
  // data table, WCAG 1.4.10's exception): reached with the arrow keys, not lost. The region
  // itself must fit on the screen.
  const scrolled = (el) => {
    const region = el.closest('[role="region"][tabindex="0"]');
    if (!region || !['auto', 'scroll'].includes(getComputedStyle(region).overflowX)) return false;
    const box = region.getBoundingClientRect();
    return box.left >= -1 && box.right <= vw + 1;
  };
  if (root.scrollWidth > vw + 1) {
    problems.push(`the page scrolls sideways: ${root.scrollWidth} > ${vw}`);
  }
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const text = node.textContent.trim();
    const el = node.parentElement;
    if (!text || !el || !shown(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const rects = [...range.getClientRects()].filter((r) => r.width > 0.5 && r.height > 0.5);
    const label = `"${text.slice(0, 40)}" (${name(el)})`;
    texts.push({ el, rects, label });
    for (const r of rects) {
      if ((r.left < -1 || r.right > vw + 1) && !scrolled(el)) {
        problems.push(`${label} off screen: ${Math.round(r.left)}..${Math.round(r.right)}`);
      }
    }
    for (let a = el; a && a !== root; a = a.parentElement) {
      const s = getComputedStyle(a);
      const hides = (v) => v === 'hidden' || v === 'clip';
      if (!hides(s.overflowX) && !hides(s.overflowY)) continue;
      const box = a.getBoundingClientRect();
      for (const r of rects) {
        const cutX = hides(s.overflowX) && (r.left < box.left - 1 || r.right > box.right + 1);
        const cutY = hides(s.overflowY) && (r.top < box.top - 1 || r.bottom > box.bottom + 1);
        if (cutX || cutY) { problems.push(`${label} cut by ${name(a)}`); break; }
      }
    }
  }
  for (let i = 0; i < texts.length; i += 1) {
    for (let j = i + 1; j < texts.length; j += 1) {
      const a = texts[i], b = texts[j];
      if (a.el === b.el) continue;
      const hit = a.rects.some((r) => b.rects.some((q) =>
        Math.min(r.right, q.right) - Math.max(r.left, q.left) > 2 &&
        Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top) > 2));
      if (hit) problems.push(`${a.label} overlaps ${b.label}`);
    }
  }
  const controls = 'button, .btn, input:not([type=checkbox]):not([type=radio]), summary';
  document.querySelectorAll(controls).forEach((el) => {
    if (!shown(el)) return;
    if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1) {
      problems.push(`${name(el)} cuts its content: ${el.scrollWidth}x${el.scrollHeight}` +
        ` in ${el.clientWidth}x${el.clientHeight}`);
    }
    const r = el.getBoundingClientRect();
    if ((r.left < -1 || r.right > vw + 1) && !scrolled(el)) problems.push(`${name(el)} off screen`);
    if (el.tagName === 'BUTTON' && !el.textContent.trim() && !el.getAttribute('aria-label')) {
      problems.push(`${name(el)} has no label`);
    }
  });
  return problems;
}"""


_SESSIONS: list[Any] = []
"""The DevTools sessions: one that is collected is detached, and its setting goes with it."""


async def large_text(page: Any) -> None:
    """Chromium's font-size preference at 200 % (see the module notes)."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 32, "fixed": 26}})
    _SESSIONS.append(cdp)


LOST: dict[str, list[str]] = {}
"""What each view lost (all views are checked, then the test says every loss at once)."""


async def no_text_lost(page: Any, what: str) -> None:
    # The preference took: the body's text (1rem on staff pages, 1.0625rem on the public ones)
    # is twice its usual 16 or 17 px; text fixed in px would have stayed there.
    size = await page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 32, (what, size)
    problems = await page.evaluate(TEXT_LOSS_JS)
    await whole_page_shot(page, f"text-200-{what}")
    if problems:
        LOST[what] = problems


async def whole_page_shot(page: Any, name: str) -> None:
    """The whole page, as tall as it is: Playwright's full-page screenshot resets the
    font-size preference while it captures (measured), so the viewport is made that tall.
    Not a landscape screen: a taller viewport would leave its layout (a media query on the
    aspect ratio); it is shot at the top and at the bottom instead."""
    viewport = page.viewport_size
    height = await page.evaluate("() => document.documentElement.scrollHeight")
    ARTIFACTS.mkdir(exist_ok=True)
    if viewport["width"] > viewport["height"]:
        scrolled = await page.evaluate("() => window.scrollY")
        for where, y in (("top", 0), ("bottom", height)):
            await page.evaluate("(y) => window.scrollTo(0, y)", y)
            await page.screenshot(path=str(ARTIFACTS / f"{name}-{where}.png"))
        await page.evaluate("(y) => window.scrollTo(0, y)", scrolled)
        return
    scrolled = await page.evaluate("() => [window.scrollX, window.scrollY]")
    await page.set_viewport_size({"width": viewport["width"], "height": min(height, 6000)})
    await page.evaluate("() => window.scrollTo(0, 0)")
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    await page.set_viewport_size(viewport)
    await page.evaluate("([x, y]) => window.scrollTo(x, y)", scrolled)


PHONE = {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True}


async def test_the_relatives_steps_and_the_kiosk_at_200_percent_text(gateway_factory) -> None:
    LOST.clear()
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    base = gateway.base_url
    async with chromium() as browser:
        # The relative's steps before a call: rules, code, device check.
        context = await browser.new_context(**PHONE)
        page = await context.new_page()
        await large_text(page)
        await page.goto(f"{base}/join")
        await no_text_lost(page, "join-rules")
        for rule in ("#rule-1", "#rule-2", "#rule-3"):
            await page.check(rule)
        await page.click("#accept-rules")
        await page.wait_for_selector("#step-code", state="visible")
        await page.fill("#code", "123456")
        await page.click("#connect")  # a wrong code: the error shows too
        await page.wait_for_selector("#join-error:not(:empty)")
        await no_text_lost(page, "join-code")
        await page.click("#open-check")
        await page.wait_for_selector("#check-camera:not(:empty)", timeout=10_000)
        await no_text_lost(page, "join-check")
        await page.click("#close-check")
        await page.reload()  # rules remembered: the code step with its hint and link
        await page.wait_for_selector("#rules-remembered", state="visible")
        await no_text_lost(page, "join-code-remembered")
        await context.close()

        # The kiosk's login at 360 px too (a narrow screen must not lose it either).
        kiosk_ctx = await enrolled_kiosk_context(browser, gateway, **PHONE)
        kiosk = await kiosk_ctx.new_page()
        await large_text(kiosk)
        await kiosk.goto(f"{base}/kiosk")
        await no_text_lost(kiosk, "kiosk-login-360")
        await kiosk_ctx.close()

        # A whole call with large text from the start (the helper's clicks need every button
        # visible and clickable), then the call views.
        call = await start_browser_call(gateway, browser, browser, demo, on_page=_large)
        try:
            phone, kiosk = call.phone, call.kiosk
            await phone.wait_for_selector("#remaining:not(:empty)")
            await asyncio.sleep(1.0)  # the countdown and the status settle
            await no_text_lost(phone, "join-call")
            await no_text_lost(kiosk, "kiosk-call")
            await phone.click("#audio-only")
            await kiosk.wait_for_selector("#media-notice", state="visible")
            await no_text_lost(phone, "join-call-audio-only")
            await no_text_lost(kiosk, "kiosk-call-audio-only")
            assert (await observe(phone)).get("connectionState") == "connected"
            assert call.errors == []
        finally:
            await call.close()
    print("\n".join(f"{what}: {p}" for what, lost in LOST.items() for p in lost))
    assert LOST == {}, "\n".join(f"{what}: {p}" for what, lost in LOST.items() for p in lost)


async def _large(_side: str, page: Any) -> None:
    await large_text(page)


async def test_the_notice_and_staff_pages_at_200_percent_text(gateway_factory) -> None:
    LOST.clear()
    gateway = await gateway_factory()
    await seeded(gateway)
    base = gateway.base_url
    async with chromium() as browser:
        # The notice, on the relative's phone, in both languages, and the detainee's.
        context = await browser.new_context(**PHONE)
        page = await context.new_page()
        await large_text(page)
        await page.goto(f"{base}/confidentialite")
        await no_text_lost(page, "notice-fr")
        await page.click("#lang-toggle")
        await no_text_lost(page, "notice-en")
        await page.goto(f"{base}/confidentialite?pour=detenu")
        await no_text_lost(page, "notice-detainee-en")
        await context.close()

        # Two staff pages on an office screen: bookings (forms, tables) and recordings.
        staff = await signed_in_context(browser, gateway, viewport={"width": 1280, "height": 800})
        for path, what in (("/desk", "staff-desk"), ("/enregistrements", "staff-recordings")):
            page = await staff.new_page()
            await large_text(page)
            await page.goto(base + path)
            await page.wait_for_load_state("networkidle")
            await no_text_lost(page, what)
            await page.close()
    print("\n".join(f"{what}: {p}" for what, lost in LOST.items() for p in lost))
    assert LOST == {}, "\n".join(f"{what}: {p}" for what, lost in LOST.items() for p in lost)
