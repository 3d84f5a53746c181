"""The countdown spoken to screen readers: each minute once, never twice at the gateway's
warnings, and no flood (WCAG 4.1.3 without noise).

What a screen reader would say is read from the live regions themselves: every text put in
``#minute-announce`` (polite) and ``#warning`` (role="alert") on both pages of a real call, in
order, as a MutationObserver in the page sees them."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from .browser import chromium
from .callkit import seeded
from .netlab import start_browser_call

LISTEN_JS = """
window.spoken = [];
document.addEventListener('DOMContentLoaded', () => {
  for (const id of ['minute-announce', 'warning']) {
    const el = document.getElementById(id);
    new MutationObserver(() => {
      const text = el.textContent.trim();
      if (text) window.spoken.push([id, text]);
    }).observe(el, { childList: true, characterData: true, subtree: true });
  }
});
"""

MINUTES = re.compile(r"(\d+) minutes?")


async def _listen(_side: str, page: Any) -> None:
    await page.add_init_script(LISTEN_JS)


async def clock_seconds(page: Any) -> int:
    text = await page.inner_text("#remaining")
    minutes, seconds = text.split(":")
    return int(minutes) * 60 + int(seconds)


async def test_each_minute_is_said_once_and_never_twice_at_a_warning(gateway_factory) -> None:
    # 128 s: the call starts in its third minute, enters the second (said by the announcer)
    # and the last (the gateway's 1-minute warning, which alone says it).
    gateway = await gateway_factory(call_max_seconds=128)
    demo = await seeded(gateway)
    async with chromium() as browser:
        call = await start_browser_call(gateway, browser, browser, demo, on_page=_listen)
        try:
            assert await clock_seconds(call.phone) > 121, "the call started too late to test"
            # Until the last minute's warning and the announcer's wait for it are well over.
            for _ in range(300):
                if await clock_seconds(call.phone) <= 55:
                    break
                await asyncio.sleep(0.5)
            assert await call.phone.get_attribute("#remaining", "aria-live") == "off"
            for page in (call.phone, call.kiosk):
                spoken = await page.evaluate("window.spoken")
                said = [int(MINUTES.search(text).group(1)) for _id, text in spoken]
                # Minute 2 by the announcer, minute 1 by the warning: once each, nothing else.
                assert spoken == [
                    ["minute-announce", "Il reste 2 minutes."],
                    ["warning", "Attention : il reste 1 minute d’appel."],
                ], spoken
                assert len(said) == len(set(said))
            assert call.errors == []
        finally:
            await call.close()


async def test_a_late_tick_keeps_its_minute_and_a_long_gap_says_only_the_last(
    gateway_factory,
) -> None:
    """The announcer itself, in the page, fed the ticks a throttled or sleeping phone gives."""
    gateway = await gateway_factory()
    async with chromium() as browser:
        page = await (await browser.new_context()).new_page()
        await page.goto(f"{gateway.base_url}/join")
        spoken = await page.evaluate(
            """async () => {
              const el = document.createElement('p');
              const said = [];
              new MutationObserver(() => said.push(el.textContent))
                .observe(el, { childList: true, characterData: true, subtree: true });
              const announce = window.Parloir.minuteAnnouncer(el);
              const wait = (ms) => new Promise((r) => setTimeout(r, ms));
              announce(185); announce(182);
              announce(179);            // the tick at 180 never came: minute 3 all the same
              await wait(2300);
              announce(178); announce(170);
              announce(50);             // asleep from 2:50 to 0:50: only the last minute
              await wait(2300);
              announce(249);            // the call was extended: nothing to say
              announce(240);            // entering minute 4 again: said
              announce.warned(240);     // ... unless a warning says it first
              await wait(2300);
              return said;
            }"""
        )
        assert spoken == ["Il reste 3 minutes.", "Il reste 1 minute."], spoken
