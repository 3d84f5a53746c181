"""The network lab itself (tests/netlab.py), with a real browser call through it: the phone's
Chromium in its namespace, the gateway and the kiosk's Chromium on the host."""

from __future__ import annotations

import asyncio
import socket

import pytest

from .callkit import sound_held_back
from .netlab import (
    network_lab,
    observe,
    received_kbit,
    resumed_within,
    start_browser_call,
)

CAP_KBIT = 250
"""Under what Chromium's sender starts at (about 300 kbit/s of video, plus the sound), so the
stream is above 1.3 times the cap almost at once: the caps are what this tests, not the climb."""


def _ip(*args: str) -> str:
    import subprocess

    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout


async def test_call_through_the_lab_and_its_bandwidth_caps(gateway_factory) -> None:
    async with network_lab() as lab:
        gateway = await gateway_factory(**lab.gateway_config())
        base = gateway.base_url
        assert base.startswith(f"http://{lab.host_addr}:")
        async with lab.chromium_outside(base) as kb, lab.chromium_inside(base) as pb:
            call = await start_browser_call(gateway, kb, pb)
            # (1) Video both ways, and the phone's media really goes over the lab's link.
            phone, kiosk = await observe(call.phone), await observe(call.kiosk)
            assert phone["connectionState"] == kiosk["connectionState"] == "connected"
            assert phone["localAddress"] == lab.phone_addr
            assert phone["remoteAddress"] == lab.host_addr
            assert phone["framesDecoded"] > 10 and kiosk["framesDecoded"] > 10
            assert await resumed_within(call.kiosk, 5, frames=20) < 5

            # Unshaped, the kiosk's stream is above what the cap lets through (else the test
            # would prove nothing): Chromium's sender starts near 300 kbit/s and climbs to about
            # 500 kbit/s (640x480, 20 fps fake camera) in 10 to 20 s; much later on a loaded
            # machine, whose CPU adaptation holds it back.
            async with asyncio.timeout(90):
                while (free := await received_kbit(call.phone, 2)) < 1.3 * CAP_KBIT:
                    pass

            # (2) Shaped: what reaches the phone stays under the cap (plus a margin for the
            # rate's measure over a short window), and the kernel says it held the excess back.
            lab.shape(CAP_KBIT)
            await asyncio.sleep(1.5)  # the queue in front of the bucket drains
            shaped = await received_kbit(call.phone, 4)
            assert shaped < 1.3 * CAP_KBIT, (free, shaped)
            # The kernel held packets over the cap. (Not necessarily dropped any: the delay-based
            # estimates can bring the kiosk's sender under the cap before the queue overflows.)
            assert lab.downlink_stats()["overlimits"] > 0
            assert (await observe(call.phone))["connectionState"] == "connected"

            # Unshaped again: the rate climbs back above the cap. As slowly as the first time:
            # after a cap, the estimates grow additively near the rate they last knew (seen on
            # this machine: 18 to 28 s, a plateau just above the cap most of that time).
            lab.unshape()
            assert lab.downlink_stats() == {"bytes": 0, "packets": 0, "drops": 0, "overlimits": 0}
            async with asyncio.timeout(90):
                while (again := await received_kbit(call.phone, 2)) < 1.3 * CAP_KBIT:
                    pass
            print(f"unshaped {free:.0f} kbit/s, shaped {shaped:.0f}, unshaped again {again:.0f}")

            # The uplink alone: what the kiosk receives from the phone (relayed as it comes by
            # the gateway) stays under the cap, and the phone's downlink is left alone.
            async with asyncio.timeout(90):
                while (up_free := await received_kbit(call.kiosk, 2)) < 1.3 * CAP_KBIT:
                    pass
            lab.shape(None, CAP_KBIT)
            await asyncio.sleep(1.5)
            up_shaped = await received_kbit(call.kiosk, 4)
            assert up_shaped < 1.3 * CAP_KBIT, (up_free, up_shaped)
            assert lab.uplink_stats()["overlimits"] > 0
            assert lab.downlink_stats()["packets"] == 0
            # Still above the cap: the kiosk's stream reaches the phone at its own rate (about
            # 350 kbit/s here; CI once read 312 while the phone's reports queued behind its
            # capped uplink, so not 1.3 times the cap as for the climbs above).
            assert await received_kbit(call.phone, 2) > CAP_KBIT
            # What the cap dropped of the phone's sound is not waited for: the gateway passes
            # each packet on as it comes (aiortc's buffer stayed 14 behind after one loss).
            held, lost = sound_held_back(gateway, "relative")
            assert held == 0, (held, lost)
            print(f"uplink: unshaped {up_free:.0f} kbit/s, shaped {up_shaped:.0f}, lost {lost}")
            lab.unshape()
            assert call.errors == []
            await call.close()


