"""Issue 19: one text rule for every stored human text, spreadsheet cells that cannot become
formulas, names printed literally. The probe's exact requests, and a property over the rule."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
import time
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import pypdf
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway.cli import broken_texts_in
from gateway.core.receipt_pdf import FONT_PATH, ReceiptData, render_receipt
from gateway.core.roles import Role
from gateway.core.statements import StatementLine, statement_csv
from gateway.core.text import KEPT_FORMAT, TextRefused, clean, is_clean, spreadsheet_cell
from gateway.http import appkeys as keys
from gateway.store.directory import Detainee, Directory, DirectoryError, hash_access_code
from gateway.store.ledger import Ledger
from gateway.store.sanctions import DetaineeSanctions, Sanctions
from gateway.store.staff import StaffAccounts
from recorder.audit import AuditEntry, audit_csv
from recorder.store import RecordingStore
from tests.callkit import seeded
from tests.staffkit import staff_http

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PARIS = ZoneInfo("Europe/Paris")
FORMULA = '=HYPERLINK("http://x","y")'


def read_back(data: bytes) -> list[list[str]]:
    """The CSV as a spreadsheet program's importer reads it: BOM, ``;``."""
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


# --- The rule itself ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["a\r\nb;c\"d\u202e", "Jean\x00", "\ufeff", "\u200b", "Ali\u2066ce", "x\ty", "\u202eNIRAM",
     "Ma\u2028rie", "Jo\u2029", "Ren\udcc3"],  # line/paragraph separators, a lone surrogate
)
def test_control_and_format_characters_are_refused(raw: str) -> None:
    with pytest.raises(TextRefused) as refused:
        clean(raw, "last_name")
    assert refused.value.reason == "field.last_name"
    assert "invisible" in refused.value.fr and "invisible" in refused.value.en


def test_the_rule_normalises_trims_and_keeps_what_languages_need() -> None:
    assert clean("  He\u0301le\u0300ne ", "first_name") == "Hélène"  # NFD typed -> NFC stored
    assert clean("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "name")  # Persian ZWNJ
    assert clean(FORMULA, "first_name") == FORMULA  # a formula is text: neutralised on export
    with pytest.raises(TextRefused) as refused:
        clean("   ", "first_name")
    assert refused.value.why == "required"
    assert clean("", "cell", required=False) == ""
    with pytest.raises(TextRefused):
        clean("x" * 101, "first_name")
    with pytest.raises(TextRefused):
        clean(12, "first_name")
    # Multi-line boxes (reasons, comments): line breaks fold into spaces, bidi is still refused.
    assert clean("Transfert\r\nvers Fresnes", "reason", lines=True) == "Transfert vers Fresnes"
    with pytest.raises(TextRefused):
        clean("Transfert \u202e", "reason", lines=True)


@given(st.text(max_size=40))
def test_whatever_is_accepted_is_clean_and_stable(raw: str) -> None:
    try:
        value = clean(raw, "name", required=False)
    except TextRefused:
        return
    assert is_clean(value) and clean(value, "name", required=False) == value
    assert not [c for c in value if unicodedata.category(c) == "Cc"]
    assert not [c for c in value if unicodedata.category(c) == "Cf" and c not in KEPT_FORMAT]


# --- Exports: spreadsheet cells, PDFs -----------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_statement_csv_neutralises_formula_cells_but_not_amounts(start: str) -> None:
    label = start + "SUM(A1:A9)"
    line = StatementLine(
        at=datetime(2026, 12, 7, 9, 0, tzinfo=PARIS), kind="refund", label=label,
        connected_seconds=0, billed_minutes=0, tariff="hors_forfait", rate=0, fee=0,
        amount=-914, reference="-ref",
    )  # fmt: skip
    rows = read_back(statement_csv([line]))
    header, row = rows[0], rows[1]
    cell = dict(zip(header, row, strict=True))
    assert cell["libelle"] == "'" + label  # shown literally, never evaluated
    assert cell["reference"] == "'-ref"
    # A program-written amount keeps its sign: a spreadsheet reads "-9,14" as a number.
    assert cell["montant_eur"] == "-9,14"


def test_audit_csv_neutralises_formula_cells() -> None:
    entry = AuditEntry(id="1-0", at=1_765_000_000.0, actor=FORMULA, action="detainee.save",
                       target="@cmd", details={"why": "+1"})  # fmt: skip
    row = read_back(audit_csv([entry]))[1]
    assert row[2] == "'" + FORMULA and row[4] == "'@cmd"


def receipt(name: str) -> ReceiptData:
    return ReceiptData(
        number="2026-000123", establishment="Centre pénitentiaire de Demo",
        detainee_number="123456", detainee_name=name, location="Bât. A",
        correspondent_name="MARTIN Sophie", correspondent_relationship="Épouse",
        correspondent_phone="+33 6 •• •• •• 78",
        start=datetime(2026, 12, 7, 8, 30, tzinfo=PARIS),
        end=datetime(2026, 12, 7, 9, 15, tzinfo=PARIS), room="Salle 1", kiosk="kiosk-1",
        booked_by="Agent", booked_at=datetime(2026, 11, 30, 14, 5, tzinfo=PARIS),
    )  # fmt: skip


def pdf_text(name: str) -> str:
    pdf = render_receipt(receipt(name), "fr")
    return pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def test_receipt_prints_a_formula_name_literally() -> None:
    assert FORMULA in pdf_text(FORMULA)


# Names as people have them: letters of the scripts DejaVu covers, the punctuation of names
# and of the probe's formulas, single spaces (the PDF lays out text; runs of spaces fold).
_NAME_CHARS = st.characters(
    categories=("Lu", "Ll"), max_codepoint=0x24F
) | st.sampled_from("=+-@'\";,.()")
NAMES = st.lists(st.text(_NAME_CHARS, min_size=1, max_size=10), min_size=1, max_size=3).map(
    " ".join
)


@pytest.mark.skipif(not FONT_PATH.is_file(), reason="DejaVu Sans is not installed")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NAMES)
def test_accepted_names_round_trip_through_csv_and_pdf(raw: str) -> None:
    name = clean(raw, "name")
    assert name == unicodedata.normalize("NFC", raw)
    line = StatementLine(
        at=datetime(2026, 12, 7, 9, 0, tzinfo=PARIS), kind="call", label=name,
        connected_seconds=60, billed_minutes=1, tariff="hors_forfait", rate=10, fee=0,
        amount=-10, reference="r1",
    )  # fmt: skip
    cell = read_back(statement_csv([line]))[1][3]
    neutralised = name.startswith(("=", "+", "-", "@"))
    assert cell == ("'" + name if neutralised else name) == spreadsheet_cell(name)
    assert name in pdf_text(name)


