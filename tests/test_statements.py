"""Statements and daily reports of the phone accounts, sans-IO: records in, rows out."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.core.pricing import CHARTER_TARIFFS, Rounding
from gateway.core.records import Booking, Entry
from gateway.core.statements import StatementLine, daily_report, euros, statement, statement_csv

PARIS = ZoneInfo("Europe/Paris")
DAY = datetime(2026, 12, 3, tzinfo=PARIS)  # a Thursday
DAY_MS = int(DAY.timestamp() * 1000)
NEXT_DAY_MS = int(datetime(2026, 12, 4, tzinfo=PARIS).timestamp() * 1000)
NAMES = {"c1": "Marie Martin"}


def at(hour: int, minute: int = 0, day: int = 3) -> float:
    return datetime(2026, 12, day, hour, minute, tzinfo=PARIS).timestamp()


def booking(
    bid: str,
    start: float,
    status: str = "done",
    connected_ms: int = 0,
    charged: int = 0,
    tariff: str = "hors_forfait",
    receipt: str = "",
) -> Booking:
    return Booking(
        id=bid, detainee="100001", correspondent="c1", kiosk="kiosk-1", start=start,
        end=start + 45 * 60, status=status, receipt=receipt, tariff=tariff, hold=914,
        max_seconds=1800, connected_ms=connected_ms, charged=charged,
    )  # fmt: skip


def entry(kind: str, amount: int, when: float, **extra: object) -> Entry:
    values: dict[str, object] = {
        "id": f"{int(when * 1000)}-0", "kind": kind, "amount": amount, "actor": "regie:Dupont",
        "ref": "", "idem": f"{kind}-{int(when)}", "at": int(when * 1000), "balance_after": 0,
        "held_after": 0,
    }  # fmt: skip
    values.update(extra)
    return Entry(**values)  # type: ignore[arg-type]


def test_euros_french_decimals() -> None:
    assert euros(0) == "0,00"
    assert euros(5) == "0,05"
    assert euros(1234) == "12,34"
    assert euros(-104) == "-1,04"
    assert euros(100_000_00) == "100000,00"


def test_statement_orders_lines_and_signs_amounts() -> None:
    bookings = [
        booking("bk_late", at(14), connected_ms=125_000, charged=104, receipt="2026-000002"),
        booking("bk_quiet", at(9), status="no_answer"),
        booking("bk_cancelled", at(10), status="cancelled"),
        booking("bk_open", at(16), status="booked"),
    ]
    entries = [
        entry("credit", 5000, at(8)),
        entry("hold", 914, at(8, 5), ref="bk_late"),
        entry("charge", 104, at(14, 45), ref="bk_late"),
        entry("release", 810, at(14, 45), ref="bk_late"),
        entry(
            "refund",
            30,
            at(15),
            actor="direction:Chef",
            ref="bk_late",
            idem="rf-1",
            reason="Coupure réseau",
        ),  # fmt: skip
    ]
    lines = statement(bookings, entries, CHARTER_TARIFFS, Rounding.PER_STARTED_MINUTE, PARIS,
                      NAMES)  # fmt: skip
    assert [(line.kind, line.amount) for line in lines] == [
        ("credit", 5000),
        ("no_answer", 0),
        ("call", -104),
        ("refund", 30),
    ]
    assert [line.at for line in lines] == sorted(line.at for line in lines)
    credit, quiet, call, refund = lines
    assert credit.label == "regie:Dupont" and credit.reference == "credit-" + str(int(at(8)))
    assert quiet.label == "Marie Martin" and quiet.billed_minutes == 0 and quiet.fee == 0
    assert quiet.reference == "bk_quiet"  # no receipt number: the booking id
    assert call == StatementLine(
        at=datetime(2026, 12, 3, 14, 0, tzinfo=PARIS),
        kind="call",
        label="Marie Martin",
        connected_seconds=125,
        billed_minutes=3,
        tariff="hors_forfait",
        rate=30,
        fee=14,
        amount=-104,
        reference="2026-000002",
    )
    assert call.at.utcoffset() == PARIS.utcoffset(call.at.replace(tzinfo=None))
    # A refund is labelled with its reason and refers to the refunded call.
    assert (refund.label, refund.reference, refund.amount) == ("Coupure réseau", "bk_late", 30)
    # Holds, charges and releases are not lines: the call line already says what it cost.
    assert sum(line.amount for line in lines) == 5000 - 104 + 30


def test_statement_prices_with_the_booking_tariff_or_the_default() -> None:
    bookings = [
        booking("bk_plan", at(9), connected_ms=60_000, charged=20, tariff="forfait_40"),
        booking("bk_gone", at(11), connected_ms=1, charged=44, tariff="ancien_tarif"),
    ]
    lines = statement(bookings, [], CHARTER_TARIFFS, Rounding.PER_STARTED_MINUTE, PARIS, {})
    plan, gone = lines
    assert (plan.tariff, plan.rate, plan.fee, plan.billed_minutes) == ("forfait_40", 20, 0, 1)
    assert plan.label == "c1"  # unknown correspondent name: its id
    assert (gone.tariff, gone.rate, gone.fee, gone.billed_minutes) == ("hors_forfait", 30, 14, 1)
    # The amount is what the ledger charged, not a recomputed price.
    assert gone.amount == -44


def test_statement_per_second_rounding() -> None:
    # 61 s at 30 c/min, per second: 31 c (rounded up once), plus the 14 c fee.
    bookings = [booking("bk_s", at(9), connected_ms=61_000, charged=45)]
    (line,) = statement(bookings, [], CHARTER_TARIFFS, Rounding.PER_SECOND, PARIS, NAMES)
    assert (line.connected_seconds, line.billed_minutes, line.fee, line.amount) == (61, 2, 14, -45)
    # The same call per started minute bills 2 minutes.
    (line,) = statement(
        [booking("bk_m", at(9), connected_ms=61_000, charged=74)],
        [], CHARTER_TARIFFS, Rounding.PER_STARTED_MINUTE, PARIS, NAMES,
    )  # fmt: skip
    assert (line.billed_minutes, line.fee, line.amount) == (2, 14, -74)


def test_statement_csv_for_french_spreadsheets() -> None:
    bookings = [booking("bk_1", at(14, 30), connected_ms=125_000, charged=104, receipt="R-1")]
    entries = [
        entry("credit", 1250, at(8), idem="REGIE-0001"),
        entry("refund", 30, at(15), ref="bk_1", idem="rf", reason="Coupure ; réseau"),
    ]
    lines = statement(bookings, entries, CHARTER_TARIFFS, Rounding.PER_STARTED_MINUTE, PARIS,
                      NAMES)  # fmt: skip
    data = statement_csv(lines)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the accents right
    text = data.decode("utf-8")[1:]
    assert "\r\n" in text and text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert rows[0] == [
        "date", "heure", "operation", "libelle", "duree_connectee_s", "minutes_facturees",
        "tarif", "prix_minute_eur", "mise_en_relation_eur", "montant_eur", "reference",
    ]  # fmt: skip
    assert rows[1] == ["03/12/2026", "08:00", "Crédit", "regie:Dupont", "0", "0", "", "", "",
                       "12,50", "REGIE-0001"]  # fmt: skip
    assert rows[2] == ["03/12/2026", "14:30", "Appel", "Marie Martin", "125", "3",
                       "hors_forfait", "0,30", "0,14", "-1,04", "R-1"]  # fmt: skip
    # A ";" inside a value is quoted, not a new column.
    assert rows[3] == ["03/12/2026", "15:00", "Remboursement", "Coupure ; réseau", "0", "0",
                       "", "", "", "0,30", "bk_1"]  # fmt: skip
    assert len(rows) == 4


def test_statement_csv_of_nothing_is_the_header() -> None:
    data = statement_csv([])
    assert data.count(b"\r\n") == 1 and data.startswith(b"\xef\xbb\xbfdate;heure;")


def test_daily_report_totals() -> None:
    bookings = [
        booking("a", at(8, 30), connected_ms=125_000, charged=104),  # 3 min
        booking("b", at(9, 30), connected_ms=1_800_000, charged=914),  # 30 min
        booking("c", at(10, 30), status="no_answer"),
        booking("d", at(11, 30), status="cancelled"),
        booking("e", at(14), status="booked"),
        booking("f", at(15), connected_ms=61_000, charged=52, tariff="forfait_20"),  # 2 min
    ]
    entries = [
        entry("credit", 5000, at(7)),
        entry("credit", 1250, at(12)),
        entry("credit", 999, at(23, 59, day=2)),  # the day before: not counted
        entry("refund", 30, at(16), ref="a"),
        entry("refund", 74, at(0, 0, day=4)),  # midnight after: the next day
        entry("charge", 104, at(9), ref="a"),  # charges are counted from the bookings
    ]
    report = daily_report(
        bookings, entries, CHARTER_TARIFFS, Rounding.PER_STARTED_MINUTE, DAY_MS, NEXT_DAY_MS
    )
    assert report.calls == 3
    assert (report.no_answer, report.cancelled, report.booked) == (1, 1, 1)
    assert report.connected_seconds == 125 + 1800 + 61
    assert report.billed_minutes == 3 + 30 + 2
    assert report.charged == 104 + 914 + 52
    assert (report.refunds, report.refunded) == (1, 30)
    assert (report.credits, report.credited) == (2, 6250)


def test_daily_report_per_second_minutes_are_started_minutes() -> None:
    bookings = [booking("a", at(8, 30), connected_ms=61_000, charged=45)]
    report = daily_report(bookings, [], CHARTER_TARIFFS, Rounding.PER_SECOND, DAY_MS, NEXT_DAY_MS)
    assert (report.calls, report.connected_seconds, report.billed_minutes, report.charged) == (
        1, 61, 2, 45,
    )  # fmt: skip


@pytest.mark.parametrize("status", ["booked", "cancelled", "no_answer"])
def test_daily_report_counts_only_connected_time_of_done_calls(status: str) -> None:
    report = daily_report(
        [booking("x", at(9), status=status, connected_ms=5000, charged=0)],
        [], CHARTER_TARIFFS, Rounding.PER_STARTED_MINUTE, DAY_MS, NEXT_DAY_MS,
    )  # fmt: skip
    assert (report.calls, report.connected_seconds, report.billed_minutes) == (0, 0, 0)
