"""The relative's phone loses its network, or changes it, mid-call: the same call comes back.

The phone's Chromium runs in its own network namespace (tests/netlab.py); its link goes down
for 20 s, or its address changes (Wi-Fi to 4G), while the kiosk's Chromium and the gateway stay
on the host. Figures from the pages' own getStats()."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from gateway.http import appkeys as keys

from .callkit import read_codes
from .netlab import network_lab, observe, resumed_within, start_browser_call


@contextlib.asynccontextmanager
async def lab_call(gateway_factory: Any, **settings: Any) -> AsyncIterator[tuple[Any, ...]]:
    """A browser call with the phone in its own namespace: (lab, gateway, call, its Call)."""
    async with network_lab() as lab:
        gateway = await gateway_factory(**lab.gateway_config(), **settings)
        engine = gateway.app[keys.ENGINE]
        async with (
            lab.chromium_outside(gateway.base_url) as kiosk_browser,
            lab.chromium_inside(gateway.base_url) as phone_browser,
        ):
            call = await start_browser_call(gateway, kiosk_browser, phone_browser)
            try:
                (live,) = engine.calls.values()
                yield lab, gateway, call, live
            finally:
                await call.close()


async def test_a_phone_offline_for_20_s_comes_back_into_the_same_call(gateway_factory) -> None:
    async with lab_call(gateway_factory) as (lab, gateway, call, live):
        engine = gateway.app[keys.ENGINE]
        call_id = live.id
        await asyncio.sleep(3)
        before = live.lifecycle.connected_seconds(engine.clock())
        lab.link_down()
        down_at = time.time()
        await call.kiosk.wait_for_selector("#link-notice:not([hidden])", timeout=6000)
        assert "Connexion de votre proche perdue" in await call.kiosk.inner_text("#link-notice")
        assert live.state == "reconnecting"
        await asyncio.sleep(20 - (time.time() - down_at))
        lab.link_up()
        phone_back = await resumed_within(call.phone, 15, frames=10)
        kiosk_back = await resumed_within(call.kiosk, 15, frames=10)
        assert live.state == "connected", live.state
        print(f"resumed: phone {phone_back:.1f} s, kiosk {kiosk_back:.1f} s")
        assert max(phone_back, kiosk_back) < 5.0, (phone_back, kiosk_back)
        # The same call, no new SMS, no end screen; the 20 s are not connected time.
        assert engine.calls.keys() == {call_id}
        assert len(read_codes(gateway.config.outbox_path)) == 1
        assert not await call.phone.is_visible("#ended")
        assert not await call.kiosk.is_visible("#ended")
        gap = live.lifecycle.gaps
        assert abs(gap - 20) < 2 + max(phone_back, kiosk_back), gap
        after = live.lifecycle.connected_seconds(engine.clock())
        wall = time.time() - down_at
        assert abs((after - before) - (wall - gap)) < 2.5
        assert call.errors == []


async def test_a_phone_changing_network_comes_back_within_5_s(gateway_factory) -> None:
    async with lab_call(gateway_factory) as (lab, gateway, call, live):
        engine = gateway.app[keys.ENGINE]
        call_id = live.id
        old = (await observe(call.phone)).get("localAddress")
        await asyncio.sleep(2)
        new = lab.change_address()
        phone_back = await resumed_within(call.phone, 15, frames=10)
        kiosk_back = await resumed_within(call.kiosk, 15, frames=10)
        print(f"after the switch: phone {phone_back:.1f} s, kiosk {kiosk_back:.1f} s")
        assert max(phone_back, kiosk_back) < 5.0, (phone_back, kiosk_back)
        seen = await observe(call.phone)
        assert seen.get("localAddress") == new != old, (old, new, seen)
        assert engine.calls[call_id].state == "connected"
        assert len(read_codes(gateway.config.outbox_path)) == 1
        # The page's new socket, if the gateway still held the old one, is the same page's: a
        # reconnection, never a takeover (each page load sends its id in `hello`).
        kinds = [e["type"] for e in await engine.events(call_id)]
        assert "SocketTakenOver" not in kinds, kinds
        assert call.errors == []


async def test_past_the_grace_the_call_ends_billed_for_connected_time_only(gateway_factory) -> None:
    async with lab_call(gateway_factory, reconnect_grace_seconds=6) as (lab, gateway, call, live):
        engine = gateway.app[keys.ENGINE]
        await asyncio.sleep(2)
        lab.link_down()
        down_at = engine.clock()
        await call.kiosk.wait_for_selector("#ended", state="visible", timeout=15_000)
        text = await call.kiosk.inner_text("#ended")
        assert "problème de connexion" in text, text
        assert live.lifecycle.end_reason == "media_failure"
        # Billed up to the loss only (the 6 s of grace are not connected time).
        connected = live.lifecycle.connected_seconds(engine.clock())
        assert abs(connected - (down_at - live.lifecycle.connected_at)) < 2.5
        booking = await gateway.app[keys.DIRECTORY].booking(call.demo["booking"])
        assert booking is not None
        assert abs(booking.connected_ms / 1000 - connected) < 0.01
        # The phone finds its network again: its page says the call is over.
        lab.link_up()
        await call.phone.wait_for_selector("#ended", state="visible", timeout=20_000)
        assert call.errors == []
