"""The signaling protocol: parsing, and a live gateway's answers to bad input."""

from __future__ import annotations

import json

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signaling import messages as m

from .callkit import Client, join, kiosk_login, seeded, start_calling, wait_for_code


def test_parse_known_messages() -> None:
    assert m.parse('{"type":"hello","token":"abc"}') == m.Hello(token="abc")
    assert m.parse('{"type":"call"}') == m.StartCall()
    assert m.parse('{"type":"offer","sdp":"v=0"}') == m.Offer(sdp="v=0")
    assert m.parse('{"type":"hangup"}') == m.Hangup()


@pytest.mark.parametrize(
    "text,code,reason",
    [
        ("not json", 4400, "signaling.malformed"),
        ("[1,2]", 4400, "signaling.malformed"),
        ('{"type": 3}', 4400, "signaling.malformed"),
        ('{"type":"offer"}', 4400, "signaling.malformed"),
        ('{"type":"offer","sdp":5}', 4400, "signaling.malformed"),
        ('{"type":"hello","token":""}', 4400, "signaling.malformed"),
        ('{"type":"dance"}', 4404, "signaling.unknown_type"),
        ("[" * 100_000, 4400, "signaling.malformed"),
    ],
)
def test_parse_refusals(text: str, code: int, reason: str) -> None:
    with pytest.raises(m.ProtocolError) as info:
        m.parse(text)
    assert (info.value.code, info.value.reason) == (code, reason)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=200),
        json_values.map(json.dumps),
        st.fixed_dictionaries(
            {"type": st.sampled_from(["hello", "call", "offer", "hangup", "ping", "x"])},
            optional={"token": json_values, "sdp": json_values},
        ).map(json.dumps),
    )
)
def test_fuzz_parse_accepts_or_refuses_cleanly(text: str) -> None:
    try:
        msg = m.parse(text)
    except m.ProtocolError as exc:
        assert exc.code in (4400, 4404) and exc.reason.startswith("signaling.")
    else:
        assert isinstance(msg, m.Hello | m.StartCall | m.Offer | m.Hangup | m.Ping)


async def _raw_socket(http: aiohttp.ClientSession, base: str) -> aiohttp.ClientWebSocketResponse:
    return await http.ws_connect(base.replace("http", "ws") + "/ws")


async def _closed_with(ws: aiohttp.ClientWebSocketResponse) -> tuple[int | None, str]:
    msg = await ws.receive(timeout=10)
    while msg.type == aiohttp.WSMsgType.TEXT:
        msg = await ws.receive(timeout=10)
    return ws.close_code, (msg.extra or "")


async def test_bad_input_closes_only_that_socket_and_the_call_goes_on(gateway_factory) -> None:
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    async with aiohttp.ClientSession() as http:
        kiosk = Client(gateway.base_url, http)
        relative = Client(gateway.base_url, http)
        try:
            code, _ref = await start_calling(kiosk, gateway, demo)
            status, _ = await join(relative, code)
            assert status == 200
            relative_token = relative.token

            cases: list[tuple[list[object], int, str]] = [
                (["garbage"], 4400, "signaling.malformed"),
                ([{"type": "offer", "sdp": "v=0"}], 4401, "signaling.unauthorized"),
                ([{"type": "hello", "token": "nope"}], 4401, "signaling.unauthorized"),
                (
                    [{"type": "hello", "token": relative_token}, {"type": "dance"}],
                    4404,
                    "signaling.unknown_type",
                ),
                (
                    [{"type": "hello", "token": relative_token}, {"type": "call"}],
                    4409,
                    "signaling.out_of_order",
                ),
                (
                    [
                        {"type": "hello", "token": relative_token},
                        {"type": "offer", "sdp": "v=0\r\nthis is not sdp"},
                    ],
                    4422,
                    "signaling.bad_sdp",
                ),
                (
                    [
                        {"type": "hello", "token": relative_token},
                        {
                            "type": "offer",
                            "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
                        },
                    ],
                    4422,
                    "signaling.bad_sdp",
                ),
                (
                    [
                        {"type": "hello", "token": relative_token},
                        {"type": "hello", "token": relative_token},
                    ],
                    4409,
                    "signaling.out_of_order",
                ),
                ([{"type": "hello", "token": relative_token}, "x" * 70_000], 1009, ""),
            ]
            for frames, code_expected, reason in cases:
                ws = await _raw_socket(http, gateway.base_url)
                for frame in frames:
                    if isinstance(frame, str):
                        await ws.send_str(frame)
                    else:
                        await ws.send_json(frame)
                close_code, close_reason = await _closed_with(ws)
                assert (close_code, close_reason) == (code_expected, reason), frames
                await ws.close()

            # the call was not disturbed: the relative can still join and connect
            await relative.connect()
            await relative.start_media()
            await relative.expect("state", call__state="connected")
            await kiosk.send({"type": "hangup"})
            assert (await relative.expect("ended"))["reason"] == "kiosk_hangup"
            assert (await kiosk.expect("ended"))["reason"] == "kiosk_hangup"
        finally:
            await kiosk.close()
            await relative.close()


async def test_join_refusals_and_rate_limit(gateway_factory) -> None:
    gateway = await gateway_factory(join_attempts_per_minute=9)
    demo = await seeded(gateway)
    async with aiohttp.ClientSession() as http:
        kiosk = Client(gateway.base_url, http)
        try:
            await kiosk_login(kiosk, demo["detainee"], demo["access_code"])
            await kiosk.connect()
            await kiosk.send({"type": "call"})
            code, ref = await wait_for_code(gateway.config.outbox_path)
            wrong = "000000" if code != "000000" else "111111"
            anon = Client(gateway.base_url, http)
            # rules not accepted
            async with http.post(gateway.base_url + "/api/join", json={"code": code}) as resp:
                assert resp.status == 400
                assert (await resp.json())["reason"] == "join.rules_not_accepted"
            # without the link's reference: one neutral answer
            status, body = await join(anon, wrong)
            assert (status, body["reason"]) == (403, "code.invalid")
            assert "valide" in body["message"]
            # with it: counted against this call; the 5th wrong try burns the code
            reasons = [(await join(anon, wrong, ref))[1]["reason"] for _ in range(5)]
            assert reasons == ["code.invalid"] * 4 + ["code.burned"]
            burned = await kiosk.expect("code_burned")
            assert "nouveau code" in burned["message"]
            assert (await join(anon, code, ref))[1]["reason"] == "code.burned"
            # the kiosk sends a new code, which works
            await kiosk.send({"type": "call"})
            new_code, _ = await wait_for_code(gateway.config.outbox_path, count=2)
            status, body = await join(anon, new_code, ref)
            assert status == 200, body
            assert (await join(anon, new_code, ref))[1]["reason"] == "code.used"
            # per-address limit: 9 per minute, and this is the 10th try
            assert (await join(anon, wrong))[0] == 429
        finally:
            await kiosk.close()


async def test_kiosk_login_refusals(gateway_factory) -> None:
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    device = {"X-Parloir-Kiosk": demo["kiosk_credential"]}
    async with aiohttp.ClientSession(headers=device) as http:
        url = gateway.base_url + "/api/kiosk/login"
        async with http.post(url, json={"detainee": demo["detainee"], "access_code": "x"}) as r:
            assert r.status == 401 and (await r.json())["reason"] == "kiosk.bad_credentials"
        async with http.post(url, data=b"\xff\xfe") as r:
            assert r.status == 400
        async with http.post(url, json={"detainee": "999", "access_code": "1", "lang": "en"}) as r:
            body = await r.json()
            assert r.status == 401 and body["message"].startswith("Wrong")
