"""Monitoring end to end: a kiosk and a relative in two headless Chromiums, staff in a third.

During the call the staff watch it live (both sides decode in the monitor's tile) and flag a
moment; the participants see nothing of it. After the kiosk hangs up, the recordings page plays
both sides together with the flag on the timeline, and the audit page lists every use. The relay
never decodes nor encodes, monitoring and recording included; the recordings decode with PyAV at
the size the browsers sent, with audio as long as the call and both sides starting together.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import av

from gateway.http import appkeys as keys

from .browser import (
    ARTIFACTS,
    chromium,
    enrolled_kiosk_context,
    frames_decoded,
    kiosk_signs_in,
    relative_enters_code,
    screenshot,
    signed_in_context,
)
from .callkit import seeded, wait_for_code

STAFF = "Lieutenant Moreau"


# What the monitor's tile receives per section, keyed "side/kind" from the answer's tracks:
# video frames decoded, audio packets received.
TILE_MEDIA_JS = """async (callId) => {
  const tile = window.parloirMonitor && window.parloirMonitor.tiles[callId];
  if (!tile || !tile.pc) return {};
  const sideOf = {};
  (tile.layout || []).forEach((l) => { sideOf[String(l.mid)] = l.side; });
  const out = {};
  (await tile.pc.getStats()).forEach((s) => {
    if (s.type !== 'inbound-rtp') return;
    const name = (sideOf[String(s.mid)] || ('mid' + s.mid)) + '/' + s.kind;
    out[name] = s.kind === 'video' ? (s.framesDecoded || 0) : (s.packetsReceived || 0);
  });
  return out;
}"""

INBOUND_VIDEO_JS = """async () => {
  const stats = await window.parloir.pc.getStats();
  let n = 0;
  stats.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') n += 1; });
  return n;
}"""

LOCAL_SIZE_JS = """() => {
  const v = document.getElementById('local-video');
  return [v.videoWidth, v.videoHeight];
}"""

PLAYER_JS = """() => ['kiosk', 'relative'].map((side) => {
  const v = document.getElementById('video-' + side);
  return {readyState: v.readyState, time: v.currentTime, paused: v.paused, error: !!v.error};
})"""


async def _until(check: Any, timeout: float = 15.0, step: float = 0.2) -> Any:
    async with asyncio.timeout(timeout):
        while not (value := await check()):
            await asyncio.sleep(step)
    return value


def _no_digits(text: str) -> str:
    """The page's words without its running clocks and amounts."""
    return re.sub(r"\d", "", text)


async def _words(page: Any) -> str:
    """The page's words without its clocks, amounts and the minute announced to screen readers
    (a minute may turn while the monitor watches: that is the countdown, not the monitor)."""
    announced = await page.inner_text("#minute-announce")
    body = await page.inner_text("body")
    return _no_digits(body.replace(announced, "") if announced else body)


def _decode(path: Path) -> dict[str, Any]:
    with av.open(str(path)) as container:
        video = list(container.decode(video=0))
    with av.open(str(path)) as container:
        audio = list(container.decode(audio=0))
    return {
        "frames": len(video),
        "sizes": {(f.width, f.height) for f in video},
        "start": min(float(video[0].time), float(audio[0].time)),
        "audio_seconds": sum(f.samples for f in audio) / 48000,
    }


