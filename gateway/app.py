"""Assembly of the aiohttp application: routes, pages, shared services."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import redis.asyncio as aioredis
from aiohttp import web

from signaling.websocket import handle_ws

from . import aiortc_passthrough, api
from . import appkeys as keys
from .calls import CallEngine
from .config import GatewayConfig
from .directory import Directory
from .sessions import RateLimiter, Tokens
from .sms import make_sender

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self' blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Permissions-Policy": "camera=(self), microphone=(self), geolocation=()",
}


@web.middleware
async def security_headers(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        if not exc.text or not exc.content_type.startswith("application/json"):
            exc.text = json.dumps({"reason": f"http.{exc.status}", "message": exc.reason})
            exc.content_type = "application/json"
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        raise
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    return response


def page(name: str) -> web.Handler:
    path = WEB_DIR / name

    async def handler(request: web.Request) -> web.FileResponse:
        response = web.FileResponse(path)
        response.headers["Cache-Control"] = "no-cache"
        return response

    return handler


async def client_config(request: web.Request) -> web.Response:
    """ICE servers for the browsers, as a script so the pages need no inline code."""
    config: GatewayConfig = request.app[keys.CONFIG]
    body = "window.PARLOIR_CONFIG = " + json.dumps({"iceServers": config.ice_servers()}) + ";\n"
    return web.Response(text=body, content_type="application/javascript")


async def no_content(request: web.Request) -> web.Response:
    return web.Response(status=204)


async def health(request: web.Request) -> web.Response:
    redis: aioredis.Redis = request.app[keys.REDIS]
    await redis.ping()
    return web.json_response({"status": "ok", **request.app[keys.ENGINE].stats()})


def create_app(
    config: GatewayConfig, redis: aioredis.Redis, owner: str | None = None
) -> web.Application:
    aiortc_passthrough.install()
    aiortc_passthrough.restrict_host_addresses(list(config.ice_host_addresses) or None)
    app = web.Application(middlewares=[security_headers], client_max_size=64 * 1024)
    app[keys.CONFIG] = config
    app[keys.REDIS] = redis
    app[keys.TOKENS] = Tokens(redis)
    app[keys.DIRECTORY] = Directory(redis)
    app[keys.JOIN_LIMITER] = RateLimiter(redis, "join", config.join_attempts_per_minute)
    app[keys.KIOSK_LIMITER] = RateLimiter(redis, "kiosk", config.kiosk_logins_per_minute)
    app[keys.ENGINE] = CallEngine(
        config,
        redis,
        make_sender(config.sms_sender, config.outbox_path),
        owner=owner or f"gw_{secrets.token_hex(4)}",
    )
    app.router.add_get("/", page("join.html"))
    app.router.add_get("/join", page("join.html"))
    app.router.add_get("/kiosk", page("kiosk.html"))
    app.router.add_get("/config.js", client_config)
    app.router.add_get("/healthz", health)
    app.router.add_get("/favicon.ico", no_content)
    app.router.add_post("/api/kiosk/login", api.kiosk_login)
    app.router.add_post("/api/join", api.join)
    app.router.add_get("/ws", handle_ws)
    app.router.add_static("/static/", WEB_DIR / "static")

    async def on_shutdown(app: web.Application) -> None:
        await app[keys.ENGINE].shutdown()

    app.on_shutdown.append(on_shutdown)
    return app
