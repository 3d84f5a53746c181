"""HTTPS provider sender: one JSON POST per SMS, with a bearer token and an idempotency key.

Request: ``POST sms_https_url`` with ``Authorization: Bearer <token>``, ``Idempotency-Key:
<message id>`` (the queue's id: a retry after a crash or a lost answer carries the same key, so
a provider that honours it sends one SMS) and ``{"to": "+336…", "text": "…", "reference":
"<message id>"}``. Answer: 2xx with ``{"id": "<provider's id>"}`` (sent; the id matches the
webhook's statuses); 5xx, 408, 429 or no answer → retried with the queue's backoff; any other
4xx → given up (``sms.refused:<status>``; ``sms.unreachable`` for 400/404/422, which providers
answer for a number they cannot reach).
"""

from __future__ import annotations

import logging

import aiohttp

from gateway.core.sms_queue import Outcome, mask_phone

log = logging.getLogger(__name__)

RETRIED = {408, 425, 429}
UNREACHABLE = {400, 404, 422}


class HttpsSender:
    def __init__(self, url: str, token: str, timeout: float = 10.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def deliver(self, msg_id: str, to: str, text: str) -> Outcome:
        if self._session is None:
            self.start()
        assert self._session is not None
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": msg_id}
        body = {"to": to, "text": text, "reference": msg_id}
        try:
            async with self._session.post(self.url, json=body, headers=headers) as resp:
                status = resp.status
                data = await resp.json(content_type=None) if status < 300 else None
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return Outcome("transient", reason=f"sms.provider_unreachable:{type(exc).__name__}")
        if 200 <= status < 300:
            provider_id = str(data.get("id", "")) if isinstance(data, dict) else ""
            return Outcome("sent", provider_id=provider_id or msg_id)
        log.info("SMS provider answered %d for %s to %s", status, msg_id, mask_phone(to))
        if status >= 500 or status in RETRIED:
            return Outcome("transient", reason=f"sms.provider_unavailable:{status}")
        if status in UNREACHABLE:
            return Outcome("permanent", reason="sms.unreachable")
        return Outcome("permanent", reason=f"sms.refused:{status}")
