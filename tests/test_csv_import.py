"""Tests of gateway.core.csv_import: good files in every separator and encoding, every error reason
with its line and column, amounts to cents, duplicates, file-level refusals, and property tests
that parsing never raises."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.core import csv_import
from gateway.core.booking_rules import CorrespondentStatus, DetaineeStatus
from gateway.core.csv_import import (
    ERROR_REASONS,
    MAX_ROWS,
    WARNING_REASONS,
    CorrespondentRow,
    CreditRow,
    DetaineeRow,
    ImportReport,
    RowError,
    parse_correspondents,
    parse_credits,
    parse_detainees,
)
from gateway.core.records import MAX_AMOUNT

Parser = Callable[[bytes], ImportReport[Any]]
PARSERS: dict[str, Parser] = {
    "detainees": parse_detainees,
    "correspondents": parse_correspondents,
    "credits": parse_credits,
}

DET = "ecrou;nom;prenom;batiment;etage;cellule;code_acces;statut"
COR = "ecrou;nom;telephone;lien;mineur;consentement_par;consentement_le;avocat;statut"
CRE = "ecrou;montant;reference;libelle"

SEPARATORS = {"semicolon": ";", "comma": ",", "tab": "\t"}
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252")


def render(rows: Sequence[Sequence[str]], sep: str = ";", encoding: str = "utf-8") -> bytes:
    """A file as Excel writes it: CRLF, quoting only where needed."""
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def lines(*text: str) -> bytes:
    return "\n".join(text).encode()


def where(report: ImportReport[Any]) -> list[tuple[int, str | None, str]]:
    return [(e.line, e.column, e.reason) for e in report.errors]


def warned(report: ImportReport[Any]) -> list[tuple[int, str | None, str]]:
    return [(e.line, e.column, e.reason) for e in report.warnings]


# Good files -----------------------------------------------------------------------------------

DETAINEES = [
    ["ecrou", "nom", "prenom", "batiment", "etage", "cellule", "code_acces", "statut"],
    ["123456", "MARTIN", "Hélène", "B", "2", "214", "4821", "actif"],
    ["123457", "FRÈRE", "Noël", "A", "1", "108", "", "suspendu"],
    ["A12345", "DUBOIS", "Karim", "", "", "", "00001234", "Libéré"],
    ["99", "LE GOFF", "Anne-Sophie", "", "", "", "", ""],
]
DETAINEE_ROWS = (
    DetaineeRow(2, "123456", "MARTIN", "Hélène", "B", "2", "214", "4821", "active"),
    DetaineeRow(3, "123457", "FRÈRE", "Noël", "A", "1", "108", None, "suspended"),
    DetaineeRow(4, "A12345", "DUBOIS", "Karim", "", "", "", "00001234", "released"),
    DetaineeRow(5, "99", "LE GOFF", "Anne-Sophie", "", "", "", None, "active"),
)

CORRESPONDENTS = [
    ["ecrou", "nom", "telephone", "lien", "mineur", "consentement_par", "consentement_le"]
    + ["avocat", "statut"],
    ["123456", "Paul MARTIN", "06 12 34 56 78", "fils", "oui", "Sophie MARTIN (mère)"]
    + ["14/01/2025", "non", "autorisé"],
    ["123456", "Maître Anne LEROY", "+33 1 42 00 00 00", "avocate", "", "", "", "oui", ""],
    ["123457", "Hélène Frère", "0033 6 98 76 54 32", "épouse", "NON", "", "", "0", "Suspendu"],
    ["123457", "Léo Frère", "0612345679", "fils", "1", "Hélène Frère", "2025-02-01", "faux"]
    + ["retiré"],
    ["123457", "Zoé Frère", "+44 20 7946 0958", "fille", "Vrai", "", "", "", ""],
]
CORRESPONDENT_ROWS = (
    CorrespondentRow(
        2,
        "123456",
        "Paul MARTIN",
        "+33612345678",
        "fils",
        True,
        "Sophie MARTIN (mère)",
        date(2025, 1, 14),
        False,
        "authorised",
    ),
    CorrespondentRow(
        3,
        "123456",
        "Maître Anne LEROY",
        "+33142000000",
        "avocate",
        False,
        "",
        None,
        True,
        "authorised",
    ),  # fmt: skip
    CorrespondentRow(
        4,
        "123457",
        "Hélène Frère",
        "+33698765432",
        "épouse",
        False,
        "",
        None,
        False,
        "suspended",
    ),  # fmt: skip
    CorrespondentRow(
        5,
        "123457",
        "Léo Frère",
        "+33612345679",
        "fils",
        True,
        "Hélène Frère",
        date(2025, 2, 1),
        False,
        "withdrawn",
    ),  # fmt: skip
    CorrespondentRow(
        6, "123457", "Zoé Frère", "+442079460958", "fille", True, "", None, False, "authorised"
    ),
)

CREDITS = [
    ["ecrou", "montant", "reference", "libelle"],
    ["123456", "12,50", "REGIE-2025-03-0001", "Versement famille Frère"],
    ["123457", "5", "REGIE-2025-03-0002", ""],
    ["A12345", "1 234,56", "regie:2025.03_3", "Mandat"],
    ["99", "0.01", "4", "Régularisation"],
]
CREDIT_ROWS = (
    CreditRow(2, "123456", 1250, "REGIE-2025-03-0001", "Versement famille Frère"),
    CreditRow(3, "123457", 500, "REGIE-2025-03-0002", ""),
    CreditRow(4, "A12345", 123456, "regie:2025.03_3", "Mandat"),
    CreditRow(5, "99", 1, "4", "Régularisation"),
)

GOOD_FILES = {
    "detainees": (DETAINEES, DETAINEE_ROWS),
    "correspondents": (CORRESPONDENTS, CORRESPONDENT_ROWS),
    "credits": (CREDITS, CREDIT_ROWS),
}


@pytest.mark.parametrize("kind", GOOD_FILES)
@pytest.mark.parametrize("sep", SEPARATORS.values(), ids=SEPARATORS.keys())
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_good_files(kind: str, sep: str, encoding: str) -> None:
    table, expected = GOOD_FILES[kind]
    report = PARSERS[kind](render(table, sep, encoding))
    assert report.errors == ()
    assert report.ok
    assert report.rows == expected


def test_good_correspondents_warn_about_the_minor_without_consent() -> None:
    report = parse_correspondents(render(CORRESPONDENTS))
    assert warned(report) == [(6, "consentement_par", "csv.consent_missing")]


def test_french_excel_file_verbatim() -> None:
    """Bytes as written by French Excel: cp1252, ';', CRLF, a no-break space in an amount."""
    data = (
        b"ecrou;montant;reference;libelle\r\n"
        b"123456;1\xa0234,56;R1;Mandat de H\xe9l\xe8ne Fr\xe8re\r\n"
        b'123457;"12,50";R2;\x80 \x93 \xe9\r\n'
    )
    report = parse_credits(data)
    assert report.ok, report.errors
    assert report.rows == (
        CreditRow(2, "123456", 123456, "R1", "Mandat de Hélène Frère"),
        CreditRow(3, "123457", 1250, "R2", "€ “ é"),
    )


def test_the_examples_in_the_documentation_are_good_files() -> None:
    blocks = [
        "\n".join(line.strip() for line in part.split("\n\n")[1].splitlines())
        for part in csv_import.__doc__.split("::")[1:]  # type: ignore[union-attr]
    ]
    assert len(blocks) == 3
    for kind, block in zip(PARSERS, blocks, strict=True):
        report = PARSERS[kind](block.encode())
        assert report.ok, (kind, report.errors)
        assert report.warnings == ()
        assert len(report.rows) == 2


def test_header_is_forgiving_and_columns_come_in_any_order() -> None:
    data = lines(
        " Statut ;Code Accès;PRÉNOM;  Écrou;nom;Cellule;",  # trailing ';' from Excel
        "libérée;1234;Hélène;42;MARTIN;12;",
        "LIBÉRÉ;;Léo;43;FRÈRE;;",
    )
    report = parse_detainees(data)
    assert report.ok, report.errors
    assert report.rows == (
        DetaineeRow(2, "42", "MARTIN", "Hélène", "", "", "12", "1234", "released"),
        DetaineeRow(3, "43", "FRÈRE", "Léo", "", "", "", None, "released"),
    )


def test_values_are_stripped_and_quoted_values_keep_separators() -> None:
    data = lines(
        "ecrou,nom,telephone,lien",
        ' 123 , "DUPONT, Marie" ,  06 12 34 56 78 ,"mère, tutrice"',
    )
    report = parse_correspondents(data)
    assert report.ok, report.errors
    (row,) = report.rows
    assert (row.detainee, row.name, row.phone) == ("123", "DUPONT, Marie", "+33612345678")
    assert row.relationship == "mère, tutrice"


def test_optional_columns_may_be_absent() -> None:
    report = parse_correspondents(lines("telephone;nom;ecrou", "0612345678;Paul;1"))
    assert report.rows == (
        CorrespondentRow(2, "1", "Paul", "+33612345678", "", False, "", None, False, "authorised"),
    )
    assert report.warnings == ()


def test_statuses_are_the_booking_rules_statuses() -> None:
    detainees = parse_detainees(lines("ecrou;nom;prenom;statut", "1;A;B;actif", "2;A;B;suspendue"))
    assert {r.status for r in detainees.rows} <= {s.value for s in DetaineeStatus}
    correspondents = parse_correspondents(
        lines("ecrou;nom;telephone;statut", "1;A;0612345678;autorisee", "1;B;0612345679;retire")
    )
    assert {r.status for r in correspondents.rows} <= {s.value for s in CorrespondentStatus}
    assert len(correspondents.rows) == 2


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("oui", True), ("OUI", True), ("yes", True), ("1", True), ("vrai", True), ("True", True),
        ("non", False), ("No", False), ("0", False), ("faux", False), ("FALSE", False),
        ("", False), ("  ", False),
    ],
)  # fmt: skip
def test_booleans(raw: str, expected: bool) -> None:
    report = parse_correspondents(lines("ecrou;nom;telephone;avocat", f"1;A;0612345678;{raw}"))
    assert report.ok, report.errors
    assert report.rows[0].lawyer is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("14/01/2025", date(2025, 1, 14)),
        ("4/1/2025", date(2025, 1, 4)),
        ("29/02/2024", date(2024, 2, 29)),
        ("2025-01-14", date(2025, 1, 14)),
    ],
)
def test_dates(raw: str, expected: date) -> None:
    header = "ecrou;nom;telephone;mineur;consentement_par;consentement_le"
    report = parse_correspondents(lines(header, f"1;A;0612345678;oui;Sa mère;{raw}"))
    assert report.ok, report.errors
    assert report.rows[0].consent_on == expected
    assert report.warnings == ()


# Amounts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cents"),
    [
        ("12,50", 1250),
        ("12.50", 1250),
        ("12.5", 1250),
        ("12,5", 1250),
        ("12", 1200),
        ("0,01", 1),
        ("0.10", 10),
        ("007", 700),
        ("1 234,56", 123456),
        ("1\u00a0234,56", 123456),  # no-break space
        ("1\u202f234,56", 123456),  # narrow no-break space, French Excel
        ("1 234 567", 123456700),
        ("1234,56", 123456),
        ("12,50 €", 1250),
        ("12,50\u00a0€", 1250),
        ("12 EUR", 1200),
        (str(MAX_AMOUNT // 100), MAX_AMOUNT),
    ],
)
def test_amounts(raw: str, cents: int) -> None:
    report = parse_credits(lines(CRE, f"1;{raw};R1;"))
    assert report.ok, report.errors
    assert report.rows[0].amount_cents == cents


@pytest.mark.parametrize(
    "raw",
    [
        "-3",
        "0",
        "0,00",
        "-0",
        "+3",
        "1,234",  # English thousands, or 3 decimals: refused rather than guessed
        "12,345",
        "12.345",
        "1.234,56",
        "1,234.56",
        "12 34",  # bad grouping
        "1234 567",
        "abc",
        "12,",
        ",50",
        "12,5,0",
        "1e3",
        "١٢",  # Arabic-Indic digits
        "12$",
        str(MAX_AMOUNT // 100 + 1),
    ],
)
def test_bad_amounts(raw: str) -> None:
    report = parse_credits(render([CRE.split(";"), ["1", raw, "R1", ""]]))
    assert where(report) == [(2, "montant", "csv.bad_amount")]
    assert report.rows == ()


@given(
    cents=st.integers(1, MAX_AMOUNT),
    group=st.sampled_from(["", " ", "\u00a0", "\u202f"]),
    point=st.sampled_from([",", "."]),
)
def test_amount_round_trip(cents: int, group: str, point: str) -> None:
    euros = f"{cents // 100:,}".replace(",", group)
    report = parse_credits(lines(CRE, f"1;{euros}{point}{cents % 100:02d};R1;"))
    assert report.rows[0].amount_cents == cents


# Errors, one reason at a time -----------------------------------------------------------------

LONG = "x" * 101
ERROR_CASES: list[tuple[str, str, bytes, list[tuple[int, str | None, str]]]] = [
    # (id, kind, file, expected errors)
    ("required", "detainees", lines(DET, ";MARTIN;Hélène"), [(2, "ecrou", "csv.required")]),
    (
        "required-several",
        "detainees",
        lines(DET, "1;;"),
        [(2, "nom", "csv.required"), (2, "prenom", "csv.required")],
    ),
    ("required-phone", "correspondents", lines(COR, "1;Paul;"), [(2, "telephone", "csv.required")]),
    ("required-amount", "credits", lines(CRE, "1;;R1"), [(2, "montant", "csv.required")]),
    ("required-reference", "credits", lines(CRE, "1;5;"), [(2, "reference", "csv.required")]),
    ("too_long-ecrou", "detainees", lines(DET, "1" * 21 + ";A;B"), [(2, "ecrou", "csv.too_long")]),
    ("too_long-name", "detainees", lines(DET, f"1;{LONG};B"), [(2, "nom", "csv.too_long")]),
    (
        "too_long-cell",
        "detainees",
        lines(DET, "1;A;B;;;" + "9" * 21),
        [(2, "cellule", "csv.too_long")],
    ),
    (
        "too_long-reference",
        "credits",
        lines(CRE, "1;5;" + "R" * 65),
        [(2, "reference", "csv.too_long")],
    ),
    (
        "too_long-label",
        "credits",
        lines(CRE, "1;5;R;" + "é" * 201),
        [(2, "libelle", "csv.too_long")],
    ),
    (
        "bad_detainee_number-space",
        "detainees",
        lines(DET, "12 34;A;B"),
        [(2, "ecrou", "csv.bad_detainee_number")],
    ),
    (
        "bad_detainee_number-excel",
        "credits",
        lines(CRE, "1.23E+05;5;R"),
        [(2, "ecrou", "csv.bad_detainee_number")],
    ),
    (
        "bad_detainee_number-accent",
        "correspondents",
        lines(COR, "é1;A;0612345678"),
        [(2, "ecrou", "csv.bad_detainee_number")],
    ),
    (
        "bad_code-short",
        "detainees",
        lines(DET, "1;A;B;;;;123"),
        [(2, "code_acces", "csv.bad_code")],
    ),
    (
        "bad_code-long",
        "detainees",
        lines(DET, "1;A;B;;;;123456789"),
        [(2, "code_acces", "csv.bad_code")],
    ),
    (
        "bad_code-letters",
        "detainees",
        lines(DET, "1;A;B;;;;12a4"),
        [(2, "code_acces", "csv.bad_code")],
    ),
    (
        "bad_code-digits",
        "detainees",
        lines(DET, "1;A;B;;;;١٢٣٤"),
        [(2, "code_acces", "csv.bad_code")],
    ),
    (
        "bad_status-detainee",
        "detainees",
        lines(DET, "1;A;B;;;;;parti"),
        [(2, "statut", "csv.bad_status")],
    ),
    (
        "bad_status-correspondent",
        "correspondents",
        lines(COR, "1;A;0612345678;;;;;;libéré"),
        [(2, "statut", "csv.bad_status")],
    ),
    (
        "bad_phone-short",
        "correspondents",
        lines(COR, "1;A;12"),
        [(2, "telephone", "csv.bad_phone")],
    ),
    (
        "bad_phone-text",
        "correspondents",
        lines(COR, "1;A;maman"),
        [(2, "telephone", "csv.bad_phone")],
    ),
    (
        "bad_phone-long",
        "correspondents",
        lines(COR, "1;A;" + "0" * 65),
        [(2, "telephone", "csv.too_long")],
    ),
    (
        "bad_boolean-minor",
        "correspondents",
        lines(COR, "1;A;0612345678;;peut-être"),
        [(2, "mineur", "csv.bad_boolean")],
    ),
    (
        "bad_boolean-lawyer",
        "correspondents",
        lines(COR, "1;A;0612345678;;;;;x"),
        [(2, "avocat", "csv.bad_boolean")],
    ),
    *[
        (
            f"bad_date-{raw}",
            "correspondents",
            lines(COR, f"1;A;0612345678;;oui;Sa mère;{raw}"),
            [(2, "consentement_le", "csv.bad_date")],
        )
        for raw in ("31/02/2024", "2024-13-01", "14-01-2025", "14/01/25", "01/14/2025", "hier")
    ],
    (
        "consent_incomplete-no-date",
        "correspondents",
        lines(COR, "1;A;0612345678;;oui;Sa mère;"),
        [(2, "consentement_le", "csv.consent_incomplete")],
    ),
    (
        "consent_incomplete-no-author",
        "correspondents",
        lines(COR, "1;A;0612345678;;oui;;14/01/2025"),
        [(2, "consentement_par", "csv.consent_incomplete")],
    ),
    *[
        (
            f"bad_amount-{raw}",
            "credits",
            lines(CRE, f"1;{raw};R"),
            [(2, "montant", "csv.bad_amount")],
        )
        for raw in ("-3", "0", "1,234", "abc", "12,345")
    ],
    (
        "bad_reference-space",
        "credits",
        lines(CRE, "1;5;REF 1"),
        [(2, "reference", "csv.bad_reference")],
    ),
    (
        "bad_reference-accent",
        "credits",
        lines(CRE, "1;5;réf1"),
        [(2, "reference", "csv.bad_reference")],
    ),
    (
        "duplicate-detainee",
        "detainees",
        lines(DET, "1;A;B", "2;C;D", "1;E;F", "1;G;H"),
        [(4, "ecrou", "csv.duplicate"), (5, "ecrou", "csv.duplicate")],
    ),
    (
        "duplicate-correspondent-same-number-other-spelling",
        "correspondents",
        lines(COR, "1;Paul;06 12 34 56 78", "1;Paul M.;+33612345678"),
        [(3, "telephone", "csv.duplicate")],
    ),
    (
        "duplicate-credit",
        "credits",
        lines(CRE, "1;5;R1", "2;5;R2", "3;7;R1"),
        [(4, "reference", "csv.duplicate")],
    ),
    (
        "duplicate-after-a-bad-row",  # the first row is wrong, but its key still counts
        "detainees",
        lines(DET, "1;A;", "1;A;B"),
        [(2, "prenom", "csv.required"), (3, "ecrou", "csv.duplicate")],
    ),
    (
        "unknown_column",
        "detainees",
        lines("ecrou;nom;prenom;âge;Téléphone", "1;A;B;3;4"),
        [(1, "âge", "csv.unknown_column"), (1, "Téléphone", "csv.unknown_column")],
    ),
    (
        "unknown_column-other-kind",  # a credits file given as detainees
        "detainees",
        lines(CRE, "1;5;R1"),
        [
            (1, "montant", "csv.unknown_column"),
            (1, "reference", "csv.unknown_column"),
            (1, "libelle", "csv.unknown_column"),
            (1, "nom", "csv.missing_column"),
            (1, "prenom", "csv.missing_column"),
        ],
    ),
    (
        "duplicate_column",
        "detainees",
        lines("ecrou;nom;prenom;Nom", "1;A;B;C"),
        [(1, "nom", "csv.duplicate_column")],
    ),
    (
        "missing_column",
        "credits",
        lines("ecrou;libelle", "1;x"),
        [(1, "montant", "csv.missing_column"), (1, "reference", "csv.missing_column")],
    ),
    (
        "missing_column-no-header",  # the first line is data: rows are not checked
        "credits",
        lines("1;5;R1", "2;5;R2"),
        [
            (1, "1", "csv.unknown_column"),
            (1, "5", "csv.unknown_column"),
            (1, "R1", "csv.unknown_column"),
            (1, "ecrou", "csv.missing_column"),
            (1, "montant", "csv.missing_column"),
            (1, "reference", "csv.missing_column"),
        ],
    ),
    (
        "extra_field",
        "detainees",
        lines("ecrou;nom;prenom", "1;A;B;C"),
        [(2, None, "csv.extra_field")],
    ),
    (
        "extra_field-unnamed-column",
        "detainees",
        lines("ecrou;;nom;prenom", "1;x;A;B"),
        [(2, None, "csv.extra_field")],
    ),
    (
        "bad_character-control",
        "detainees",
        lines(DET, "1;MAR\x07TIN;B"),
        [(2, "nom", "csv.bad_character")],
    ),
    (
        "bad_character-bidi",
        "detainees",
        lines(DET, "1;A;\u202eB"),
        [(2, "prenom", "csv.bad_character")],
    ),
    (
        "bad_character-unclosed-quote",  # swallows the next lines into one value
        "detainees",
        lines(DET, '1;"MARTIN;B', "2;C;D", "3;E;F"),
        [(2, "nom", "csv.bad_character"), (2, "prenom", "csv.required")],
    ),
    ("empty-header-only", "detainees", lines(DET), [(0, None, "csv.empty")]),
    ("empty-blank", "credits", b"\r\n \r\n;;;\r\n", [(0, None, "csv.empty")]),
    ("empty-nothing", "correspondents", b"", [(0, None, "csv.empty")]),
    ("empty-bom", "correspondents", b"\xef\xbb\xbf", [(0, None, "csv.empty")]),
    (
        "malformed-huge-value",
        "detainees",
        lines(DET, '1;"' + "x" * 140_000 + '";B'),
        [(2, None, "csv.malformed")],
    ),
    ("encoding-xlsx", "detainees", b"PK\x03\x04\x14\x00\x06\x00", [(0, None, "csv.encoding")]),
    ("encoding-xls", "detainees", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", [(0, None, "csv.encoding")]),
    ("encoding-utf16", "detainees", DET.encode("utf-16"), [(0, None, "csv.encoding")]),
    ("encoding-nul", "detainees", lines(DET, "1;A;B", "2;A\x00;B"), [(3, None, "csv.encoding")]),
    (
        "encoding-not-cp1252",  # 0x81 is undefined in Windows-1252
        "detainees",
        lines(DET, "1;A;B") + b"\r\n2;\x81;B",
        [(3, None, "csv.encoding")],
    ),
    (
        "encoding-mixed",  # UTF-8 accents, then a Windows-1252 one: not read as "HÃ©lÃ¨ne"
        "detainees",
        lines(DET, "1;Hélène;B") + "\n2;Frère;B".encode("cp1252"),
        [(3, None, "csv.encoding")],
    ),
    (
        "encoding-utf8-bom-then-cp1252",
        "detainees",
        b"\xef\xbb\xbf" + lines(DET) + "\n2;Frère;B".encode("cp1252"),
        [(2, None, "csv.encoding")],
    ),
    (
        "too_large-rows",
        "detainees",
        lines(DET, *(f"{i};A;B" for i in range(MAX_ROWS + 1))),
        [(MAX_ROWS + 2, None, "csv.too_large")],
    ),
]
WARNING_CASES: list[tuple[str, bytes, list[tuple[int, str | None, str]]]] = [
    (
        "consent_missing",
        lines(COR, "1;A;0612345678;;oui"),
        [(2, "consentement_par", "csv.consent_missing")],
    ),
    (
        "consent_not_minor",
        lines(COR, "1;A;0612345678;;non;Sa mère;14/01/2025"),
        [(2, "mineur", "csv.consent_not_minor")],
    ),
    (
        "consent_not_minor-empty",
        lines(COR, "1;A;0612345678;;;Sa mère;"),
        [(2, "mineur", "csv.consent_not_minor")],
    ),
]


@pytest.mark.parametrize(
    ("kind", "data", "expected"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_errors(kind: str, data: bytes, expected: list[tuple[int, str | None, str]]) -> None:
    report = PARSERS[kind](data)
    assert where(report) == expected
    assert not report.ok
    bad_lines = {line for line, _, _ in expected}
    assert all(row.line not in bad_lines for row in report.rows)


@pytest.mark.parametrize(
    ("data", "expected"), [c[1:] for c in WARNING_CASES], ids=[c[0] for c in WARNING_CASES]
)
def test_warnings(data: bytes, expected: list[tuple[int, str | None, str]]) -> None:
    report = parse_correspondents(data)
    assert report.ok, report.errors
    assert warned(report) == expected
    assert len(report.rows) == 1  # a warning does not keep the row out


def test_every_reason_is_tested() -> None:
    errors = {reason for *_, expected in ERROR_CASES for _, _, reason in expected}
    warnings = {reason for *_, expected in WARNING_CASES for _, _, reason in expected}
    errors.add("csv.too_large")  # the size in bytes: test_too_large_bytes
    assert errors == ERROR_REASONS
    assert warnings == WARNING_REASONS


def test_every_bad_value_of_a_row_is_reported() -> None:
    report = parse_correspondents(lines(COR, "1 1;;12;;peut-être;;hier;x;parti", "2;Ok;0612345678"))
    assert where(report) == [
        (2, "ecrou", "csv.bad_detainee_number"),
        (2, "nom", "csv.required"),
        (2, "telephone", "csv.bad_phone"),
        (2, "mineur", "csv.bad_boolean"),
        (2, "consentement_le", "csv.bad_date"),
        (2, "avocat", "csv.bad_boolean"),
        (2, "statut", "csv.bad_status"),
    ]
    assert [row.line for row in report.rows] == [3]  # the good row is still there


def test_too_large_bytes() -> None:
    data = lines(DET, "1;A;B")
    assert parse_detainees(data, max_bytes=len(data)).ok
    report = parse_detainees(data, max_bytes=len(data) - 1)
    assert where(report) == [(0, None, "csv.too_large")]
    assert report.rows == ()
    assert parse_detainees(b"x" * 2_000_001).errors[0].reason == "csv.too_large"


def test_max_rows_is_accepted() -> None:
    report = parse_detainees(lines(DET, *(f"{i};A;B" for i in range(MAX_ROWS))))
    assert report.ok
    assert len(report.rows) == MAX_ROWS


def test_messages_are_in_french_and_english() -> None:
    for _, kind, data, _ in ERROR_CASES:
        for error in PARSERS[kind](data).errors:
            assert isinstance(error, RowError)
            assert error.message_fr and error.message_en
            assert error.message_fr != error.message_en
            assert len(error.message_fr) < 400
    report = parse_credits(lines(CRE, "1;1,234;R1"))
    assert "1,234" in report.errors[0].message_fr


def test_access_code_is_never_shown() -> None:
    report = parse_detainees(lines(DET, "1;A;B;;;;4821", "2;A;B;;;;73"))
    assert "4821" not in repr(report.rows)
    assert report.rows[0].access_code == "4821"
    (error,) = report.errors
    assert "73" not in error.message_fr + error.message_en
    assert "zéros" in error.message_fr  # the hint about Excel and leading zeros


def test_duplicates_are_by_key_only() -> None:
    """Same phone for two detainees, two phones for one detainee: no duplicate."""
    report = parse_correspondents(
        lines(COR, "1;Paul;0612345678", "2;Paul;0612345678", "1;Anne;0612345679")
    )
    assert report.ok, report.errors
    assert len(report.rows) == 3


# Line numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_line_numbers_count_blank_lines(eol: str) -> None:
    text = eol.join(
        [
            "",  # 1: blank lines before the header
            "  ",  # 2
            DET,  # 3: header
            "1;A;B",  # 4
            "",  # 5
            ";;;;;;;",  # 6: an Excel blank row
            '2;"A',  # 7: a value over two lines...
            'A";B',  # 8
            "3;;B",  # 9: ...does not shift the next line numbers
            "",  # 10
            "",  # 11
            "4;A;B;;;;x",  # 12
            "",
        ]
    )
    report = parse_detainees(text.encode())
    assert where(report) == [
        (7, "nom", "csv.bad_character"),
        (9, "nom", "csv.required"),
        (12, "code_acces", "csv.bad_code"),
    ]
    assert [row.line for row in report.rows] == [4]


def test_header_error_line_after_blank_lines() -> None:
    report = parse_credits(lines("", "", "ecrou;montant"))
    assert where(report) == [(3, "reference", "csv.missing_column")]


def test_encoding_error_line_counts_crlf_once() -> None:
    data = b"ecrou;nom;prenom\r\n1;A;B\r\n\r\n2;\x81;B\r\n"
    assert where(parse_detainees(data)) == [(4, None, "csv.encoding")]


# Separators -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "sep"),
    [
        ("ecrou;montant;reference", ";"),
        ("ecrou,montant,reference", ","),
        ("ecrou\tmontant\treference", "\t"),
        ('"ecrou";"montant";"reference"', ";"),
    ],
)
def test_separator_is_taken_from_the_header(header: str, sep: str) -> None:
    data = lines(header, sep.join(["1", '"12,50"', "R1"]))
    report = parse_credits(data)
    assert report.ok, report.errors
    assert report.rows[0].amount_cents == 1250


def test_separator_detection_skips_leading_blank_rows() -> None:
    report = parse_credits(lines(",,,", "ecrou,montant,reference", '1,"12,50",R1'))
    assert report.ok, report.errors


# Never raises ---------------------------------------------------------------------------------

HEADERS = {"detainees": DET, "correspondents": COR, "credits": CRE}
INTERESTING = [
    "", " ", "1", "123456", "A1", "Hélène", "0612345678", "+33612345678", "00", "+", "12,50",
    "1 234,56", "-3", "0", "oui", "non", "x", "14/01/2025", "2025-02-30", "31/12/9999",
    "actif", "libéré", "retiré", "R-1", '"', '""', "\n", "\r", ";", ",", "\t", "\x00", "\ufeff",
    "\u202e", "١٢٣٤", "9" * 30, "é" * 300,
]  # fmt: skip
cell = st.one_of(
    st.sampled_from(INTERESTING),
    st.text(st.sampled_from(list('0123456789 ,.;\t"-+/:éÉ€aZ\u00a0\u202f\r\n')), max_size=12),
    st.text(max_size=8),
)


def check_invariants(report: ImportReport[Any]) -> None:
    assert isinstance(report, ImportReport)
    assert report.ok == (not report.errors)
    for problem in report.errors:
        assert problem.reason in ERROR_REASONS
        assert problem.line >= 0
        assert problem.message_fr and problem.message_en
    assert {w.reason for w in report.warnings} <= WARNING_REASONS
    error_lines = {e.line for e in report.errors}
    row_lines = [row.line for row in report.rows]
    assert len(row_lines) == len(set(row_lines))
    assert not error_lines & set(row_lines)


@pytest.mark.parametrize("kind", PARSERS)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.binary(max_size=600))
def test_arbitrary_bytes_never_raise(kind: str, data: bytes) -> None:
    check_invariants(PARSERS[kind](data))


@pytest.mark.parametrize("kind", PARSERS)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    rows=st.lists(st.lists(cell, max_size=11), max_size=6),
    sep=st.sampled_from([";", ",", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    blank=st.booleans(),
)
def test_arbitrary_rows_never_raise(
    kind: str, rows: list[list[str]], sep: str, encoding: str, blank: bool
) -> None:
    text = HEADERS[kind].replace(";", sep) + "\r\n"
    text += "".join(sep.join(row) + ("\r\n\r\n" if blank else "\r\n") for row in rows)
    report = PARSERS[kind](text.encode(encoding, errors="replace"))
    check_invariants(report)