# --- Over HTTP: the probe's exact requests ------------------------------------------------


async def save(http: aiohttp.ClientSession, base: str, **names: str) -> tuple[int, dict]:
    payload = {"number": "190001", "access_code": "1234", "first_name": "Jean",
               "last_name": "Martin", **names}  # fmt: skip
    async with http.post(f"{base}/api/desk/detainees", json=payload) as resp:
        return resp.status, await resp.json()


async def test_probe_requests_are_refused_or_neutralised(gateway_factory) -> None:
    gw = await gateway_factory()
    base = gw.base_url
    async with staff_http(gw) as http:
        for field, raw in (
            ("last_name", 'a\r\nb;c"d\u202e'),
            ("first_name", "Jean\x00"),
            ("first_name", "\ufeff"),
            ("last_name", "\u200b"),
        ):
            status, refused = await save(http, base, **{field: raw})
            assert (status, refused["reason"]) == (400, f"field.{field}"), raw
            assert "«" in refused["message"]
            async with http.post(f"{base}/api/desk/detainees?lang=en",
                                 json={"number": "190001", "access_code": "1234",
                                       "first_name": "J", "last_name": raw}) as resp:  # fmt: skip
                assert (await resp.json())["message"].isascii()
        assert await gw.app[keys.DIRECTORY].detainee("190001") is None  # nothing stored
        # The formula is a text like any other: stored as typed, returned unchanged by the JSON
        # API, printed literally, neutralised in spreadsheets (tested above).
        status, saved = await save(http, base, first_name=FORMULA, last_name="Martin")
        assert status == 201, saved
        async with http.get(f"{base}/api/desk/detainees/190001") as resp:
            assert (await resp.json())["detainee"]["first_name"] == FORMULA
        # The answer names no software version.
        async with http.get(f"{base}/api/desk/detainees/190001") as resp:
            assert resp.headers.get("Server") == "Parloir"
        async with http.get(f"{base}/no-such-page") as resp:
            assert resp.headers.get("Server") == "Parloir"