async def test_staff_watch_flag_and_replay_a_call(gateway_factory, codec_spy, redis) -> None:
    # Long enough that even a slow machine never reaches the last minute's warning, which
    # would change the words the participants see (the test checks they see no change).
    gateway = await gateway_factory(call_max_seconds=600)
    demo = await seeded(gateway)
    base = gateway.base_url
    errors: list[str] = []
    async with chromium() as browser:
        kiosk_ctx = await enrolled_kiosk_context(
            browser, gateway, viewport={"width": 1280, "height": 800}
        )
        phone_ctx = await browser.new_context(
            viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True
        )
        staff_ctx = await signed_in_context(
            browser, gateway, name=STAFF,
            viewport={"width": 1280, "height": 800}, locale="fr-FR", timezone_id="Europe/Paris"
        )
        kiosk, phone, monitor = (
            await kiosk_ctx.new_page(),
            await phone_ctx.new_page(),
            await staff_ctx.new_page(),
        )
        for page in (kiosk, phone, monitor):
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "console",
                lambda msg: errors.append(msg.text) if msg.type == "error" else None,
            )

        # The staff member opens the monitoring page first: nothing in progress.
        await monitor.goto(f"{base}/monitor")
        await monitor.wait_for_selector(f"#session-box:has-text('{STAFF}')")
        await monitor.wait_for_selector("#calls-status:has-text('Aucun appel en cours')")

        # The detainee calls; the relative joins and accepts (as in test_call_browsers).
        await kiosk_signs_in(kiosk, base, demo)
        await kiosk.click("#call")
        code, _ref = await wait_for_code(gateway.config.outbox_path, timeout=10)
        await relative_enters_code(phone, base, code)
        await phone.click("#accept-call")
        await _until(lambda: _above(kiosk, 10))
        await _until(lambda: _above(phone, 10))
        before = {p: await _words(p) for p in (kiosk, phone)}

        # The call is listed; "Regarder" opens a tile where both sides decode.
        call_id = next(iter(gateway.app[keys.ENGINE].calls))
        row = monitor.locator(f"tr[data-call='{call_id}']")
        await row.wait_for()
        await _until(lambda: _has_text(row, "En communication"))
        text = await row.inner_text()
        assert "MARTIN Jean" in text and "Marie Martin" in text and "100042" in text, text
        assert re.search(r"\b[01]:\d\d\b|\b\d\d:\d\d\b", text), text  # time left
        await row.get_by_role("button", name=re.compile("Regarder")).click()
        tile = monitor.locator(f"article.tile[data-call='{call_id}']")
        await tile.wait_for()
        media = await _tile_media(monitor, call_id, 20)
        assert set(media) == {"kiosk/video", "relative/video", "kiosk/audio", "relative/audio"}
        assert await tile.locator("figcaption").all_inner_texts() == [
            "Borne : MARTIN Jean",
            "Proche : Marie Martin",
        ]
        # Sound only from the chosen tile: off by default, on with its toggle.
        muted = "(t) => [...t.querySelectorAll('video')].map((v) => v.muted)"
        assert await tile.evaluate(muted) == [True, True]
        await tile.get_by_role("button", name=re.compile("Son")).click()
        assert await tile.evaluate(muted) == [False, False]

        # A moment is flagged.
        await tile.get_by_label("Commentaire de la marque").fill("Échange d'objet montré")
        await tile.get_by_role("button", name="Marquer ce moment").click()
        await tile.locator(".flag-form .status:has-text('Moment marqué')").wait_for()
        await screenshot(monitor, "monitor-grid")
        # Cutting asks for a reason, then a confirmation (declined here).
        await tile.get_by_role("button", name="Couper l’appel…").click()
        assert await tile.get_by_label("Motif de la coupure").get_attribute("aria-invalid")
        await tile.get_by_label("Motif de la coupure").fill("Propos menaçants")
        await tile.get_by_role("button", name="Couper l’appel…").click()
        confirm = tile.locator(".confirm-box")
        await confirm.wait_for()
        assert "MARTIN Jean avec Marie Martin" in await confirm.inner_text()
        await tile.screenshot(path=str(ARTIFACTS / "monitor-cut-confirm.png"))
        await confirm.get_by_role("button", name="Annuler").click()
        assert await confirm.is_hidden()
        # In English, dynamic parts included.
        await monitor.click("#lang-toggle")
        assert await tile.locator("figcaption").all_inner_texts() == [
            "Kiosk: MARTIN Jean",
            "Relative: Marie Martin",
        ]
        assert "In call" in await row.inner_text()
        await screenshot(monitor, "monitor-grid-en")
        await monitor.click("#lang-toggle")

        # The participants noticed nothing: same words, one inbound video each.
        for page in (kiosk, phone):
            words = await _words(page)
            assert words == before[page]
            assert not re.search(r"surveill|monitor", words, re.IGNORECASE), words
            assert await page.evaluate(INBOUND_VIDEO_JS) == 1
        kiosk_size = tuple(await kiosk.evaluate(LOCAL_SIZE_JS))
        phone_size = tuple(await phone.evaluate(LOCAL_SIZE_JS))

        # The kiosk hangs up; the tile says the call is over.
        await kiosk.click("#hangup")
        await kiosk.wait_for_selector("#ended", state="visible", timeout=10_000)
        await phone.wait_for_selector("#ended", state="visible", timeout=10_000)
        await tile.locator(".tile-status:has-text('L’appel est terminé')").wait_for(timeout=10_000)
        await _until(lambda: _sealed(redis, call_id))

        # The recording is listed; both sides play together, the flag is on the timeline.
        await monitor.goto(f"{base}/enregistrements")
        rec_row = monitor.locator(f"tr[data-call='{call_id}']")
        await rec_row.wait_for()
        assert "Scellé" in await rec_row.inner_text()
        await rec_row.get_by_role("button", name=re.compile("Ouvrir")).click()
        await monitor.wait_for_selector("#player:not([hidden])")
        await _until(lambda: _ready(monitor), timeout=10)
        markers = monitor.locator("#markers .marker")
        assert await markers.count() == 1
        await monitor.click("#play")
        first = await monitor.evaluate(PLAYER_JS)
        await asyncio.sleep(1.2)
        later = await monitor.evaluate(PLAYER_JS)
        for a, b in zip(first, later, strict=True):
            assert b["time"] > a["time"] + 0.5 and not b["paused"], (first, later)
        assert abs(later[0]["time"] - later[1]["time"]) < 0.3, later
        await screenshot(monitor, "recordings-player")
        # The flag marker jumps to its moment.
        at = float(await markers.first.get_attribute("data-at") or "0")
        await monitor.click("#play")  # pause
        await markers.first.click()
        await _until(lambda: _at(monitor, at))
        # Handed to the judiciary: kept beyond the 90 days.
        await monitor.check("#hold")
        await monitor.fill("#hold-reason", "Réquisition PV 2026/118")
        await monitor.click("#hold-save")
        await monitor.wait_for_selector("#hold-status:has-text('transmis à l’autorité judiciaire')")
        assert "Transmis à la justice" in await rec_row.inner_text()
        # A search by the number as people write it.
        await monitor.fill("#phone", "06 12 34")
        await monitor.click("#search-form button[type=submit]")
        await monitor.wait_for_selector("#list-status:has-text('1 enregistrement')")
        # A failed recording says so; a destroyed one can no longer be played.
        key = f"parloir:recording:{call_id}"
        await redis.hset(key, mapping={"state": "failed", "failure": "recording.disk_too_slow"})
        await monitor.goto(f"{base}/enregistrements?call={call_id}")
        await monitor.wait_for_selector("#player-notice:has-text('a échoué')")
        await redis.hset(key, "state", "destroyed")
        await monitor.reload()
        await monitor.wait_for_selector("#player-notice:has-text('détruit')")
        assert await monitor.locator("#player-media").is_hidden()
        assert "Détruit" in await rec_row.inner_text()
        assert await rec_row.get_by_role("button").count() == 0
        await redis.hset(key, "state", "sealed")

        # The audit page lists the uses.
        await monitor.goto(f"{base}/audit")
        await monitor.wait_for_selector("#audit-table:not([hidden])")
        body = await monitor.inner_text("#audit-body")
        for label in ("Visionnage en direct", "Marque d’un moment", "Lecture d’un enregistrement"):
            assert label in body, body
        assert "Transmission à l’autorité judiciaire" in body and STAFF in body
        await screenshot(monitor, "audit-log")
        await monitor.select_option("#action", "call.flag")
        await monitor.click("#filter-form button[type=submit]")
        await monitor.wait_for_selector("#audit-status:has-text('1 entrée')")
        assert await monitor.get_attribute("#csv", "href") == "/api/audit.csv?action=call.flag"
        await monitor.emulate_media(media="print")
        await screenshot(monitor, "audit-print")
        await monitor.emulate_media(media="screen")
        await monitor.click("#lang-toggle")
        assert await monitor.inner_text("h1") == "Audit log"
        assert "Moment flagged" in await monitor.inner_text("#audit-body")
        for ctx in (kiosk_ctx, phone_ctx, staff_ctx):
            await ctx.close()

    assert errors == [], errors
    # Monitoring and recording included, the relay never decoded nor encoded a frame.
    assert codec_spy == {"decoders": 0, "encoders": 0}

    # The recordings decode at the size each browser sent, as long as the call, in step.
    rec = await redis.hgetall(f"parloir:recording:{call_id}")
    record = await redis.hgetall(f"parloir:call:{call_id}")
    connected = int(record["connected_ms"]) / 1000
    folder = gateway.config.recordings_path / rec["folder"]
    kiosk_file, relative_file = _decode(folder / "kiosk.webm"), _decode(folder / "relative.webm")
    # Chrome's encoder may step its resolution down for a while (CPU or bandwidth adaptation,
    # e.g. 640x480 -> 480x360): what it sent is recorded as sent, so the recording holds the
    # camera's size and, at most, the same picture scaled down, never another shape.
    for info, size in ((kiosk_file, kiosk_size), (relative_file, phone_size)):
        assert max(info["sizes"]) == size, (info["sizes"], size)
        for width, height in info["sizes"]:
            assert abs(width * size[1] - height * size[0]) <= size[0], (info["sizes"], size)
    for info in (kiosk_file, relative_file):
        assert abs(info["audio_seconds"] - connected) < 1.0, (info, connected)
    assert abs(kiosk_file["start"] - relative_file["start"]) < 0.1


async def _above(page: Any, n: int) -> bool:
    return await frames_decoded(page) > n


async def _has_text(locator: Any, text: str) -> bool:
    return text in await locator.inner_text()


async def _tile_media(page: Any, call_id: str, n: int, timeout: float = 20.0) -> dict[str, int]:
    """Wait until each of the tile's four sections received more than n frames/packets."""
    media: dict[str, int] = {}
    try:
        async with asyncio.timeout(timeout):
            while len(media) < 4 or min(media.values()) <= n:
                await asyncio.sleep(0.2)
                media = await page.evaluate(TILE_MEDIA_JS, call_id)
    except TimeoutError:
        raise AssertionError(f"the tile does not receive every section: {media}") from None
    return media


async def _sealed(redis: Any, call_id: str) -> bool:
    return await redis.hget(f"parloir:recording:{call_id}", "state") == "sealed"


async def _ready(page: Any) -> bool:
    return all(v["readyState"] >= 2 for v in await page.evaluate(PLAYER_JS))


async def _at(page: Any, seconds: float) -> bool:
    return all(abs(v["time"] - seconds) < 0.3 for v in await page.evaluate(PLAYER_JS))