async def test_link_down_stops_the_phones_media_and_link_up_brings_it_back(
    gateway_factory,
) -> None:
    async with network_lab() as lab:
        gateway = await gateway_factory(**lab.gateway_config())
        base = gateway.base_url
        async with lab.chromium_outside(base) as kb, lab.chromium_inside(base) as pb:
            call = await start_browser_call(gateway, kb, pb)
            assert await received_kbit(call.phone, 1) > 0
            # (3) Down: nothing reaches the phone any more (after the packets in flight).
            lab.link_down()
            await asyncio.sleep(0.5)
            frozen = (await observe(call.phone))["framesDecoded"]
            assert await received_kbit(call.phone, 2) == 0
            assert (await observe(call.phone))["framesDecoded"] == frozen
            # Up: same address, its route back, and the video resumes over the same path.
            lab.link_up()
            assert f" {lab.phone_addr}/" in lab.ip("-4", "-o", "addr", inside=True)
            assert lab.ip("-4", "route", "show", str(lab.subnet), inside=True).strip()
            took = await resumed_within(call.phone, 20)
            print(f"video back {took:.1f} s after link_up")
            assert call.errors == []
            await call.close()


async def test_change_address_kills_the_old_path() -> None:
    async with network_lab() as lab:
        host = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        host.bind((lab.host_addr, 0))
        host.settimeout(2)
        old = lab.socket_inside()
        old.bind((lab.phone_addr, 0))
        old_addr = lab.phone_addr
        host.sendto(b"before", old.getsockname())
        old.settimeout(2)
        assert old.recvfrom(100)[0] == b"before"

        new_addr = lab.change_address()
        assert new_addr != old_addr and lab.phone_addr == new_addr
        assert f" {old_addr}/" not in lab.ip("-4", "-o", "addr", inside=True)
        # The old path is dead both ways: the phone cannot send from the old address, and what
        # the host sends to it never arrives.
        with pytest.raises(OSError):
            old.sendto(b"from old", host.getsockname())
        host.sendto(b"to old", old.getsockname())
        old.settimeout(1)
        with pytest.raises(TimeoutError):
            old.recvfrom(100)
        # The new one works.
        new = lab.socket_inside()
        new.bind((new_addr, 0))
        new.sendto(b"from new", host.getsockname())
        data, peer = host.recvfrom(100)
        assert (data, peer[0]) == (b"from new", new_addr)
        for s in (host, old, new):
            s.close()


async def test_teardown_leaves_nothing_even_when_the_body_raises() -> None:
    seen = []
    async with network_lab() as lab:
        lab.shape(100, 50)
        seen.append(lab)
    with pytest.raises(RuntimeError, match="boom"):
        async with network_lab() as lab:
            lab.shape(100)
            lab.link_down()
            seen.append(lab)
            raise RuntimeError("boom")
    assert len(seen) == 2 and seen[0].ns != seen[1].ns
    namespaces, links, routes = (
        _ip("netns", "list"),
        _ip("link"),
        _ip("route", "show", "table", "all"),
    )
    for lab in seen:
        assert lab.ns not in namespaces
        assert lab.host_if not in links and lab.phone_if not in links
        assert str(lab.subnet.network_address) not in routes
        assert not lab.workdir.exists()


async def test_two_labs_never_share_a_subnet(monkeypatch) -> None:
    """A lab that draws a /24 another lab holds (two test runs at once) draws again, and its
    teardown leaves the other's route alone."""
    from . import netlab

    async with network_lab() as first:
        draws = iter([first.subnet])
        real = netlab._free_subnet
        monkeypatch.setattr(netlab, "_free_subnet", lambda: next(draws, None) or real())
        async with network_lab() as second:
            assert second.subnet != first.subnet
        assert f"unreachable {first.subnet}" in _ip("route", "show", "table", "all")
        assert first.ip("-4", "-o", "addr", "show", "dev", first.host_if).strip()


def test_the_lab_skips_cleanly_without_root(monkeypatch) -> None:
    from . import netlab

    monkeypatch.setattr(netlab.os, "geteuid", lambda: 1000)
    with pytest.raises(pytest.skip.Exception, match="needs root"):
        with netlab.lab_sync():
            pass
