"""The request models refuse as the handlers did before them: same reason, same sentence.

Sans-IO: a body in, the model or its first refusal out. The API's own answers are checked by
tests/test_fuzz.py (what the document refuses, the API refuses) and the endpoints' tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.core.roles import Role
from gateway.core.routes import ROUTE_TABLE
from gateway.http import models
from gateway.http.models import FieldError, validate


def refusal(model: type[models.Body], body: Any) -> tuple[str, str]:
    with pytest.raises(FieldError) as caught:
        validate(model, body)
    return caught.value.reason, caught.value.fr


def test_every_body_of_the_table_is_a_model() -> None:
    named = {route.body for route in ROUTE_TABLE if route.body}
    assert named == set(models.MODELS)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"rules_accepted": True}, "join.malformed"),
        ({"code": 123456, "rules_accepted": True}, "join.malformed"),
        ({"code": "123456", "ref": 3, "rules_accepted": True}, "join.malformed"),
        ({"code": "123456"}, "join.rules_not_accepted"),
        ({"code": "123456", "rules_accepted": 1}, "join.rules_not_accepted"),
        ({"code": "123456", "rules_accepted": "true"}, "join.rules_not_accepted"),
        # the first wrong field wins, as the handler checked them
        ({"code": None, "rules_accepted": False}, "join.malformed"),
    ],
)
def test_join_refusals(body: dict[str, Any], reason: str) -> None:
    assert refusal(models.JoinRequest, body)[0] == reason


def test_join_reads_what_it_did() -> None:
    given = validate(models.JoinRequest, {"code": " 12 34 56", "rules_accepted": True,
                                          "lang": {"any": "thing"}, "guard": "x"})  # fmt: skip
    assert (given.code, given.ref) == (" 12 34 56", None)  # the handler trims it
    assert validate(models.JoinRequest, {"code": "1", "ref": None, "rules_accepted": True})


@pytest.mark.parametrize("body", [{}, {"detainee": "", "access_code": "1234"},
                                  {"detainee": "100042", "access_code": 1234}])  # fmt: skip
def test_kiosk_login_refusals(body: dict[str, Any]) -> None:
    assert refusal(models.KioskLoginRequest, body)[0] == "join.malformed"
    # too long is the handler's 401, not a malformed body
    long = {"detainee": "1" * 40, "access_code": "2" * 70}
    assert validate(models.KioskLoginRequest, long).detainee == "1" * 40


def test_staff_account_refusals() -> None:
    base = {"login": "marie", "name": "Marie", "roles": ["regie"], "password": "x" * 12}
    create = models.StaffCreateRequest
    assert validate(create, base).roles == [Role("regie")]
    for roles in ("regie", ["regie", "nope"], [1], None, ["regie"] * 7):
        assert refusal(create, {**base, "roles": roles})[0] == "staff.bad_role"
    assert refusal(create, {**base, "password": None})[0] == "staff.weak_password"
    del base["password"]
    assert refusal(create, base)[0] == "staff.weak_password"
    # no roles: the store's staff.no_role, as before
    assert validate(create, {"login": "a", "name": "b", "password": "p"}).roles is None
    update = models.StaffUpdateRequest
    assert validate(update, {}) == update()
    assert refusal(update, {"active": None}) == ("field.active", "Champ « active » invalide.")
    assert refusal(update, {"name": None})[0] == "field.name"
    assert refusal(update, {"password": 5})[0] == "staff.weak_password"
    assert refusal(update, {"roles": None})[0] == "staff.bad_role"


def test_sentences_of_before() -> None:
    assert refusal(models.WatchRequest, {}) == ("field.sdp", "Offre SDP invalide.")
    assert refusal(models.WatchRequest, {"sdp": "v" * 60_001})[0] == "field.sdp"
    login = models.StaffLoginRequest
    assert refusal(login, {"login": "a"}) == ("field.password", "Mot de passe obligatoire.")
    assert refusal(login, {"login": "a", "password": ""})[0] == "field.password"
    malformed = ("request.malformed", "Requête illisible.")
    assert refusal(models.PasswordRequest, {"current": 1, "new": "n"}) == malformed
    assert refusal(models.PasswordRequest, {"current": "c"}) == malformed
    assert validate(models.PasswordRequest, {"current": "c", "new": "short"}).new == "short"
    sanction = models.DetaineeSanctionRequest
    assert refusal(sanction, {"reason": "r", "scope": "tv"}) == (
        "field.scope", "Portée invalide (video ou phone).")  # fmt: skip
    assert refusal(sanction, {"reason": "r"})[0] == "field.scope"
    assert refusal(sanction, {"reason": "r", "scope": "video", "from": "2026\u200b"})[0] == (
        "field.from"
    )
    given = validate(sanction, {"reason": "a\nb", "scope": " phone ", "from": "2026-03-05"})
    assert (given.reason, given.scope, given.since, given.until) == (
        "a b", "phone", "2026-03-05", "")  # fmt: skip
    assert refusal(models.HoldRequest, {"reason": "r", "held": "yes"})[0] == "field.held"
    assert validate(models.HoldRequest, {"reason": "r"}).held is True
    assert refusal(models.KioskEnrolRequest, {"code": "x" * 33})[0] == "field.code"
    assert validate(models.FlagRequest, {"comment": "c", "at": "soon"}).at == "soon"


def test_documented_refusals_are_the_models() -> None:
    assert models.field_reasons(models.JoinRequest) == ["join.malformed",
                                                        "join.rules_not_accepted"]  # fmt: skip
    assert models.field_reasons(models.StaffUpdateRequest) == [
        "staff.bad_role", "field.active", "field.name", "staff.weak_password"]  # fmt: skip
    assert models.field_reasons(models.DetaineeSanctionRequest) == [
        "field.reason", "field.scope", "field.from", "field.until"]  # fmt: skip
    assert models.field_reasons(models.FlagRequest) == ["field.comment"]  # `at`: never refused
