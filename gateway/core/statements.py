"""Statements and daily reports of the phone accounts, sans-IO: records in, rows out.

A *call* line is one booking that was closed (``done`` or ``no_answer``): what the detainee
sees as "a call", whatever the number of attempts within the slot. Its price is recomputed
from the connected time with :func:`gateway.core.pricing.call_cost` and shown next to what the
ledger actually charged (the charge is capped to the hold). Money lines (credits, refunds)
come from the ledger entries. Amounts are integer cents; :func:`euros` formats them the French
way for pages and CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from gateway.core.pricing import Rounding, TariffTable, call_cost
from gateway.core.records import Booking, Entry
from gateway.core.text import spreadsheet_cell


def euros(cents: int) -> str:
    """``1234`` -> ``"12,34"`` (the CSV and the pages add the € sign where useful)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100},{cents % 100:02d}"


@dataclass(frozen=True)
class StatementLine:
    at: datetime
    kind: str
    "``call``, ``no_answer``, ``credit`` or ``refund``."
    label: str
    connected_seconds: int
    billed_minutes: int
    tariff: str
    rate: int
    "Cents per minute."
    fee: int
    amount: int
    "Signed effect on the balance, in cents: calls negative, credits and refunds positive."
    reference: str


def statement(
    bookings: Iterable[Booking],
    entries: Iterable[Entry],
    tariffs: TariffTable,
    rounding: Rounding,
    zone: tzinfo,
    names: dict[str, str],
) -> list[StatementLine]:
    """Every closed call and every credit and refund of one account, oldest first."""
    lines: list[StatementLine] = []
    for b in bookings:
        if b.status not in ("done", "no_answer"):
            continue
        tariff = tariffs.get(b.tariff) if b.tariff in tariffs else tariffs.get(tariffs.default)
        cost = call_cost(tariff, b.connected_ms / 1000, rounding)
        label = names.get(b.correspondent, b.correspondent)
        lines.append(
            StatementLine(
                at=datetime.fromtimestamp(b.start, zone),
                kind="call" if b.connected_ms > 0 else "no_answer",
                label=label,
                connected_seconds=round(b.connected_ms / 1000),
                billed_minutes=cost.billed_minutes,
                tariff=tariff.name,
                rate=tariff.per_minute_cents,
                fee=cost.fee,
                amount=-b.charged,
                reference=b.receipt or b.id,
            )
        )
    for e in entries:
        if e.kind not in ("credit", "refund"):
            continue
        label = e.reason or e.actor if e.kind == "refund" else e.actor
        lines.append(
            StatementLine(
                at=datetime.fromtimestamp(e.at / 1000, zone),
                kind=e.kind,
                label=label or "",
                connected_seconds=0,
                billed_minutes=0,
                tariff="",
                rate=0,
                fee=0,
                amount=e.amount,
                reference=e.ref if e.kind == "refund" else e.idem,
            )
        )
    lines.sort(key=lambda line: line.at)
    return lines


_KIND_FR = {"call": "Appel", "no_answer": "Appel sans réponse", "credit": "Crédit",
            "refund": "Remboursement"}  # fmt: skip


def statement_csv(lines: Iterable[StatementLine]) -> bytes:
    """The statement as a CSV file for French spreadsheets: ``;``, UTF-8 with BOM. Text
    columns (label, tariff, reference) are neutralised against formulas; the numeric columns
    are written by the program and keep their sign (a refund reads ``-9,14``)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        ["date", "heure", "operation", "libelle", "duree_connectee_s", "minutes_facturees",
         "tarif", "prix_minute_eur", "mise_en_relation_eur", "montant_eur", "reference"]
    )  # fmt: skip
    for line in lines:
        writer.writerow(
            [
                line.at.strftime("%d/%m/%Y"),
                line.at.strftime("%H:%M"),
                _KIND_FR[line.kind],
                spreadsheet_cell(line.label),
                line.connected_seconds,
                line.billed_minutes,
                spreadsheet_cell(line.tariff),
                euros(line.rate) if line.rate else "",
                euros(line.fee) if line.kind == "call" else "",
                euros(line.amount),
                spreadsheet_cell(line.reference),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


@dataclass(frozen=True)
class DailyReport:
    calls: int
    "Bookings of the day that connected (``done``)."
    no_answer: int
    cancelled: int
    booked: int
    "Still open (the slot has not ended yet)."
    connected_seconds: int
    billed_minutes: int
    charged: int
    refunds: int
    refunded: int
    credits: int
    credited: int


def daily_report(
    bookings: Iterable[Booking],
    entries: Iterable[Entry],
    tariffs: TariffTable,
    rounding: Rounding,
    start_ms: int,
    end_ms: int,
) -> DailyReport:
    """Totals of the bookings whose slot is in the day, and of the money moved that day."""
    counts = {"done": 0, "no_answer": 0, "cancelled": 0, "booked": 0}
    seconds = minutes = charged = 0
    for b in bookings:
        counts[b.status] = counts.get(b.status, 0) + 1
        if b.status == "done":
            tariff = tariffs.get(b.tariff) if b.tariff in tariffs else tariffs.get(tariffs.default)
            cost = call_cost(tariff, b.connected_ms / 1000, rounding)
            seconds += round(b.connected_ms / 1000)
            minutes += cost.billed_minutes
            charged += b.charged
    refunds = refunded = credits = credited = 0
    for e in entries:
        if not start_ms <= e.at < end_ms:
            continue
        if e.kind == "refund":
            refunds, refunded = refunds + 1, refunded + e.amount
        elif e.kind == "credit":
            credits, credited = credits + 1, credited + e.amount
    return DailyReport(
        calls=counts["done"],
        no_answer=counts["no_answer"],
        cancelled=counts["cancelled"],
        booked=counts["booked"],
        connected_seconds=seconds,
        billed_minutes=minutes,
        charged=charged,
        refunds=refunds,
        refunded=refunded,
        credits=credits,
        credited=credited,
    )