async def test_store_refuses_broken_text_and_check_reports_old_records(gateway_factory) -> None:
    gw = await gateway_factory()
    directory = gw.app[keys.DIRECTORY]
    good = Detainee(number="190002", first_name="Jean", last_name="Martin",
                    code_hash=hash_access_code("1234"))  # fmt: skip
    with pytest.raises(DirectoryError) as refused:
        await directory.put_detainee(replace(good, last_name="\u202eNITRAM"))
    assert refused.value.reason == "field.last_name"
    await directory.put_detainee(good)
    # A record from before the rule, written straight into Redis: reported, not changed.
    redis = gw.app[keys.REDIS]
    await redis.hset("parloir:detainee:190002", "last_name", "Mar\u200btin")
    found = await broken_texts_in(redis)
    assert found == [{"record": "detainee:190002", "field": "last_name",
                      "value": ascii("Mar\u200btin")}]  # fmt: skip
    assert (await directory.detainee("190002")).last_name == "Mar\u200btin"


async def test_csv_import_applies_the_same_rule(gateway_factory) -> None:
    gw = await gateway_factory()
    data = ("ecrou;nom;prenom;code_acces\r\n"
            "190003;Mart\u202ein;Jean;1234\r\n"
            "190004;Dupre\u0301;Anne;1234\r\n").encode()  # fmt: skip
    async with staff_http(gw) as http:
        async with http.post(f"{gw.base_url}/api/desk/import/detainees?dry_run=1", data=data,
                             headers={"Content-Type": "text/csv"}) as resp:  # fmt: skip
            report = await resp.json()
    assert [(e["line"], e["reason"]) for e in report["errors"]] == [(2, "csv.bad_character")]


# --- Every store applies the rule itself (the last line, whoever calls) -------------------

BIDI = "Vol \u202eetirdnoc"  # a right-to-left override: reads reversed to a guard


async def snapshot(redis: aioredis.Redis, pattern: str) -> dict[str, object]:
    """What Redis holds under ``pattern``, to show that a refusal wrote nothing."""
    found: dict[str, object] = {}
    async for key in redis.scan_iter(match=pattern):
        kind = await redis.type(key)
        found[key] = (
            await redis.hgetall(key) if kind == "hash"
            else await redis.xrange(key) if kind == "stream"
            else await redis.smembers(key) if kind == "set"
            else await redis.get(key) if kind == "string" else kind
        )  # fmt: skip
    return found


async def test_staff_cli_refuses_a_name_with_a_direction_override(redis_url, redis) -> None:
    """``staff create-admin --name`` with a bidi override: field.name, no account stored."""
    env = {**os.environ, "REDIS_URL": redis_url}
    for name in (BIDI, "Jean\x00", "\ufeff"):
        made = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "gateway", "staff", "create-admin", "--login", "dupont",
             "--name", name.replace("\x00", "\x01"), "--password-stdin"],
            input="correct horse battery\n", capture_output=True, text=True, env=env, cwd=ROOT,
            timeout=60,
        )  # fmt: skip
        assert made.returncode == 1 and "field.name" in made.stderr, made.stderr
        assert "invisible" in made.stderr  # the French sentence, not a traceback
    assert await snapshot(redis, "parloir:staff*") == {}
    # The same store behind the admin API and the demo: refused there too, nothing written.
    accounts = StaffAccounts(redis)
    with pytest.raises(TextRefused) as refused:
        await accounts.create("dupont", BIDI, [Role.ADMIN], "correct horse battery", "t", 0.0)
    assert refused.value.reason == "field.name"
    member = await accounts.create("dupont", " M.  Dupont ", [Role.ADMIN], "x" * 12, "t", 0.0)
    assert member.name == "M. Dupont"
    with pytest.raises(TextRefused):
        await accounts.update("dupont", name="Du\u200bpont")
    assert (await accounts.get("dupont")).name == "M. Dupont"


async def test_sanction_and_recording_stores_refuse_broken_texts(redis) -> None:
    numbers, detainees = Sanctions(redis), DetaineeSanctions(redis)
    recordings = RecordingStore(redis)
    await recordings.started("call-1", 1.0, booking="bk-1")
    before = await snapshot(redis, "parloir:*")
    for write, field in (
        (lambda: numbers.sanction_number("+33612345678", 0, 9, BIDI, "dir"), "reason"),
        (lambda: detainees.sanction("190001", "video", 0, 9, "\u200b", "dir"), "reason"),
        (lambda: recordings.flag("call-1", 1.0, "surv", "Insulte\u2066 x"), "comment"),
        (lambda: recordings.flag("call-1", 1.0, "surv", " \n "), "comment"),
        (lambda: recordings.set_hold("call-1", True, "dir", "Plainte\x00"), "reason"),
    ):
        with pytest.raises(TextRefused) as refused:
            await write()
        assert refused.value.reason == f"field.{field}"
    assert await snapshot(redis, "parloir:*") == before  # nothing written
    # What the API would store: line breaks of a multi-line box fold, the text is NFC.
    typed = "Menaces\r\nre\u0301pe\u0301te\u0301es"  # two lines, accents typed decomposed
    await numbers.sanction_number("+33612345678", 0, 9, typed, "d")
    assert (await numbers.number("+33612345678")).reason == "Menaces répétées"
    await recordings.flag("call-1", 1.0, "surv", " Insulte ")
    assert [f.comment for f in await recordings.flags("call-1")] == ["Insulte"]


