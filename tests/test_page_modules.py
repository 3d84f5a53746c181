"""The pages as ES modules on one shared layer (issue 17 step 5).

Every page loads only ``<script type="module">`` (``/config.js`` aside: the gateway writes it,
a classic deferred script that runs before the modules); the layer is written once: one text
engine (lang.js), one JSON request helper (api.js, the only ``fetch(`` besides the two probes
that time or test the network raw), the WebRTC helpers once (rtc.js), and the staff navigation
rendered by the kit, never copied into a page. Every import of every page resolves to a file
the gateway serves as JavaScript, and the pages load in headless Chromium against a real
gateway and Redis without a console error, their modules all run.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.core.roles import Role
from gateway.core.routes import ROUTE_TABLE

from .browser import chromium, enrolled_kiosk_context, signed_in_context

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web"
STATIC = WEB / "static"
IMPORT = re.compile(r"""^\s*import\s+(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]""", re.M | re.S)

# What may call fetch() itself: the one request helper, and the probes that time the download
# of a static file (the device check) or ask whether the gateway is reachable at all.
RAW_FETCH = {"api.js", "check.js", "join.js", "sw.js"}


class Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
            self._open = True

    def handle_endtag(self, tag: str) -> None:
        self._open = self._open and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._open and data.strip():
            self.inline.append(data.strip()[:40])


def _scripts(html: Path) -> Scripts:
    parser = Scripts()
    parser.feed(html.read_text(encoding="utf-8"))
    return parser


def _entry_modules() -> dict[str, list[str]]:
    """Each page's module scripts (their /static/ names)."""
    return {
        html.name: [
            str(s["src"]).removeprefix("/static/")
            for s in _scripts(html).scripts
            if s.get("type") == "module"
        ]
        for html in sorted(WEB.glob("*.html"))
    }


