"""The desk's JSON API over HTTP on a real gateway: slots, booking, refusals, receipt, import."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import time
from typing import Any

import aiohttp
import pypdf

from gateway.http import appkeys as keys
from gateway.store.directory import Correspondent, Detainee, hash_access_code
from tests.staffkit import staff_http


async def seed(app: Any, number: str = "100001", credit: int = 5000) -> None:
    directory = app[keys.DIRECTORY]
    await directory.put_detainee(
        Detainee(
            number=number, first_name="Hélène", last_name="Dupré",
            code_hash=hash_access_code("1234"), building="B", floor="1", cell="112",
            charter_signed_at=time.time() - 86400, charter_signed_by="agent",
        )
    )  # fmt: skip
    await directory.put_correspondent(
        Correspondent(id=f"c{number}", detainee=number, name="Paul Dupré", phone="+33611223344",
                      relationship="frère")
    )  # fmt: skip
    if credit:
        await app[keys.LEDGER].credit(number, credit, "regie", f"seed-{number}", 0)


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as resp:
        return resp.status, await resp.json()


async def post(http: aiohttp.ClientSession, url: str, payload: Any) -> tuple[int, Any]:
    async with http.post(url, json=payload) as resp:
        return resp.status, await resp.json()


async def slots_cli(*args: str) -> Any:
    """``python -m gateway slots ...`` as a subprocess (without blocking the event loop)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "slots", *args, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return json.loads(out)


async def first_bookable(http: aiohttp.ClientSession, base: str) -> str:
    status, listed = await get(http, f"{base}/api/slots?days=14")
    assert status == 200
    return next(s["start"] for s in listed if s["bookable"])


async def test_slots_api_and_cli_agree_on_the_calendar(gateway_factory) -> None:
    gw = await gateway_factory()
    async with staff_http(gw) as http:
        status, listed = await get(http, f"{gw.base_url}/api/slots?from=2026-12-21&days=7")
    assert status == 200
    assert len(listed) == 6 * 6  # Monday to Saturday, six slots; no Sunday slot listed
    christmas = [s for s in listed if s["start"].startswith("2026-12-25")]
    assert len(christmas) == 6
    assert all(s == {**s, "bookable": False, "reason": "holiday"} for s in christmas)
    assert listed[0]["start"] == "2026-12-21T08:30:00+01:00"
    assert listed[0]["end"] == "2026-12-21T09:15:00+01:00"
    offline = await slots_cli("--from", "2026-12-21", "--days", "7",
                              "--now", "2026-12-18T10:00:00+01:00")  # fmt: skip
    assert [s["start"] for s in offline] == [s["start"] for s in listed]
    by_start = {s["start"]: s for s in offline}
    # Friday 18th at 10:00: Monday and Tuesday slots are still open until Saturday night.
    assert by_start["2026-12-22T15:45:00+01:00"]["bookable"] is True
    assert by_start["2026-12-23T08:30:00+01:00"]["bookable"] is True
    assert by_start["2026-12-25T08:30:00+01:00"]["reason"] == "holiday"
    late = await slots_cli("--from", "2026-12-21", "--days", "1",
                           "--now", "2026-12-20T09:00:00+01:00")  # fmt: skip
    assert {s["reason"] for s in late} == {"too_late"}  # Sunday: too late
    async with staff_http(gw) as http:
        status, refused = await get(http, f"{gw.base_url}/api/slots?from=21-12-2026")
        assert (status, refused["reason"]) == (400, "request.bad_date")
        status, refused = await get(http, f"{gw.base_url}/api/slots?days=500")
        assert (status, refused["reason"]) == (400, "request.bad_days")


async def test_book_over_http_with_receipt_and_refusals(gateway_factory) -> None:
    gw = await gateway_factory()
    await seed(gw.app)
    base = gw.base_url
    async with staff_http(gw, name="Agent Leroy") as http:
        start = await first_bookable(http, base)
        # A name typed in the request is ignored: the booking names the signed-in member.
        order = {"detainee": "100001", "correspondent": "c100001", "kiosk": "kiosk-1",
                 "start": start, "guard": "Someone Else"}  # fmt: skip
        status, booking = await post(http, f"{base}/api/desk/bookings", order)
        assert status == 201, booking
        assert booking["status"] == "booked" and booking["start"] == start
        assert booking["hold"] == 914 and booking["receipt"].endswith("-000001")
        # The same again: refused with a reason code and a sentence, nothing changes.
        status, refused = await post(http, f"{base}/api/desk/bookings", order)
        assert status == 409 and refused["reason"] == "booking.quota"
        assert "28 jours" in refused["message"] or "4 semaines" in refused["message"]
        status, refused = await post(http, f"{base}/api/desk/bookings?lang=en", order)
        assert refused["message"].isascii()
        status, refused = await post(
            http, f"{base}/api/desk/bookings", {**order, "start": "2026-12-21 08:30"}
        )
        assert (status, refused["reason"]) == (400, "field.start")
        assert booking["booked_by"].startswith("Agent Leroy (agent")
        status, file = await get(http, f"{base}/api/desk/detainees/100001")
        assert [b["id"] for b in file["bookings"]] == [booking["id"]]
        assert file["account"] == {"balance": 5000, "held": 914, "available": 4086,
                                   "tariff": "hors_forfait"}  # fmt: skip
        async with http.get(f"{base}/api/desk/bookings/{booking['id']}/receipt.pdf") as resp:
            assert resp.status == 200 and resp.content_type == "application/pdf"
            pdf = await resp.read()
        text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
        assert booking["receipt"] in text and "DUPRÉ Hélène" in text and "Agent Leroy" in text
        assert "Someone Else" not in text
        # The day's list (planning and movements) has the detainee with the cell.
        day = start[:10]
        status, listing = await get(http, f"{base}/api/desk/day?date={day}")
        assert [(b["detainee_name"], b["cell"]) for b in listing["bookings"]] == [
            ("DUPRÉ Hélène", "112")
        ]
        status, cancelled = await post(
            http, f"{base}/api/desk/bookings/{booking['id']}/cancel",
            {"guard": "Agent Leroy", "reason": "Transfert"},
        )  # fmt: skip
        assert status == 200 and cancelled["status"] == "cancelled"
        status, file = await get(http, f"{base}/api/desk/detainees/100001")
        assert file["account"]["held"] == 0


