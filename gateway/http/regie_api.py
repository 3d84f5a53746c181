"""JSON API of the accounts office ("régie"): credits, CSV import, tariffs, refunds, reports.

Credits carry the caller's reference as idempotency key: a retried request (or a CSV file
imported twice) credits once. Refunds are tied to a closed call (its booking) and never exceed
what it cost. Staff network only, like the desk (see :mod:`gateway.app`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from gateway.core import csv_import
from gateway.core.reasons import status
from gateway.core.statements import daily_report, euros, statement, statement_csv
from gateway.http import appkeys as keys
from gateway.http import models
from gateway.http.desk_api import (
    _lang,
    parse_day,
    parsed,
    read_csv,
    report_json,
)
from gateway.http.refusals import lang_of
from gateway.http.staff_auth import actor
from gateway.store.bookings import DeskError
from gateway.store.directory import Directory
from gateway.store.ledger import Ledger, LedgerError


def ledger_refusal(request: web.Request, exc: LedgerError) -> web.Response:
    """A ledger refusal with the table's status (``ledger.unreplicated``: 503, a failover: retry
    with the same reference) and its sentence in the request's language."""
    payload: dict[str, Any] = {"reason": exc.reason, "message": exc.text(lang_of(request))}
    if exc.details:
        payload["details"] = exc.details
    return web.json_response(payload, status=status(exc.reason))


def _now_ms(request: web.Request) -> int:
    return int(request.app[keys.ENGINE].clock() * 1000)


async def _known(request: web.Request, number: str) -> None:
    if await request.app[keys.DIRECTORY].detainee(number) is None:
        raise DeskError("booking.unknown_detainee")


def account_json(account: Any) -> dict[str, Any]:
    return {
        "number": account.number,
        "balance": account.balance,
        "held": account.held,
        "available": account.available,
        "tariff": account.tariff,
    }


async def credit(request: web.Request) -> web.Response:
    """POST /api/regie/credits {detainee, amount_cents, reference}."""
    data = parsed(request, models.CreditRequest)
    number = data.detainee
    await _known(request, number)
    ledger: Ledger = request.app[keys.LEDGER]
    try:
        receipt = await ledger.credit(
            number, data.amount_cents, f"regie:{actor(request)}", data.reference, _now_ms(request)
        )
    except LedgerError as exc:
        return ledger_refusal(request, exc)
    return web.json_response(
        {"replayed": receipt.replayed, "account": account_json(await ledger.account(number))},
        status=200 if receipt.replayed else 201,
    )


async def import_credits(request: web.Request) -> web.Response:
    """POST /api/regie/import/credits[?dry_run=1], body: the CSV file."""
    data = await read_csv(request)
    dry_run = request.query.get("dry_run", "") in ("1", "true", "oui")
    who = actor(request)
    report: Any = await asyncio.to_thread(csv_import.parse_credits, data)
    directory: Directory = request.app[keys.DIRECTORY]
    numbers = sorted({r.detainee for r in report.rows})
    known = {d.number for d in await directory.detainees(numbers)}
    ledger: Ledger = request.app[keys.LEDGER]
    problems, notes = [], []
    for r in report.rows:
        if r.detainee not in known:
            problems.append(csv_import.RowError(
                r.line, "ecrou", "csv.unknown_detainee", f"Détenu {r.detainee} inconnu.",
                f"Unknown detainee {r.detainee}.",
            ))  # fmt: skip
            continue
        # The reference is the idempotency key: say now what the import would do with it.
        previous = await ledger.previous_credit(r.detainee, r.reference)
        if previous is not None and previous != r.amount_cents:
            problems.append(csv_import.RowError(
                r.line, "reference", "csv.reference_conflict",
                f"La référence {r.reference} a déjà servi pour un autre montant.",
                f"Reference {r.reference} was already used for another amount.",
            ))  # fmt: skip
        elif previous is not None:
            notes.append(csv_import.RowError(
                r.line, "reference", "csv.already_imported",
                f"Déjà crédité (référence {r.reference}) : ne sera pas crédité une 2e fois.",
                f"Already credited (reference {r.reference}): will not be credited twice.",
            ))  # fmt: skip
    if problems or notes:
        report = dataclasses.replace(
            report,
            errors=tuple(sorted(report.errors + tuple(problems), key=lambda e: e.line)),
            warnings=tuple(sorted(report.warnings + tuple(notes), key=lambda e: e.line)),
        )
    imported = 0
    unconfirmed: list[str] = []
    if report.ok and not dry_run:
        for row in report.rows:
            try:
                receipt = await ledger.credit(
                    row.detainee, row.amount_cents, f"regie:{who}", row.reference,
                    _now_ms(request),
                )  # fmt: skip
            except LedgerError as exc:  # a concurrent credit took the reference meanwhile
                if exc.reason == "ledger.unreplicated":  # a failover: maybe done, import again
                    unconfirmed.append(row.reference)
                continue
            imported += 0 if receipt.replayed else 1
    answer = report_json(report, _lang(request), dry_run, imported)
    if unconfirmed:  # importing the file again credits each of them once
        answer["unconfirmed"] = unconfirmed
    return web.json_response(answer)


