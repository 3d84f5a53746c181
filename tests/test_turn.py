"""TURN credentials: coturn's REST scheme, handed out only after login or a right code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import aiohttp

from gateway.core.turn import rest_credentials
from tests.callkit import Client, join, kiosk_login, seeded, start_calling


def test_rest_credentials_follow_coturns_scheme() -> None:
    username, password = rest_credentials("s3cret", "call-1", 1_700_000_000.7, 3600)
    assert username == "1700003600:call-1"
    expected = hmac.new(b"s3cret", b"1700003600:call-1", hashlib.sha1).digest()
    assert base64.b64decode(password) == expected


async def test_turn_only_for_the_kiosk_and_the_accepted_relative(gateway_factory) -> None:
    gateway = await gateway_factory(
        turn_url="turn:turn.example.org:3478", turn_secret="s3cret", stun_urls=("stun:x:3478",)
    )
    demo = await seeded(gateway)
    async with aiohttp.ClientSession() as http:
        async with http.get(gateway.base_url + "/config.js") as resp:
            public = await resp.text()
        assert "turn:" not in public and "stun:x:3478" in public
        kiosk, relative = Client(gateway.base_url, http), Client(gateway.base_url, http)
        try:
            login = await kiosk_login(kiosk, demo["detainee"], demo["access_code"])
            turn = [s for s in login["ice_servers"] if s["urls"].startswith("turn:")]
            [server] = turn
            expiry = int(server["username"].split(":")[0])
            # Valid until a little after the slot ends, not forever.
            assert time.time() < expiry <= demo["slot_end"] / 1000 + 700
            digest = hmac.new(b"s3cret", server["username"].encode(), hashlib.sha1).digest()
            assert base64.b64decode(server["credential"]) == digest
            code, _ref = await start_calling(kiosk, gateway, demo)
            wrong = "000000" if code != "000000" else "000001"
            status, body = await join(Client(gateway.base_url, http), wrong)
            assert status == 403 and "ice_servers" not in body
            status, body = await join(relative, code)
            assert status == 200
            assert any(s["urls"].startswith("turn:") for s in body["ice_servers"])
        finally:
            await kiosk.close()
            await relative.close()
