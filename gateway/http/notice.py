"""The information notice page (``/confidentialite``) and the relative's installable web app
(``/manifest.webmanifest``, ``/sw.js``).

The notice is rendered here, in both languages (the page's language toggle shows one), so that
it reads without JavaScript and the service worker can keep it offline. Its text comes from
:mod:`gateway.core.notice`: the default, or the establishment's own file.
"""

from __future__ import annotations

import html
from pathlib import Path

from aiohttp import web

from gateway.config import ConfigError, GatewayConfig
from gateway.core.notice import (
    AUDIENCES,
    LANGS,
    Audience,
    Facts,
    NoticeError,
    Section,
    parse_custom,
)
from gateway.core.notice import notice as notice_sections
from gateway.http import appkeys as keys

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
NOTICE = web.AppKey("notice", dict)

TITLES = {
    ("fr", "relative"): "Vos données et vos droits",
    ("en", "relative"): "Your data and your rights",
    ("fr", "detainee"): "Vos données et vos droits (personnes détenues)",
    ("en", "detainee"): "Your data and your rights (detainees)",
}
BACK = {
    ("fr", "relative"): ("/join", "Retour à l’appel-visio"),
    ("en", "relative"): ("/join", "Back to the video call"),
    ("fr", "detainee"): ("/kiosk", "Retour à la borne"),
    ("en", "detainee"): ("/kiosk", "Back to the kiosk"),
}


def load(config: GatewayConfig) -> dict[tuple[str, Audience], list[Section]]:
    """Every (language, audience) notice, built once at start-up; a bad file stops it."""
    custom = None
    if config.privacy_notice_file:
        path = Path(config.privacy_notice_file)
        try:
            custom = parse_custom(path.read_text(encoding="utf-8"))
        except (OSError, NoticeError) as exc:
            raise ConfigError(f"privacy_notice_file {path}: {exc}") from exc
    facts = Facts(
        controller=config.privacy_controller or config.establishment_name,
        contact=config.privacy_contact,
        retention_days=config.retention_days,
        record_calls=config.record_calls,
    )
    return {
        (lang, audience): notice_sections(facts, audience, lang, custom)
        for lang in LANGS
        for audience in AUDIENCES
    }


def render(sections: dict[tuple[str, Audience], list[Section]], audience: Audience) -> str:
    parts = []
    for lang in LANGS:
        hidden = "" if lang == "fr" else " hidden"
        href, back = BACK[(lang, audience)]
        body = "".join(
            f"<section><h2>{html.escape(s.title)}</h2><p>{html.escape(s.text)}</p></section>"
            for s in sections[(lang, audience)]
        )
        parts.append(
            f'<article class="notice-text" lang="{lang}" data-notice-lang="{lang}"{hidden}>'
            f"<h1>{html.escape(TITLES[(lang, audience)])}</h1>{body}"
            f'<p><a class="btn btn-secondary" href="{href}">{html.escape(back)}</a></p>'
            "</article>"
        )
    template = (WEB_DIR / "notice.html").read_text(encoding="utf-8")
    return template.replace("<!--NOTICE-->", "".join(parts))


async def notice_page(request: web.Request) -> web.Response:
    """GET /confidentialite (``?pour=detenu``: the detainee's version, linked from the kiosk)."""
    audience: Audience = "detainee" if request.query.get("pour") == "detenu" else "relative"
    text = render(request.app[NOTICE], audience)
    response = web.Response(text=text, content_type="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return response


def _file(name: str, content_type: str) -> web.Handler:
    path = WEB_DIR / "static" / name

    async def handler(request: web.Request) -> web.FileResponse:
        response = web.FileResponse(path, headers={"Content-Type": content_type})
        response.headers["Cache-Control"] = "no-cache"
        return response

    return handler


# At the root: a service worker controls only the paths under its own (/join, /).
service_worker = _file("sw.js", "application/javascript")
manifest = _file("manifest.webmanifest", "application/manifest+json")


def setup(app: web.Application) -> None:
    app[NOTICE] = load(app[keys.CONFIG])

