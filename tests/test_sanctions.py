"""A sanctioned number can be neither booked nor sent a code, for any detainee, until it ends."""

from __future__ import annotations

from dataclasses import replace

from gateway.http import appkeys as keys
from tests.callkit import Client, kiosk_login, read_codes, seeded
from tests.staffkit import staff_http
from tests.test_desk_api import first_bookable, get, post, seed


async def test_a_sanctioned_number_gets_no_code_and_no_booking(gateway_factory) -> None:
    gateway = await gateway_factory()
    base = gateway.base_url
    demo = await seeded(gateway)  # correspondent +33612345678, a booking now
    await seed(gateway.app, "100001")  # another detainee, calling +33611223344
    async with staff_http(gateway) as http:
        status, sanction = await post(
            http, f"{base}/api/direction/sanctions",
            {"phone": "06 12 34 56 78", "until": "2099-12-31", "reason": "incident du 28/11",
             "staff": "Directeur"},
        )  # fmt: skip
        assert status == 201 and sanction["phone"] == "+33612345678" and sanction["active"]
        # The kiosk offers the call but the gateway sends no code to that number.
        kiosk = Client(base, http)
        try:
            await kiosk_login(kiosk, demo["detainee"], demo["access_code"])
            await kiosk.connect()
            await kiosk.send({"type": "call"})
            refused = await kiosk.expect("error")
            assert refused["reason"] == "call.number_sanctioned"
            assert "sanctionné" in refused["message"]
        finally:
            await kiosk.close()
        assert read_codes(gateway.config.outbox_path) == []
        # Booking that number for another detainee is refused too.
        directory = gateway.app[keys.DIRECTORY]
        corr = await directory.correspondent("c100001")
        assert corr is not None
        await directory.put_correspondent(replace(corr, phone="+33612345678"))
        start = await first_bookable(http, base)
        order = {"detainee": "100001", "correspondent": "c100001", "kiosk": "kiosk-1",
                 "start": start, "guard": "agent"}  # fmt: skip
        status, refused = await post(http, f"{base}/api/desk/bookings", order)
        assert (status, refused["reason"]) == (409, "booking.number_sanctioned")
        # Lifted: the booking goes through; both acts are in the audit log.
        status, lifted = await post(
            http, f"{base}/api/direction/sanctions/+33612345678/lift", {"staff": "Directeur"}
        )
        assert status == 200 and lifted["active"] is False
        status, booking = await post(http, f"{base}/api/desk/bookings", order)
        assert status == 201, booking
        status, audit = await get(http, f"{base}/api/audit")
        assert [e["action"] for e in audit if e["action"].startswith("sanction")] == [
            "sanction.number", "sanction.lift"
        ]
        status, bad = await post(
            http, f"{base}/api/direction/sanctions",
            {"phone": "12", "until": "2099-12-31", "reason": "x", "staff": "D"},
        )  # fmt: skip
        assert (status, bad["reason"]) == (400, "phone.invalid")