async def test_concurrent_http_bookings_of_one_kiosk_slot(gateway_factory) -> None:
    gw = await gateway_factory()
    numbers = [f"3000{i:02d}" for i in range(6)]
    for number in numbers:
        await seed(gw.app, number)
    async with staff_http(gw) as http:
        start = await first_bookable(http, gw.base_url)
        results = await asyncio.gather(
            *(
                post(http, f"{gw.base_url}/api/desk/bookings",
                     {"detainee": n, "correspondent": f"c{n}", "kiosk": "kiosk-1",
                      "start": start, "guard": "agent"})  # fmt: skip
                for n in numbers
            )
        )
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 5, results
    assert {b["reason"] for s, b in results if s == 409} == {"booking.kiosk_busy"}
    held = [(await gw.app[keys.LEDGER].account(n)).held for n in numbers]
    assert sorted(held) == [0] * 5 + [914]


async def test_csv_import_dry_run_then_import(gateway_factory) -> None:
    gw = await gateway_factory()
    base = gw.base_url
    people = "ecrou;nom;prenom;batiment;etage;cellule;code_acces\n" \
             "200001;Durand;Éric;A;3;301;4821\n200002;Petit;Ana;A;3;302;\n"  # fmt: skip
    async with staff_http(gw) as http:
        async with http.post(f"{base}/api/desk/import/detainees?dry_run=1",
                             data=people.encode()) as resp:  # fmt: skip
            report = await resp.json()
        assert report["ok"] is False and report["imported"] == 0
        assert [(e["line"], e["reason"]) for e in report["errors"]] == [(3, "csv.required")]
        assert await gw.app[keys.DIRECTORY].detainee("200001") is None
        fixed = people.replace("302;\n", "302;7777\n").encode()
        async with http.post(f"{base}/api/desk/import/detainees?dry_run=1", data=fixed) as resp:
            report = await resp.json()
        assert report["ok"] and report["rows"] == 2 and report["imported"] == 0
        assert await gw.app[keys.DIRECTORY].detainee("200001") is None
        async with http.post(f"{base}/api/desk/import/detainees", data=fixed) as resp:
            report = await resp.json()
        assert report["imported"] == 2
        d = await gw.app[keys.DIRECTORY].check_login("200002", "7777")
        assert d is not None and d.first_name == "Ana" and d.cell == "302"
        corr = "ecrou;nom;telephone;lien;mineur\n200001;Léa Durand;06 12 34 56 78;fille;oui\n" \
               "999999;X;0612345678;;\n"  # fmt: skip
        async with http.post(f"{base}/api/desk/import/correspondents",
                             data=corr.encode()) as resp:  # fmt: skip
            report = await resp.json()
        assert report["imported"] == 0
        assert [e["reason"] for e in report["errors"]] == ["csv.unknown_detainee"]
        assert await gw.app[keys.DIRECTORY].correspondents_of("200001") == []
        corr = corr.split("999999")[0].encode()
        async with http.post(f"{base}/api/desk/import/correspondents", data=corr) as resp:
            report = await resp.json()
        assert report["imported"] == 1 and [w["reason"] for w in report["warnings"]] == [
            "csv.consent_missing"
        ]
        [lea] = await gw.app[keys.DIRECTORY].correspondents_of("200001")
        assert (lea.phone, lea.minor, lea.parental_consent) == ("+33612345678", True, False)


async def test_staff_api_is_refused_outside_the_staff_networks(gateway_factory) -> None:
    gw = await gateway_factory(staff_networks=("10.0.0.0/8",))
    async with aiohttp.ClientSession() as http:
        for path in ("/api/desk/detainees?q=a", "/desk", "/api/regie/report"):
            status, refused = await get(http, gw.base_url + path)
            assert (status, refused["reason"]) == (403, "staff.forbidden_network")
        status, _listed = await get(http, gw.base_url + "/api/slots")
        assert status == 200  # the public calendar holds no personal data


async def test_a_large_csv_is_read_whole(gateway_factory) -> None:
    """15 000 rows (about 600 kB) arrive in many TCP reads: every row must be checked."""
    gw = await gateway_factory()
    rows = "".join(f"{400000 + i};Nom{i};Prénom{i};A;1;{i % 300};{1000 + i % 9000}\n"
                   for i in range(15_000))  # fmt: skip
    data = ("ecrou;nom;prenom;batiment;etage;cellule;code_acces\n" + rows).encode()
    assert len(data) > 500_000
    async with staff_http(gw) as http:
        url = f"{gw.base_url}/api/desk/import/detainees?dry_run=1"
        async with http.post(url, data=data) as resp:
            report = await resp.json()
        assert report["ok"] and report["rows"] == 15_000, report["errors"][:3]
        async with http.post(url, data=b"x" * 2_000_001) as resp:
            assert resp.status == 413
