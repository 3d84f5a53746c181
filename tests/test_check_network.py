"""The device check's connection warning, measured on a real slow link: the relative's phone
in its network namespace (tests/netlab.py), its downlink capped by the kernel.

The page times the download of a static file of its own (no third party, nothing sent): on
every phone, Safari included, which has no Network Information API."""

from __future__ import annotations

from typing import Any

from .browser import accept_rules, screenshot
from .netlab import network_lab


async def measured(page: Any) -> tuple[str, int]:
    """Open the check and wait for the connection's verdict: its text and the kbit/s."""
    await page.click("#open-check")
    await page.wait_for_selector("#step-check", state="visible")
    for _ in range(300):
        text = await page.inner_text("#check-network")
        if text and "mesure" not in text:
            kbit = await page.get_attribute("#check-network", "data-kbit")
            return text, int(kbit or -1)
        await page.wait_for_timeout(100)
    raise AssertionError("the connection was never measured")


async def test_a_slow_link_is_said_too_weak_for_video(gateway_factory) -> None:
    async with network_lab() as lab:
        gateway = await gateway_factory(**lab.gateway_config())
        base = gateway.base_url
        async with lab.chromium_inside(base) as browser:
            ctx = await browser.new_context(viewport={"width": 320, "height": 640})
            page = await ctx.new_page()
            await page.goto(f"{base}/join")
            await accept_rules(page)
            # The link as it is: enough.
            text, kbit = await measured(page)
            assert "suffisante" in text and kbit >= 256, (text, kbit)
            await page.click("#close-check")
            # 120 kbit/s down: video would stall; the page says so.
            lab.shape(120)
            text, kbit = await measured(page)
            assert "faible pour la vidéo" in text and 0 <= kbit < 256, (text, kbit)
            await screenshot(page, "join-320-check-weak-link")
            await page.click("#close-check")
            # Back to normal, said so again (once the page's connections, which lost
            # packets in the cap's queue, have recovered: a few seconds).
            lab.unshape()
            for _ in range(10):
                text, kbit = await measured(page)
                if "suffisante" in text:
                    break
                await page.click("#close-check")
            assert "suffisante" in text and kbit >= 256, (text, kbit)
            await ctx.close()
