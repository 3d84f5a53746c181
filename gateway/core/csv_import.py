"""Import of the CSV files exported by the prison's systems, sans-IO.

The activities guard uploads a file; :func:`parse_detainees`, :func:`parse_correspondents` or
:func:`parse_credits` turn its bytes into checked rows and a list of every problem found. This is
the dry run: the caller shows :attr:`ImportReport.errors` and :attr:`ImportReport.warnings` and
writes nothing unless :attr:`ImportReport.ok` (no error at all). Nothing here does I/O or reads
the clock. Checks against the database (does this detainee exist? is this reference already
credited? is this phone number already someone else's?) are the caller's job: this module only
knows the file.

The file
========

* Encoding: UTF-8, with or without BOM; failing that, Windows-1252 (what French Excel writes
  with « CSV (séparateur : point-virgule) »). A file mixing both, an Excel workbook (.xlsx,
  .xls), a UTF-16 file (« Texte Unicode ») or any binary file is refused (``csv.encoding``).
* Separator: ``;`` (French Excel), ``,`` or tab, whichever the header line uses most.
  Values may be quoted with ``"`` as usual.
* The first non-empty line is the header. Column names are case-insensitive, accents are
  optional, surrounding spaces are ignored and inner spaces or hyphens count as ``_``
  (``Code accès`` is ``code_acces``). Columns may come in any order. An unknown column, a column
  given twice or a missing required column is an error, and then no row is checked.
* Empty lines, and lines whose cells are all empty (``;;;;``, which Excel writes for blank
  rows), are skipped. Surrounding spaces of each value are ignored. Cells beyond the header, or
  under an empty header cell, must be empty (Excel often adds trailing ``;``).
* At most ``max_bytes`` bytes (default 2 MB) and :data:`MAX_ROWS` rows (20 000) besides the
  header, or the file is refused (``csv.too_large``).

Detainees (:func:`parse_detainees`)
-----------------------------------

``ecrou`` (required; the numéro d'écrou, 1 to 20 letters or digits), ``nom`` and ``prenom``
(required), ``batiment``, ``etage``, ``cellule`` (optional, at most 20 characters),
``code_acces`` (optional; the kiosk access code in clear, 4 to 8 digits, to be hashed by the
caller), ``statut`` (optional: ``actif``/``active`` → ``active``, ``suspendu``/``suspended`` →
``suspended``, ``libéré``/``libere``/``released`` → ``released``; default ``active``)::

    ecrou;nom;prenom;batiment;etage;cellule;code_acces;statut
    123456;MARTIN;Hélène;B;2;214;4821;actif
    123457;DUBOIS;Karim;A;1;108;;suspendu

Correspondents (:func:`parse_correspondents`)
---------------------------------------------

``ecrou`` (required; whose correspondent), ``nom`` (required, full name), ``telephone``
(required; any French or international form, stored as E.164), ``lien`` (optional, the
relationship), ``mineur`` (optional yes/no, see below), ``consentement_par`` (optional, who gave
the parental consent), ``consentement_le`` (optional date of the consent, ``JJ/MM/AAAA`` or
``AAAA-MM-JJ``), ``avocat`` (optional yes/no, the correspondent is a lawyer), ``statut``
(optional: ``autorisé``/``autorise``/``authorised`` → ``authorised``, ``suspendu``/``suspended``
→ ``suspended``, ``retiré``/``retire``/``withdrawn`` → ``withdrawn``; default ``authorised``)::

    ecrou;nom;telephone;lien;mineur;consentement_par;consentement_le;avocat;statut
    123456;Paul MARTIN;06 12 34 56 78;fils;oui;Sophie MARTIN (mère);14/01/2025;non;autorisé
    123456;Maître Anne LEROY;+33 1 42 00 00 00;avocate;;;;oui;

Yes/no values: ``oui``, ``yes``, ``vrai``, ``true``, ``1`` or ``non``, ``no``, ``faux``,
``false``, ``0``; empty is no. For a minor, ``consentement_par`` and ``consentement_le`` go
together: one without the other is an error (``csv.consent_incomplete``). A minor with neither
is accepted with a warning (``csv.consent_missing``): the booking rules refuse to book calls
with them until the consent is recorded. Consent given for a correspondent who is not marked as a
minor is kept, with a warning (``csv.consent_not_minor``): the ``mineur`` cell may be wrong.

Credits, from the accounts office (régie) (:func:`parse_credits`)
------------------------------------------------------------------

``ecrou`` (required), ``montant`` (required; euros, more than zero, at most 2 decimals, with a
comma or a point: ``12,50``, ``12.5``, ``1 234,56``, ``12,50 €``), ``reference`` (required,
unique in the file; the idempotency key of the credit, 1 to 64 characters among letters, digits
and ``_ . : -``), ``libelle`` (optional label)::

    ecrou;montant;reference;libelle
    123456;12,50;REGIE-2025-03-0001;Versement famille
    123457;5;REGIE-2025-03-0002;

Thousands may be grouped with spaces (also the no-break spaces Excel writes) but not with
``,`` or ``.``: ``1,234`` is refused as ambiguous (in a French file it would mean 1,234 €).

Errors
======

Each problem is a :class:`RowError`: the line in the file (1-based, the header is line 1 when the
file does not start with blank lines; a value spanning several lines is reported at its first;
line 0 means the file as a whole), the column (``None`` when not about one column), a stable
reason code and a sentence in French and in English. Every bad value of every row is reported,
so the guard can correct the whole file in one go. Duplicates within the file are errors,
reported on the later line: detainees by ``ecrou``, correspondents by ``ecrou`` and E.164
number, credits by ``reference``. Rows with an error are left out of :attr:`ImportReport.rows`.
Error messages never repeat an access code.

Reasons: see :data:`ERROR_REASONS` and :data:`WARNING_REASONS`.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Generic, TypeVar

from gateway.core.identifiers import DETAINEE_NUMBER_MAX, is_access_code, is_detainee_number
from gateway.core.records import MAX_AMOUNT, DirectoryError, to_e164
from gateway.core.text import bad_characters

__all__ = [
    "ERROR_REASONS",
    "MAX_BYTES",
    "MAX_ROWS",
    "WARNING_REASONS",
    "CorrespondentRow",
    "CreditRow",
    "DetaineeRow",
    "ImportReport",
    "RowError",
    "parse_correspondents",
    "parse_credits",
    "parse_detainees",
]

MAX_BYTES = 2_000_000
"""Default largest file accepted, in bytes."""

MAX_ROWS = 20_000
"""Largest number of rows accepted, header and empty lines not counted."""

ERROR_REASONS: frozenset[str] = frozenset(
    {
        # The file as a whole.
        "csv.too_large",
        "csv.encoding",
        "csv.empty",
        "csv.malformed",
        # The header.
        "csv.unknown_column",
        "csv.duplicate_column",
        "csv.missing_column",
        # A row.
        "csv.extra_field",
        "csv.bad_character",
        "csv.required",
        "csv.too_long",
        "csv.bad_detainee_number",
        "csv.bad_code",
        "csv.bad_status",
        "csv.bad_phone",
        "csv.bad_boolean",
        "csv.bad_date",
        "csv.consent_incomplete",
        "csv.bad_amount",
        "csv.bad_reference",
        "csv.duplicate",
    }
)
"""Every reason an error may have."""

WARNING_REASONS: frozenset[str] = frozenset({"csv.consent_missing", "csv.consent_not_minor"})
"""Every reason a warning may have."""

NUMBER_MAX = DETAINEE_NUMBER_MAX
PLACE_MAX = 20  # batiment, etage, cellule
NAME_MAX = 100  # nom, prenom, lien, consentement_par
LABEL_MAX = 200
REFERENCE_MAX = 64

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DetaineeRow:
    """A valid detainee row. ``access_code`` is in clear: hash it, never store or log it."""

    line: int
    number: str
    last_name: str
    first_name: str
    building: str
    floor: str
    cell: str
    access_code: str | None = field(repr=False)
    status: str


@dataclass(frozen=True, slots=True)
class CorrespondentRow:
    """A valid correspondent row; ``phone`` is E.164, ``detainee`` the numéro d'écrou."""

    line: int
    detainee: str
    name: str
    phone: str
    relationship: str
    minor: bool
    consent_by: str
    consent_on: date | None
    lawyer: bool
    status: str