async def set_tariff(request: web.Request) -> web.Response:
    data = parsed(request, models.TariffRequest)
    number = request.match_info["number"]
    await _known(request, number)
    try:
        account = await request.app[keys.LEDGER].set_tariff(number, data.tariff)
    except LedgerError as exc:
        response = ledger_refusal(request, exc)
        response.set_status(400)
        return response
    return web.json_response(account_json(account))


async def tariffs(request: web.Request) -> web.Response:
    """GET /api/regie/tariffs: the plans an account can be on, in cents."""
    table = request.app[keys.DESK].establishment.tariffs
    return web.json_response(
        {
            "default": table.default,
            "tariffs": [
                {"name": t.name, "per_minute_cents": t.per_minute_cents,
                 "connection_fee_cents": t.connection_fee_cents}
                for t in table
            ],
        }
    )  # fmt: skip


async def refund(request: web.Request) -> web.Response:
    """POST /api/regie/refunds {booking, amount_cents, reason, reference}."""
    data = parsed(request, models.RefundRequest)
    booking = await request.app[keys.DIRECTORY].booking(data.booking)
    if booking is None:
        raise DeskError("booking.not_found")
    ledger: Ledger = request.app[keys.LEDGER]
    try:
        receipt = await ledger.refund(
            booking.detainee,
            booking.id,
            data.amount_cents,
            f"direction:{actor(request)}",
            data.reason,
            data.reference,
            _now_ms(request),
        )
    except LedgerError as exc:
        return ledger_refusal(request, exc)
    if not receipt.replayed:
        await request.app[keys.AUDIT].record(
            actor(request), "refund", booking.id, _now_ms(request) / 1000,
            amount_cents=str(receipt.amount), reason=data.reason,
        )  # fmt: skip
    return web.json_response(
        {
            "replayed": receipt.replayed,
            "refunded": receipt.refunded,
            "account": account_json(await ledger.account(booking.detainee)),
        },
        status=200 if receipt.replayed else 201,
    )


async def _statement(request: web.Request) -> tuple[str, list[Any]]:
    number = request.match_info["number"]
    await _known(request, number)
    app = request.app
    desk = app[keys.DESK]
    directory: Directory = app[keys.DIRECTORY]
    names = {c.id: c.name for c in await directory.correspondents_of(number)}
    lines = statement(
        await directory.bookings_of(number),
        await app[keys.LEDGER].entries(number),
        desk.establishment.tariffs,
        desk.establishment.rounding,
        desk.establishment.zone,
        names,
    )
    return number, lines


async def statement_view(request: web.Request) -> web.Response:
    number, lines = await _statement(request)
    account = await request.app[keys.LEDGER].account(number)
    return web.json_response(
        {
            "account": account_json(account),
            "lines": [
                {
                    **dataclasses.asdict(line),
                    "at": line.at.isoformat(),
                    "amount_eur": euros(line.amount),
                }
                for line in lines
            ],
        }
    )


async def statement_download(request: web.Request) -> web.Response:
    number, lines = await _statement(request)
    return web.Response(
        body=statement_csv(lines),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="releve-{number}.csv"'},
    )


async def report(request: web.Request) -> web.Response:
    """GET /api/regie/report?date=YYYY-MM-DD: the establishment's day."""
    app = request.app
    desk = app[keys.DESK]
    zone = desk.establishment.zone
    today = desk.local(app[keys.ENGINE].clock()).date()
    day = parse_day(request.query.get("date"), today)
    begin = datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    directory: Directory = app[keys.DIRECTORY]
    bookings = await directory.bookings_between(begin.timestamp(), end.timestamp())
    ledger: Ledger = app[keys.LEDGER]
    entries = []
    for number in await directory.detainee_numbers():
        entries.extend(await ledger.entries(number))
    totals = daily_report(
        bookings,
        entries,
        desk.establishment.tariffs,
        desk.establishment.rounding,
        int(begin.timestamp() * 1000),
        int(end.timestamp() * 1000),
    )
    return web.json_response(
        {"date": day.isoformat(), "establishment": desk.establishment.name,
         **dataclasses.asdict(totals)}
    )  # fmt: skip
