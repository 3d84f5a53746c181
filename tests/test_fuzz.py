"""Fuzz tests: the signaling messages, SDP offers and the JSON API take any input.

The rule (issue 6): every input is accepted or refused cleanly, with a 44xx close code on the
signaling socket or a 4xx JSON refusal carrying a ``reason`` on the HTTP API; never a 500, a
1011, a traceback in the log or a hang, and a call in progress goes on whatever strangers send.

The live tests run hypothesis against one real gateway per test (real Redis, real aiortc): the
gateway is a function-scoped fixture shared by all the examples of its test, and each example
ends by checking the log (:func:`assert_clean_log`): no ERROR record, no traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from yarl import URL

from gateway.cli import Running
from gateway.core.lifecycle import CallState
from gateway.core.roles import Role
from gateway.http import appkeys as keys
from signaling import messages as m

from . import staffkit
from .callkit import Client, join, kiosk_login, seeded, start_calling, wait_until

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")
LIVE = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

# -- strategies ------------------------------------------------------------------------------

# Any code point, with a fair share of lone surrogates (JSON's "\ud800" escapes make them) and
# of the characters that matter to JSON, SDP, URLs and terminals.
ANY_CHAR = st.one_of(
    st.characters(exclude_categories=()),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=()),
    st.sampled_from(list('\x00\r\n\t "\\{}[]:;=/%?#&+.\u2028\ufeff\U0001f600é')),
)


def texts(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    # Not st.text(ANY_CHAR): it merges the alphabet into ranges and seldom draws a surrogate.
    return st.lists(ANY_CHAR, min_size=min_size, max_size=max_size).map("".join)


any_text = texts()
huge_text = st.builds(lambda s, n: (s or "x") * n, texts(max_size=3), st.integers(1, 20_000))


def _nested(depth: int, kind: str) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


# A JSON value of the wrong shape anywhere a field is read.
evil_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=10**18, max_value=10**300),
        st.integers(min_value=-(10**300), max_value=-(10**18)),
        st.floats(allow_nan=True, allow_infinity=True),
        any_text,
        st.sampled_from(
            [
                "",
                " ",
                "0",
                "-1",
                "1e999",
                "2026-02-30",
                "9999-12-31T99:99+99:99",
                "2026-13-01",
                "+33612345678",
                "0612345678",
                "../../etc/passwd",
                "\x00",
                "NaN",
                "fr",
                "en",
                "100042",
                "call_0",
                "booking",
                "<script>",
                "' OR 1=1 --",
                "%s%n",
                "\ud800",
            ]
        ),  # fmt: skip
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)

# Every field name a handler reads, so that random objects reach past the first check.
FIELDS = (
    "type", "token", "sdp", "detainee", "access_code", "code", "ref", "rules_accepted", "lang",
    "number", "first_name", "last_name", "building", "floor", "cell", "status", "guard", "name",
    "phone", "relationship", "minor", "consent_by", "lawyer", "start", "kiosk", "correspondent",
    "reason", "staff", "comment", "at", "held", "minutes", "until", "amount_cents", "reference",
    "actor", "booking", "tariff",
)  # fmt: skip
field_values = st.one_of(evil_values, huge_text, st.just(True), st.text(max_size=12))
# Values a handler would take, so that the odd ones next to them get checked too.
PLAUSIBLE = ("100042", "kiosk-1", "+33612345678", "0612345678", "2026-12-21",
             "2026-12-21T10:00:00+01:00", "standard", "authorised", "active", "fr", "en",
             "123456", "Jean", "Martin", "1234", "call_0123456789abcdef")  # fmt: skip
odd_strings = st.sampled_from(PLAUSIBLE) | texts(min_size=1, max_size=12)
TYPED = {
    "rules_accepted": st.booleans(),
    "minor": st.booleans(),
    "lawyer": st.booleans(),
    "held": st.booleans(),
    "minutes": st.integers(-5, 700),
    "amount_cents": st.integers(-5, 10**6),
    "at": st.integers() | st.floats(),
}
objects = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS) | any_text, field_values, max_size=len(FIELDS) // 3),
    # Every field there with a value of the right type, plausible or odd: the handlers' later
    # checks are reached (one odd field among plausible ones).
    st.fixed_dictionaries({name: TYPED.get(name, odd_strings) for name in FIELDS}),
    st.fixed_dictionaries({}, optional={name: odd_strings | field_values for name in FIELDS}),
)


def deep(kind: str) -> st.SearchStrategy[str]:
    return st.integers(1, 50_000).map(lambda n: "[" * n if kind == "list" else '{"a":' * n)


json_texts = st.one_of(
    evil_values.map(json.dumps),
    objects.map(json.dumps),
    st.integers(1, 900).map(lambda n: json.dumps(_nested(n, "list"))),
    st.integers(1, 900).map(lambda n: json.dumps(_nested(n, "dict"))),
    deep("list"),
    deep("dict"),
    texts(max_size=200),
    st.sampled_from(["", "{", "}", "null", "NaN", '{"type":', "\ufeff{}", '{"a":1}{"b":2}',
                     "1" * 5000, '"' + "\\u" * 100 + '"', '{"type":"hello","token":"\\udc80"}']),
)  # fmt: skip


# -- the log ---------------------------------------------------------------------------------


def assert_clean_log(caplog: pytest.LogCaptureFixture) -> None:
    """No ERROR record and no traceback since the last check, from any logger."""
    bad = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info or "Traceback" in r.getMessage()
    ]
    caplog.clear()
    assert not bad, "\n".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in bad) + (
        "\n" + caplog.text if bad else ""
    )


class Fixture:
    """A fixture shared by a test's examples: named, not dumped, in hypothesis's reports."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(type(self).__name__)