@dataclass(frozen=True, slots=True)
class CreditRow:
    """A valid credit row; ``reference`` is the idempotency key of the credit."""

    line: int
    detainee: str
    amount_cents: int
    reference: str
    label: str


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem found in the file. ``line`` 0 means the file as a whole."""

    line: int
    column: str | None
    reason: str
    message_fr: str
    message_en: str


@dataclass(frozen=True, slots=True)
class ImportReport(Generic[T]):
    """The valid rows, and every error and warning, in file order."""

    rows: tuple[T, ...]
    errors: tuple[RowError, ...]
    warnings: tuple[RowError, ...]

    @property
    def ok(self) -> bool:
        """``True`` if the file has no error: only then may the caller import ``rows``."""
        return not self.errors


# Columns of each file: canonical (folded) name -> required.
_DETAINEE_COLUMNS: Mapping[str, bool] = {
    "ecrou": True,
    "nom": True,
    "prenom": True,
    "batiment": False,
    "etage": False,
    "cellule": False,
    "code_acces": False,
    "statut": False,
}
_CORRESPONDENT_COLUMNS: Mapping[str, bool] = {
    "ecrou": True,
    "nom": True,
    "telephone": True,
    "lien": False,
    "mineur": False,
    "consentement_par": False,
    "consentement_le": False,
    "avocat": False,
    "statut": False,
}
_CREDIT_COLUMNS: Mapping[str, bool] = {
    "ecrou": True,
    "montant": True,
    "reference": True,
    "libelle": False,
}

# Status values, folded (lower case, no accent). Feminine forms too: exports agree them.
_DETAINEE_STATUSES: Mapping[str, str] = {
    "actif": "active",
    "active": "active",
    "suspendu": "suspended",
    "suspendue": "suspended",
    "suspended": "suspended",
    "libere": "released",
    "liberee": "released",
    "released": "released",
}
_CORRESPONDENT_STATUSES: Mapping[str, str] = {
    "autorise": "authorised",
    "autorisee": "authorised",
    "authorised": "authorised",
    "authorized": "authorised",
    "suspendu": "suspended",
    "suspendue": "suspended",
    "suspended": "suspended",
    "retire": "withdrawn",
    "retiree": "withdrawn",
    "withdrawn": "withdrawn",
}
_BOOLEANS: Mapping[str, bool] = {
    "oui": True,
    "yes": True,
    "vrai": True,
    "true": True,
    "1": True,
    "non": False,
    "no": False,
    "faux": False,
    "false": False,
    "0": False,
}

# Explicit [0-9] rather than \d, which also matches Arabic-Indic and other digits.
_REFERENCE = re.compile(r"[A-Za-z0-9_.:-]+")
_DATE_FR = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_DATE_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# Space, no-break space, narrow no-break space (French Excel), thin space.
_GROUP = "[ \u00a0\u202f\u2009]"
_AMOUNT = re.compile(rf"([0-9]{{1,3}}(?:{_GROUP}[0-9]{{3}})+|[0-9]+)(?:[.,]([0-9]+))?")
_CURRENCY = re.compile(r"\s*(?:€|eur|euros?)\s*$", re.IGNORECASE)
# UTF-8 for à-ÿ/À-ß and for ’ – … “ ”: read as Windows-1252 they give "Ã©", "â€™"..., which no
# French text contains; finding them in a file that is not valid UTF-8 means mixed encodings.
_UTF8_ACCENT = re.compile(rb"\xc3[\x80-\xbf]|\xe2\x80[\x80-\xbf]")
_NEWLINE = re.compile(rb"\r\n|\r|\n")
_DELIMITERS = (";", "\t", ",")  # on a tie, French Excel's ";" wins


def parse_detainees(data: bytes, *, max_bytes: int = MAX_BYTES) -> ImportReport[DetaineeRow]:
    """Check a detainees file; see the module documentation for its format."""
    return _parse(data, max_bytes, _DETAINEE_COLUMNS, _detainee)


def parse_correspondents(
    data: bytes, *, max_bytes: int = MAX_BYTES
) -> ImportReport[CorrespondentRow]:
    """Check a correspondents file; see the module documentation for its format."""
    return _parse(data, max_bytes, _CORRESPONDENT_COLUMNS, _correspondent)


def parse_credits(data: bytes, *, max_bytes: int = MAX_BYTES) -> ImportReport[CreditRow]:
    """Check a credits file from the accounts office; see the module documentation."""
    return _parse(data, max_bytes, _CREDIT_COLUMNS, _credit)


# The file -----------------------------------------------------------------------------------


class _Row:
    """One record being checked: its cells by column, and the problems found in it."""

    def __init__(
        self,
        line: int,
        cells: dict[str, str],
        errors: list[RowError],
        warnings: list[RowError],
    ) -> None:
        self.line = line
        # The core's one text rule (gateway.core.text): NFC, no Cc/Cf but ZWNJ/ZWJ.
        self._cells = {k: unicodedata.normalize("NFC", v) for k, v in cells.items()}
        self._errors = errors
        self._warnings = warnings
        self._failed: set[str | None] = set()
        for column, value in self._cells.items():
            _check_characters(self, column, value)

    def value(self, column: str) -> str | None:
        """The stripped value ("" if absent), or None if already reported as bad."""
        if column in self._failed:
            return None
        return self._cells.get(column, "")

    def error(self, column: str | None, reason: str, fr: str, en: str) -> None:
        self._failed.add(column)
        self._errors.append(RowError(self.line, column, reason, fr, en))

    def warn(self, column: str | None, reason: str, fr: str, en: str) -> None:
        self._warnings.append(RowError(self.line, column, reason, fr, en))

    def failed(self, *columns: str) -> bool:
        return any(column in self._failed for column in columns)

    @property
    def ok(self) -> bool:
        return not self._failed


def _parse(
    data: bytes,
    max_bytes: int,
    columns: Mapping[str, bool],
    check: Callable[[_Row, dict[object, int]], T | None],
) -> ImportReport[T]:
    errors: list[RowError] = []
    warnings: list[RowError] = []
    text = _decode(data, max_bytes, errors)
    records = _records(text, columns, errors) if text is not None else []
    if errors:
        return ImportReport((), tuple(errors), ())
    rows: list[T] = []
    seen: dict[object, int] = {}  # duplicate key -> line of its first occurrence
    for line, cells, extra in records:
        row = _Row(line, cells, errors, warnings)
        if extra:
            row.error(
                None,
                "csv.extra_field",
                f"Valeur en trop en colonne n° {extra}, hors des colonnes de l'en-tête.",
                f"Extra value in column #{extra}, outside the header's columns.",
            )
        result = check(row, seen)
        if result is not None:
            rows.append(result)
    return ImportReport(tuple(rows), tuple(errors), tuple(warnings))


def _fr(number: int) -> str:
    """A number as written in French: 20 000."""
    return f"{number:,}".replace(",", "\N{NARROW NO-BREAK SPACE}")


def _file_error(errors: list[RowError], line: int, reason: str, fr: str, en: str) -> None:
    errors.append(RowError(line, None, reason, fr, en))


def _decode(data: bytes, max_bytes: int, errors: list[RowError]) -> str | None:
    if len(data) > max_bytes:
        _file_error(
            errors,
            0,
            "csv.too_large",
            f"Fichier trop gros ({_fr(len(data))} octets) : {_fr(max_bytes)} octets au plus.",
            f"File too large ({len(data):,} bytes): at most {max_bytes:,} bytes.",
        )
        return None
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        _file_error(
            errors,
            0,
            "csv.encoding",
            "C'est un classeur Excel, pas un fichier CSV : dans Excel, « Enregistrer sous » "
            "et choisissez « CSV (séparateur : point-virgule) ».",
            'This is an Excel workbook, not a CSV file: in Excel, use "Save as" and choose '
            '"CSV (semicolon delimited)".',
        )
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        _file_error(
            errors,
            0,
            "csv.encoding",
            "Fichier en UTF-16 (« Texte Unicode ») : enregistrez-le en « CSV UTF-8 » ou "
            "« CSV (séparateur : point-virgule) ».",
            'File in UTF-16 ("Unicode text"): save it as "CSV UTF-8" or "CSV (semicolon '
            'delimited)".',
        )
        return None
    if b"\x00" in data:
        _encoding_error(errors, _line_at(data, data.index(b"\x00")))
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_failure = exc.start
    # A UTF-8 BOM or UTF-8 accents in a file that is not UTF-8: decoding it as Windows-1252
    # would import garbled names ("HÃ©lÃ¨ne") without a word, so refuse it.
    if data.startswith(b"\xef\xbb\xbf") or _UTF8_ACCENT.search(data):
        _encoding_error(errors, _line_at(data, utf8_failure))
        return None
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        _encoding_error(errors, _line_at(data, exc.start))
        return None


def _encoding_error(errors: list[RowError], line: int) -> None:
    _file_error(
        errors,
        line,
        "csv.encoding",
        "Fichier illisible : ni UTF-8 ni Windows-1252 (encodages mélangés, ou fichier qui "
        "n'est pas du texte). Enregistrez-le en « CSV UTF-8 » depuis Excel.",
        "Unreadable file: neither UTF-8 nor Windows-1252 (mixed encodings, or not a text "
        'file). Save it as "CSV UTF-8" from Excel.',
    )


def _line_at(data: bytes, offset: int) -> int:
    return len(_NEWLINE.findall(data, 0, offset)) + 1


def _delimiter(text: str) -> str:
    for line in io.StringIO(text, newline=""):
        # The first line with something besides separators is the header.
        if line.strip("".join(_DELIMITERS) + " \r\n"):
            return max(_DELIMITERS, key=line.count)  # max keeps the first on a tie
    return _DELIMITERS[0]


def _records(
    text: str, columns: Mapping[str, bool], errors: list[RowError]
) -> list[tuple[int, dict[str, str], int | None]]:
    """Each non-empty record after the header: its first line, its cells by column, and the
    1-based position of a value outside the header's columns, if any."""
    # skipinitialspace: a quoted value after "; " is still read as quoted.
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=_delimiter(text), skipinitialspace=True
    )
    header: list[str | None] | None = None
    records: list[tuple[int, dict[str, str], int | None]] = []
    end = 0  # last physical line read: a quoted value may span several
    try:
        for fields in reader:
            line, end = end + 1, reader.line_num
            values = [value.strip() for value in fields]
            if not any(values):
                continue
            if header is None:
                header = _header(values, line, columns, errors)
                if errors:
                    return []
                continue
            if len(records) == MAX_ROWS:
                _file_error(
                    errors,
                    line,
                    "csv.too_large",
                    f"Plus de {_fr(MAX_ROWS)} lignes : découpez le fichier.",
                    f"More than {MAX_ROWS:,} rows: split the file.",
                )
                return []
            cells: dict[str, str] = {}
            extra: int | None = None
            for position, value in enumerate(values):
                name = header[position] if position < len(header) else None
                if name is not None:
                    cells[name] = value
                elif value and extra is None:
                    extra = position + 1
            records.append((line, cells, extra))
    except csv.Error as exc:  # e.g. a value over the csv module's field size limit
        _file_error(
            errors,
            reader.line_num,
            "csv.malformed",
            f"Fichier CSV mal formé vers la ligne {reader.line_num} ({exc}) ; un guillemet "
            "n'est sans doute pas fermé.",
            f"Malformed CSV file around line {reader.line_num} ({exc}); a quote is probably "
            "not closed.",
        )
        return []
    if not records:
        _file_error(
            errors,
            0,
            "csv.empty",
            "Le fichier ne contient aucune ligne à importer.",
            "The file has no row to import.",
        )
    return records


