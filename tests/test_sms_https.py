"""The HTTPS provider sender against a local aiohttp provider (a real server on loopback), and
the signed status webhook of a real gateway."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

from gateway.core import webhook_sig
from gateway.core.sms_queue import Decision, RetryPolicy
from gateway.service.sms import SmsWorker
from gateway.service.sms_https import HttpsSender
from gateway.store.sms_queue import SmsQueue

from .callkit import Client, kiosk_login, seeded

TOKEN = "tok-provider-1"
SECRET = "webhook-shared-secret"


class Provider:
    """Answers each number as scripted: a list of statuses, then 201 with an id."""

    def __init__(self, script: dict[str, list[int]]) -> None:
        self.script, self.posts = script, Counter[str]()
        self.keys: list[str] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": "auth"}, status=401)
        body = await request.json()
        self.posts[body["to"]] += 1
        self.keys.append(request.headers["Idempotency-Key"])
        answers = self.script.get(body["to"], [])
        if answers:
            return web.json_response({"error": "scripted"}, status=answers.pop(0))
        return web.json_response({"id": f"prov-{body['reference']}"}, status=201)

    async def __aenter__(self) -> Provider:
        app = web.Application()
        app.router.add_post("/v1/sms", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/v1/sms"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def _settled(queue: SmsQueue, ids: list[str], final: set[str]) -> dict[str, dict]:
    async with asyncio.timeout(20):
        while True:
            got = {i: await queue.get(i) for i in ids}
            if all(v["status"] in final for v in got.values()):
                return got
            await asyncio.sleep(0.05)


async def test_5xx_is_retried_4xx_given_up(redis: aioredis.Redis) -> None:
    busy, gone, ok = "+33611111111", "+33622222222", "+33633333333"
    async with Provider({busy: [503, 502], gone: [422]}) as provider:
        queue = SmsQueue(redis)
        sender = HttpsSender(provider.url, TOKEN, timeout=5)
        policy = RetryPolicy(first_delay=0.1, max_delay=0.5, max_attempts=5)
        worker = SmsWorker(queue, sender, "gw_a", policy, poll=0.05)
        ids = [await queue.enqueue(n, f"Code {n[-6:]}", time.time()) for n in (busy, gone, ok)]
        worker.start()
        try:
            got = await _settled(queue, ids, {"sent", "failed"})
        finally:
            await worker.stop()
    b, g, o = (got[i] for i in ids)
    assert (b["status"], b["attempts"], b["provider_id"]) == ("sent", "3", f"prov-{ids[0]}")
    assert (g["status"], g["reason"], g["attempts"]) == ("failed", "sms.unreachable", "1")
    assert o["status"] == "sent"
    assert provider.posts == Counter({busy: 3, gone: 1, ok: 1})
    # Every retry carried the message's own idempotency key.
    assert provider.keys.count(ids[0]) == 3


async def test_a_wrong_token_is_given_up(redis: aioredis.Redis) -> None:
    async with Provider({}) as provider:
        outcome = await HttpsSender(provider.url, "wrong").deliver("sms_1", "+33612", "x")
    assert (outcome.kind, outcome.reason) == ("permanent", "sms.refused:401")


async def _post(base: str, body: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[webhook_sig.HEADER] = signature
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/api/sms/status", data=body, headers=headers) as resp:
            return resp.status, await resp.json()


async def test_the_webhook_checks_its_signature(gateway_factory, redis) -> None:  # type: ignore[no-untyped-def]
    gateway = await gateway_factory(sms_webhook_secret=SECRET)
    queue = SmsQueue(redis)
    msg_id = await queue.enqueue("+33612345678", "Code 123456", time.time())
    claimed = await queue.claim("gw_t", time.time(), 30)
    assert [c.id for c in claimed] == [msg_id]
    await queue.settle(msg_id, "gw_t", Decision("sent"), time.time(), "prov-1")
    body = json.dumps({"id": "prov-1", "status": "delivered"}).encode()
    now = int(time.time())
    refusals = {
        "missing": await _post(gateway.base_url, body, None),
        "forged": await _post(gateway.base_url, body, webhook_sig.sign("guess", now, body)),
        "other body": await _post(
            gateway.base_url, body, webhook_sig.sign(SECRET, now, body + b" ")
        ),
        "stale": await _post(gateway.base_url, body, webhook_sig.sign(SECRET, now - 3600, body)),
        "garbage": await _post(gateway.base_url, body, "t=x,v1=00"),
    }
    assert {k: (s, b["reason"]) for k, (s, b) in refusals.items()} == {
        "missing": (401, "sms.webhook.signature_missing"),
        "forged": (401, "sms.webhook.signature_invalid"),
        "other body": (401, "sms.webhook.signature_invalid"),
        "stale": (401, "sms.webhook.stale"),
        "garbage": (401, "sms.webhook.signature_malformed"),
    }
    assert (await queue.get(msg_id))["status"] == "sent"  # nothing changed
    status, answer = await _post(gateway.base_url, body, webhook_sig.sign(SECRET, now, body))
    assert (status, answer) == (200, {"known": True})
    assert (await queue.get(msg_id))["status"] == "delivered"


async def test_without_a_secret_the_webhook_is_off(gateway_factory) -> None:  # type: ignore[no-untyped-def]
    gateway = await gateway_factory()
    body = b'{"id": "x", "status": "delivered"}'
    status, answer = await _post(gateway.base_url, body, webhook_sig.sign("", 0, body))
    assert (status, answer["reason"]) == (404, "sms.webhook.disabled")


async def _kiosk_calls(gateway: Any, http: aiohttp.ClientSession) -> Client:
    demo = await seeded(gateway)
    kiosk = Client(gateway.base_url, http)
    await kiosk_login(kiosk, demo["detainee"], demo["access_code"])
    await kiosk.connect()
    await kiosk.send({"type": "call"})
    return kiosk


async def test_a_refused_token_is_told_as_such_without_a_new_code(gateway_factory) -> None:  # type: ignore[no-untyped-def]
    """A 401 is the provider refusing the prison's account: the kiosk says so, not that the
    number cannot be reached, and offers no new code (it would be refused the same way)."""
    async with Provider({}) as provider:
        gateway = await gateway_factory(
            sms_sender="https", sms_https_url=provider.url, sms_https_token="revoked"
        )
        async with aiohttp.ClientSession() as http:
            kiosk = await _kiosk_calls(gateway, http)
            try:
                msg = await kiosk.expect("sms", status="failed", timeout=15)
            finally:
                await kiosk.close()
    assert (msg["reason"], msg["new_code"]) == ("sms.refused:401", False)
    assert msg["message"] == "échec : le service SMS refuse l'envoi, prévenez le personnel"


async def test_an_expired_sms_is_told_and_offers_a_new_code(gateway_factory, redis) -> None:  # type: ignore[no-untyped-def]
    """The provider took the SMS, then reports it expired (the phone stayed off)."""
    async with Provider({}) as provider:
        gateway = await gateway_factory(
            sms_sender="https", sms_https_url=provider.url, sms_https_token=TOKEN,
            sms_webhook_secret=SECRET,
        )  # fmt: skip
        async with aiohttp.ClientSession() as http:
            kiosk = await _kiosk_calls(gateway, http)
            try:
                await kiosk.expect("sms", status="sent", timeout=15)
                [msg_id] = provider.keys
                body = json.dumps(
                    {"id": f"prov-{msg_id}", "status": "failed", "reason": "sms.expired"}
                ).encode()
                sig = webhook_sig.sign(SECRET, int(time.time()), body)
                assert (await _post(gateway.base_url, body, sig))[0] == 200
                msg = await kiosk.expect("sms", status="failed", timeout=15)
            finally:
                await kiosk.close()
    assert (msg["reason"], msg["new_code"]) == ("sms.expired", True)
    assert msg["message"] == "échec : téléphone resté injoignable, SMS expiré"