# -- 1. sans-IO: signaling.messages.parse ------------------------------------------------------


def _as_text(raw: bytes, how: str) -> str:
    return raw.decode("utf-8", how) if how != "latin-1" else raw.decode("latin-1")


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        json_texts,
        st.builds(
            _as_text,
            st.binary(max_size=300),
            st.sampled_from(["surrogateescape", "replace", "latin-1"]),
        ),
        st.fixed_dictionaries(
            {"type": st.sampled_from(["hello", "call", "offer", "hangup", "ping"]) | any_text},
            optional={"token": field_values, "sdp": field_values, "x": evil_values},
        ).map(json.dumps),
        st.integers(m.MAX_SDP_CHARS - 10, m.MAX_MESSAGE_BYTES + 10).map(
            lambda n: json.dumps({"type": "offer", "sdp": "v" * n})
        ),
    ),
    st.sampled_from(["kiosk", "relative", "", "admin"]),
)
def test_parse_accepts_or_refuses_with_a_44xx_code(text: str, role: str) -> None:
    try:
        msg = m.parse(text)
    except m.ProtocolError as exc:
        assert 4400 <= exc.code < 4500 and exc.reason.startswith("signaling."), exc
        return
    assert isinstance(msg, m.Hello | m.StartCall | m.Offer | m.Hangup | m.Ping | m.Leaving)
    # What parse lets through can be hashed, stored and sent back: text is valid Unicode.
    for name, value in vars(msg).items():
        if name == "id":  # an offer's optional id: a small non-negative integer
            assert value is None or (type(value) is int and 0 <= value < 2**31), value
            continue
        if name == "page" and value is None:  # hello's optional page id
            continue
        assert isinstance(value, str) and value
        value.encode("utf-8")
    try:
        m.check_role(msg, role)
    except m.ProtocolError as exc:
        assert 4400 <= exc.code < 4500 and exc.reason.startswith("signaling."), exc


# -- 2. SDP offers against a live gateway ----------------------------------------------------


@dataclass(repr=False)
class KioskSession(Fixture):
    gateway: Running
    http: aiohttp.ClientSession
    token: str
    offer: str  # a real aiortc offer (its peer is closed: nothing answers its candidates)

    @property
    def ws_url(self) -> str:
        return self.gateway.base_url.replace("http", "ws") + "/ws"


