"""The segment counter and SMPP's rules (sans-IO): GSM-7 with its extension table, UCS-2."""

from __future__ import annotations

from gateway.core import sms_text
from gateway.core.smpp_rules import outcome_of_status, parse_receipt
from gateway.core.sms_text import segments


def test_gsm7_counts_septets_and_extension_characters_twice() -> None:
    assert segments("a" * 160) == sms_text.Segments("gsm7", 160, 1)
    assert segments("a" * 161).count == 2
    assert segments("a" * 306).count == 2 and segments("a" * 307).count == 3
    assert segments("€" * 80) == sms_text.Segments("gsm7", 160, 1)
    assert segments("€" * 81).count == 2
    assert segments("Rendez-vous à 14h, numéro é è ù à § ¿").encoding == "gsm7"


def test_an_extension_character_is_never_cut_between_two_parts() -> None:
    text = "a" * 152 + "€" + "b" * 10
    encoding, parts = sms_text.split(text)
    assert encoding == "gsm7" and len(parts) == 2
    assert parts[0] == b"a" * 152 and parts[1].startswith(b"\x1b\x65")
    assert sms_text.decode(b"".join(parts), 0) == text


def test_one_character_outside_gsm7_makes_the_whole_text_ucs2() -> None:
    for ch in "çêôî😀":
        assert segments(f"Parloir {ch}").encoding == "ucs2"
    assert segments("ç" * 70) == sms_text.Segments("ucs2", 70, 1)
    assert segments("ç" * 71).count == 2
    emoji = "x" * 66 + "😀" + "y" * 5  # the pair would straddle unit 67: it moves whole
    _, parts = sms_text.split(emoji)
    assert len(parts[0]) == 66 * 2 and sms_text.decode(b"".join(parts), 8) == emoji


def test_concatenation_headers() -> None:
    parts = sms_text.concatenated([b"ab", b"cd"], 0x1FF)
    assert parts == [b"\x05\x00\x03\xff\x02\x01ab", b"\x05\x00\x03\xff\x02\x02cd"]
    assert sms_text.concatenated([b"ab"], 7) == [b"ab"]


def test_smpp_statuses_and_receipts() -> None:
    assert outcome_of_status(0, "m1").kind == "sent"
    assert outcome_of_status(0x0B).reason == "sms.unreachable"
    assert outcome_of_status(0x0B).kind == "permanent"
    assert (outcome_of_status(0x58).kind, outcome_of_status(0x58).reason) == (
        "transient", "sms.throttled")  # fmt: skip
    assert outcome_of_status(0x08).kind == "transient"
    assert outcome_of_status(0x45).kind == "transient"
    text = "id:ab12 sub:001 dlvrd:001 submit date:2612031200 done date:2612031201 stat:DELIVRD"
    assert parse_receipt(text).message_id == "ab12"
    assert parse_receipt(text).status == "delivered"
    assert parse_receipt(text.replace("DELIVRD", "UNDELIV")).status == "failed"
    assert parse_receipt(text.replace("DELIVRD", "ACCEPTD")).status == ""
    assert parse_receipt("", receipted_id="zz", message_state=2).message_id == "zz"


def test_the_code_sms_is_one_segment_with_a_long_address() -> None:
    from gateway.core.i18n import message

    url = "https://visio.etablissement.example.fr/join?appel=AbCdEfGhIjKl"
    assert len(url) == 62
    for lang in ("fr", "en"):
        text = message("sms.code", lang).format(code="123456", minutes=5, url=url)
        assert segments(text) == sms_text.Segments("gsm7", len(text), 1), text
