"""A whole call through the gateway with real aiortc peers as kiosk and relative."""

from __future__ import annotations

import aiohttp

from gateway import appkeys as keys
from gateway.calls import Call

from .callkit import Client, join, kiosk_login, seeded, wait_for_code, wait_until


async def test_call_relays_media_both_ways_and_ends_at_the_limit(gateway_factory, redis) -> None:
    gateway = await gateway_factory(call_max_seconds=6, warning_seconds=(3,))
    demo = await seeded(gateway)
    outbox = gateway.config.outbox_path
    async with aiohttp.ClientSession() as http:
        kiosk = Client(gateway.base_url, http)
        relative = Client(gateway.base_url, http)
        try:
            login = await kiosk_login(kiosk, demo["detainee"], demo["access_code"])
            assert login["booking"]["correspondent"]["name"] == "Marie Martin"
            await kiosk.connect()
            await kiosk.send({"type": "call"})
            await kiosk.expect("state", call__state="waiting_relative")
            await kiosk.start_media()

            code, ref = await wait_for_code(outbox)
            status, body = await join(relative, code)
            assert status == 200, body
            await relative.connect()
            await relative.start_media()
            connected = await relative.expect("state", call__state="connected")
            assert connected["call"]["ends_at"] - connected["call"]["server_time"] <= 6000

            engine = gateway.app[keys.ENGINE]
            call: Call = engine.calls[body["call"]["id"]]
            await wait_until(
                lambda: (
                    min(kiosk.received["video"], relative.received["video"]) > 20
                    and min(kiosk.received["audio"], relative.received["audio"]) > 20
                )
            )
            assert kiosk.video_sizes == {(640, 480)} and relative.video_sizes == {(640, 480)}
            warning = await relative.expect("warning")
            assert warning["seconds_left"] == 3
            ended_k = await kiosk.expect("ended", timeout=10)
            ended_r = await relative.expect("ended", timeout=10)
            assert ended_k["reason"] == ended_r["reason"] == "time_limit"
            assert "durée maximale" in ended_r["message"]
            await call.finished.wait()
            # nothing left behind: the call, its code, the live index
            assert engine.calls == {}
            assert await redis.smembers("parloir:calls:live") == set()
            assert await redis.exists(f"parloir:code:{call.id}") == 0
            kinds = [e["type"] for e in await engine.events(call.id)]
            assert kinds[0] == "CodeSent" and kinds[-1] == "CallEnded"
            assert "CallConnected" in kinds and "RelativeJoined" in kinds
            assert all(pc is None for pc in (leg.pc for leg in call.legs.values()))
        finally:
            await kiosk.close()
            await relative.close()