def _graph(entry: str) -> set[str]:
    """The modules entry imports, itself included, followed to the end."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = STATIC / name
        assert path.is_file(), f"{name} is imported but is not in web/static"
        for spec in IMPORT.findall(path.read_text(encoding="utf-8")):
            assert spec.startswith("./") and spec.endswith(".js"), f"{name}: import {spec!r}"
            todo.append(spec.removeprefix("./"))
    return seen


def _modules() -> list[Path]:
    return [p for p in sorted(STATIC.glob("*.js")) if p.name != "sw.js"]


def test_every_page_loads_only_module_scripts() -> None:
    pages = sorted(WEB.glob("*.html"))
    assert len(pages) >= 16
    for html in pages:
        parsed = _scripts(html)
        assert parsed.inline == [], f"{html.name}: inline script {parsed.inline}"
        entries = [s for s in parsed.scripts if s.get("type") == "module"]
        classic = [s for s in parsed.scripts if s.get("type") != "module"]
        # One module per page: its own, which imports the layer.
        assert len(entries) == 1, f"{html.name}: {parsed.scripts}"
        assert all(s.get("src") == "/config.js" and "defer" in s for s in classic), (
            f"{html.name}: classic scripts {classic}"
        )
        src = str(entries[0].get("src"))
        assert src.startswith("/static/") and (STATIC / src.removeprefix("/static/")).is_file()


def test_the_layer_is_written_once() -> None:
    found: dict[str, list[str]] = {}

    def where(pattern: str, allowed: set[str]) -> None:
        for path in _modules():
            if path.name not in allowed and re.search(pattern, path.read_text(encoding="utf-8")):
                found.setdefault(pattern, []).append(path.name)

    where(r"\bfetch\(", RAW_FETCH)
    where(r"\bfunction createLang\b|\bfunction applyI18n\b|\bfunction detectLang\b", {"lang.js"})
    where(r"'parloir\.lang'", {"lang.js"})
    where(r"new RTCPeerConnection\b|iceGatheringState", {"rtc.js"})
    where(r"X-CSRF-Token", {"api.js"})
    where(r"\bfunction h\(tag", {"dom.js"})
    where(r"Intl\.NumberFormat", {"format.js"})
    # Modules import what they use: no kit reached through a window global.
    where(r"window\.(ParloirStaff|ParloirStaffKit|ParloirQuality|PARLOIR_I18N)\b", set())
    where(r"=\s*window\.Parloir\b", set())
    assert found == {}, found
    # The staff navigation is rendered by the kit from /api/staff/me, not copied into pages.
    staff_link = re.compile(r'href="/(desk|monitor|enregistrements|audit|direction|regie|admin)\b')
    for html in sorted(WEB.glob("*.html")):
        for nav in re.findall(r"<nav\b.*?</nav>", html.read_text(encoding="utf-8"), re.S):
            assert not staff_link.search(nav), f"{html.name}: a copy of the staff navigation"


def test_the_guard_name_field_is_gone() -> None:
    # The server writes the signed-in member: no page asks a name, keeps it or sends it.
    for path in [*WEB.glob("*.html"), *STATIC.glob("*.js"), *STATIC.glob("*.css")]:
        text = path.read_text(encoding="utf-8")
        assert "parloir.staff" not in text, path.name
        assert 'id="staff"' not in text and "guard-bar" not in text, path.name
        assert "?staff=" not in text and not re.search(r"\{\s*staff[,\s]", text), path.name


def test_every_import_resolves_to_a_file_of_the_layer() -> None:
    entries = _entry_modules()
    used: set[str] = set()
    for modules in entries.values():
        for entry in modules:
            used |= _graph(entry)
    # Every module is some page's (nothing left over from an older layout).
    assert {p.name for p in _modules()} == used, sorted({p.name for p in _modules()} ^ used)


NAMED_IMPORT = re.compile(r"^import \{([^}]*)\} from '\./([^']+)'", re.M)
EXPORT = re.compile(r"^export (?:async )?(?:function|const|let|class) ([\w$]+)", re.M)
EXPORT_LIST = re.compile(r"^export \{([^}]*)\}", re.M)


def _names(block: str) -> set[str]:
    return {part.split(" as ")[-1].strip() for part in block.split(",") if part.strip()}


def test_every_imported_name_is_exported() -> None:
    # A name a module does not export stops the whole page (a SyntaxError before any code).
    exported = {}
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        exported[path.name] = set(EXPORT.findall(text)).union(
            *map(_names, EXPORT_LIST.findall(text))
        )
    missing = [
        (path.name, module, name)
        for path in _modules()
        for block, module in NAMED_IMPORT.findall(path.read_text(encoding="utf-8"))
        for name in {part.split(" as ")[0].strip() for part in block.split(",") if part.strip()}
        if name not in exported[module]
    ]
    assert missing == [], missing


async def test_every_module_is_served_as_javascript(gateway_factory: Any) -> None:
    gateway = await gateway_factory()
    async with aiohttp.ClientSession() as http:
        for module in sorted(p.name for p in _modules()):
            async with http.get(f"{gateway.base_url}/static/{module}") as resp:
                assert resp.status == 200, module
                # A module script is refused unless served with a JavaScript MIME type.
                assert resp.content_type in ("text/javascript", "application/javascript"), (
                    module,
                    resp.content_type,
                )


LOADED_JS = """() => performance.getEntriesByType('resource')
  .map((e) => new URL(e.name).pathname).filter((p) => p.startsWith('/static/'))"""

# Page, its HTML, and what its modules put in the page once they ran.
PUBLIC = [
    ("/join", "join.html", "() => Boolean(window.parloir && document.body.dataset.step)"),
    ("/confidentialite", "notice.html", "() => document.title.includes('Vos données')"),
    ("/kiosk/enrolement", "kiosk-enrol.html", "() => document.body.dataset.ready === '1'"),
    ("/connexion", "login.html", "() => document.documentElement.lang === 'fr'"),
]
STAFF_READY = "() => Boolean(document.querySelector('#staff-nav a[aria-current=page]'))"


def _staff_pages() -> list[tuple[str, str]]:
    return sorted(
        (r.path, r.page)
        for r in ROUTE_TABLE
        if r.page and r.path.startswith(("/desk", "/monitor", "/enregistrements", "/audit",
                                         "/direction", "/regie", "/admin"))
    )  # fmt: skip


def _watch(page: Any, problems: list[str]) -> None:
    def console(msg: Any) -> None:
        if msg.type == "error":
            problems.append(f"{page.url}: console: {msg.text}")

    page.on("pageerror", lambda exc: problems.append(f"{page.url}: pageerror: {exc}"))
    page.on("console", console)
    # A poll cut short by leaving the page is no failure; a module that does not load is.
    page.on("requestfailed", lambda req: "/static/" in req.url and problems.append(req.url))


async def _load(page: Any, url: str, html: str, ready: str, problems: list[str]) -> None:
    response = await page.goto(url)
    assert response is not None and response.status == 200, url
    try:
        await page.wait_for_function(ready, timeout=10_000)
    except Exception as exc:
        raise AssertionError(f"{url}: the page's modules did not run: {problems}") from exc
    loaded = set(await page.evaluate(LOADED_JS))
    wanted = set()
    for entry in _entry_modules()[html]:
        wanted |= {"/static/" + m for m in _graph(entry)}
    assert wanted and wanted <= loaded, (url, sorted(wanted - loaded))


async def test_the_pages_load_their_modules_without_errors(gateway_factory: Any) -> None:
    gateway = await gateway_factory()
    base = gateway.base_url
    problems: list[str] = []
    staff = _staff_pages()
    assert {"/desk", "/monitor", "/regie", "/admin", "/enregistrements"} <= {p for p, _ in staff}
    async with chromium() as browser:
        ctx = await browser.new_context()
        page = await ctx.new_page()
        _watch(page, problems)
        for path, html, ready in PUBLIC:
            await _load(page, base + path, html, ready, problems)
        await ctx.close()

        ctx = await enrolled_kiosk_context(browser, gateway)
        page = await ctx.new_page()
        _watch(page, problems)
        await _load(page, base + "/kiosk", "kiosk.html",
                    "() => document.body.dataset.step === 'step-login'", problems)  # fmt: skip
        await ctx.close()

        desktop = {"width": 1280, "height": 800}
        ctx = await signed_in_context(browser, gateway, roles=[*Role], viewport=desktop)
        page = await ctx.new_page()
        _watch(page, problems)
        for path, html in staff:
            await _load(page, base + path, html, STAFF_READY, problems)
            # The navigation once, the session box once, in French by default.
            assert await page.locator("#staff-nav").count() == 1, path
            assert await page.locator("#session-box").count() == 1, path
            assert await page.evaluate("() => document.documentElement.lang") == "fr", path
        await ctx.close()
    assert not problems, problems


@pytest.mark.parametrize("lang", ["fr", "en"])
async def test_a_refusal_shows_the_servers_sentence_in_the_pages_language(
    gateway_factory: Any, lang: str
) -> None:
    # One request helper for every page: on the sign-in page, a wrong password is answered by
    # the server's own sentence, in the language the page asked for.
    gateway = await gateway_factory()
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(f"{gateway.base_url}/connexion?lang={lang}")
        await page.fill("#login", "nobody")
        await page.fill("#password", "not the password")
        await page.click("#login-submit")
        await page.wait_for_function("() => document.getElementById('login-error').textContent")
        shown = await page.text_content("#login-error")
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{gateway.base_url}/api/staff/login?lang={lang}",
            json={"login": "nobody", "password": "not the password"},
        ) as resp:
            body = await resp.json()
    assert body["message"] and shown == body["message"], (shown, body)
