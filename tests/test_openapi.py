"""The OpenAPI document: valid 3.1, in step with the router, and true to real responses."""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any

import aiohttp
import pytest

from gateway.core import reasons
from gateway.core.booking_rules import RefusalCode
from gateway.core.codes import Outcome
from gateway.core.roles import Role
from gateway.http import appkeys as keys
from gateway.http import openapi
from gateway.http.app import STAFF_PREFIXES
from tests.staffkit import staff_http

try:
    from openapi_spec_validator import OpenAPIV31SpecValidator, validate
except ImportError:  # pragma: no cover - the validator is a test extra
    validate = None  # type: ignore[assignment]

try:
    import jsonschema
except ImportError:  # pragma: no cover
    jsonschema = None  # type: ignore[assignment]

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
JSON = "application/json"
BODILESS = {"304", "412", "416"}
"""Statuses answered by HTTP itself (files: conditional and range requests), without a refusal."""
DOC = openapi.document()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolved $ref {ref}"
        node = node[part]
    return node


def parameters(op: dict[str, Any]) -> list[dict[str, Any]]:
    return [resolve(DOC, p["$ref"]) if "$ref" in p else p for p in op.get("parameters", [])]


def walk(node: Any, where: str = "#") -> Any:
    """Every (location, dict) of a JSON tree."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{where}/{i}")


def reasons_of(doc: dict[str, Any], response: dict[str, Any]) -> list[str]:
    """The reason codes a refusal response documents (its ``reason`` enum or const)."""
    if "$ref" in response:
        response = resolve(doc, response["$ref"])
    if "content" not in response:
        return []
    schema = response["content"][JSON]["schema"]
    found: list[str] = []
    for part in schema.get("allOf", []):
        reason = part.get("properties", {}).get("reason", {})
        found += reason.get("enum", []) + ([reason["const"]] if "const" in reason else [])
    return found


# -- the document alone ----------------------------------------------------------------------


def test_document_is_valid_openapi_3_1() -> None:
    doc = openapi.document()
    if validate is not None:
        validate(doc, cls=OpenAPIV31SpecValidator)
    # Structural checks, with or without the validator.
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] and doc["info"]["version"] == "0.1.0"
    assert openapi.document("9.9.9")["info"]["version"] == "9.9.9"
    for path, method, op in operations(doc):
        assert path.startswith("/api/"), path
        assert op["responses"], (path, method)
    json.dumps(doc)  # plain data


def test_document_is_a_fresh_copy() -> None:
    first = openapi.document()
    first["paths"].clear()
    assert openapi.document() == DOC and DOC["paths"]


def test_every_ref_resolves() -> None:
    refs = [(where, node["$ref"]) for where, node in walk(DOC) if "$ref" in node]
    assert refs
    for where, ref in refs:
        target = resolve(DOC, ref)
        assert isinstance(target, dict), (where, ref)
    # And every component is used (security schemes by name, in security requirements).
    used = {ref for _, ref in refs}
    used |= {
        f"#/components/securitySchemes/{name}"
        for _, _, op in operations(DOC)
        for requirement in op.get("security", [])
        for name in requirement
    }
    for kind, items in DOC["components"].items():
        for name in items:
            assert f"#/components/{kind}/{name}" in used, f"unused component {kind}/{name}"


def test_every_operation_is_described() -> None:
    ids = [op["operationId"] for _, _, op in operations(DOC)]
    assert len(ids) == len(set(ids))
    for path, method, op in operations(DOC):
        where = f"{method.upper()} {path}"
        assert op["summary"] and len(op["description"]) > 40, where
        assert op["tags"], where
        assert any(code.startswith("2") for code in op["responses"]), where
        placeholders = set(re.findall(r"\{([^}/]+)\}", path))
        path_params = {p["name"] for p in parameters(op) if p["in"] == "path"}
        assert placeholders == path_params, where
        staff = path.startswith(STAFF_PREFIXES)
        assert op.get("x-parloir-staff-only", False) is staff, where
        refusing = ("/api/join", "/api/kiosk/enrol")  # public, with a 403 of their own
        assert ("403" in op["responses"]) is (staff or path in refusing), where
        # Every staff operation but the sign-in needs the session (and, to change anything,
        # the CSRF token) and documents the refusals of the access check.
        signed_in = staff and path != "/api/staff/login"
        expected = [{"staffSession": [], "csrfToken": []}] if method == "post" else [
            {"staffSession": []}
        ]  # fmt: skip
        if signed_in:
            assert op["security"] == expected, where
            assert "staff.login_required" in reasons_of(DOC, op["responses"]["401"]), where
            forbidden = set(reasons_of(DOC, op["responses"]["403"]))
            access = {"staff.forbidden_network", "staff.forbidden",
                      "staff.password_change_required"}  # fmt: skip
            assert forbidden == access | ({"staff.csrf"} if method == "post" else set()), where
        else:
            assert all("staff" not in name for r in op.get("security", []) for name in r), where
        for code, response in op["responses"].items():
            if code.startswith("2"):
                continue
            if code in BODILESS:
                assert "content" not in response, (where, code)
                continue
            reasons = reasons_of(DOC, response)
            assert reasons, f"{where} {code}: no reason codes"
            listed = response.get("description") or resolve(DOC, response["$ref"])["description"]
            for reason in reasons:
                assert f"`{reason}`" in listed, (where, code, reason)
                assert f"`{reason}`" in op["description"], (where, code, reason)


def _declared(prefix: str) -> set[str]:
    return {code for code in reasons.REASONS if code.startswith(prefix)}


def test_refusal_codes_are_those_of_the_code() -> None:
    booking = DOC["paths"]["/api/desk/bookings"]["post"]["responses"]
    conflicts = reasons_of(DOC, booking["409"])
    assert set(conflicts) == {str(c) for c in RefusalCode} | {
        "booking.number_sanctioned",
        "booking.detainee_sanctioned",
        "booking.insufficient_credit",
    }
    assert "booking.contended" in reasons_of(DOC, booking["503"])
    documented = {
        reason
        for _, _, op in operations(DOC)
        for code, response in op["responses"].items()
        if not code.startswith("2")
        for reason in reasons_of(DOC, response)
    }
    # The one table of reasons (gateway.core.reasons) holds every catalogue of before.
    missing_desk = _declared("booking.") - documented
    assert not missing_desk
    # The ledger's reasons the accounts office can meet (holds are the desk's business).
    internal = {"ledger.unknown_hold", "ledger.hold_released", "ledger.wrong_account"}
    assert not _declared("ledger.") - internal - documented
    assert {str(o) for o in Outcome if o is not Outcome.ACCEPTED} <= documented
    monitoring = {"monitor.no_call", "monitor.lawyer", "monitor.call_ended", "signaling.bad_sdp"}
    assert monitoring | {"recording.not_found"} <= documented
    accounts = _declared("staff.") - {"staff.forbidden_network", "staff.login_required"}
    accounts -= {"staff.forbidden", "staff.password_change_required"}  # the shared responses
    assert accounts | {"staff.csrf", "kiosk.not_enrolled"} <= documented
    # The typed names of before staff accounts are ignored now: nobody is asked for them.
    assert not {"field.guard", "field.staff", "field.actor"} & documented
    watch = DOC["paths"]["/api/monitor/calls/{call}/watch"]["post"]["responses"]
    assert reasons_of(DOC, watch["422"]) == ["signaling.bad_sdp"]
    assert not {r for r in documented if not r.startswith("field.")} - set(openapi.REASONS)


def test_examples_match_their_schemas() -> None:
    if jsonschema is None:
        pytest.skip("jsonschema is not installed")
    examples = [
        (where, node["schema"], node["example"])
        for where, node in walk(DOC)
        if "schema" in node and "example" in node and where.endswith("/content/" + JSON)
    ]
    assert len(examples) >= 8
    for where, schema, example in examples:
        errors = schema_errors(schema, example)
        assert not errors, (where, errors)


# -- schema validation of real traffic ---------------------------------------------------------


def schema_errors(schema: dict[str, Any], instance: Any) -> list[str]:
    assert jsonschema is not None
    root = {**schema, "components": DOC["components"]}
    validator = jsonschema.Draft202012Validator(
        root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


class Api:
    """Calls the gateway and checks requests and answers against the document."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base
        self.seen: set[tuple[str, str, int]] = set()
        self.headers: Any = {}
        """The headers of the last answer."""

    async def __call__(
        self,
        method: str,
        template: str,
        status: int,
        *,
        path: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        body: Any = None,
        csv: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        op = DOC["paths"][template][method]
        where = f"{method.upper()} {template}"
        documented_query = {p["name"] for p in parameters(op) if p["in"] == "query"}
        assert not set(query or {}) - documented_query, where
        if body is not None and status < 300:  # the document describes what succeeds
            request_schema = op["requestBody"]["content"][JSON]["schema"]
            assert not schema_errors(request_schema, body), (where, body)
        if csv is not None:
            assert "text/csv" in op["requestBody"]["content"], where
        url = self.base + template.format(**(path or {}))
        kwargs: dict[str, Any] = {"params": query, "headers": headers}
        if body is not None:
            kwargs["json"] = body
        if csv is not None:
            kwargs["data"] = csv
        async with self.http.request(method, url, **kwargs) as resp:
            raw = await resp.read()
            answered, content_type = resp.status, resp.content_type
            self.headers = resp.headers
        responses = op["responses"]
        detail = raw[:300]
        assert str(answered) in responses, f"{where} answered undocumented {answered}: {detail!r}"
        assert answered == status, f"{where}: {answered} != {status}: {detail!r}"
        response = responses[str(answered)]
        if "$ref" in response:
            response = resolve(DOC, response["$ref"])
        self.seen.add((method, template, answered))
        for name, header in response.get("headers", {}).items():
            if header.get("required"):
                assert name in self.headers, (where, answered, name)
        if "content" not in response:
            assert not raw, (where, answered, raw[:100])
            return raw
        assert content_type in response["content"], (where, content_type)
        if content_type != JSON:
            return raw
        data = json.loads(raw)
        errors = schema_errors(response["content"][JSON]["schema"], data)
        assert not errors, (where, answered, errors, data)
        return data


async def test_router_and_document_agree(gateway_factory) -> None:
    running = await gateway_factory()
    routed: dict[str, set[str]] = {}
    for route in running.app.router.routes():
        canonical = route.resource.canonical if route.resource is not None else ""
        if canonical.startswith("/api/") and route.method != "HEAD":  # HEAD comes with GET
            routed.setdefault(canonical, set()).add(route.method.lower())
    documented = {
        path: {m for m in item if m in METHODS} for path, item in DOC["paths"].items()
    }
    if "/api/openapi.json" not in routed:
        documented.pop("/api/openapi.json")  # not registered yet
    assert routed == documented


async def test_served_document(gateway_factory) -> None:
    running = await gateway_factory()
    async with staff_http(running) as http:
        async with http.get(f"{running.base_url}/api/openapi.json") as resp:
            if resp.status == 404:
                pytest.skip("GET /api/openapi.json is not registered yet")
            assert resp.status == 200 and resp.content_type == JSON
            served = await resp.json()
    assert served == openapi.document(served["info"]["version"])


async def test_staff_endpoints_refuse_other_networks(gateway_factory) -> None:
    if jsonschema is None:
        pytest.skip("jsonschema is not installed")
    running = await gateway_factory(staff_networks=("10.0.0.0/8",))
    async with aiohttp.ClientSession() as http:
        api = Api(http, running.base_url)
        refused = await api("get", "/api/desk/establishment", 403)
        assert refused["reason"] == "staff.forbidden_network"
        await api("get", "/api/regie/report", 403)
        await api("get", "/api/monitor/calls", 403)
        await api("get", "/api/recordings", 403)
        await api("get", "/api/audit.csv", 403)
        await api("get", "/api/direction/sanctions", 403)
        async with http.get(f"{running.base_url}/api/openapi.json") as resp:
            if resp.status == 404:
                pytest.skip("GET /api/openapi.json is not registered yet")
        await api("get", "/api/openapi.json", 403)
        await api("get", "/api/slots", 200)  # public


async def test_real_responses_match_their_schemas(gateway_factory) -> None:
    """A whole day at the desk, the accounts office, monitoring, the direction and the
    administrator's, every answer checked."""
    if jsonschema is None:
        pytest.skip("jsonschema is not installed")
    running = await gateway_factory()
    desk = running.app[keys.DESK]
    today = desk.local(running.app[keys.ENGINE].clock()).date().isoformat()
    async with staff_http(running) as http:
        api = Api(http, running.base_url)
        # Public calendar.
        slots = await api("get", "/api/slots", 200, query={"from": today, "days": "14"})
        start = next(s["start"] for s in slots if s["bookable"])
        assert any(not s["bookable"] for s in slots)
        refused = await api("get", "/api/slots", 400, query={"days": "63"})
        assert refused["reason"] == "request.bad_days"
        await api("get", "/api/slots", 400, query={"from": "02/03/2026", "lang": "en"})
        establishment = await api("get", "/api/desk/establishment", 200)
        kiosk = establishment["kiosks"][0]["id"]

        # Who is signed in: the member every action below is written in the name of.
        me = await api("get", "/api/staff/me", 200, query={"lang": "en"})
        assert "admin" not in me["roles"] and "sanctions" in me["permissions"]
        assert me["csrf"] == http.headers["X-CSRF-Token"] and me["home"] == "/desk"
        signature = f"{me['name']} ({me['login']})"
        async with aiohttp.ClientSession() as anonymous:
            stranger = Api(anonymous, running.base_url)
            stranger.seen = api.seen
            refused = await stranger("get", "/api/staff/me", 401)
            assert refused["reason"] == "staff.login_required"
            await stranger("get", "/api/desk/day", 401)
        refused = await api("get", "/api/admin/kiosks", 403)  # the administrator's only
        assert refused["reason"] == "staff.forbidden"

        # People.
        number = "100001"
        person = {"number": number, "access_code": "2468", "first_name": "Hélène",
                  "last_name": "Dupré", "building": "B", "floor": "1", "cell": "112"}  # fmt: skip
        await api("post", "/api/desk/detainees", 201, body=person)
        await api("post", "/api/desk/detainees", 200, body={**person, "cell": "113"})
        await api("post", "/api/desk/detainees", 400, body={**person, "access_code": "12"})
        found = await api("get", "/api/desk/detainees", 200, query={"q": "dupre"})
        assert [d["number"] for d in found] == [number]
        relative = {"name": "Paul Dupré", "phone": "06 11 22 33 44", "relationship": "frère"}
        corr = await api(
            "post", "/api/desk/detainees/{number}/correspondents", 201,
            path={"number": number}, body=relative,
        )  # fmt: skip
        await api(
            "post", "/api/desk/correspondents/{cid}", 200,
            path={"cid": corr["id"]}, body={**relative, "relationship": "frère aîné"},
        )  # fmt: skip
        await api(
            "post", "/api/desk/correspondents/{cid}", 400,
            path={"cid": corr["id"]}, body={**relative, "phone": "12"},
        )  # fmt: skip
        await api(
            "post", "/api/desk/correspondents/{cid}", 404,
            path={"cid": "corr_nope"}, body=relative,
        )  # fmt: skip

        # Booking: refused by the rules, then for credit, then booked.
        order = {"detainee": number, "correspondent": corr["id"], "kiosk": kiosk, "start": start}
        refused = await api("post", "/api/desk/bookings", 409, body=order)
        assert refused["reason"] == "booking.charter_not_signed"
        signed = await api(
            "post", "/api/desk/detainees/{number}/charter", 200, path={"number": number}
        )
        assert signed["charter_signed_by"] == signature
        await api("post", "/api/desk/detainees/{number}/charter", 404, path={"number": "999"})
        refused = await api("post", "/api/desk/bookings", 409, body=order, query={"lang": "en"})
        assert refused["reason"] == "booking.insufficient_credit" and refused["details"]
        await api("post", "/api/desk/bookings", 404, body={**order, "detainee": "999"})
        await api("post", "/api/desk/bookings", 400, body={**order, "start": "demain"})
        credit = {"detainee": number, "amount_cents": 5000, "reference": "REGIE-1"}
        await api("post", "/api/regie/credits", 201, body=credit)
        replay = await api("post", "/api/regie/credits", 200, body=credit)
        assert replay["replayed"] is True
        await api("post", "/api/regie/credits", 409, body={**credit, "amount_cents": 1})
        await api("post", "/api/regie/credits", 400, body={**credit, "amount_cents": 0})
        await api("post", "/api/regie/credits", 404, body={**credit, "detainee": "999"})
        first = await api("post", "/api/desk/bookings", 201, body=order)
        assert first["booked_by"] == signature
        refused = await api("post", "/api/desk/bookings", 409, body=order)
        assert refused["reason"] == "booking.quota"
        cancel = {"reason": "Transfert"}
        cancelled = await api(
            "post", "/api/desk/bookings/{bid}/cancel", 200, path={"bid": first["id"]}, body=cancel
        )
        assert cancelled["status"] == "cancelled" and cancelled["cancelled_by"] == signature
        booking = await api("post", "/api/desk/bookings", 201, body=order)
        bid = booking["id"]

        # What the desk reads.
        summary = await api("get", "/api/desk/bookings/{bid}", 200, path={"bid": bid})
        assert summary["detainee_name"] == "DUPRÉ Hélène"
        await api("get", "/api/desk/bookings/{bid}", 404, path={"bid": "bk_nope"})
        day = start[:10]
        calendar = await api(
            "get", "/api/desk/calendar", 200, query={"from": day, "days": "1", "kiosk": kiosk}
        )
        assert any(s["booking"] for d in calendar["days"] for s in d["slots"])
        await api("get", "/api/desk/calendar", 404, query={"kiosk": "nope"})
        listed = await api("get", "/api/desk/day", 200, query={"date": day})
        assert [b["id"] for b in listed["bookings"]] == [bid]
        file = await api("get", "/api/desk/detainees/{number}", 200, path={"number": number})
        assert len(file["bookings"]) == 2
        await api("get", "/api/desk/detainees/{number}", 404, path={"number": "999"})
        pdf = await api("get", "/api/desk/bookings/{bid}/receipt.pdf", 200, path={"bid": bid})
        assert pdf.startswith(b"%PDF")

        # The call happens and is closed; the accounts office refunds part of it.
        now = time.time()
        await desk.add_connected(bid, "call_1", 125_000)
        closed = await desk.close(bid, now, "test")
        assert closed is not None and closed.charged > 0
        await api(
            "post", "/api/desk/bookings/{bid}/cancel", 409, path={"bid": bid}, body=cancel
        )
        refund = {"booking": bid, "amount_cents": 10, "reason": "Coupure", "reference": "RF-1"}
        await api("post", "/api/regie/refunds", 201, body=refund)
        await api("post", "/api/regie/refunds", 200, body=refund)
        refused = await api(
            "post", "/api/regie/refunds", 409,
            body={**refund, "amount_cents": 100_000, "reference": "RF-2"},
        )  # fmt: skip
        assert refused["details"]["refundable"] == closed.charged - 10
        await api(
            "post", "/api/regie/refunds", 404,
            body={**refund, "booking": first["id"], "reference": "RF-3"},
        )  # fmt: skip
        await api(
            "post", "/api/regie/accounts/{number}/tariff", 200,
            path={"number": number}, body={"tariff": "forfait_20"},
        )  # fmt: skip
        table = await api("get", "/api/regie/tariffs", 200)
        assert "forfait_20" in {t["name"] for t in table["tariffs"]}
        await api(
            "post", "/api/regie/accounts/{number}/tariff", 400,
            path={"number": number}, body={"tariff": "gratuit"},
        )  # fmt: skip
        statement = await api(
            "get", "/api/regie/accounts/{number}/statement", 200, path={"number": number}
        )
        assert {line["kind"] for line in statement["lines"]} == {"credit", "call", "refund"}
        csv = await api(
            "get", "/api/regie/accounts/{number}/statement.csv", 200, path={"number": number}
        )
        assert csv.startswith("\ufeffdate;".encode())
        await api("get", "/api/regie/report", 200, query={"date": day})
        report = await api("get", "/api/regie/report", 200)
        assert report["credits"] == 1 and report["refunds"] == 1

        # CSV imports.
        people = "ecrou;nom;prenom;code_acces\r\n100002;MARTIN;Paul;1357\r\n100003;;Zoé;\r\n"
        report = await api(
            "post", "/api/desk/import/{kind}", 200, path={"kind": "detainees"},
            query={"dry_run": "1"}, csv=people.encode(),
        )  # fmt: skip
        assert not report["ok"] and report["errors"]
        corr_csv = "ecrou;nom;telephone;mineur\r\n100001;Léa Dupré;0622334455;oui\r\n"
        report = await api(
            "post", "/api/desk/import/{kind}", 200, path={"kind": "correspondents"},
            csv=corr_csv.encode(),
        )  # fmt: skip
        assert report["ok"] and report["imported"] == 1 and report["warnings"]
        await api("post", "/api/desk/import/{kind}", 404, path={"kind": "tariffs"}, csv=b"x")
        credits = (
            "ecrou;montant;reference\r\n100001;12,50;REGIE-2\r\n999;1;REGIE-3\r\n"
            "100001;50;REGIE-1\r\n100001;1;REGIE-1B\r\n"
        )
        report = await api(
            "post", "/api/regie/import/credits", 200, query={"dry_run": "oui"}, csv=credits.encode()
        )
        assert [e["reason"] for e in report["errors"]] == ["csv.unknown_detainee"]
        assert [w["reason"] for w in report["warnings"]] == ["csv.already_imported"]
        # A state-changing request without the session's CSRF token changes nothing.
        refused = await api(
            "post", "/api/regie/import/credits", 403,
            csv=credits.encode(), headers={"X-CSRF-Token": "stale"},
        )  # fmt: skip
        assert refused["reason"] == "staff.csrf"
        refused = await api(
            "post", "/api/regie/credits", 403,
            body={**credit, "reference": "REGIE-9"},
            headers={"Origin": "https://evil.example"},
        )  # fmt: skip
        assert refused["reason"] == "staff.csrf"

        # Monitoring, recordings and the audit log, without WebRTC: no call is in progress, and
        # a recording (one side's file) is put in the index as the recorder would.
        live = await api("get", "/api/monitor/calls", 200)
        assert live["calls"] == []
        nope = {"call": "call_nope"}
        refused = await api(
            "post", "/api/monitor/calls/{call}/watch", 404,
            path=nope, body={"sdp": "v=0\r\n"},
        )  # fmt: skip
        assert refused["reason"] == "monitor.no_call"
        refused = await api("post", "/api/monitor/calls/{call}/watch", 400, path=nope, body={})
        assert refused["reason"] == "field.sdp"
        await api(
            "post", "/api/monitor/calls/{call}/cut", 404, path=nope, body={"reason": "Menaces"}
        )
        await api(
            "post", "/api/monitor/calls/{call}/flag", 404, path=nope, body={"comment": "Geste"}
        )
        engine = running.app[keys.ENGINE]
        call_id, folder = "call_openapi", f"{today}/call_openapi"
        (engine.config.recordings_path / folder).mkdir(parents=True)
        (engine.config.recordings_path / folder / "kiosk.webm").write_bytes(bytes(range(256)))
        began = engine.clock() - 600
        await engine.recordings.started(
            call_id, began, booking=bid, detainee=number, correspondent=corr["id"],
            phone="+33611223344", kiosk=kiosk, folder=folder,
        )  # fmt: skip
        await engine.recordings.finished(call_id, began + 300, "sealed", manifest="0" * 64)
        (found,) = await api("get", "/api/recordings", 200)
        assert found["state"] == "sealed" and found["detainee_name"] == "DUPRÉ Hélène"
        flagged = {"flagged": "1", "detainee": number, "phone": "611 22"}
        assert await api("get", "/api/recordings", 200, query=flagged) == []
        await api("get", "/api/recordings", 400, query={"to": "hier"})
        where = {"call": call_id}
        flag = {"comment": "Objet montré", "at": int(began * 1000) + 5000}
        await api("post", "/api/monitor/calls/{call}/flag", 201, path=where, body=flag)
        await api("post", "/api/monitor/calls/{call}/flag", 400, path=where, body={"at": 1})
        assert len(await api("get", "/api/recordings", 200, query=flagged)) == 1
        detail = await api("get", "/api/recordings/{call}", 200, path=where)
        assert [f["side"] for f in detail["files"]] == ["kiosk"] and detail["flags_list"]
        refused = await api("get", "/api/recordings/{call}", 404, path=nope)
        assert refused["reason"] == "recording.not_found"
        media = "/api/recordings/{call}/{side}.webm"
        kiosk_side = {**where, "side": "kiosk"}
        whole = await api("get", media, 200, path=kiosk_side)
        assert whole == bytes(range(256))
        part = await api("get", media, 206, path=kiosk_side, headers={"Range": "bytes=16-31"})
        assert part == bytes(range(16, 32)) and api.headers["Content-Range"] == "bytes 16-31/256"
        await api("get", media, 416, path=kiosk_side, headers={"Range": "bytes=300-"})
        await api("get", media, 200, path=kiosk_side, query={"download": "1"})
        attachment = 'attachment; filename="call_openapi-kiosk.webm"'
        assert api.headers["Content-Disposition"] == attachment
        await api("get", media, 404, path={**where, "side": "relative"})
        await api("get", media, 404, path={**nope, "side": "kiosk"})
        hold = {"reason": "Réquisition PV 2026/118"}
        held = await api("post", "/api/recordings/{call}/hold", 200, path=where, body=hold)
        assert held == {"call": call_id, "legal_hold": True}
        await api("post", "/api/recordings/{call}/hold", 400, path=where, body={**hold, "held": 1})
        await api("post", "/api/recordings/{call}/hold", 404, path=nope, body=hold)
        entries = await api("get", "/api/audit", 200)
        assert [(e["action"], e["actor"]) for e in entries if e["target"] == call_id] == [
            ("call.flag", signature), ("recording.play", signature),
            ("recording.download", signature), ("recording.hold", signature),
        ]  # fmt: skip
        plays = await api(
            "get", "/api/audit", 200, query={"from": today, "action": "recording.play"}
        )
        assert len(plays) == 1 and plays[0]["details"] == {"side": "kiosk"}
        await api("get", "/api/audit", 400, query={"from": "1999-12-31"})
        log = await api("get", "/api/audit.csv", 200, query={"action": "recording.hold"})
        assert log.decode().startswith("\ufeffdate;heure;agent;action;objet;details\r\n")
        await api("get", "/api/audit.csv", 400, query={"to": "31/12/2026"})

        # The direction's sanctions on phone numbers.
        assert await api("get", "/api/direction/sanctions", 200) == []
        ban = {"phone": "06 98 76 54 32", "until": today, "reason": "Incident"}
        sanction = await api("post", "/api/direction/sanctions", 201, body=ban)
        assert sanction["phone"] == "+33698765432" and sanction["active"]
        assert sanction["by"] == signature
        await api("post", "/api/direction/sanctions", 400, body={**ban, "phone": "12"})
        await api("post", "/api/direction/sanctions", 400, body={**ban, "until": "2000-01-01"})
        lift = "/api/direction/sanctions/{phone}/lift"
        lifted = await api("post", lift, 200, path={"phone": "+33698765432"})
        assert not lifted["active"]
        await api("post", lift, 404, path={"phone": "0611111111"})
        await api("post", lift, 400, path={"phone": "12"})
        listed = await api("get", "/api/direction/sanctions", 200)
        assert [s["phone"] for s in listed] == ["+33698765432"]
        longer = {"minutes": 40, "reason": "Situation familiale"}
        await api(
            "post", "/api/direction/bookings/{bid}/extend", 404,
            path={"bid": "bk_000000000000"}, body=longer,
        )  # fmt: skip
        await api(
            "post", "/api/direction/bookings/{bid}/extend", 400,
            path={"bid": "bk_000000000000"}, body={**longer, "minutes": 0},
        )  # fmt: skip

        # The direction's sanctions on detainees.
        assert await api("get", "/api/direction/detainee-sanctions", 200) == []
        sanctions, lift = "/api/direction/detainees/{number}/sanctions", "/lift"
        suspension = {"scope": "video", "until": today, "reason": "Commission de discipline"}
        sanctioned = await api("post", sanctions, 201, path={"number": number}, body=suspension)
        assert sanctioned["kind"] == "suspension" and sanctioned["active"]
        assert sanctioned["by"] == signature
        await api("post", sanctions, 400, path={"number": number}, body={"scope": "video"})
        await api(
            "post", sanctions, 400, path={"number": number}, body={**suspension, "scope": "tout"}
        )
        await api(
            "post", sanctions, 400, path={"number": number}, body={**suspension, "from": "hier"}
        )
        await api("post", sanctions, 404, path={"number": "999"}, body=suspension)
        withdrawal = {"scope": "phone", "reason": "Usage frauduleux"}
        withdrawn = await api("post", sanctions, 201, path={"number": number}, body=withdrawal)
        assert withdrawn["kind"] == "withdrawal" and withdrawn["until"] is None
        lifted = await api("post", sanctions + lift, 200, path={"number": number})
        assert not lifted["active"] and lifted["until"] is not None
        await api("post", sanctions + lift, 404, path={"number": "999"})
        (listed,) = await api("get", "/api/direction/detainee-sanctions", 200)
        assert listed["detainee"] == number and not listed["active"]

        # The administrator, signed in through the API: staff accounts, then the kiosk's
        # enrolment (which the kiosk's login needs).
        boss, boss_password = "admin.openapi", secrets.token_urlsafe(12)
        await running.app[keys.STAFF].create(
            boss, "Admin Test", [Role.ADMIN], boss_password, "test", time.time()
        )
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as jar:
            admin = Api(jar, running.base_url)
            admin.seen = api.seen
            sign_in = {"login": boss, "password": boss_password}
            refused = await admin(
                "post", "/api/staff/login", 401, body={**sign_in, "password": "not it at all"}
            )
            assert refused["reason"] == "staff.bad_credentials"
            await admin("post", "/api/staff/login", 400, body={"login": boss})
            signed_in = await admin("post", "/api/staff/login", 200, body=sign_in)
            assert signed_in["roles"] == ["admin"] and signed_in["home"] == "/admin"
            jar.headers["X-CSRF-Token"] = signed_in["csrf"]
            refused = await admin("get", "/api/desk/day", 403)  # not an administrator's business
            assert refused["reason"] == "staff.forbidden"

            accounts = await admin("get", "/api/admin/staff", 200)
            assert {boss, me["login"]} <= {m["login"] for m in accounts["staff"]}
            member = {"login": "Leroy", "name": "Mme  Leroy", "roles": ["regie"],
                      "password": "caisse du quartier"}  # fmt: skip
            created = await admin("post", "/api/admin/staff", 201, body=member)
            assert created["login"] == "leroy" and created["name"] == "Mme Leroy"
            assert created["created_by"] == f"Admin Test ({boss})"
            await admin("post", "/api/admin/staff", 409, body=member)
            await admin("post", "/api/admin/staff", 400, body={**member, "login": "x y"})
            await admin("post", "/api/admin/staff", 400, body={**member, "roles": []})
            account = "/api/admin/staff/{login}"
            changed = await admin(
                "post", account, 200, path={"login": "leroy"},
                body={"roles": ["etage", "regie"], "active": False},
            )  # fmt: skip
            assert changed["roles"] == ["etage", "regie"] and not changed["active"]
            await admin("post", account, 400, path={"login": "leroy"}, body={"roles": ["roi"]})
            await admin("post", account, 404, path={"login": "nobody"}, body={"active": False})
            refused = await admin(
                "post", account, 409, path={"login": boss}, body={"active": False}
            )
            assert refused["reason"] == "staff.last_admin"

            (state,) = (await admin("get", "/api/admin/kiosks", 200))["kiosks"]
            assert state["id"] == kiosk and state["status"] == "not_enrolled"
            where = {"kiosk": kiosk}
            enrolment = await admin("post", "/api/admin/kiosks/{kiosk}/enrol", 201, path=where)
            await admin("post", "/api/admin/kiosks/{kiosk}/enrol", 404, path={"kiosk": "nope"})

            # The kiosk's browser (here the desk's session: its own cookie jar) redeems the code.
            login = {"detainee": number, "access_code": "2468"}
            refused = await api("post", "/api/kiosk/login", 401, body=login)
            assert refused["reason"] == "kiosk.not_enrolled"
            refused = await api("post", "/api/kiosk/enrol", 403, body={"code": "AAAA-BBBB-CCCC"})
            assert refused["reason"] == "kiosk.bad_enrolment_code"
            await api("post", "/api/kiosk/enrol", 400, body={"lang": "en"})
            code = enrolment["code"].lower().replace("-", " ")  # as typed on a touch keyboard
            enrolled = await api("post", "/api/kiosk/enrol", 200, body={"code": code})
            assert enrolled["kiosk"] == kiosk and "parloir_kiosk" in api.headers["Set-Cookie"]
            await api("post", "/api/kiosk/enrol", 403, body={"code": code})  # used up

            # The kiosk, enrolled.
            refused = await api(
                "post", "/api/kiosk/login", 401, body=login, headers={"X-Parloir-Kiosk": "forged"}
            )
            assert refused["reason"] == "kiosk.not_enrolled"
            refused = await api(
                "post", "/api/kiosk/login", 401, body={**login, "access_code": "0000"}
            )
            assert refused["reason"] == "kiosk.bad_credentials"
            await api("post", "/api/kiosk/login", 400, body={"detainee": number})
            session = await api("post", "/api/kiosk/login", 200, body=login)
            assert session["booking"] is None and session["account"]["balance_cents"] > 0
            (state,) = (await admin("get", "/api/admin/kiosks", 200))["kiosks"]
            assert state["status"] == "enrolled" and state["enrolled_by"] == f"Admin Test ({boss})"
            revoked = await admin("post", "/api/admin/kiosks/{kiosk}/revoke", 200, path=where)
            assert revoked["status"] == "revoked"
            await admin("post", "/api/admin/kiosks/{kiosk}/revoke", 404, path={"kiosk": "nope"})
            refused = await api("post", "/api/kiosk/login", 401, body=login)
            assert refused["reason"] == "kiosk.not_enrolled"

            # The administrator's own password, then signing out.
            password = "/api/staff/password"
            new_password = secrets.token_urlsafe(12)
            refused = await admin(
                "post", password, 401, body={"current": "not it at all", "new": new_password}
            )
            assert refused["reason"] == "staff.bad_credentials"
            refused = await admin(
                "post", password, 400, body={"current": boss_password, "new": "court"}
            )
            assert refused["reason"] == "staff.weak_password"
            changed = await admin(
                "post", password, 200, body={"current": boss_password, "new": new_password}
            )
            assert changed["csrf"] != signed_in["csrf"]
            refused = await admin("post", "/api/staff/logout", 403)  # the old token is stale
            assert refused["reason"] == "staff.csrf"
            jar.headers["X-CSRF-Token"] = changed["csrf"]
            assert (await admin("get", "/api/staff/me", 200))["login"] == boss
            assert await admin("post", "/api/staff/logout", 200) == {"signed_out": True}
            refused = await admin("get", "/api/staff/me", 401)
            assert refused["reason"] == "staff.login_required"

        # The relative.
        join = {"code": "123456", "rules_accepted": True}
        await api("post", "/api/join", 403, body=join)
        await api("post", "/api/join", 400, body={**join, "rules_accepted": False})
        # The SMS provider's webhook (no secret configured here: off).
        await api("post", "/api/sms/status", 404, body={"id": "p1", "status": "delivered"})

    # Every operation of the document was exercised, save the document itself.
    exercised = {(m, p) for m, p, _ in api.seen}
    assert {(m, p) for p, m, _ in operations(DOC)} - exercised <= {("get", "/api/openapi.json")}


def test_explanations_are_sentences() -> None:
    for reason, text in openapi.REASONS.items():
        assert text and not text.endswith("."), reason
