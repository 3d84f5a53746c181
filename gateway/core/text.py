"""The one rule for every human text the gateway stores (names, reasons, comments, labels), and
the one rule for writing any text into a spreadsheet cell.

A stored text is Unicode NFC, holds no control (Cc) or format (Cf) character — bidi overrides
and isolates, zero-width spaces, the BOM, NUL, line breaks — nor a line or paragraph separator
(U+2028/9, line breaks too) or a lone surrogate (no UTF-8 for it: Redis, a PDF or a CSV cannot
take it; a command-line argument that is not UTF-8 arrives as one), and is trimmed. Two Cf
characters are kept because languages need them in ordinary spelling: ZERO WIDTH NON-JOINER (U+200C:
Persian, Kurdish, Hindi) and ZERO WIDTH JOINER (U+200D: Sinhala, Malayalam, Devanagari
conjuncts); neither reorders text. Sans-IO: the rule returns the clean text or raises
:class:`TextRefused`, which the HTTP layer turns into ``field.<name>``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from gateway.core.reasons import text_rule

__all__ = ["KEPT_FORMAT", "TextRefused", "bad_characters", "clean", "is_clean", "spreadsheet_cell"]

KEPT_FORMAT = frozenset("\u200c\u200d")  # ZWNJ, ZWJ: needed by some scripts' spelling

_BREAKS = re.compile("[\r\n\t\v\f\x85\u2028\u2029]+")
_REFUSED = frozenset(("Cc", "Cs", "Zl", "Zp"))  # and Cf, but for KEPT_FORMAT

# OWASP's CSV injection rule: a cell starting with one of these is read as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class TextRefused(ValueError):
    """A text broke the rule: ``field.<name>`` and the sentence to show."""

    name: str
    why: str  # "invalid", "required", "too_long", "characters"
    fr: str
    en: str

    @property
    def reason(self) -> str:
        return f"field.{self.name}"

    def __str__(self) -> str:
        return self.reason


def bad_characters(value: str) -> list[str]:
    """The characters of ``value`` the rule refuses (Cc, Cs, Zl, Zp, and Cf other than
    ZWNJ/ZWJ)."""
    if value.isprintable():  # fast path: none of those in printable text
        return []
    return [
        c for c in value
        if (cat := unicodedata.category(c)) in _REFUSED or (cat == "Cf" and c not in KEPT_FORMAT)
    ]  # fmt: skip


def clean(
    value: object, name: str, *, required: bool = True, limit: int = 100, lines: bool = False
) -> str:
    """``value`` as stored: NFC, trimmed; refused if not a string, holding a Cc/Cf character,
    longer than ``limit`` or (when ``required``) empty. ``None`` counts as empty. With
    ``lines`` (a reason or comment typed in a multi-line box) line breaks and tabs become one
    space each run, rather than a refusal: the stored text still has no control character."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise TextRefused(name, "invalid", *text_rule(name, "invalid"))
    if lines:
        value = _BREAKS.sub(" ", value)
    if bad_characters(value):
        raise TextRefused(name, "characters", *text_rule(name, "characters"))
    value = unicodedata.normalize("NFC", value).strip()
    if len(value) > limit:
        raise TextRefused(name, "too_long", *text_rule(name, "too_long", limit=limit))
    if required and not value:
        raise TextRefused(name, "required", *text_rule(name, "required"))
    return value


def is_clean(value: str) -> bool:
    """Whether a stored text already follows the rule (what ``check-texts`` reports)."""
    return (
        not bad_characters(value)
        and unicodedata.is_normalized("NFC", value)
        and value == value.strip()
    )


def spreadsheet_cell(value: str) -> str:
    """``value`` safe in a CSV cell a spreadsheet opens: a leading formula character gets a
    ``'`` in front (OWASP), so the cell shows the text literally. Use it on text columns only:
    numeric columns are written by the program (negative amounts keep their ``-``)."""
    return "'" + value if value.startswith(FORMULA_START) else value
