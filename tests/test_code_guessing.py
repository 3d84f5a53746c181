"""Guessing the 6-digit code: thousands of wrong codes join nothing; the relative still joins."""

from __future__ import annotations

import asyncio
import random

import aiohttp

from tests.callkit import Client, join, seeded, start_calling


async def test_brute_force_joins_nothing_and_the_relative_still_joins(gateway_factory) -> None:
    # Per-address limit lifted: as if the guesses came from thousands of addresses.
    gateway = await gateway_factory(join_attempts_per_minute=1_000_000, join_failures_per_hour=30)
    demo = await seeded(gateway)
    async with aiohttp.ClientSession() as http:
        kiosk = Client(gateway.base_url, http)
        try:
            code, ref = await start_calling(kiosk, gateway, demo)
            rng = random.Random(7)
            guesses = [f"{n:06d}" for n in rng.sample(range(10**6), 2100) if f"{n:06d}" != code]
            guesses = guesses[:2000]
            statuses: list[int] = []
            for batch in range(0, len(guesses), 100):
                results = await asyncio.gather(
                    *(join(Client(gateway.base_url, http), g) for g in guesses[batch:batch + 100])
                )
                statuses += [status for status, _body in results]
            assert 200 not in statuses
            assert statuses.count(403) == 30  # the service-wide budget of wrong codes
            assert statuses.count(429) == 1970
            # Past the budget even a right code on the bare address waits ...
            status, body = await join(Client(gateway.base_url, http), code)
            assert (status, body["reason"]) == (429, "rate_limited")
            # ... but the SMS link still works: the real relative joins.
            relative = Client(gateway.base_url, http)
            status, body = await join(relative, code, ref)
            assert status == 200, body
        finally:
            await kiosk.close()


async def test_guesses_from_thousands_of_real_addresses(gateway_factory) -> None:
    """The same through a trusted reverse proxy naming 2000 different client addresses: the
    default per-address limit never bites, the service-wide budget does."""
    gateway = await gateway_factory(trusted_proxies=("127.0.0.1/32",), join_failures_per_hour=30)
    demo = await seeded(gateway)
    async with aiohttp.ClientSession() as http:
        kiosk = Client(gateway.base_url, http)
        try:
            code, ref = await start_calling(kiosk, gateway, demo)
            rng = random.Random(11)
            guesses = [f"{n:06d}" for n in rng.sample(range(10**6), 2100) if f"{n:06d}" != code]

            async def guess(i: int, value: str) -> int:
                address = f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"
                async with http.post(
                    gateway.base_url + "/api/join",
                    json={"code": value, "rules_accepted": True},
                    headers={"X-Forwarded-For": address},
                ) as resp:
                    return resp.status

            statuses: list[int] = []
            for batch in range(0, 2000, 100):
                statuses += await asyncio.gather(
                    *(guess(i, guesses[i]) for i in range(batch, batch + 100))
                )
            assert 200 not in statuses
            others = [s for s in statuses if s not in (403, 429)]
            assert (statuses.count(403), statuses.count(429), others) == (30, 1970, [])
            relative = Client(gateway.base_url, http)
            status, body = await join(relative, code, ref)
            assert status == 200, body
        finally:
            await kiosk.close()
