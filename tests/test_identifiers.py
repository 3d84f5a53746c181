"""Issue 17: detainee numbers and access codes are ASCII, in the desk, the CSV import and the
ledger alike (one rule, :mod:`gateway.core.identifiers`). ``isalnum()``/``isdigit()`` let the
desk create ``Élo12`` with the code ``²²²²`` or ``١٢٣٤``; the ledger then refused to credit it."""

from __future__ import annotations

import re

import pytest

from gateway.core import csv_import
from gateway.core.identifiers import (
    ACCESS_CODE_PATTERN,
    DETAINEE_NUMBER_MAX,
    DETAINEE_NUMBER_PATTERN,
    is_access_code,
    is_detainee_number,
)
from gateway.http import appkeys as keys
from gateway.http.openapi import document
from gateway.store.ledger import LedgerError
from tests.staffkit import staff_http

BAD_NUMBERS = ["Élo12", "١٢٣٤", "²²²²", "12 34", "12-34", "", "A" * 21, "１２３"]
BAD_CODES = ["²²²²", "١٢٣٤", "１２３４", "123", "123456789", "12a4", "12 4"]


@pytest.mark.parametrize("number", BAD_NUMBERS)
def test_core_refuses_non_ascii_numbers(number: str) -> None:
    assert not is_detainee_number(number)
    # the document's pattern (with its maxLength) refuses it too
    pattern = re.fullmatch(DETAINEE_NUMBER_PATTERN.strip("^$"), number)
    assert not pattern or len(number) > DETAINEE_NUMBER_MAX


@pytest.mark.parametrize("code", BAD_CODES)
def test_core_refuses_non_ascii_codes(code: str) -> None:
    assert not is_access_code(code)
    assert not re.fullmatch(ACCESS_CODE_PATTERN.strip("^$"), code)


@pytest.mark.parametrize("number", ["Elo12", "100042", "A" * DETAINEE_NUMBER_MAX, "7"])
def test_core_accepts_ascii_numbers(number: str) -> None:
    assert is_detainee_number(number)


@pytest.mark.parametrize("code", ["0000", "12345678", "0123"])
def test_core_accepts_ascii_codes(code: str) -> None:
    assert is_access_code(code)


def test_the_openapi_document_states_the_same_rule() -> None:
    spec = document()
    props = spec["components"]["schemas"]["DetaineeInput"]["properties"]
    assert props["number"]["pattern"] == DETAINEE_NUMBER_PATTERN
    assert props["number"]["maxLength"] == DETAINEE_NUMBER_MAX
    assert props["access_code"]["pattern"] == ACCESS_CODE_PATTERN


@pytest.mark.parametrize("number", ["Élo12", "١٢٣٤", "²²²²"])
def test_csv_import_refuses_the_numbers(number: str) -> None:
    data = f"ecrou;nom;prenom;code_acces\n{number};MARTIN;Jean;1234\n".encode()
    report = csv_import.parse_detainees(data)
    assert [(e.line, e.column, e.reason) for e in report.errors] == [
        (2, "ecrou", "csv.bad_detainee_number")
    ]


@pytest.mark.parametrize("code", ["²²²²", "١٢٣٤"])
def test_csv_import_refuses_the_codes(code: str) -> None:
    data = f"ecrou;nom;prenom;code_acces\n100001;MARTIN;Jean;{code}\n".encode()
    report = csv_import.parse_detainees(data)
    assert [(e.line, e.column, e.reason) for e in report.errors] == [
        (2, "code_acces", "csv.bad_code")
    ]


async def test_desk_refuses_them_and_what_it_accepts_the_ledger_credits(gateway_factory) -> None:
    gw = await gateway_factory()
    url = f"{gw.base_url}/api/desk/detainees"
    base = {"first_name": "Élodie", "last_name": "Martin"}
    async with staff_http(gw) as http:
        for number, code, reason in [
            ("Élo12", "1234", "field.number"),
            ("١٢٣٤", "1234", "field.number"),
            ("²²²²", "1234", "field.number"),
            ("Elo12", "²²²²", "field.access_code"),
            ("Elo12", "١٢٣٤", "field.access_code"),
        ]:
            payload = {**base, "number": number, "access_code": code}
            async with http.post(url, json=payload) as resp:
                body = await resp.json()
                assert (resp.status, body["reason"]) == (400, reason), (number, code)
            assert await gw.app[keys.DIRECTORY].detainee(number) is None  # nothing changed
        async with http.post(url, json={**base, "number": "Elo12", "access_code": "1234"}) as resp:
            assert resp.status == 201
    ledger = gw.app[keys.LEDGER]
    receipt = await ledger.credit("Elo12", 500, "regie", "id-test", 0)
    assert receipt.balance == 500
    for number in ("Élo12", "١٢٣٤", "²²²²"):
        with pytest.raises(LedgerError) as info:
            await ledger.credit(number, 500, "regie", "id-test", 0)
        assert info.value.reason == "ledger.bad_argument"
