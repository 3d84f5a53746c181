"""The paper receipt ("bon de réservation") a guard prints when booking a video call.

Why a PDF: the activities-zone guard books the slot on a screen, but the detainee leaves with
paper. The receipt is the detainee's only record of when and where to go and what to bring, and
both signatures make it the proof that the booking was handed over. It must therefore:

* fit on **one A4 page** whatever the data (long names are wrapped, then cut with an ellipsis);
* print accents, "•" and "—" correctly, so it embeds DejaVu Sans when the system has it, and
  otherwise falls back to the PDF core font Helvetica with the text folded to Latin-1, so that
  printing a receipt **never crashes** on a server without fonts;
* say the date in full French ("lundi 7 décembre 2026") without depending on the system locale;
* be deterministic: the same booking gives the same bytes (the creation date is ``booked_at``).

Sans-IO apart from reading the font files: :func:`render_receipt` returns bytes; the caller
serves or stores them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos

# Module-level so that tests (and odd deployments) can point them elsewhere.
FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

LANGS = ("fr", "en")
STATUSES = ("booked", "cancelled")


@dataclass(frozen=True)
class ReceiptData:
    """Everything printed on one receipt; strings are printed as given."""

    number: str  # receipt number, e.g. "2026-000123"
    establishment: str  # e.g. "Centre pénitentiaire de Demo"
    detainee_number: str  # numéro d'écrou
    detainee_name: str  # "MARTIN Jean"
    location: str  # "Bât. A, étage 2, cellule 214"
    correspondent_name: str
    correspondent_relationship: str
    correspondent_phone: str  # already masked by the caller, e.g. "+33 6 •• •• •• 78"
    start: datetime  # aware, local time zone of the establishment
    end: datetime  # aware
    room: str  # "Salle d'audience 1"
    kiosk: str  # "kiosk-1"
    booked_by: str  # guard's name/login
    booked_at: datetime  # aware
    status: str = "booked"  # "booked" or "cancelled"
    cancel_reason: str = ""
    code_minutes: int = 5  # the code's validity, from the configuration


# --- Dates, spelled out by hand: the system locale is not to be trusted (often C or en_US). ---

_DAYS = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"unsupported language {lang!r}; expected one of {LANGS}")


def _format_date(moment: datetime, lang: str) -> str:
    """``lundi 7 décembre 2026`` / ``Monday 7 December 2026`` (French says "1er" for the 1st)."""
    day = "1er" if lang == "fr" and moment.day == 1 else str(moment.day)
    weekday = _DAYS[lang][moment.weekday()]
    return f"{weekday} {day} {_MONTHS[lang][moment.month - 1]} {moment.year}"


def format_slot(start: datetime, end: datetime, lang: str = "fr") -> str:
    """The slot in words, in the time zone of ``start`` (the establishment's).

    ``lundi 7 décembre 2026, de 08:30 à 09:15``; a slot ending on another day names that day.
    """
    _check_lang(lang)
    end = end.astimezone(start.tzinfo)
    day = _format_date(start, lang)
    begin, finish = f"{start:%H:%M}", f"{end:%H:%M}"
    if end.date() != start.date():
        other = _format_date(end, lang)
        if lang == "fr":
            return f"{day}, de {begin} au {other} à {finish}"
        return f"{day}, from {begin} to {other} at {finish}"
    if lang == "fr":
        return f"{day}, de {begin} à {finish}"
    return f"{day}, from {begin} to {finish}"


def _format_moment(moment: datetime, lang: str) -> str:
    """``lundi 30 novembre 2026 à 14:05`` / ``Monday 30 November 2026 at 14:05``."""
    joiner = "à" if lang == "fr" else "at"
    return f"{_format_date(moment, lang)} {joiner} {moment:%H:%M}"


# --- Wording. Straight apostrophes: they survive every font and text extraction. ---

_TEXT: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Bon de réservation — visiophonie",
        "number": "N°",
        "cancelled": "ANNULÉ",
        "cancel_reason": "Motif de l'annulation",
        "sec.detainee": "Détenu",
        "sec.correspondent": "Correspondant",
        "sec.slot": "Rendez-vous",
        "sec.booking": "Réservation",
        "sec.reminders": "À retenir",
        "name": "Nom",
        "detainee_number": "N° d'écrou",
        "location": "Localisation",
        "relationship": "Lien",
        "phone": "Téléphone",
        "when": "Date et heure",
        "room": "Salle",
        "kiosk": "Borne",
        "booked_by": "Réservé par",
        "booked_at": "Réservé le",
        "sign.detainee": "Signature du détenu",
        "sign.agent": "Signature de l'agent",
        "footer": "Parloir — bon n° {number} — à conserver jusqu'à l'appel",
    },
    "en": {
        "title": "Booking receipt — video call",
        "number": "No.",
        # Staff read French: the English receipt repeats the French word.
        "cancelled": "CANCELLED — ANNULÉ",
        "cancel_reason": "Reason for cancellation",
        "sec.detainee": "Detainee",
        "sec.correspondent": "Correspondent",
        "sec.slot": "Appointment",
        "sec.booking": "Booking",
        "sec.reminders": "Remember",
        "name": "Name",
        "detainee_number": "Prisoner number",
        "location": "Location",
        "relationship": "Relationship",
        "phone": "Phone",
        "when": "Date and time",
        "room": "Room",
        "kiosk": "Kiosk",
        "booked_by": "Booked by",
        "booked_at": "Booked on",
        "sign.detainee": "Detainee's signature",
        "sign.agent": "Officer's signature",
        "footer": "Parloir — receipt no. {number} — keep it until the call",
    },
}

# The practical reminders of the service note, in its words.
_REMINDERS: dict[str, tuple[str, ...]] = {
    "fr": (
        "Se présenter à l'heure à la salle indiquée ci-dessus.",
        "Apporter ses identifiants et son code d'accès.",
        "Apporter un masque.",
        "Apporter sa carte de circulation.",
        "L'appel dure de 20 à 30 minutes.",
        "Le correspondant reçoit par SMS un code à 6 chiffres et dispose de {code_minutes} "
        "minutes pour le saisir.",
    ),
    "en": (
        "Be on time at the room shown above.",
        "Bring your credentials and your access code.",
        "Bring a mask.",
        "Bring your movement card (carte de circulation).",
        "The call lasts 20 to 30 minutes.",
        "Your correspondent receives a 6-digit code by SMS and has {code_minutes} minutes to "
        "enter it.",
    ),
}

# --- Fallback to Latin-1 when no Unicode font can be loaded. ---

_LATIN1_EQUIVALENTS = str.maketrans(
    {
        "—": "-",
        "–": "-",
        "‑": "-",
        "•": "*",
        "…": "...",
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "\u202f": " ",  # narrow no-break space, common before French ":" and ";"
        "€": "EUR",
        "œ": "oe",
        "Œ": "OE",
        # Letters with a stroke have no decomposition to fall back on.
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ı": "i",
    }
)


def to_latin1(text: str) -> str:
    """``text`` with every character the core fonts lack replaced by a close equivalent."""
    text = text.translate(_LATIN1_EQUIVALENTS)
    if all(ord(char) < 256 for char in text):
        return text
    out = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
            continue
        # "ź" -> "z", "ș" -> "s"... by dropping the accents the decomposition reveals.
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        out.append(base if base and all(ord(c) < 256 for c in base) else "?")
    return "".join(out)


def _one_line(text: str) -> str:
    """Collapse newlines and tabs from user-typed fields: layout is ours to decide."""
    return " ".join(text.split())


# --- Layout (millimetres, A4 portrait). ---

_MARGIN = 18.0
_LABEL_W = 42.0
_LINE_H = 5.6
# A field never takes more lines than its budget, which is what keeps the receipt on one page:
# two lines for names, places and the cancel reason, one for the rest.
_MAX_VALUE_LINES = 2
_SIGNATURE_TOP = 297.0 - _MARGIN - 42.0
_INK = (20, 20, 20)
_GREY = (100, 100, 100)
_RED = (190, 20, 20)


class _Writer:
    """An FPDF document with the receipt's font and a text filter matching it."""

    def __init__(self) -> None:
        self.pdf, self.family, self.unicode = _new_pdf()
        self.clean: Callable[[str], str] = (lambda s: s) if self.unicode else to_latin1
        self.bullet = "•" if self.unicode else "-"

    @property
    def width(self) -> float:
        return self.pdf.w - 2 * _MARGIN

    def font(self, size: float, bold: bool = False, color: tuple[int, int, int] = _INK) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.set_text_color(*color)

    def fit(self, text: str, width: float, max_lines: int = _MAX_VALUE_LINES) -> str:
        """``text`` wrapped to ``width``, cut to ``max_lines`` lines ending with an ellipsis."""
        text = self.clean(_one_line(text))
        lines = self.pdf.multi_cell(
            width, _LINE_H, text, dry_run=True, output=MethodReturnValue.LINES
        )
        if len(lines) <= max_lines:
            return text
        # The last line takes all the rest, cut character by character (not at the last word, so
        # that "N° 2026-000123…" keeps its number), within the cell's inner width.
        ellipsis = self.clean("…")
        room = width - 2 * self.pdf.c_margin - 0.5
        last = " ".join(line.strip() for line in lines[max_lines - 1 : max_lines + 1])
        while last and self.pdf.get_string_width(last + ellipsis) > room:
            last = last[:-1]
        return "\n".join([*lines[: max_lines - 1], last.rstrip() + ellipsis])

    def text(
        self,
        text: str,
        size: float,
        bold: bool = False,
        color: tuple[int, int, int] = _INK,
        align: str = "L",
        max_lines: int = _MAX_VALUE_LINES,
    ) -> None:
        """A full-width paragraph starting at the left margin."""
        self.font(size, bold, color)
        self.pdf.set_x(_MARGIN)
        fitted = self.fit(text, self.width, max_lines)
        height = max(_LINE_H, size * 0.47)  # 1 pt = 0.353 mm, plus leading
        self.pdf.multi_cell(
            self.width, height, fitted, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

    def section(self, title: str) -> None:
        self.pdf.ln(2.5)
        self.text(title.upper(), 10, bold=True, color=_GREY, max_lines=1)
        y = self.pdf.get_y()
        self.pdf.set_draw_color(*_GREY)
        self.pdf.set_line_width(0.2)
        self.pdf.line(_MARGIN, y, _MARGIN + self.width, y)
        self.pdf.ln(1.2)

    def row(self, label: str, value: str, bold: bool = False, max_lines: int = 1) -> None:
        """``label`` in grey on the left, ``value`` wrapped in the remaining width."""
        y = self.pdf.get_y()
        self.font(9.5, color=_GREY)
        self.pdf.set_xy(_MARGIN, y)
        self.pdf.cell(_LABEL_W, _LINE_H, self.fit(label, _LABEL_W, 1))
        self.font(10.5, bold=bold)
        value_w = self.width - _LABEL_W
        self.pdf.set_xy(_MARGIN + _LABEL_W, y)
        self.pdf.multi_cell(
            value_w,
            _LINE_H,
            self.fit(value, value_w, max_lines),
            align="L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )

    def bullet_item(self, text: str) -> None:
        y = self.pdf.get_y()
        self.font(10)
        self.pdf.set_xy(_MARGIN + 2, y)
        self.pdf.cell(5, _LINE_H, self.bullet)
        self.pdf.set_xy(_MARGIN + 7, y)
        width = self.width - 7
        self.pdf.multi_cell(
            width, _LINE_H, self.fit(text, width), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )


def _new_pdf() -> tuple[FPDF, str, bool]:
    """A blank A4 document and its font family: DejaVu Sans if loadable, else Helvetica."""
    if FONT_PATH.is_file():
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        try:
            pdf.add_font("DejaVu", "", str(FONT_PATH))
            # Without the bold file, bold text is simply printed regular.
            bold = FONT_BOLD_PATH if FONT_BOLD_PATH.is_file() else FONT_PATH
            pdf.add_font("DejaVu", "B", str(bold))
            return pdf, "DejaVu", True
        except Exception:  # a damaged font file must not stop the printing
            pass
    # Fresh document: a failed add_font may have left the previous one half-configured.
    return FPDF(orientation="P", unit="mm", format="A4"), "helvetica", False


def _validate(data: ReceiptData, lang: str) -> None:
    _check_lang(lang)
    if data.status not in STATUSES:
        raise ValueError(f"unknown status {data.status!r}; expected one of {STATUSES}")
    for name in ("start", "end", "booked_at"):
        if getattr(data, name).utcoffset() is None:
            raise ValueError(f"{name} must be an aware datetime")
    if data.end <= data.start:
        raise ValueError("end must be after start")


def render_receipt(data: ReceiptData, lang: str = "fr") -> bytes:
    """The receipt as a one-page A4 PDF."""
    _validate(data, lang)
    words = _TEXT[lang]
    cancelled = data.status == "cancelled"
    # Every time is printed in the establishment's zone, which is the zone of ``start``.
    booked_at = data.booked_at.astimezone(data.start.tzinfo)

    w = _Writer()
    pdf = w.pdf
    title = words["title"]
    pdf.set_title(w.clean(f"{title} {words['number']} {data.number}"))
    pdf.set_subject(w.clean(_one_line(data.establishment)))
    pdf.set_author(w.clean(_one_line(data.booked_by)))
    pdf.set_creator("Parloir")
    pdf.set_lang(lang)
    pdf.set_creation_date(data.booked_at)  # same booking, same bytes
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    # Heights are bounded by construction; a page break would only ever split the receipt.
    pdf.set_auto_page_break(False)
    pdf.add_page()

    # Header: establishment, title, number.
    w.text(data.establishment, 10, color=_GREY, max_lines=1)
    pdf.ln(1)
    w.text(title, 17, bold=True, max_lines=1)
    pdf.ln(1.5)
    w.text(f"{words['number']} {data.number}", 12, bold=True, max_lines=1)

    if cancelled:
        pdf.ln(3)
        top = pdf.get_y()
        pdf.set_draw_color(*_RED)
        pdf.set_line_width(0.8)
        w.text(words["cancelled"], 20, bold=True, color=_RED, align="C", max_lines=1)
        pdf.ln(1)
        if data.cancel_reason.strip():
            w.text(f"{words['cancel_reason']} : {data.cancel_reason}", 10.5, color=_RED)
        pdf.ln(1.5)
        pdf.rect(_MARGIN, top - 1.5, w.width, pdf.get_y() - top + 1.5)

    w.section(words["sec.detainee"])
    w.row(words["name"], data.detainee_name, bold=True, max_lines=2)
    w.row(words["detainee_number"], data.detainee_number, bold=True)
    w.row(words["location"], data.location, max_lines=2)

    w.section(words["sec.correspondent"])
    w.row(words["name"], data.correspondent_name, bold=True, max_lines=2)
    w.row(words["relationship"], data.correspondent_relationship)
    w.row(words["phone"], data.correspondent_phone)

    w.section(words["sec.slot"])
    w.row(words["when"], format_slot(data.start, data.end, lang), bold=True, max_lines=2)
    w.row(words["room"], data.room, bold=True)
    w.row(words["kiosk"], data.kiosk)

    w.section(words["sec.booking"])
    w.row(words["booked_by"], data.booked_by)
    w.row(words["booked_at"], _format_moment(booked_at, lang))

    w.section(words["sec.reminders"])
    for reminder in _REMINDERS[lang]:
        w.bullet_item(reminder.replace("{code_minutes}", str(data.code_minutes)))

    # Signatures at a fixed place at the bottom, with room to sign above the line.
    half = (w.width - 10) / 2
    for i, key in enumerate(("sign.detainee", "sign.agent")):
        x = _MARGIN + i * (half + 10)
        w.font(10, bold=True)
        pdf.set_xy(x, _SIGNATURE_TOP)
        pdf.cell(half, _LINE_H, w.clean(words[key]))
        pdf.set_draw_color(*_INK)
        pdf.set_line_width(0.3)
        pdf.line(x, _SIGNATURE_TOP + 28, x + half, _SIGNATURE_TOP + 28)

    pdf.set_y(pdf.h - _MARGIN + 4)
    w.text(words["footer"].format(number=data.number), 8, color=_GREY, align="C", max_lines=1)

    return bytes(pdf.output())