async def test_booking_and_ledger_stores_refuse_broken_reasons(gateway_factory) -> None:
    gw = await gateway_factory()
    demo = await seeded(gw)
    redis, desk, ledger = gw.app[keys.REDIS], gw.app[keys.DESK], gw.app[keys.LEDGER]
    watched = f"parloir:booking:{demo['booking']}*"
    before = await snapshot(redis, watched), await ledger.entries(demo["detainee"])
    with pytest.raises(TextRefused) as refused:
        await desk.cancel(demo["booking"], "Agent", BIDI, time.time())
    assert refused.value.reason == "field.reason"
    with pytest.raises(TextRefused) as refused:  # before the hold grows: no money moves
        await desk.extend(demo["booking"], 3600, "Directrice", "Parloir\u200b", time.time())
    assert refused.value.reason == "field.reason"
    with pytest.raises(TextRefused) as refused:
        await ledger.refund(demo["detainee"], "call-x", 100, "direction:d", "\u202e", "ref-1",
                            int(time.time() * 1000))  # fmt: skip
    assert refused.value.reason == "field.reason"
    assert (await snapshot(redis, watched), await ledger.entries(demo["detainee"])) == before


async def test_check_texts_reports_every_kind_of_stored_text_and_changes_nothing(
    redis_url, redis
) -> None:
    """Records written straight into Redis (from before the rule, or around the stores): the
    check lists each broken text, by record and field, and writes nothing."""
    await Directory(redis).put_detainee(
        Detainee(number="190005", first_name="Jean", last_name="Martin",
                 code_hash=hash_access_code("1234"))
    )  # fmt: skip
    await StaffAccounts(redis).create("leroy", "A. Leroy", [Role.FLOOR], "x" * 12, "t", 0.0)
    ledger = Ledger(redis)
    await ledger.credit("190005", 500, "regie", "c-1", 1)
    await Sanctions(redis).sanction_number("+33612345678", 0, 9, "Menaces", "dir")
    await DetaineeSanctions(redis).sanction("190005", "video", 0, 9, "Incident", "dir")
    await RecordingStore(redis).started("call-1", 1.0, booking="bk-1")
    await RecordingStore(redis).flag("call-1", 1.0, "surv", "Insulte")  # clean: not reported
    # Now the broken ones, around every store.
    await redis.hset("parloir:staff:leroy", "name", "A. Le\u202eroy")
    refund = await redis.xadd(ledger.ledger_key("190005"), {
        "kind": "refund", "amount": "100", "actor": "direction:x", "ref": "call-1",
        "idem": "r-1", "at": "2", "balance_after": "600", "held_after": "0",
        "reason": "Coupure\u200b"})  # fmt: skip
    await redis.hset("parloir:sanction:phone:+33612345678", "reason", "Menaces\r\n")
    await redis.hset("parloir:sanction:detainee:190005", "reason", "Inci\u2066dent")
    await redis.hset("parloir:booking:bk-1", mapping={
        "cancel_reason": "\ufeffTransfert", "extension_reason": " Audience"})  # fmt: skip
    await redis.zadd("parloir:bookings", {"bk-1": 1.0})
    await redis.hset("parloir:recording:call-1", "hold_reason", "Plainte\x00")
    flag = await redis.xadd("parloir:call:call-9:flags", {"at": "1", "by": "s", "comment": "a\x07"})
    before = await snapshot(redis, "parloir:*")
    found = await broken_texts_in(redis)
    assert sorted((f["record"], f["field"], f["value"]) for f in found) == sorted([
        ("staff:leroy", "name", ascii("A. Le\u202eroy")),
        (f"ledger:190005:{refund}", "reason", ascii("Coupure\u200b")),
        ("sanction:phone:+33612345678", "reason", ascii("Menaces\r\n")),
        ("sanction:detainee:190005", "reason", ascii("Inci\u2066dent")),
        ("booking:bk-1", "cancel_reason", ascii("\ufeffTransfert")),
        ("booking:bk-1", "extension_reason", ascii(" Audience")),
        ("recording:call-1", "hold_reason", ascii("Plainte\x00")),
        (f"flag:call-9:{flag}", "comment", ascii("a\x07")),
    ])  # fmt: skip
    assert await snapshot(redis, "parloir:*") == before  # read-only
    # The command itself: the same list as JSON, exit 1.
    env = {**os.environ, "REDIS_URL": redis_url}
    run = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "gateway", "check-texts"], capture_output=True,
        text=True, env=env, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert json.loads(run.stdout)["broken"] == found
    assert await snapshot(redis, "parloir:*") == before


