"""Assembly of the aiohttp application: routes, pages, shared services."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from gateway.config import ConfigError, GatewayConfig
from gateway.core.codes import code_minutes
from gateway.core.establishment import Establishment, SettingError, slot_grid
from gateway.core.reasons import REASONS, sentence
from gateway.core.routes import staff_prefixes
from gateway.core.sms_queue import RetryPolicy, claim_limit
from gateway.http import appkeys as keys
from gateway.http import (
    desk_api,
    health,
    notice,
    routes,
    sms_api,
)
from gateway.http.forwarded import forwarded_headers
from gateway.http.refusals import answer, error, lang_of
from gateway.http.routes import page
from gateway.http.staff_auth import staff_auth
from gateway.media import aiortc_passthrough
from gateway.service.booking_sms import BookingNotices
from gateway.service.engine import CallEngine
from gateway.service.sms import QueuedSms, SmsWorker, follow_status, make_transport
from gateway.service.supervisor import Supervisor
from gateway.store.bookings import BookingDesk
from gateway.store.directory import Directory
from gateway.store.kiosks import KioskRegistry, credential_of
from gateway.store.ledger import Ledger
from gateway.store.sms_queue import SmsQueue
from gateway.store.staff import StaffAccounts
from gateway.store.tokens import RateLimiter, SlidingBudget, Tokens
from recorder.audit import Audit
from signaling import websocket

if TYPE_CHECKING:  # the client is given, never made here: HTTP does not talk to Redis
    import redis.asyncio as aioredis

log = logging.getLogger(__name__)
SMS_FEED = web.AppKey("sms_feed", asyncio.Task)

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
            reason = f"http.{exc.status}"  # the table's sentence when it has one
            text = sentence(reason, lang_of(request)) if reason in REASONS else exc.reason
            exc.text = json.dumps({"reason": reason, "message": text})
            exc.content_type = "application/json"
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        raise
    except asyncio.CancelledError:
        raise
    except Exception:  # a bug: log it, answer JSON like every other refusal
        log.exception("unhandled error on %s %s", request.method, request.path)
        response = answer("server.error", lang_of(request))
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    return response


STAFF_PREFIXES = staff_prefixes()  # from the route table


def staff_guard(networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> Any:
    """Staff pages and API answer only the prison's internal network (until staff accounts)."""

    @web.middleware
    async def guard(request: web.Request, handler: web.Handler) -> web.StreamResponse:
        if request.path.startswith(STAFF_PREFIXES):
            try:
                address = ipaddress.ip_address(request.remote or "")
            except ValueError:
                address = None
            if address is None or not any(address in net for net in networks):
                raise error("staff.forbidden_network", lang_of(request))
        return await handler(request)

    return guard


async def kiosk_page(request: web.Request) -> web.StreamResponse:
    """GET /kiosk: the kiosk's page, only on an enrolled device (else its enrolment page)."""
    credential = credential_of(request.headers, request.cookies)
    if await request.app[keys.KIOSKS].kiosk_for(credential) is None:
        raise web.HTTPSeeOther("/kiosk/enrolement")
    return await page("kiosk.html")(request)


async def client_config(request: web.Request) -> web.Response:
    """ICE servers for the browsers, as a script so the pages need no inline code, and the
    configured figures the pages' sentences name (``vars``: the code's validity, how long
    recordings are kept)."""
    config: GatewayConfig = request.app[keys.CONFIG]
    settings = {
        "iceServers": config.ice_servers(),
        "vars": {
            "codeMinutes": code_minutes(config.code_validity_seconds),
            "retentionDays": config.retention_days,
        },
    }
    body = "window.PARLOIR_CONFIG = " + json.dumps(settings) + ";\n"
    return web.Response(text=body, content_type="application/javascript")


async def no_content(request: web.Request) -> web.Response:
    return web.Response(status=204)


async def _plain_server_header(request: web.Request, response: web.StreamResponse) -> None:
    """No ``Server: Python/… aiohttp/…``: versions help only an attacker. aiohttp sets its own
    only when the header is absent, so every answer (errors and sockets too) gets this one."""
    response.headers["Server"] = "Parloir"


def establishment_of(config: GatewayConfig) -> Establishment:
    """The establishment the configuration describes (a bad setting: :class:`ConfigError`)."""
    try:
        grid = slot_grid(
            slot_times=config.slot_times, slot_days=config.slot_days,
            time_zone=config.time_zone, holiday_region=config.holiday_region,
            booking_notice_hours=config.booking_notice_hours,
            saturday_cutoff=config.saturday_cutoff, quota_count=config.quota_count,
            quota_window_days=config.quota_window_days,
        )  # fmt: skip
        return Establishment.build(
            name=config.establishment_name, rooms=config.kiosk_rooms(), grid=grid,
            default_tariff=config.default_tariff, billing_rounding=config.billing_rounding,
            call_max_seconds=config.call_max_seconds,
        )  # fmt: skip
    except SettingError as exc:
        raise ConfigError(str(exc)) from exc