def _fold(text: str) -> str:
    """Lower case, accents removed: how column names and keywords are compared."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\ufeff", "").strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _header(
    names: list[str], line: int, columns: Mapping[str, bool], errors: list[RowError]
) -> list[str | None]:
    """The column of each header cell (None for an empty cell); errors for a bad header."""
    header: list[str | None] = []
    for raw in names:
        name = re.sub(r"[\s-]+", "_", _fold(raw))
        if not name:
            header.append(None)
        elif name not in columns:
            header.append(None)
            expected = ", ".join(columns)
            errors.append(
                RowError(
                    line,
                    _show(raw),
                    "csv.unknown_column",
                    f"Colonne inconnue « {_show(raw)} ». Colonnes possibles : {expected}.",
                    f"Unknown column “{_show(raw)}”. Possible columns: {expected}.",
                )
            )
        elif name in header:
            header.append(None)
            errors.append(
                RowError(
                    line,
                    name,
                    "csv.duplicate_column",
                    f"La colonne « {name} » apparaît deux fois dans l'en-tête.",
                    f"Column “{name}” appears twice in the header.",
                )
            )
        else:
            header.append(name)
    for name, required in columns.items():
        if required and name not in header:
            errors.append(
                RowError(
                    line,
                    name,
                    "csv.missing_column",
                    f"Colonne obligatoire « {name} » absente de l'en-tête (ligne {line}, "
                    "la première ligne non vide du fichier).",
                    f"Required column “{name}” missing from the header (line {line}, the "
                    "first non-empty line of the file).",
                )
            )
    return header


def _show(value: str, limit: int = 40) -> str:
    """A value as quoted in a message: invisible characters made visible, long ones cut."""
    shown = "".join(c if c.isprintable() else "\N{REPLACEMENT CHARACTER}" for c in value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _check_characters(row: _Row, column: str, value: str) -> None:
    if not bad_characters(value):
        return
    if "\n" in value or "\r" in value:
        row.error(
            column,
            "csv.bad_character",
            f"Retour à la ligne dans la colonne « {column} » : un guillemet (\") n'est sans "
            "doute pas fermé (cette ligne a pu avaler les suivantes).",
            f'Line break in column “{column}”: a quote (") is probably not closed (this row '
            "may have swallowed the next ones).",
        )
    else:
        row.error(
            column,
            "csv.bad_character",
            f"Caractère invisible ou de contrôle dans la colonne « {column} » : retapez la valeur.",
            f"Invisible or control character in column “{column}”: retype the value.",
        )


# Values -------------------------------------------------------------------------------------


def _text(row: _Row, column: str, max_len: int, *, required: bool = False) -> str:
    value = row.value(column)
    if value is None:
        return ""
    if not value:
        if required:
            row.error(
                column,
                "csv.required",
                f"La colonne « {column} » est obligatoire : elle est vide.",
                f"Column “{column}” is required: it is empty.",
            )
        return ""
    if len(value) > max_len:
        row.error(
            column,
            "csv.too_long",
            f"Colonne « {column} » : {len(value)} caractères, {max_len} au plus.",
            f"Column “{column}”: {len(value)} characters, at most {max_len}.",
        )
    return value


def _detainee_number(row: _Row) -> str:
    value = _text(row, "ecrou", NUMBER_MAX, required=True)
    if value and not row.failed("ecrou") and not is_detainee_number(value):
        row.error(
            "ecrou",
            "csv.bad_detainee_number",
            f"Numéro d'écrou « {_show(value)} » invalide : lettres et chiffres seulement, "
            "sans espace ni ponctuation.",
            f"Invalid detainee number “{_show(value)}”: letters and digits only, no space or "
            "punctuation.",
        )
    return value


def _access_code(row: _Row) -> str | None:
    value = row.value("code_acces")
    if not value:
        return None
    if not is_access_code(value):
        # Never quote the code itself: the report is shown on screen and may be logged.
        hint_fr = hint_en = ""
        if value.isascii() and value.isdigit():
            hint_fr = " (Excel supprime les zéros en tête : mettez la colonne au format Texte)"
            hint_en = " (Excel drops leading zeros: format the column as Text)"
        row.error(
            "code_acces",
            "csv.bad_code",
            f"Code d'accès invalide : 4 à 8 chiffres attendus{hint_fr}.",
            f"Invalid access code: 4 to 8 digits expected{hint_en}.",
        )
        return None
    return value


def _status(row: _Row, statuses: Mapping[str, str], default: str, accepted: str) -> str:
    value = row.value("statut")
    if not value:
        return default
    status = statuses.get(_fold(value))
    if status is None:
        row.error(
            "statut",
            "csv.bad_status",
            f"Statut « {_show(value)} » inconnu. Valeurs possibles : {accepted}, ou vide.",
            f"Unknown status “{_show(value)}”. Possible values: {accepted}, or empty.",
        )
        return default
    return status


def _boolean(row: _Row, column: str) -> bool:
    value = row.value(column)
    if not value:
        return False
    flag = _BOOLEANS.get(_fold(value))
    if flag is None:
        row.error(
            column,
            "csv.bad_boolean",
            f"Colonne « {column} » : « {_show(value)} » n'est pas oui ou non "
            "(oui/non, vrai/faux, 1/0, ou vide pour non).",
            f"Column “{column}”: “{_show(value)}” is not yes or no "
            "(yes/no, true/false, 1/0, or empty for no).",
        )
        return False
    return flag


def _date(row: _Row, column: str) -> date | None:
    value = row.value(column)
    if not value:
        return None
    if match := _DATE_FR.fullmatch(value):
        day, month, year = (int(part) for part in match.groups())
    elif match := _DATE_ISO.fullmatch(value):
        year, month, day = (int(part) for part in match.groups())
    else:
        day = month = year = 0  # date() refuses it below
    try:
        return date(year, month, day)
    except ValueError:
        row.error(
            column,
            "csv.bad_date",
            f"Colonne « {column} » : « {_show(value)} » n'est pas une date valide "
            "(JJ/MM/AAAA, par exemple 14/01/2025).",
            f"Column “{column}”: “{_show(value)}” is not a valid date "
            "(DD/MM/YYYY, for example 14/01/2025, or YYYY-MM-DD).",
        )
        return None


def _phone(row: _Row) -> str:
    value = _text(row, "telephone", 64, required=True)
    if not value or row.failed("telephone"):
        return ""
    try:
        return to_e164(value, region="FR")
    except DirectoryError:
        row.error(
            "telephone",
            "csv.bad_phone",
            f"Numéro de téléphone « {_show(value)} » invalide.",
            f"Invalid phone number “{_show(value)}”.",
        )
        return ""


def _amount(row: _Row) -> int:
    value = _text(row, "montant", 40, required=True)
    if not value or row.failed("montant"):
        return 0
    # Parsed as digits, never as float: 0.1 + 0.2 euros must be 30 cents.
    match = _AMOUNT.fullmatch(_CURRENCY.sub("", value))
    decimals = match.group(2) if match else None
    if match is None or (decimals is not None and len(decimals) > 2):
        if value.startswith("-"):
            why_fr, why_en = "il doit être positif", "it must be positive"
        elif decimals is not None:
            why_fr = "2 décimales au plus ; pour séparer les milliers, mettez une espace"
            why_en = "at most 2 decimals; to group thousands, use a space"
        else:
            why_fr, why_en = "nombre en euros attendu, par exemple 12,50", "euros, e.g. 12.50"
        _amount_error(row, value, why_fr, why_en)
        return 0
    euros = re.sub("[^0-9]", "", match.group(1))
    cents = int(euros) * 100 + int((decimals or "").ljust(2, "0"))
    if cents == 0:
        _amount_error(row, value, "il doit être positif", "it must be positive")
    elif cents > MAX_AMOUNT:
        limit = MAX_AMOUNT // 100
        _amount_error(row, value, f"{_fr(limit)} € au plus", f"at most €{limit:,}")
    return cents


def _amount_error(row: _Row, value: str, why_fr: str, why_en: str) -> None:
    row.error(
        "montant",
        "csv.bad_amount",
        f"Montant « {_show(value)} » invalide : {why_fr}.",
        f"Invalid amount “{_show(value)}”: {why_en}.",
    )


def _reference(row: _Row) -> str:
    value = _text(row, "reference", REFERENCE_MAX, required=True)
    if value and not row.failed("reference") and not _REFERENCE.fullmatch(value):
        row.error(
            "reference",
            "csv.bad_reference",
            f"Référence « {_show(value)} » invalide : lettres, chiffres et _ . : - seulement, "
            "sans espace.",
            f"Invalid reference “{_show(value)}”: letters, digits and _ . : - only, no space.",
        )
    return value


def _duplicate(
    row: _Row, seen: dict[object, int], key: object, column: str, fr: str, en: str
) -> None:
    first = seen.setdefault(key, row.line)
    if first != row.line:
        row.error(
            column,
            "csv.duplicate",
            f"{fr} apparaît déjà ligne {first}.",
            f"{en} already appears on line {first}.",
        )


# Rows ---------------------------------------------------------------------------------------


def _detainee(row: _Row, seen: dict[object, int]) -> DetaineeRow | None:
    number = _detainee_number(row)
    if number and not row.failed("ecrou"):
        _duplicate(row, seen, number, "ecrou", f"L'écrou « {number} »", f"Number “{number}”")
    detainee = DetaineeRow(
        line=row.line,
        number=number,
        last_name=_text(row, "nom", NAME_MAX, required=True),
        first_name=_text(row, "prenom", NAME_MAX, required=True),
        building=_text(row, "batiment", PLACE_MAX),
        floor=_text(row, "etage", PLACE_MAX),
        cell=_text(row, "cellule", PLACE_MAX),
        access_code=_access_code(row),
        status=_status(row, _DETAINEE_STATUSES, "active", "actif, suspendu, libéré"),
    )
    return detainee if row.ok else None


def _correspondent(row: _Row, seen: dict[object, int]) -> CorrespondentRow | None:
    number = _detainee_number(row)
    name = _text(row, "nom", NAME_MAX, required=True)
    phone = _phone(row)
    if number and phone and not row.failed("ecrou", "telephone"):
        _duplicate(
            row,
            seen,
            (number, phone),
            "telephone",
            f"Le numéro {phone} pour l'écrou « {number} »",
            f"Number {phone} for detainee “{number}”",
        )
    relationship = _text(row, "lien", NAME_MAX)
    minor = _boolean(row, "mineur")
    consent_by = _text(row, "consentement_par", NAME_MAX)
    consent_on = _date(row, "consentement_le")
    lawyer = _boolean(row, "avocat")
    status = _status(row, _CORRESPONDENT_STATUSES, "authorised", "autorisé, suspendu, retiré")
    _check_consent(row, minor, consent_by, consent_on)
    correspondent = CorrespondentRow(
        line=row.line,
        detainee=number,
        name=name,
        phone=phone,
        relationship=relationship,
        minor=minor,
        consent_by=consent_by,
        consent_on=consent_on,
        lawyer=lawyer,
        status=status,
    )
    return correspondent if row.ok else None


def _check_consent(row: _Row, minor: bool, by: str, on: date | None) -> None:
    if row.failed("mineur", "consentement_par", "consentement_le"):
        return  # already reported: a second message about the same cells would only confuse
    if not minor:
        if by or on:
            row.warn(
                "mineur",
                "csv.consent_not_minor",
                "Consentement parental indiqué pour un correspondant qui n'est pas marqué "
                "mineur : vérifiez la colonne « mineur ».",
                "Parental consent given for a correspondent not marked as a minor: check the "
                "“mineur” column.",
            )
    elif by and on is None:
        row.error(
            "consentement_le",
            "csv.consent_incomplete",
            "Consentement parental sans date : remplissez « consentement_le ».",
            "Parental consent without a date: fill in “consentement_le”.",
        )
    elif on is not None and not by:
        row.error(
            "consentement_par",
            "csv.consent_incomplete",
            "Date de consentement sans son auteur : remplissez « consentement_par ».",
            "Consent date without who gave it: fill in “consentement_par”.",
        )
    elif not by:
        row.warn(
            "consentement_par",
            "csv.consent_missing",
            "Mineur sans consentement parental : il sera enregistré, mais aucun appel ne "
            "pourra être réservé avec lui tant que le consentement n'est pas saisi.",
            "Minor without parental consent: recorded, but no call can be booked with them "
            "until the consent is entered.",
        )


def _credit(row: _Row, seen: dict[object, int]) -> CreditRow | None:
    number = _detainee_number(row)
    amount = _amount(row)
    reference = _reference(row)
    if reference and not row.failed("reference"):
        _duplicate(
            row,
            seen,
            reference,
            "reference",
            f"La référence « {reference} »",
            f"Reference “{reference}”",
        )
    credit = CreditRow(
        line=row.line,
        detainee=number,
        amount_cents=amount,
        reference=reference,
        label=_text(row, "libelle", LABEL_MAX),
    )
    return credit if row.ok else None
