"""``POST /api/sms/status``: the HTTPS provider's status webhook (public, signed).

Body ``{"id": "<provider's id>", "status": "delivered" | "failed", "reason": "…"}``, signed as
:mod:`gateway.core.webhook_sig` says with ``sms_webhook_secret``. A missing, forged or stale
signature is refused (401, ``reason``) and changes nothing; without a secret configured the
route refuses everything (404, ``sms.webhook.disabled``). A status for a provider id not stored
yet is answered ``{"known": false}`` and kept a minute for it (:meth:`SmsQueue.receipt`).
"""

from __future__ import annotations

import json
import logging
import time

from aiohttp import web

from gateway.core import webhook_sig
from gateway.core.reasons import status as status_of
from gateway.http import appkeys as keys
from gateway.http.refusals import answer
from gateway.service.booking_sms import BookingNotices
from gateway.store.sms_queue import SmsQueue

log = logging.getLogger(__name__)

SMS_QUEUE = web.AppKey("parloir_sms_queue", SmsQueue)
BOOKING_NOTICES = web.AppKey("parloir_booking_notices", BookingNotices)
MAX_BODY = 16 * 1024
STATUSES = {"delivered", "failed"}


def _refuse(status: int, reason: str) -> web.Response:
    assert status == status_of(reason), reason
    return answer(reason, "fr")


async def status_webhook(request: web.Request) -> web.Response:
    config = request.app[keys.CONFIG]
    if not config.sms_webhook_secret:
        return _refuse(404, "sms.webhook.disabled")
    body = await request.content.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return _refuse(413, "http.413")
    refused = webhook_sig.check(
        config.sms_webhook_secret,
        request.headers.get(webhook_sig.HEADER),
        body,
        time.time(),
        config.sms_webhook_window_seconds,
    )
    if refused is not None:
        log.warning("SMS status webhook refused from %s: %s", request.remote, refused)
        return _refuse(401, refused)
    try:
        data = json.loads(body)
        provider_id, status = str(data["id"]), str(data["status"])
        reason = str(data.get("reason", ""))[:64]
    except (ValueError, KeyError, TypeError):
        return _refuse(400, "request.malformed")
    if status not in STATUSES or not provider_id:
        return _refuse(400, "sms.webhook.bad_status")
    if status == "failed" and not reason.startswith("sms."):
        reason = "sms.undeliverable"
    msg_id = await request.app[SMS_QUEUE].receipt(provider_id, status, reason, time.time())
    return web.json_response({"known": msg_id is not None})


def setup(app: web.Application, queue: SmsQueue) -> None:
    app[SMS_QUEUE] = queue