def create_app(
    config: GatewayConfig, redis: aioredis.Redis, owner: str | None = None
) -> web.Application:
    aiortc_passthrough.install()
    aiortc_passthrough.restrict_host_addresses(list(config.ice_host_addresses) or None)
    networks = [ipaddress.ip_network(n, strict=False) for n in config.staff_networks]
    app = web.Application(
        middlewares=[
            # First: every later rule (rate limits, staff networks, HSTS) sees the real client.
            forwarded_headers(config.trusted_proxies),
            security_headers,
            staff_guard(networks),
            staff_auth,
            desk_api.desk_errors,
        ],
        client_max_size=4 * 1024 * 1024,
    )
    app.on_response_prepare.append(_plain_server_header)
    establishment = establishment_of(config)
    ledger = Ledger(
        redis,
        tariffs=establishment.tariffs,
        replicas=config.redis_wait_replicas if config.redis_sentinels else 0,
        replica_timeout_ms=config.redis_wait_timeout_ms,
    )
    app[keys.CONFIG] = config
    app[keys.REDIS] = redis
    app[keys.TOKENS] = Tokens(redis)
    app[keys.DIRECTORY] = Directory(redis)
    app[keys.LEDGER] = ledger
    app[keys.AUDIT] = Audit(redis)
    app[keys.DESK] = BookingDesk(redis, app[keys.DIRECTORY], ledger, establishment)
    app[keys.JOIN_LIMITER] = RateLimiter(redis, "join", config.join_attempts_per_minute)
    app[keys.JOIN_FAILURES] = SlidingBudget(
        redis, "joinfail", config.join_failures_per_hour, window=3600
    )
    app[keys.KIOSK_LIMITER] = RateLimiter(redis, "kiosk", config.kiosk_logins_per_minute)
    app[keys.STAFF] = StaffAccounts(
        redis,
        idle_seconds=config.staff_session_idle_seconds,
        max_seconds=config.staff_session_max_seconds,
        failures_allowed=config.staff_login_failures,
    )
    app[keys.KIOSKS] = KioskRegistry(redis)
    app[keys.STAFF_LOGIN_LIMITER] = RateLimiter(redis, "stafflogin", config.staff_logins_per_minute)
    app[keys.ENROL_LIMITER] = RateLimiter(redis, "kioskenrol", 10)
    owner = owner or f"gw_{secrets.token_hex(4)}"
    sms_queue = SmsQueue(redis)
    sms_worker = SmsWorker(
        sms_queue,
        make_transport(config, sms_queue),
        owner,
        RetryPolicy(
            first_delay=config.sms_retry_first_seconds,
            max_delay=config.sms_retry_max_seconds,
            max_attempts=config.sms_max_attempts,
        ),
        lease=config.sms_lease_seconds,
        poll=config.sms_poll_seconds,
        limit=claim_limit(
            config.sms_lease_seconds,
            config.sms_smpp_throttle if config.sms_sender == "smpp" else 0.0,
        ),
    )
    app[keys.ENGINE] = CallEngine(
        config,
        redis,
        QueuedSms(sms_queue, sms_worker, time.time),
        owner=owner,
        desk=app[keys.DESK],
    )
    supervisor = Supervisor(app[keys.ENGINE], app[keys.AUDIT])
    app[keys.SUPERVISOR] = supervisor
    loop_watch = app[keys.ENGINE].loop_watch  # the media's load, so the engine holds it
    health.setup(app)  # /metrics is served to the staff networks only
    notice.setup(app)
    websocket.setup(
        app, app[keys.ENGINE], app[keys.DIRECTORY], app[keys.TOKENS], config.public_url, config.lang
    )
    sms_api.setup(app, sms_queue)  # the HTTPS provider's status webhook
    app[sms_api.BOOKING_NOTICES] = notices = BookingNotices(
        redis, app[keys.DIRECTORY], app[keys.ENGINE].sms, app[keys.DESK].local,
        enabled=config.sms_booking_notices, lead_minutes=config.sms_reminder_minutes,
        lang=config.lang,
    )  # fmt: skip
    routes.add_routes(app)

    async def on_startup(app: web.Application) -> None:
        await supervisor.start()
        loop_watch.start()
        sms_worker.start()
        notices.start(time.time)
        engine = app[keys.ENGINE]

        async def on_sms(call_id: str, status: str, reason: str) -> None:
            call = engine.calls.get(call_id)
            if call is not None:  # only the call's own process tells its kiosk
                await call.sms_status(status, reason)

        subscribed = asyncio.Event()
        app[SMS_FEED] = asyncio.create_task(follow_status(redis, on_sms, subscribed))
        # Listening before serving: a kiosk that calls at once must hear its SMS's status
        # (CI once lost the first "SMS envoyé" to a feed not yet subscribed).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(subscribed.wait(), timeout=5)

    async def on_shutdown(app: web.Application) -> None:
        await supervisor.stop()
        await loop_watch.stop()
        await sms_worker.stop()
        await notices.stop()
        feed = app[SMS_FEED]
        feed.cancel()  # and wait for it: nothing of this app may outlive its shutdown
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await feed
        await app[keys.ENGINE].shutdown()
        # The host-address restriction is aioice's, for the whole process: it ends with this
        # app (a test process's own peers, after a gateway on a lab's address, found none).
        aiortc_passthrough.restrict_host_addresses(None)

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    return app