# --- The property over the JSON API, with any Unicode ------------------------------------

# Any code point but a lone surrogate (JSON carries one only as an escape, refused before any
# field as request.malformed: tests/test_fuzz.py), with a fair share of what the rule is about.
WIDE_CHARS = st.one_of(
    st.characters(codec="utf-8"),  # every category: Cc, Cf, Zl, Mn, unassigned...
    st.characters(min_codepoint=0x10000, codec="utf-8"),  # astral: emoji, historic scripts
    st.characters(categories=("Mn", "Me", "Mc")),  # combining marks (NFC composes some)
    st.characters(categories=("Cc", "Cf", "Zl", "Zp", "Zs")),
    st.sampled_from(list("\u202e\u2066\u200b\u200c\u200d\ufeff\x00\r\n\t =+-@\u0301\U0001f600")),
)
WIDE_TEXTS = st.text(WIDE_CHARS, max_size=24) | st.text(WIDE_CHARS, min_size=95, max_size=110)


def expected(raw: str, limit: int = 100) -> str | None:
    """The rule written out again, apart from its code: the stored text, or None if refused."""
    kinds = {unicodedata.category(c) for c in raw.replace("\u200c", "").replace("\u200d", "")}
    if kinds & {"Cc", "Cf", "Cs", "Zl", "Zp"}:
        return None
    stored = unicodedata.normalize("NFC", raw).strip()
    return stored if 0 < len(stored) <= limit else None


@pytest.fixture
async def desk(gateway_factory) -> AsyncIterator[tuple[str, aiohttp.ClientSession, str]]:
    """One gateway for all the examples: a detainee and a correspondent to rename."""
    gw = await gateway_factory()
    async with staff_http(gw) as http:
        status, _ = await save(http, gw.base_url, number="190020")
        assert status == 201
        url = f"{gw.base_url}/api/desk/detainees/190020/correspondents"
        async with http.post(url, json={"name": "Sophie Martin", "phone": "0612345678"}) as resp:
            assert resp.status == 201
            cid = (await resp.json())["id"]
        yield gw.base_url, http, cid


async def people(http: aiohttp.ClientSession, base: str) -> dict:
    async with http.get(f"{base}/api/desk/detainees/190020") as resp:
        assert resp.status == 200
        return await resp.json()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=WIDE_TEXTS, target=st.sampled_from(["detainee", "correspondent"]))
async def test_any_unicode_through_the_json_api(desk, raw: str, target: str) -> None:
    """Accepted: read back NFC-equal (no Cc/Cf), and the statement CSV cell shows it; refused:
    400 field.<name>, and the file reads exactly as before."""
    base, http, cid = desk
    before = await people(http, base)
    if target == "detainee":
        field, url = "last_name", f"{base}/api/desk/detainees"
        payload = {"number": "190020", "first_name": "Jean", "last_name": raw}
    else:
        field, url = "name", f"{base}/api/desk/correspondents/{cid}"
        payload = {"name": raw, "phone": "0612345678"}
    async with http.post(url, json=payload) as resp:
        status, answer = resp.status, await resp.json()
    after = await people(http, base)
    stored = expected(raw)
    event("refused" if stored is None else "accepted")
    if stored is None:
        assert (status, answer["reason"]) == (400, f"field.{field}"), (ascii(raw), answer)
        assert after == before  # nothing changed
        return
    assert status == 200, (ascii(raw), answer)
    got = (after["detainee"]["last_name"] if target == "detainee"
           else next(c["name"] for c in after["correspondents"] if c["id"] == cid))  # fmt: skip
    assert got == stored == unicodedata.normalize("NFC", got)
    assert not [c for c in got if unicodedata.category(c) in ("Cc", "Cs")
                or (unicodedata.category(c) == "Cf" and c not in KEPT_FORMAT)]  # fmt: skip
    line = StatementLine(
        at=datetime(2026, 12, 7, 9, 0, tzinfo=PARIS), kind="call", label=got,
        connected_seconds=60, billed_minutes=1, tariff="hors_forfait", rate=10, fee=0,
        amount=-10, reference="r1",
    )  # fmt: skip
    assert read_back(statement_csv([line]))[1][3] == spreadsheet_cell(got)