async def real_offer() -> str:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(AudioStreamTrack())
    pc.addTrack(VideoStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


@pytest.fixture
async def kiosk_session(
    gateway_factory: Any, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[KioskSession]:
    caplog.set_level(logging.WARNING)
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    async with aiohttp.ClientSession() as http:
        kiosk = Client(gateway.base_url, http)
        await kiosk_login(kiosk, demo["detainee"], demo["access_code"])
        yield KioskSession(gateway, http, kiosk.token, await real_offer())
    assert_clean_log(caplog)  # what came after the last example's check


SDP_OPS = ("drop", "duplicate", "swap", "garble", "fingerprint", "ice", "mline", "codec", "huge",
           "non_ascii", "number", "candidate", "truncate")  # fmt: skip


@st.composite
def mutated_sdp(draw: st.DrawFn, base: str) -> str:
    """The real offer with one to four line-level mutations."""
    lines = base.rstrip("\r\n").split("\r\n")

    def pick(prefix: str = "") -> int:
        found = [i for i, line in enumerate(lines) if line.startswith(prefix)] or [0]
        return draw(st.sampled_from(found))

    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            lines.append("")
        op = draw(st.sampled_from(SDP_OPS))
        i = draw(st.integers(0, len(lines) - 1))
        if op == "drop":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "garble":
            cut = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:cut] + draw(any_text) + lines[i][cut + 1 :]
        elif op == "fingerprint":
            i = pick("a=fingerprint:")
            algo = draw(st.sampled_from(["sha-256", "sha-1", "md5", "", "SHA-256 SHA-256"]))
            value = draw(any_text | st.text("0123456789ABCDEF:", max_size=200) | huge_text)
            lines[i] = f"a=fingerprint:{algo} {value}"
        elif op == "ice":
            i = pick(draw(st.sampled_from(["a=ice-ufrag:", "a=ice-pwd:"])))
            name = lines[i].split(":", 1)[0]
            lines[i] = f"{name}:{draw(any_text | huge_text)}"
        elif op == "mline":
            i = pick("m=")
            kind = draw(st.sampled_from(["audio", "video", "application", "text", ""]) | any_text)
            port = draw(st.integers(-10, 10**12).map(str) | any_text)
            proto = draw(st.sampled_from(["UDP/TLS/RTP/SAVPF", "RTP/AVP", "TCP", ""]) | any_text)
            fmts = draw(st.lists(st.integers(-5, 10**6).map(str) | any_text, max_size=6))
            lines[i] = f"m={kind} {port} {proto} {' '.join(fmts)}".rstrip()
        elif op == "codec":
            i = pick("a=rtpmap:")
            pt = draw(st.integers(-5, 10**9).map(str) | any_text)
            name = draw(st.sampled_from(["VP8", "opus", "H264", "VP9", "", "vp8"]) | any_text)
            rate = draw(st.integers(-1, 10**12).map(str) | any_text)
            chans = draw(st.sampled_from(["", "/2", "/0", "/-1", "/99999999999"]))
            lines[i] = f"a=rtpmap:{pt} {name}/{rate}{chans}"
        elif op == "huge":
            name = draw(st.sampled_from(["a=x-junk:", "a=ssrc:1 cname:", "a=mid:", "s=", "a="]))
            lines.insert(i, name + "x" * draw(st.integers(1_000, 55_000)))
        elif op == "non_ascii":
            cut = draw(st.integers(0, len(lines[i])))
            junk = draw(st.text(st.characters(min_codepoint=0x80), min_size=1, max_size=20))
            lines[i] = lines[i][:cut] + junk + lines[i][cut:]
        elif op == "number":
            number = draw(st.sampled_from(["-1", "0", "4294967296", "1" * 400, "1e9", "NaN"]))
            lines[i] = re.sub(r"\d+", number, lines[i], count=1)
        elif op == "candidate":
            i = pick("a=candidate:")
            fields = lines[i].split(" ")
            j = draw(st.integers(0, len(fields) - 1))
            fields[j] = draw(any_text | st.sampled_from(["999999999999", "-1", "::::", "a.local"]))
            lines[i] = " ".join(fields)
        elif op == "truncate":
            return "\r\n".join(lines)[: draw(st.integers(0, len(base)))]
    eol = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    return eol.join(lines) + eol


async def next_outcome(
    ws: aiohttp.ClientWebSocketResponse, *kinds: str, seen: list[Any] | None = None
) -> dict[str, Any]:
    """The next message of one of ``kinds`` or an ``error``, or ``_closed`` with its code.

    Every message read, skipped or not, is appended to ``seen`` (for the failure report)."""
    seen = [] if seen is None else seen
    while True:
        msg = await ws.receive(timeout=20)
        if msg.type == aiohttp.WSMsgType.TEXT:
            data = json.loads(msg.data)
            seen.append(data)
            if data.get("type") in (*kinds, "error"):
                return data
        elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            seen.append(closed := {"type": "_closed", "code": ws.close_code, "reason": msg.extra})
            return closed
        else:
            raise AssertionError(f"unexpected frame {msg.type}: {msg.data!r} after {seen}")


def assert_clean_close(outcome: dict[str, Any]) -> None:
    # Refused by the WebSocket layer itself: 1007 a text frame that is not UTF-8, 1009 a frame
    # past MAX_MESSAGE_BYTES.
    assert outcome["type"] == "_closed", outcome
    assert 4400 <= outcome["code"] < 4500 or outcome["code"] in (1007, 1009), outcome


@settings(LIVE, max_examples=150)
@given(data=st.data())
async def test_mutated_sdp_offers_are_answered_or_refused_cleanly(
    kiosk_session: KioskSession, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    caplog.clear()
    session = kiosk_session
    sdp = data.draw(mutated_sdp(session.offer), label="sdp")
    seen: list[Any] = []
    async with session.http.ws_connect(session.ws_url) as ws:
        await ws.send_json({"type": "hello", "token": session.token})
        welcome = await next_outcome(ws, "welcome", seen=seen)
        if welcome["call"] is None:  # the previous example's call has ended: a new one
            await ws.send_json({"type": "call"})
            state = await next_outcome(ws, "state", seen=seen)
            assert state["call"]["state"] == "waiting_relative", seen
        await ws.send_json({"type": "offer", "sdp": sdp})
        outcome = await next_outcome(ws, "answer", "ended", seen=seen)
        event(f"outcome: {outcome['type']} {outcome.get('code', '')}")
        if outcome["type"] == "answer":
            assert outcome["sdp"].startswith("v=0"), outcome
            # The kiosk's leg is taken: end this call so that the next example has a fresh one.
            if not ws.closed:
                await ws.send_json({"type": "hangup"})
            outcome = await next_outcome(ws, "ended", seen=seen)
        if outcome["type"] == "ended":
            # Hung up, or ended by itself: an offer accepted whose ICE then fails ends the call.
            assert outcome["reason"] in ("kiosk_hangup", "media_failure"), seen
        elif outcome["type"] == "error":
            assert outcome["reason"], seen
        else:
            assert_clean_close(outcome)
    assert_clean_log(caplog)


# -- 3. the JSON API -------------------------------------------------------------------------

PUBLIC_API = ("/api/join", "/api/kiosk/login", "/api/slots")
STAFF_API = ("/api/desk", "/api/regie", "/api/monitor", "/api/recordings", "/api/direction",
             "/api/audit")  # fmt: skip


def api_routes(app: Any, prefixes: tuple[str, ...]) -> list[tuple[str, str]]:
    """(method, path template) of every route under ``prefixes``, from the router itself."""
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        template = info.get("formatter") or info.get("path")
        if route.method != "HEAD" and template and template.startswith(prefixes):
            found.add((route.method, template))
    return sorted(found)


@asynccontextmanager
async def staff_http(gateway: Running) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP session that may call the staff API: one per test, shared by its examples.

    >>> THE STAFF LOGIN GOES HERE. <<< A member with every working role, signed in through
    the real route (cookie and CSRF token, see tests/staffkit.py), so that the fuzz reaches
    the handlers instead of stopping at 401/403. Checked below: if the way to sign in changes,
    this fails first, and loudly.
    """
    async with staffkit.staff_http(gateway) as http:
        async with http.get(gateway.base_url + "/api/desk/establishment") as resp:
            assert resp.status == 200, "the staff session does not reach the staff API"
        yield http


# Path parameters: odd characters, percent-encoded (surrogates as the bytes they would be).
odd_segments = st.one_of(
    texts(min_size=1, max_size=60),
    st.sampled_from([".", "..", "%", "%00", "%ZZ", "%2e%2e", "a%2Fb", "%FF%FE", "+", " ",
                     "detainees", "correspondents", "kiosk", "relative", "x" * 3000]),
)  # fmt: skip
QUERY_KEYS = ("q", "date", "from", "to", "days", "lang", "dry_run", "actor", "staff", "download",
              "phone", "detainee", "correspondent", "flagged", "action")  # fmt: skip
CONTENT_TYPES = (None, "application/json", "application/json; charset=latin-1", "text/plain",
                 "multipart/form-data; boundary=zz", "application/x-www-form-urlencoded",
                 "text/csv", "garbage", ";;;", "application/json; charset=utf-32")  # fmt: skip


def _quote(value: str, safe: str = "%") -> str:
    return quote(value, safe=safe, errors="surrogatepass")


@dataclass
class FuzzRequest:
    method: str
    path: str
    body: bytes | None
    content_type: str | None


@st.composite
def fuzz_request(
    draw: st.DrawFn, routes: list[tuple[str, str]], known_ids: list[str]
) -> FuzzRequest:
    method, template = draw(st.sampled_from(routes))
    segment = odd_segments | st.sampled_from(known_ids) if known_ids else odd_segments
    path = re.sub(r"\{\w+\}", lambda _m: _quote(draw(segment)), template)
    query = draw(st.dictionaries(st.sampled_from(QUERY_KEYS) | any_text, evil_values.map(str),
                                 max_size=4))  # fmt: skip
    if query:
        path += "?" + "&".join(f"{_quote(k, '')}={_quote(v, '')}" for k, v in query.items())
    body: bytes | None = None
    if method == "POST":
        body = draw(
            st.one_of(
                objects.map(json.dumps).map(str.encode),
                json_texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
                st.binary(max_size=500),
                st.just(b""),
                st.integers(4_000, 70_000).map(lambda n: json.dumps({"name": "x" * n}).encode()),
            )
        )
    return FuzzRequest(method, path, body, draw(st.sampled_from(CONTENT_TYPES)))


async def send_and_check(http: aiohttp.ClientSession, base: str, req: FuzzRequest) -> int:
    """Send one fuzzed request; the answer is < 500 and every refusal is JSON with a reason."""
    headers = {"Content-Type": req.content_type} if req.content_type else {}
    url = URL(base + req.path, encoded=True)
    async with http.request(req.method, url, data=req.body, headers=headers) as resp:
        raw = await resp.read()
        assert resp.status < 500, (resp.status, raw[:500])
        if resp.status >= 400:
            assert resp.content_type == "application/json", (resp.status, raw[:200])
            refusal = json.loads(raw)
            assert isinstance(refusal, dict) and isinstance(refusal.get("reason"), str), refusal
        elif resp.content_type == "application/json":
            json.loads(raw)
        return resp.status


@dataclass(repr=False)
class ApiTarget(Fixture):
    gateway: Running
    public: list[tuple[str, str]]
    staff: list[tuple[str, str]]
    known_ids: list[str]
    staff_http: aiohttp.ClientSession


@pytest.fixture
async def api_target(
    gateway_factory: Any, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[ApiTarget]:
    caplog.set_level(logging.WARNING)
    # Rate limits lifted: the fuzz should reach the handlers, not stop at 429.
    gateway = await gateway_factory(
        join_attempts_per_minute=10**9, join_failures_per_hour=10**9, kiosk_logins_per_minute=10**9
    )
    demo = await seeded(gateway)
    directory = gateway.app[keys.DIRECTORY]
    ids = [demo["detainee"], demo["booking"], demo["correspondent_phone"]]
    ids += [c.id for c in await directory.correspondents_of(demo["detainee"])]
    public = api_routes(gateway.app, PUBLIC_API)
    staff = api_routes(gateway.app, STAFF_API)
    assert ("POST", "/api/join") in public and ("POST", "/api/kiosk/login") in public
    assert len(staff) >= 20, staff
    async with staff_http(gateway) as http:
        yield ApiTarget(gateway, public, staff, ids, http)
    assert_clean_log(caplog)


@settings(LIVE, max_examples=120)
@given(data=st.data())
async def test_public_api_refuses_fuzz_with_a_json_4xx(
    api_target: ApiTarget, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    caplog.clear()
    req = data.draw(fuzz_request(api_target.public, []), label="request")
    async with aiohttp.ClientSession() as http:
        await send_and_check(http, api_target.gateway.base_url, req)
    assert_clean_log(caplog)


@settings(LIVE, max_examples=250)
@given(data=st.data())
async def test_staff_api_refuses_fuzz_with_a_json_4xx(
    api_target: ApiTarget, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    caplog.clear()
    req = data.draw(fuzz_request(api_target.staff, api_target.known_ids), label="request")
    await send_and_check(api_target.staff_http, api_target.gateway.base_url, req)
    assert_clean_log(caplog)


async def test_api_refuses_oversized_and_deep_bodies(api_target: ApiTarget, caplog: Any) -> None:
    """The cases hypothesis may not draw often: bodies past the limits, nesting past recursion."""
    base = api_target.gateway.base_url
    bodies = [b"[" * 4000, b'{"a":' * 800, b"[" * 60_000, b"x" * 200_000]
    http = api_target.staff_http
    posts = [("POST", "/api/join"), ("POST", "/api/kiosk/login")]
    posts += [r for r in api_target.staff if r[0] == "POST"]
    for method, path in posts:
        for raw in bodies:
            req = FuzzRequest(method, re.sub(r"\{\w+\}", "x", path), raw, "application/json")
            try:
                status = await send_and_check(http, base, req)
            except aiohttp.ClientError:
                continue  # the server may refuse (413) and close before reading all of it
            if "/import/" not in path:  # the imports take CSV: a report of its errors, 200
                assert 400 <= status < 500, (path, status)
    assert_clean_log(caplog)


# -- 4. a call in progress goes on -------------------------------------------------------------


@dataclass(repr=False)
class LiveCall(Fixture):
    gateway: Running
    http: aiohttp.ClientSession
    kiosk: Client
    relative: Client
    routes: list[tuple[str, str]]
    call_id: str
    staff_http: aiohttp.ClientSession

    def frames(self) -> tuple[int, ...]:
        return (*self.kiosk.received.values(), *self.relative.received.values())

    async def still_connected(self) -> None:
        call = self.gateway.app[keys.ENGINE].calls.get(self.call_id)
        assert call is not None and call.state is CallState.CONNECTED
        for client in (self.kiosk, self.relative):
            assert client.close_code is None and client.ws is not None and not client.ws.closed
        before = self.frames()
        # Every counter (audio and video, on both sides) moves on.
        await wait_until(lambda: all(a > b for a, b in zip(self.frames(), before, strict=True)))


@pytest.fixture
async def live_call(
    gateway_factory: Any, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[LiveCall]:
    caplog.set_level(logging.WARNING)
    gateway = await gateway_factory(join_attempts_per_minute=10**9, join_failures_per_hour=10**9)
    demo = await seeded(gateway)
    async with aiohttp.ClientSession() as http:
        kiosk = Client(gateway.base_url, http)
        relative = Client(gateway.base_url, http)
        try:
            code, ref = await start_calling(kiosk, gateway, demo)
            status, body = await join(relative, code, ref)
            assert status == 200, body
            await relative.connect()
            await relative.start_media()
            await relative.expect("state", call__state="connected")
            routes = [
                r
                for r in api_routes(gateway.app, PUBLIC_API + STAFF_API)
                # Legitimate staff acts that end the call: a fuzz may well make a valid one.
                if not r[1].endswith(("/cut", "/cancel"))
            ]
            live = LiveCall(gateway, http, kiosk, relative, routes, body["call"]["id"], http)
            await live.still_connected()
            async with staff_http(gateway) as live.staff_http:
                yield live
            await live.still_connected()
            # A hang-up ends the call (and seals its recording) before the gateway stops.
            call = gateway.app[keys.ENGINE].calls[live.call_id]
            await kiosk.send({"type": "hangup"})
            assert (await relative.expect("ended"))["reason"] == "kiosk_hangup"
            await asyncio.wait_for(call.finished.wait(), 10)
            assert_clean_log(caplog)
        finally:
            await kiosk.close()
            await relative.close()


def _not_hangup(frame: str | bytes) -> bool:
    """Junk may be anything but a well-formed hangup or leaving, which end the call or mark
    the leg lost by right."""
    if isinstance(frame, bytes):
        return True
    try:
        return not isinstance(m.parse(frame), m.Hangup | m.Leaving)
    except m.ProtocolError:
        return True


junk_frames = st.one_of(
    json_texts,
    st.fixed_dictionaries(
        {"type": st.sampled_from(["call", "offer", "ping", "hello", "dance"])},
        optional={"token": field_values, "sdp": field_values | st.just("v=0\r\n")},
    ).map(json.dumps),
    st.binary(max_size=200),
).filter(_not_hangup)


@settings(LIVE, max_examples=30)
@given(data=st.data())
async def test_a_call_in_progress_goes_on_under_fuzz(
    live_call: LiveCall, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    caplog.clear()
    live = live_call
    tokens = {"kiosk": live.kiosk.token, "relative": live.relative.token}
    first = data.draw(st.sampled_from(["kiosk", "relative", "none", "junk"]), label="hello")
    frames = data.draw(st.lists(junk_frames, max_size=3), label="frames")
    ws_url = live.gateway.base_url.replace("http", "ws") + "/ws"
    async with live.http.ws_connect(ws_url) as ws:
        if first in tokens:
            await ws.send_json({"type": "hello", "token": tokens[first]})
        elif first == "junk":
            frames.insert(0, data.draw(junk_frames, label="first"))
        # A last frame that is never valid: every junk socket ends with a refusal.
        for frame in [*frames, "not json"]:
            if ws.closed:
                break
            try:
                if isinstance(frame, bytes):
                    await ws.send_bytes(frame)
                else:  # lone surrogates go out as the invalid UTF-8 they would be
                    raw = frame.encode("utf-8", "surrogatepass")
                    await ws.send_frame(raw, aiohttp.WSMsgType.TEXT)
            except (ConnectionResetError, aiohttp.ClientConnectionError):
                break  # the gateway closed the socket on an earlier frame
        assert_clean_close(await next_outcome(ws))
    if first in tokens:
        # One socket per leg: the junk socket's hello took the leg's socket over (the page
        # would say "opened on another device"); the participant comes back, as a page does.
        client = live.kiosk if first == "kiosk" else live.relative
        await wait_until(lambda: client.close_code is not None)
        assert client.close_code == 4410, client.close_code
        while not client.inbox.empty():  # the old socket's last words
            client.inbox.get_nowait()
        client.close_code = None
        await client.connect()
    req = data.draw(fuzz_request(live.routes, [live.call_id]), label="request")
    await send_and_check(live.staff_http, live.gateway.base_url, req)
    await live.still_connected()
    assert_clean_log(caplog)


# -- 5. what the document refuses, the API refuses ---------------------------------------------
#
# For every JSON request body the OpenAPI document describes: a body valid but for one field, the
# field given a value the document's schema refuses (wrong type, pattern, length, enum, range)
# or left out when required. The API must refuse it with 400 and that field's ``field.<name>``
# (or, for the bodies whose refusals are not per field, a 400 the operation documents), and
# change nothing in Redis. This would have caught ``Élo12`` as a detainee number.

try:
    import jsonschema

    from gateway.http import openapi

    DOC = openapi.document()
except ImportError:  # pragma: no cover - jsonschema comes with the test extra
    jsonschema = None  # type: ignore[assignment]
    DOC = {"paths": {}, "components": {}}

from gateway.core.text import clean as clean_text  # noqa: E402

# Signed by the provider: the signature is checked before the body (a 401 of its own).
NOT_BODY_FIRST = {"/api/sms/status"}


def _resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = DOC
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def _refuses(schema: dict[str, Any], value: Any) -> bool:
    assert jsonschema is not None
    root = {**schema, "components": DOC["components"]}
    return not jsonschema.Draft202012Validator(root).is_valid(value)


def documented_bodies() -> list[tuple[str, str, dict[str, Any]]]:
    """(path, method, the body's schema) of every operation taking a JSON object."""
    found = []
    for path, item in DOC["paths"].items():
        for method, op in item.items():
            media = op.get("requestBody", {}).get("content", {}).get("application/json")
            if media and path not in NOT_BODY_FIRST:
                schema = _resolve(media["schema"])
                # A call must be live for its routes to read a body: not the case here.
                if "{call}" in path:
                    continue
                if schema.get("type") == "object" and schema.get("properties"):
                    found.append((path, method, {**schema, "x-example": media.get("example")}))
    return found


def _a_valid_value(schema: dict[str, Any]) -> Any:
    """A value the property's schema takes (the other fields of the body are left valid)."""
    schema = _resolve(schema)
    if "anyOf" in schema:
        return _a_valid_value(schema["anyOf"][0])
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return max(schema.get("minimum", 1), 1)
    if kind == "array":
        return [_a_valid_value(schema["items"])] if schema.get("minItems") else []
    if schema.get("format") == "date-time":
        return "2026-03-05T08:30:00+01:00"
    if schema.get("format") == "date":
        return "2026-03-05"
    for sample in ("100042", "1234", "a-valid-value-ABC-12345", "x"):
        if not _refuses(schema, sample):
            return sample
    raise AssertionError(f"no sample for {schema}")


def valid_body(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    """The documented example when there is one, every property filled in."""
    body = {name: _a_valid_value(prop) for name, prop in schema["properties"].items()}
    if isinstance(example, dict) and not _refuses(schema, {**body, **example}):
        body.update(example)
    return body


CLEAN_CHARS = st.characters(categories=("L", "N", "P", "S", "Zs"))
# A value of each JSON type, to give a field of another type.
OF_TYPE = {
    "null": st.none(),
    "boolean": st.booleans(),
    "integer": st.integers(-(10**6), 10**6),
    "number": st.floats(allow_nan=False, allow_infinity=False),
    "string": st.text(CLEAN_CHARS, max_size=8),
    "array": st.lists(st.integers(), max_size=2),
    "object": st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
}


def refused_values(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values a property's schema refuses, in the text rule's normal form (trimmed, NFC, no
    control character: the rule's own refusals are fuzzed above)."""
    schema = _resolve(schema)
    kinds = schema.get("type", [])
    kinds = set(kinds if isinstance(kinds, list) else [kinds])
    if "number" in kinds:
        kinds.add("integer")
    strategies = [OF_TYPE[k] for k in OF_TYPE if kinds and k not in kinds]
    if "maxLength" in schema:
        n = schema["maxLength"]
        strategies.append(st.text(CLEAN_CHARS, min_size=n + 1, max_size=n + 20))
    if "pattern" in schema or "enum" in schema:
        strategies.append(st.sampled_from(["Élo12", "²²²²", "١٢٣٤", "12-34", "a b", "x", "0"]))
        strategies.append(st.text(CLEAN_CHARS, min_size=1, max_size=12))
    if "minimum" in schema:
        strategies.append(st.integers(max_value=schema["minimum"] - 1))
    if "maximum" in schema:
        strategies.append(st.integers(min_value=schema["maximum"] + 1))
    if "minLength" in schema:
        strategies.append(st.just(""))

    def normal(value: Any) -> bool:
        if not isinstance(value, str):
            return True
        try:
            return clean_text(value, "x", required=False, limit=10**6) == value
        except ValueError:
            return False

    return st.one_of(strategies).filter(normal).filter(lambda v: _refuses(schema, v))


def fuzzable(schema: dict[str, Any]) -> list[str]:
    """The properties some value is refused for (a field of any type, such as ``lang``, not)."""
    return sorted(name for name, prop in schema["properties"].items()
                  if "type" in _resolve(prop) or name in schema.get("required", []))  # fmt: skip


@dataclass(repr=False)
class BodyTarget(Fixture):
    gateway: Running
    http: aiohttp.ClientSession
    path_values: dict[str, str]
    body_values: dict[str, Any]
    volatile: set[bytes]


# What the gateway's own duties rewrite as time passes: its heartbeats, its locks.
PROCESS_KEYS = (b"parloir:gw:", b"parloir:gateways", b"parloir:lock:")


async def _state(gateway: Running, volatile: set[bytes]) -> dict[bytes, bytes]:
    """Every Redis key and its value, but those a harmless request touches (the session's
    last use) and the process's own."""
    redis = gateway.app[keys.REDIS]
    state = {}
    async for key in redis.scan_iter(count=1000):
        name = key if isinstance(key, bytes) else key.encode()
        if name not in volatile and not name.startswith(PROCESS_KEYS):
            state[name] = await redis.dump(key)
    return state


@pytest.fixture
async def body_target(
    gateway_factory: Any, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[BodyTarget]:
    caplog.set_level(logging.WARNING)
    gateway = await gateway_factory(
        join_attempts_per_minute=10**9, join_failures_per_hour=10**9, kiosk_logins_per_minute=10**9
    )
    demo = await seeded(gateway)
    directory = gateway.app[keys.DIRECTORY]
    correspondent = (await directory.correspondents_of(demo["detainee"]))[0]
    spare, _ = await staffkit.create_member(gateway)
    # One member who may do everything, the administrator's work included.
    login, password = await staffkit.create_member(gateway, [*staffkit.ALL_WORK, Role.ADMIN])
    paths = {"number": demo["detainee"], "bid": demo["booking"], "cid": correspondent.id,
             "login": spare, "kiosk": gateway.config.kiosk_id,
             "phone": demo["correspondent_phone"]}  # fmt: skip
    # The body's other fields name what exists, so that only the field under test is wrong.
    bodies = {"detainee": demo["detainee"], "number": demo["detainee"],
              "booking": demo["booking"], "correspondent": correspondent.id,
              "kiosk": gateway.config.kiosk_id, "current": password,
              "until": "2099-12-31"}  # fmt: skip
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await staffkit.sign_in(http, gateway.base_url, login, password)
        http.headers["X-CSRF-Token"] = csrf
        before = await _state(gateway, set())
        async with http.get(gateway.base_url + "/api/staff/me") as resp:
            assert resp.status == 200
        after = await _state(gateway, set())
        volatile = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        assert len(volatile) < 5, volatile  # the session, not the data
        yield BodyTarget(gateway, http, paths, bodies, volatile)
    assert_clean_log(caplog)


def test_every_documented_body_is_fuzzed() -> None:
    if jsonschema is None:
        pytest.skip("jsonschema is not installed")
    paths = {path for path, _, _ in documented_bodies()}
    assert {"/api/desk/detainees", "/api/desk/bookings", "/api/join"} <= paths
    for _, _, schema in documented_bodies():
        assert not _refuses(schema, valid_body(schema, schema["x-example"])), schema


def base_body(target: BodyTarget, schema: dict[str, Any]) -> dict[str, Any]:
    """A body the schema takes, naming what exists: only the field under test will be wrong."""
    body = valid_body(schema, schema["x-example"])
    body.update({k: v for k, v in target.body_values.items() if k in body})
    assert not _refuses(schema, body), body
    return body


async def assert_refused(
    target: BodyTarget, path: str, method: str, name: str, body: dict[str, Any]
) -> None:
    """400, a reason the operation documents (a field's names this field), nothing changed."""
    op = DOC["paths"][path][method]
    url = target.gateway.base_url + re.sub(r"\{(\w+)\}", lambda m: target.path_values[m[1]], path)
    before = await _state(target.gateway, target.volatile)
    async with target.http.request(method, url, json=body) as resp:
        answer = await resp.json()
        status = resp.status
    documented = set(_reasons_of(op["responses"].get("400", {})))
    assert status == 400, (method, path, body, status, answer)
    reason = answer["reason"]
    assert reason in documented, (method, path, body, answer)
    assert not reason.startswith("field.") or reason == f"field.{name}", (path, body, answer)
    assert answer["message"]
    assert await _state(target.gateway, target.volatile) == before, (path, body)


def canonical_refusals(schema: dict[str, Any]) -> list[Any]:
    """For one property, the plain cases: non-ASCII digits and letters against a pattern, one
    character too many, a value off the enum or the range, another type."""
    schema = _resolve(schema)
    kinds = schema.get("type", [])
    kinds = kinds if isinstance(kinds, list) else [kinds]
    candidates: list[Any] = ["Élo12", "²²²²", "١٢٣٤", "x", "", 12345, 1.5, True, None, [], {}]
    if "maxLength" in schema:
        candidates.append("x" * (schema["maxLength"] + 1))
    if "minimum" in schema:
        candidates.append(schema["minimum"] - 1)
    if "maximum" in schema:
        candidates.append(schema["maximum"] + 1)
    return [v for v in candidates if kinds and _refuses(schema, v)]


async def test_the_plain_refusals_of_every_documented_field(
    body_target: BodyTarget, caplog: pytest.LogCaptureFixture
) -> None:
    """Every field of every documented body, each plain case: ``Élo12`` as a detainee number,
    ``²²²²`` as an access code, a text one character too long, a number for a text…"""
    if jsonschema is None:
        pytest.skip("jsonschema is not installed")
    checked = 0
    for path, method, schema in documented_bodies():
        for name in fuzzable(schema):
            values = canonical_refusals(schema["properties"][name])
            for value in values:
                body = {**base_body(body_target, schema), name: value}
                await assert_refused(body_target, path, method, name, body)
                checked += 1
            if name in schema.get("required", []):
                body = base_body(body_target, schema)
                del body[name]
                await assert_refused(body_target, path, method, name, body)
    assert checked > 200, checked
    assert_clean_log(caplog)


@settings(LIVE, max_examples=300)
@given(data=st.data())
async def test_what_the_document_refuses_the_api_refuses(
    body_target: BodyTarget, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    if jsonschema is None:
        pytest.skip("jsonschema is not installed")
    caplog.clear()
    path, method, schema = data.draw(st.sampled_from(documented_bodies()), label="operation")
    body = base_body(body_target, schema)
    name = data.draw(st.sampled_from(fuzzable(schema)), label="field")
    required = name in schema.get("required", [])
    if required and ("type" not in schema["properties"][name] or data.draw(st.booleans())):
        del body[name]
    else:
        body[name] = data.draw(refused_values(schema["properties"][name]), label="value")
    assert _refuses(schema, body)
    event(f"{method.upper()} {path} {name}")
    await assert_refused(body_target, path, method, name, body)
    assert_clean_log(caplog)


def _reasons_of(response: dict[str, Any]) -> list[str]:
    response = _resolve(response)
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    found: list[str] = []
    for part in schema.get("allOf", []):
        reason = part.get("properties", {}).get("reason", {})
        found += reason.get("enum", []) + ([reason["const"]] if "const" in reason else [])
    return found
