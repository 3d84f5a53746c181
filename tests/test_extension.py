"""The head of the prison allows a longer call: the hold, the timer and the slot follow."""

from __future__ import annotations

from gateway.core.lifecycle import CallExtended, CallLifecycle, CallLimits, Leg
from gateway.http import appkeys as keys
from tests.callkit import Client, join, seeded, start_calling
from tests.staffkit import staff_http
from tests.test_desk_api import get, post


def test_lifecycle_extension_moves_the_end_and_the_warnings() -> None:
    lc = CallLifecycle(CallLimits(max_duration=600, slot_end=10_000, warnings=(300, 60)))
    lc.code_sent(0)
    lc.relative_joined(10)
    lc.leg_connected(Leg.KIOSK, 11)
    lc.leg_connected(Leg.RELATIVE, 12)
    assert lc.ends_at == 612
    assert lc.extend(1200, 100) == [CallExtended(at=100, ends_at=1212)]
    assert lc.next_deadline() == 1212 - 300
    assert lc.extend(900, 110) == []  # never shorter
    assert lc.extend(100_000, 120)[0].ends_at == 10_000  # never past the slot


async def test_extension_of_a_live_call(gateway_factory) -> None:
    gateway = await gateway_factory(call_max_seconds=60)
    demo = await seeded(gateway)
    ledger = gateway.app[keys.LEDGER]
    base = gateway.base_url
    async with staff_http(gateway, name="Directeur", login="dir") as http:
        kiosk, relative = Client(base, http), Client(base, http)
        try:
            code, _ref = await start_calling(kiosk, gateway, demo)
            status, body = await join(relative, code)
            assert status == 200
            await relative.connect()
            await relative.start_media()
            connected = await kiosk.expect("state", call__state="connected")
            first_end = connected["call"]["ends_at"]
            assert (await ledger.account(demo["detainee"])).held == 14 + 30
            url = f"{base}/api/direction/bookings/{demo['booking']}/extend"
            status, refused = await post(http, url, {"minutes": 46, "staff": "D", "reason": "x"})
            assert (status, refused["reason"]) == (400, "booking.bad_extension")  # > the slot
            status, done = await post(
                http, url, {"minutes": 3, "staff": "Directeur", "reason": "enfant malade"}
            )
            assert status == 200 and done["hold"] == 14 + 3 * 30 and done["live_call"]
            later = await kiosk.expect("state", call__state="connected")
            while later["call"]["ends_at"] == first_end:  # a state sent before the extension
                later = await kiosk.expect("state", call__state="connected")
            assert later["call"]["ends_at"] - first_end == 120_000
            assert (await ledger.account(demo["detainee"])).held == 14 + 90
            await kiosk.send({"type": "hangup"})
            await relative.expect("ended")
        finally:
            await kiosk.close()
            await relative.close()
    booking = await gateway.app[keys.DIRECTORY].booking(demo["booking"])
    assert booking is not None and booking.status == "done" and booking.charged == 44
    account = await ledger.account(demo["detainee"])
    assert (account.balance, account.held) == (5000 - 44, 0)
    assert (await ledger.verify(demo["detainee"])).ok
    async with staff_http(gateway) as http:
        _status, audit = await get(http, f"{base}/api/audit?action=booking.extend")
    assert [(e["actor"], e["details"]["minutes"]) for e in audit] == [("Directeur (dir)", "3")]
