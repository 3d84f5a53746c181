"""The accounts office's JSON API against a real gateway and Redis: credits, import, refunds."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from typing import Any

import aiohttp

from gateway.cli import Running
from gateway.core.pricing import call_cost
from gateway.http import appkeys as keys
from gateway.store.directory import Booking, Correspondent, Detainee
from tests.staffkit import staff_http

from .callkit import Client, join, seeded, start_calling


async def people(gateway: Running, number: str = "100001", credit: int = 0) -> None:
    """A detainee who signed the charter, with one authorised correspondent."""
    app = gateway.app
    now = app[keys.ENGINE].clock()
    directory = app[keys.DIRECTORY]
    await directory.put_detainee(
        Detainee(
            number=number, first_name="Jean", last_name="Martin", code_hash="-",
            charter_signed_at=now - 86400, charter_signed_by="agent",
        )
    )  # fmt: skip
    await directory.put_correspondent(
        Correspondent(id=f"c{number}", detainee=number, name="Marie Martin", phone="+33612345678")
    )
    if credit:
        await app[keys.LEDGER].credit(
            number, credit, "regie:init", f"init-{number}", int(now * 1000)
        )


async def post(
    http: aiohttp.ClientSession, url: str, payload: Any = None, data: bytes | None = None
) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"data": data} if data is not None else {"json": payload}
    async with http.post(url, **kwargs) as resp:
        return resp.status, await resp.json()


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as resp:
        return resp.status, await resp.json()


def credit_body(number: str, amount: Any, reference: str) -> dict[str, Any]:
    return {"detainee": number, "amount_cents": amount, "reference": reference, "actor": "Dupont"}


async def test_credit_is_idempotent_per_reference(gateway_factory) -> None:
    gateway = await gateway_factory()
    await people(gateway)
    ledger = gateway.app[keys.LEDGER]
    url = gateway.base_url + "/api/regie/credits"
    async with staff_http(gateway, name="Dupont", login="dupont") as http:
        status, first = await post(http, url, credit_body("100001", 1250, "REGIE-0001"))
        assert status == 201, first
        assert first["replayed"] is False
        assert first["account"] == {
            "number": "100001", "balance": 1250, "held": 0, "available": 1250,
            "tariff": "hors_forfait",
        }  # fmt: skip
        status, again = await post(http, url, credit_body("100001", 1250, "REGIE-0001"))
        assert status == 200 and again["replayed"] is True
        assert again["account"]["balance"] == 1250
        # The same reference with another amount is not a replay: refused, nothing changes.
        status, conflict = await post(http, url, credit_body("100001", 999, "REGIE-0001"))
        assert status == 409 and conflict["reason"] == "ledger.idempotency_conflict"
    account = await ledger.account("100001")
    assert account.balance == 1250
    entries = await ledger.entries("100001")
    assert [(e.kind, e.amount, e.actor, e.idem) for e in entries] == [
        ("credit", 1250, "regie:Dupont (dupont)", "REGIE-0001")
    ]


async def test_bad_credits_change_nothing(gateway_factory) -> None:
    gateway = await gateway_factory()
    await people(gateway)
    url = gateway.base_url + "/api/regie/credits"
    async with staff_http(gateway) as http:
        for i, amount in enumerate([0, -5, 1.5, "12", "12,50", None, True, 10**9 + 1]):
            status, body = await post(http, url, credit_body("100001", amount, f"BAD-{i}"))
            assert status == 400, (amount, body)
            assert body["reason"] in ("field.amount_cents", "ledger.bad_amount"), body
            assert body["message"]
        for payload in (
            {"detainee": "100001", "amount_cents": 100, "actor": "Dupont"},  # no reference
            {"amount_cents": 100, "reference": "R-y", "actor": "Dupont"},  # no detainee
        ):
            status, body = await post(http, url, payload)
            assert status == 400 and body["reason"].startswith("field."), body
        async with http.post(url, data=b"not json") as resp:
            assert resp.status == 400
            assert (await resp.json())["reason"] == "request.malformed"
        status, body = await post(http, url, credit_body("999999", 1000, "R-unknown"))
        assert status == 404 and body["reason"] == "booking.unknown_detainee", body
    ledger = gateway.app[keys.LEDGER]
    assert await ledger.entries("100001") == []
    assert await ledger.entries("999999") == []
    assert (await ledger.account("100001")).balance == 0


CLEAN_CSV = (
    "\ufeffecrou;montant;reference;libelle\r\n"
    "100001;12,50;REGIE-2026-0001;Versement famille\r\n"
    "100002;1 234,56 €;REGIE-2026-0002;\r\n"
    "100001;5;REGIE-2026-0003;Mandat\r\n"
).encode()


async def test_csv_import_dry_run_then_import_once(gateway_factory) -> None:
    gateway = await gateway_factory()
    await people(gateway, "100001")
    await people(gateway, "100002")
    ledger = gateway.app[keys.LEDGER]
    base = gateway.base_url + "/api/regie/import/credits"
    bad = (
        b"ecrou;montant;reference;libelle\n"
        b"100001;12,50;R-1;\n"
        b"100001;0;R-2;\n"  # zero
        b"777777;5;R-3;\n"  # unknown detainee
        b"100002;1,234;R-4;\n"  # ambiguous amount
        b"100002;3;R-1;\n"  # reference twice in the file
    )
    async with staff_http(gateway) as http:
        # A file with errors: every one reported with its line, nothing written (even not dry).
        for query in ("?dry_run=1&actor=Dupont", "?actor=Dupont"):
            status, report = await post(http, base + query, data=bad)
            assert status == 200, report
            assert report["ok"] is False and report["imported"] == 0
            found = {(e["line"], e["column"], e["reason"]) for e in report["errors"]}
            assert found == {
                (3, "montant", "csv.bad_amount"),
                (4, "ecrou", "csv.unknown_detainee"),
                (5, "montant", "csv.bad_amount"),
                (6, "reference", "csv.duplicate"),
            }, report["errors"]
            assert all(e["message"] for e in report["errors"])
        assert await ledger.entries("100001") == []

        # Without the session's CSRF token, refused before anything is read.
        async with http.post(
            base, data=CLEAN_CSV, headers={"X-CSRF-Token": "stale"}
        ) as resp:
            assert resp.status == 403 and (await resp.json())["reason"] == "staff.csrf"

        # A clean file: the dry run says so and writes nothing; then the import credits.
        status, report = await post(http, base + "?dry_run=1&actor=Dupont", data=CLEAN_CSV)
        assert status == 200
        assert report == {
            "ok": True, "dry_run": True, "rows": 3, "imported": 0, "errors": [], "warnings": [],
        }  # fmt: skip
        assert await ledger.entries("100001") == []
        status, report = await post(http, base + "?actor=Dupont", data=CLEAN_CSV)
        assert (status, report["ok"], report["dry_run"], report["imported"]) == (
            200, True, False, 3,
        )  # fmt: skip
        assert (await ledger.account("100001")).balance == 1250 + 500
        assert (await ledger.account("100002")).balance == 123456

        # The same file again credits nothing more: the references are the idempotency keys.
        status, report = await post(http, base + "?actor=Dupont", data=CLEAN_CSV)
        assert (status, report["ok"], report["rows"], report["imported"]) == (200, True, 3, 0)
    assert (await ledger.account("100001")).balance == 1750
    assert (await ledger.account("100002")).balance == 123456
    for number in ("100001", "100002"):
        assert (await ledger.verify(number)).ok


async def test_concurrent_credits_add_up_exactly(gateway_factory) -> None:
    gateway = await gateway_factory()
    await people(gateway)
    url = gateway.base_url + "/api/regie/credits"
    amounts = [100 + 7 * i for i in range(40)]
    async with staff_http(gateway) as http:
        results = await asyncio.gather(
            *(
                post(http, url, credit_body("100001", a, f"C-{i:03d}"))
                for i, a in enumerate(amounts)
            )
        )
    assert [status for status, _ in results] == [201] * 40
    ledger = gateway.app[keys.LEDGER]
    assert (await ledger.account("100001")).balance == sum(amounts)
    audit = await ledger.verify("100001")
    assert audit.ok, audit.problems
    assert audit.entries == 40


async def _closed_call(gateway: Running, number: str = "100001") -> Booking:
    """Book a slot at least 48 h ahead, connect 125 s, close: 3 minutes billed, 1,04 €."""
    desk = gateway.app[keys.DESK]
    now = gateway.app[keys.ENGINE].clock()
    today = desk.local(now).date()
    listed = await desk.establishment_slots(today, 14, now)
    start = next(s.start for s in listed if s.bookable and s.start.timestamp() >= now + 48 * 3600)
    kiosk = next(iter(desk.establishment.rooms))
    booking = await desk.book(
        detainee=number, correspondent=f"c{number}", kiosk=kiosk, start=start, guard="agent A",
        now=now,
    )  # fmt: skip
    assert await desk.add_connected(booking.id, "call_x", 125_000) == 125_000
    closed = await desk.close(booking.id, booking.end, "test")
    assert closed is not None and closed.status == "done" and closed.charged == 104
    return closed


async def test_refund_statement_and_daily_report(gateway_factory) -> None:
    gateway = await gateway_factory()
    await people(gateway, credit=5000)
    booking = await _closed_call(gateway)
    ledger = gateway.app[keys.LEDGER]
    base = gateway.base_url + "/api/regie"
    refund = {
        "booking": booking.id, "amount_cents": 30, "reason": "Coupure réseau",
        "actor": "Chef", "reference": "RF-1",
    }  # fmt: skip
    async with staff_http(gateway) as http:
        status, body = await post(http, base + "/refunds", refund)
        assert status == 201, body
        assert body["refunded"] == 30 and body["account"]["balance"] == 5000 - 104 + 30
        status, body = await post(http, base + "/refunds", refund)  # retried: once
        assert status == 200 and body["replayed"] is True
        status, body = await post(
            http, base + "/refunds", {**refund, "amount_cents": 75, "reference": "RF-2"}
        )
        assert status == 409 and body["reason"] == "ledger.refund_exceeds_charge", body
        assert body["details"] == {"refundable": 74}
        status, body = await post(http, base + "/refunds", {**refund, "booking": "bk_nope"})
        assert status == 404 and body["reason"] == "booking.not_found"
        status, body = await post(
            http, base + "/refunds", {**refund, "amount_cents": 0, "reference": "RF-3"}
        )
        assert status == 400
        assert (await ledger.account("100001")).balance == 5000 - 104 + 30

        # The statement shows the credit, the call and the refund.
        status, view = await get(http, base + "/accounts/100001/statement")
        assert status == 200
        assert view["account"]["balance"] == 4926 and view["account"]["held"] == 0
        by_kind = {line["kind"]: line for line in view["lines"]}
        assert set(by_kind) == {"credit", "call", "refund"}
        call = by_kind["call"]
        assert call["connected_seconds"] == 125 and call["billed_minutes"] == 3
        assert (call["fee"], call["rate"], call["tariff"]) == (14, 30, "hors_forfait")
        assert (call["amount"], call["amount_eur"]) == (-104, "-1,04")
        assert call["label"] == "Marie Martin" and call["reference"] == booking.receipt
        assert call["at"] == gateway.app[keys.DESK].local(booking.start).isoformat()
        assert by_kind["refund"]["amount_eur"] == "0,30"
        assert by_kind["refund"]["label"] == "Coupure réseau"
        assert by_kind["refund"]["reference"] == booking.id
        assert by_kind["credit"]["amount"] == 5000
        # Oldest first: the credit and the refund (today), then the call (its slot, ahead).
        assert [line["kind"] for line in view["lines"]] == ["credit", "refund", "call"]

        async with http.get(base + "/accounts/100001/statement.csv") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/csv")
            assert "releve-100001.csv" in resp.headers["Content-Disposition"]
            raw = await resp.read()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8")[1:], newline=""), delimiter=";"))
        kinds = [r[2] for r in rows[1:]]
        assert sorted(kinds) == ["Appel", "Crédit", "Remboursement"]
        (call_row,) = [r for r in rows[1:] if r[2] == "Appel"]
        assert call_row[4:] == ["125", "3", "hors_forfait", "0,30", "0,14", "-1,04",
                                booking.receipt]  # fmt: skip
        (refund_row,) = [r for r in rows[1:] if r[2] == "Remboursement"]
        assert refund_row[9] == "0,30"

        status, body = await get(http, base + "/accounts/777777/statement")
        assert status == 404 and body["reason"] == "booking.unknown_detainee"

        # The daily report of the slot's day counts the call; today's, the money moved.
        slot_day = gateway.app[keys.DESK].local(booking.start).date()
        status, report = await get(http, base + f"/report?date={slot_day.isoformat()}")
        assert status == 200, report
        assert report["date"] == slot_day.isoformat()
        assert (report["calls"], report["no_answer"], report["cancelled"]) == (1, 0, 0)
        assert (report["connected_seconds"], report["billed_minutes"]) == (125, 3)
        assert report["charged"] == 104
        today = gateway.app[keys.DESK].local(gateway.app[keys.ENGINE].clock()).date()
        status, report = await get(http, base + "/report")
        assert status == 200 and report["date"] == today.isoformat()
        assert (report["credits"], report["credited"]) == (1, 5000)
        assert (report["refunds"], report["refunded"]) == (1, 30)
        assert report["calls"] == 0  # the call's slot is at least two days ahead
        status, body = await get(http, base + "/report?date=03/12/2026")
        assert status == 400 and body["reason"] == "request.bad_date"
    assert (await ledger.verify("100001")).ok


async def test_tariff_change(gateway_factory) -> None:
    gateway = await gateway_factory()
    await people(gateway)
    url = gateway.base_url + "/api/regie/accounts/100001/tariff"
    async with staff_http(gateway) as http:
        status, account = await post(http, url, {"tariff": "forfait_40"})
        assert status == 200 and account["tariff"] == "forfait_40"
        status, body = await post(http, url, {"tariff": "forfait_1000"})
        assert status == 400 and body["reason"] == "ledger.unknown_tariff"
        status, body = await post(
            http, gateway.base_url + "/api/regie/accounts/777777/tariff", {"tariff": "forfait_40"}
        )
        assert status == 404
    assert (await gateway.app[keys.LEDGER].account("100001")).tariff == "forfait_40"


async def test_outside_the_staff_networks_is_refused(gateway_factory) -> None:
    gateway = await gateway_factory(staff_networks=("10.0.0.0/8",))
    async with aiohttp.ClientSession() as http:
        for path in ("/api/regie/report", "/api/regie/accounts/100001/statement"):
            status, body = await get(http, gateway.base_url + path)
            assert status == 403 and body["reason"] == "staff.forbidden_network", body
        status, body = await post(
            http, gateway.base_url + "/api/regie/credits", credit_body("100001", 100, "R-1")
        )
        assert status == 403 and body["reason"] == "staff.forbidden_network"
    assert await gateway.app[keys.LEDGER].entries("100001") == []


async def _collect(client: Client, until_state: str, seen: list[dict[str, Any]]) -> None:
    async with asyncio.timeout(15):
        while True:
            msg = await client.inbox.get()
            seen.append(msg)
            if msg["type"] == "_closed":
                raise AssertionError("socket closed")
            if msg["type"] == "state" and msg["call"]["state"] == until_state:
                return


def _money_keys(value: Any, path: str = "") -> list[str]:
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k in ("billing", "balance", "tariff") or "cents" in k or "cost" in k:
                found.append(path + k)
            found += _money_keys(v, path + k + ".")
    elif isinstance(value, list):
        for item in value:
            found += _money_keys(item, path)
    return found


async def test_only_the_kiosk_receives_money(gateway_factory) -> None:
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    async with staff_http(gateway) as http:
        kiosk = Client(gateway.base_url, http)
        relative = Client(gateway.base_url, http)
        try:
            code, _ref = await start_calling(kiosk, gateway, demo)
            status, joined = await join(relative, code)
            assert status == 200 and _money_keys(joined) == []
            relative_seen = [await relative.connect()]
            await relative.start_media()
            await _collect(relative, "connected", relative_seen)
            kiosk_seen: list[dict[str, Any]] = []
            await _collect(kiosk, "connected", kiosk_seen)
            await kiosk.send({"type": "hangup"})
            relative_seen.append(await relative.expect("ended"))
        finally:
            await kiosk.close()
            await relative.close()
    assert relative_seen and all(_money_keys(m) == [] for m in relative_seen), relative_seen
    view = kiosk_seen[-1]["call"]
    billing = view["billing"]
    assert billing == {
        "balance_cents": 5000, "hold_cents": 914, "tariff": "hors_forfait",
        "per_minute_cents": 30, "fee_cents": 14, "rounding": "per_started_minute",
        "prior_connected_ms": 0, "settled": None,
    }  # fmt: skip
    assert isinstance(view["connected_at"], int) and isinstance(view["server_time"], int)
    assert view["connected_at"] <= view["server_time"]
    # What the kiosk shows after 1 ms of connection: the fee and one started minute.
    tariff = gateway.app[keys.LEDGER].tariffs.get(billing["tariff"])
    assert call_cost(tariff, 0.001).amount == billing["fee_cents"] + billing["per_minute_cents"]


async def test_regie_page_has_no_inline_code(gateway_factory) -> None:
    gateway = await gateway_factory()
    async with staff_http(gateway) as http, http.get(gateway.base_url + "/regie") as resp:
        assert resp.status == 200
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
        page = await resp.text()
    assert '<html lang="fr">' in page
    assert re.findall(r"<script(?![^>]*\ssrc=)", page) == []
    assert " style=" not in page and "<style" not in page and " on" + "click=" not in page
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        async with staff_http(gateway) as http, http.get(gateway.base_url + asset) as resp:
            assert resp.status == 200, asset


async def test_reused_reference_is_caught_by_the_dry_run(gateway_factory) -> None:
    gateway = await gateway_factory()
    await people(gateway)
    base = gateway.base_url + "/api/regie/import/credits"
    first = b"ecrou;montant;reference\n100001;10,00;VIR-1\n"
    other = b"ecrou;montant;reference\n100001;20,00;VIR-1\n100001;5,00;VIR-2\n"
    async with staff_http(gateway) as http:
        status, report = await post(http, f"{base}?actor=Dupont", data=first)
        assert report["imported"] == 1
        # The same reference for another amount: an error in the dry run, nothing credited.
        for query in ("?dry_run=1&actor=Dupont", "?actor=Dupont"):
            status, report = await post(http, base + query, data=other)
            assert status == 200 and report["ok"] is False and report["imported"] == 0
            assert [(e["line"], e["reason"]) for e in report["errors"]] == [
                (2, "csv.reference_conflict")
            ]
        # The first file again: a warning, and no second credit.
        status, report = await post(http, f"{base}?actor=Dupont", data=first)
        assert report["ok"] and report["imported"] == 0
        assert [w["reason"] for w in report["warnings"]] == ["csv.already_imported"]
        status, tariffs = await get(http, gateway.base_url + "/api/regie/tariffs")
        assert {"name": "hors_forfait", "per_minute_cents": 30, "connection_fee_cents": 14} in (
            tariffs["tariffs"]
        )
        status, refused = await post(
            http, gateway.base_url + "/api/regie/accounts/100001/tariff", {"tariff": "gratuit"}
        )
        assert (status, refused["reason"]) == (400, "ledger.unknown_tariff")
    account = await gateway.app[keys.LEDGER].account("100001")
    assert account.balance == 1000
