"""The one table of reasons (gateway/core/reasons.py): every refusal the route table declares and
every reason the code can raise is declared there once, with its status and both languages; the
pages keep no copy of a server's refusal sentence."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gateway.core import reasons
from gateway.core.booking_rules import RefusalCode
from gateway.core.codes import Outcome
from gateway.core.reasons import FIELD, REASONS, lookup, sentence, sentences
from gateway.core.routes import ROUTE_TABLE
from gateway.http import models

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(ROOT / "gateway").rglob("*.py"), *(ROOT / "signaling").rglob("*.py")])
REASON = re.compile(r"^(?:[a-z][a-z_]*(?:\.[a-z0-9_]+)+|rate_limited)$")
PLACEHOLDER = re.compile(r"\{(\w+)\}")

# What takes a reason as one of its arguments: the refusals' exceptions and builders.
BUILDERS = {
    "DeskError", "LedgerError", "StaffError", "CallError", "BadRequest", "DirectoryError",
    "FieldError", "ClusterError", "ProtocolError", "CallStartDecision", "TextRefused",
    "refusal", "refuse", "_refuse", "answer", "error", "sentence", "sentences",
}  # fmt: skip


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _raised(path: Path) -> set[str]:
    """The reason literals of a module: arguments of a refusal builder, ``"reason"`` values of
    dict literals, strings a function returns, and the ledger's Lua ``err('…')``."""
    text = path.read_text(encoding="utf-8")
    found = set(re.findall(r"\berr\('([\w.]+)'", text))
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Call) and _name(node.func) in BUILDERS:
            args = [*node.args, *(k.value for k in node.keywords)]
            found |= {a.value for a in args if isinstance(a, ast.Constant)}
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "reason":
                    if isinstance(value, ast.Constant):
                        found.add(value.value)
        elif isinstance(node, ast.Return) and isinstance(node.value, ast.Constant):
            found.add(node.value.value)
    return {f for f in found if isinstance(f, str) and REASON.match(f)}


# Literals of that shape that are not refusals: SMS texts' keys, end-of-call reasons, and the
# problems of an import report (``csv.*``: the lines of a 200 answer, their own vocabulary in
# gateway/core/csv_import.py ERROR_REASONS, checked by tests/test_csv_import.py).
NOT_REASONS = re.compile(r"^(sms\.(status|failed|booking)\.|ended\.|quality\.|media\.|csv\.)")


def test_every_reason_the_code_raises_is_declared() -> None:
    raised: dict[str, str] = {}
    for path in SOURCES:
        for reason in _raised(path):
            raised.setdefault(reason, str(path.relative_to(ROOT)))
    raised.update({str(c): "RefusalCode" for c in RefusalCode})
    raised.update({str(o): "Outcome" for o in Outcome if o is not Outcome.ACCEPTED})
    for model in models.MODELS.values():
        raised.update({r: model.__name__ for r in model.REFUSED_AS.values()})
    undeclared = {
        reason: where
        for reason, where in raised.items()
        if not NOT_REASONS.match(reason) and reason not in REASONS
        and not reason.startswith("field.")
    }  # fmt: skip
    assert not undeclared, undeclared
    # The scan does see the refusals (a scan that finds nothing cannot fail).
    assert {"booking.not_cancellable", "ledger.refund_exceeds_charge", "staff.csrf"} <= set(raised)
    assert {"kiosk.unknown", "monitor.not_recorded", "signaling.malformed"} <= set(raised)


def test_every_route_refusal_is_declared_with_its_status() -> None:
    seen = 0
    for route in ROUTE_TABLE:
        declared = {status: list(rs) for status, rs in route.refusals.items()}
        model = models.MODELS.get(route.body)
        if model is not None:
            declared.setdefault(400, []).extend(models.field_reasons(model))
        for status, codes in declared.items():
            for code in codes:
                assert lookup(code).status == status, (route.method, route.path, code)
                seen += 1
    assert seen > 150


@pytest.mark.parametrize("code", sorted(REASONS))
def test_each_reason_speaks_both_languages(code: str) -> None:
    entry = REASONS[code]
    assert entry.status is None or 400 <= entry.status <= 599, code
    assert entry.doc and not entry.doc.endswith("."), code
    for fr, en in [(entry.fr, entry.en), *entry.variants.values()]:
        assert fr.strip() and en.strip() and fr != en, code
        # The same figures in both languages: neither sentence forgets a configured value.
        assert set(PLACEHOLDER.findall(fr)) == set(PLACEHOLDER.findall(en)), code


def test_field_reasons_are_a_family() -> None:
    assert lookup("field.first_name") is FIELD
    assert sentence("field.first_name") == "Champ « first_name » invalide."
    assert sentence("field.first_name", "en", "too_long", limit=40) == (
        "Field first_name too long: at most 40 characters."
    )
    # A field with its own constraint keeps the text rule's sentences too.
    assert sentences("field.number") == ("Numéro d'écrou invalide.", "Invalid prisoner number.")
    assert sentence("field.number", "fr", "required") == "Champ « number » obligatoire."
    with pytest.raises(KeyError, match="undeclared reason"):
        lookup("booking.no_such_reason")


def test_a_configured_figure_is_a_placeholder() -> None:
    # The code's validity is configurable: its sentence takes it, in both languages.
    assert "{minutes}" in REASONS["code.expired"].fr
    assert "7 minutes" in sentence("code.expired", "fr", minutes=7)
    assert "7 minutes" in sentence("code.expired", "en", minutes=7)
    day = {"fr": "lundi 2 mars 2026", "en": "Monday 2 March 2026"}
    assert sentence("booking.holiday", "en", date=day).startswith("Monday 2 March 2026 is")
    assert reasons.status("booking.too_late") == 409


# The pages' "reason.<code>" texts that are not copies of a server sentence: what the page says
# itself (no answer, a check the browser makes before asking, a refund's figure from `details`)
# and the WebSocket's close reasons (a close frame carries a code, no sentence).
PAGE_OWN = {
    "network", "server_error", "call.not_allowed", "join.malformed",
    "ledger.refund_exceeds_charge.details", "signaling.lost", "signaling.too_big",
    "signaling.bad_sdp", "signaling.malformed", "signaling.unauthorized",
    "signaling.unknown_type", "signaling.out_of_order", "signaling.taken_over",
}  # fmt: skip


def test_pages_keep_no_copy_of_a_refusal_sentence() -> None:
    copies = {}
    for path in sorted((ROOT / "web" / "static").glob("*.js")):
        text = path.read_text(encoding="utf-8")
        for code in re.findall(r"['\"]reason\.([a-z0-9_.]+)['\"]\s*:", text):
            if code not in PAGE_OWN:
                copies.setdefault(path.name, set()).add(code)
    assert not copies, copies
