"""The booking receipt PDF: content in both languages, one page always, never a crash on fonts."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from gateway.core import receipt_pdf
from gateway.core.receipt_pdf import ReceiptData, format_slot, render_receipt, to_latin1

PARIS = ZoneInfo("Europe/Paris")

RECEIPT = ReceiptData(
    number="2026-000123",
    establishment="Centre pénitentiaire de Demo",
    detainee_number="123456",
    detainee_name="MARTIN Jean",
    location="Bât. A, étage 2, cellule 214",
    correspondent_name="MARTIN Sophie",
    correspondent_relationship="Épouse",
    correspondent_phone="+33 6 •• •• •• 78",
    start=datetime(2026, 12, 7, 8, 30, tzinfo=PARIS),
    end=datetime(2026, 12, 7, 9, 15, tzinfo=PARIS),
    room="Salle d'audience 1",
    kiosk="kiosk-1",
    booked_by="Agent DUPONT (adupont)",
    booked_at=datetime(2026, 11, 30, 14, 5, tzinfo=PARIS),
)

needs_dejavu = pytest.mark.skipif(
    not receipt_pdf.FONT_PATH.is_file(), reason="DejaVu Sans is not installed"
)


def read(pdf: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, reader.pages[0].extract_text()


def text_heights(pdf: bytes) -> list[tuple[float, str]]:
    """Every text run with its height on the page (PDF points from the bottom)."""
    runs: list[tuple[float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if text.strip():
            runs.append((tm[5] * cm[3] + cm[5], text.strip()))

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    return runs


@pytest.fixture
def no_unicode_font(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(receipt_pdf, "FONT_PATH", tmp_path / "missing.ttf")
    monkeypatch.setattr(receipt_pdf, "FONT_BOLD_PATH", tmp_path / "missing-bold.ttf")


@needs_dejavu
def test_french_receipt_has_everything_on_one_a4_page() -> None:
    pdf = render_receipt(RECEIPT)
    assert pdf.startswith(b"%PDF-")
    reader, text = read(pdf)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    for expected in (
        "Bon de réservation — visiophonie",
        "2026-000123",
        "Centre pénitentiaire de Demo",
        "MARTIN Jean",
        "123456",
        "Bât. A, étage 2, cellule 214",
        "MARTIN Sophie",
        "Épouse",
        "+33 6 •• •• •• 78",
        "lundi 7 décembre 2026, de 08:30 à 09:15",
        "Salle d'audience 1",
        "kiosk-1",
        "Agent DUPONT (adupont)",
        "lundi 30 novembre 2026 à 14:05",
        "à l'heure",
        "identifiants",
        "code d'accès",
        "masque",
        "carte de circulation",
        "20 à 30 minutes",
        "6 chiffres",
        "5 minutes",
        "Signature du détenu",
        "Signature de l'agent",
    ):
        assert expected in text, expected
    assert "ANNULÉ" not in text
    assert text.count("•") >= 6 + 6  # six bullets, six dots in the masked phone


@needs_dejavu
def test_english_receipt() -> None:
    reader, text = read(render_receipt(RECEIPT, lang="en"))
    assert len(reader.pages) == 1
    for expected in (
        "Booking receipt — video call",
        "2026-000123",
        "MARTIN Jean",
        "123456",
        "MARTIN Sophie",
        "Monday 7 December 2026, from 08:30 to 09:15",
        "Salle d'audience 1",
        "Agent DUPONT (adupont)",
        "access code",
        "mask",
        "carte de circulation",
        "Detainee's signature",
        "Officer's signature",
    ):
        assert expected in text, expected
    assert "lundi" not in text


def test_metadata() -> None:
    reader = PdfReader(io.BytesIO(render_receipt(RECEIPT)))
    meta = reader.metadata
    assert meta is not None
    assert meta.creator == "Parloir"
    assert meta.title is not None and "2026-000123" in meta.title
    assert meta.creation_date is not None
    assert meta.creation_date.astimezone(UTC) == RECEIPT.booked_at.astimezone(UTC)


def test_same_booking_same_bytes() -> None:
    assert render_receipt(RECEIPT) == render_receipt(RECEIPT)


@needs_dejavu
@pytest.mark.parametrize(("lang", "banner"), [("fr", "ANNULÉ"), ("en", "CANCELLED — ANNULÉ")])
def test_cancelled_receipt_says_so(lang: str, banner: str) -> None:
    cancelled = dataclasses.replace(
        RECEIPT, status="cancelled", cancel_reason="Transfert vers un autre établissement"
    )
    reader, text = read(render_receipt(cancelled, lang=lang))
    assert len(reader.pages) == 1
    assert banner in text
    assert "Transfert vers un autre établissement" in text
    assert "MARTIN Jean" in text  # still says what was cancelled


@needs_dejavu
def test_long_fields_stay_on_one_page_above_the_signatures() -> None:
    name = "DE LA FONTAINE-SAINT-EXUPÉRY Marie-Amélie Geneviève Bernadette " * 8
    long = dataclasses.replace(
        RECEIPT,
        establishment="Centre pénitentiaire " * 20,
        detainee_name=name,
        location="Bâtiment A, quartier maison d'arrêt, " * 10,
        correspondent_name=name,
        correspondent_relationship="Belle-sœur " * 20,
        room="Salle d'audience " * 20,
        kiosk="kiosk-" + "1" * 200,
        booked_by="Agent " * 50,
        start=datetime(2026, 12, 7, 23, 30, tzinfo=PARIS),
        end=datetime(2026, 12, 8, 0, 15, tzinfo=PARIS),
        status="cancelled",
        cancel_reason="Motif " * 100,
    )
    for lang in ("fr", "en"):
        pdf = render_receipt(long, lang=lang)
        reader, text = read(pdf)
        assert len(reader.pages) == 1
        assert "…" in text  # long values are cut, visibly
        assert "DE LA FONTAINE-SAINT-EXUPÉRY" in text
        # The last reminder is printed above the signature labels, not over them.
        runs = text_heights(pdf)
        signature = min(y for y, run in runs if "signature" in run.lower())
        reminder = min(y for y, run in runs if "SMS" in run)
        assert reminder > signature + 10  # points


def test_fallback_without_unicode_font_still_renders(no_unicode_font: None) -> None:
    odd = dataclasses.replace(
        RECEIPT,
        correspondent_name="Łukasz ŒUVRE — “ami”",
        status="cancelled",
        cancel_reason="Transfert…",
    )
    reader, text = read(render_receipt(odd))
    assert len(reader.pages) == 1
    for expected in (
        "Bon de réservation - visiophonie",
        "2026-000123",
        "MARTIN Jean",
        'Lukasz OEUVRE - "ami"',
        "+33 6 ** ** ** 78",
        "lundi 7 décembre 2026, de 08:30 à 09:15",
        "code d'accès",
        "masque",
        "carte de circulation",
        "Signature du détenu",
        "Signature de l'agent",
        "ANNULÉ",
        "Transfert...",
    ):
        assert expected in text, expected
    _, english = read(render_receipt(odd, lang="en"))
    assert "CANCELLED - ANNULÉ" in english


def test_fallback_when_font_file_is_damaged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font")
    monkeypatch.setattr(receipt_pdf, "FONT_PATH", broken)
    _, text = read(render_receipt(RECEIPT))
    assert "Bon de réservation - visiophonie" in text


def test_to_latin1() -> None:
    assert to_latin1("Bon — n° 12 • é") == "Bon - n° 12 * é"
    # "ó" is Latin-1 and stays; "ź" loses its accent; "Ł" has none to lose; "北" has no equivalent.
    assert to_latin1("Œuvre “x” Łódź Ștefan 北") == 'OEuvre "x" Lódz Stefan ?'


def test_format_slot() -> None:
    assert format_slot(RECEIPT.start, RECEIPT.end) == "lundi 7 décembre 2026, de 08:30 à 09:15"
    first = datetime(2026, 8, 1, 14, 0, tzinfo=PARIS)
    assert format_slot(first, first + timedelta(minutes=30)) == (
        "samedi 1er août 2026, de 14:00 à 14:30"
    )
    assert format_slot(first, first + timedelta(minutes=30), "en") == (
        "Saturday 1 August 2026, from 14:00 to 14:30"
    )
    # The end is shown in the establishment's zone even if given in UTC.
    assert format_slot(RECEIPT.start, RECEIPT.end.astimezone(UTC)).endswith("à 09:15")
    late = datetime(2026, 12, 7, 23, 30, tzinfo=PARIS)
    assert format_slot(late, late + timedelta(minutes=45)) == (
        "lundi 7 décembre 2026, de 23:30 au mardi 8 décembre 2026 à 00:15"
    )


@pytest.mark.parametrize(
    ("changes", "lang"),
    [
        ({}, "de"),
        ({"status": "pending"}, "fr"),
        ({"start": datetime(2026, 12, 7, 8, 30)}, "fr"),
        ({"booked_at": datetime(2026, 11, 30, 14, 5)}, "fr"),
        ({"end": datetime(2026, 12, 7, 8, 0, tzinfo=PARIS)}, "fr"),
    ],
)
def test_rejects_bad_input(changes: dict[str, object], lang: str) -> None:
    with pytest.raises(ValueError):
        render_receipt(dataclasses.replace(RECEIPT, **changes), lang=lang)  # type: ignore[arg-type]
