"""/metrics during a real call (aiortc peers, issue 15): per-leg series from the relay appear
and move (what it received, what it sent: frames per second, and the loss and round trip its
receiver reports give), the join time is observed once, keyframe requests are counted, and
they go with the call."""

from __future__ import annotations

import asyncio

import aiohttp

from gateway.http import appkeys as keys
from gateway.http.health import join_histogram
from gateway.store.ledger import LedgerError
from recorder.writer import QUEUE_LIMIT

from .callkit import Client, join, join_connected, seeded, start_calling
from .test_health import scrape, value


def test_join_histogram_is_cumulative() -> None:
    counts = {("join_ds", "15"): 2, ("join_ds", "250"): 1, ("calls_started", ""): 3}
    buckets, total = join_histogram(counts)
    assert dict(buckets)["1.0"] == 0 and dict(buckets)["2.0"] == 2
    assert dict(buckets)["20.0"] == 2 and dict(buckets)["30.0"] == 3
    assert dict(buckets)["+Inf"] == 3 and total == 1.5 * 2 + 25.0


async def test_call_series_appear_move_and_go(gateway_factory) -> None:
    gateway = await gateway_factory()
    demo = await seeded(gateway)
    base = gateway.base_url
    async with aiohttp.ClientSession() as http:
        kiosk, relative = Client(base, http), Client(base, http)
        try:
            code, _ref = await start_calling(kiosk, gateway, demo)
            before = await scrape(http, base)
            assert value(before, "parloir_join_seconds_count") == 0
            ledger = gateway.app[keys.LEDGER]
            try:  # a refused ledger operation moves its counter
                await ledger.hold(demo["detainee"], "bk_too_much", 10**9, "test", 0)
            except LedgerError as exc:
                refused = exc.reason
            status, _ = await join(relative, f"{(int(code) + 1) % 1_000_000:06d}")
            assert status != 200
            call = await join_connected(relative, code)
            await asyncio.sleep(1.0)
            first = await scrape(http, base)
            await asyncio.sleep(1.5)
            second = await scrape(http, base)
            # Round trips need a receiver report answering a sender report (about a second
            # each way): wait for one per leg and kind.
            rtts = second
            async with asyncio.timeout(10):
                while len(rtts.get("parloir_leg_rtt_seconds", [])) < 4:
                    await asyncio.sleep(0.5)
                    rtts = await scrape(http, base)
            await kiosk.send({"type": "hangup"})
            await relative.expect("ended", reason="kiosk_hangup", timeout=10)
        finally:
            await kiosk.close()
            await relative.close()
        after = await scrape(http, base)
    assert value(second, "parloir_code_refused_total", outcome="code.invalid") == 1
    assert value(second, "parloir_join_seconds_count") == 1
    assert value(second, "parloir_ledger_refusals_total", reason=refused) >= 1
    # The call is recorded: its writer keeps up.
    [(_, backlog)] = second["parloir_recorder_backlog_packets"]
    assert 0 <= backlog < QUEUE_LIMIT
    assert "parloir_recording_failures_total" not in second  # none failed
    assert value(before, "parloir_sms_attempts_total", status="sent") == 1  # the code's SMS
    assert value(second, "parloir_sms_outcomes_total", status="sent") == 1  # its latest word
    assert 0 <= value(second, "parloir_join_seconds_sum") < 20  # tenths: a fast join is 0
    assert value(second, "parloir_join_seconds_bucket", le="+Inf") == 1
    for leg in ("kiosk", "relative"):
        for kind, rate in (("audio", 50), ("video", 5)):
            labels = {"call": call, "leg": leg, "kind": kind}
            p1 = value(first, "parloir_leg_packets_total", **labels)
            p2 = value(second, "parloir_leg_packets_total", **labels)
            b1 = value(first, "parloir_leg_bytes_total", **labels)
            b2 = value(second, "parloir_leg_bytes_total", **labels)
            assert p1 > 0 and p2 - p1 >= rate * 1.5 * 0.3, (leg, kind, p1, p2)  # moved
            assert b2 - b1 > p2 - p1, (leg, kind, b1, b2)  # more than a byte per frame
            # What the relay sent the leg: as many frames as the other leg sent, near enough.
            f1 = value(first, "parloir_leg_frames_sent_total", **labels)
            f2 = value(second, "parloir_leg_frames_sent_total", **labels)
            assert f1 > 0 and f2 - f1 >= rate * 1.5 * 0.3, (leg, kind, f1, f2)
            # Its receiver reports: loss and the round trip, on loopback near nothing.
            assert 0 <= value(second, "parloir_leg_loss_ratio", **labels) <= 0.1
            assert 0 <= value(second, "parloir_leg_packets_lost", **labels) < 20
            assert 0 < value(rtts, "parloir_leg_rtt_seconds", **labels) < 0.5, (leg, kind)
        # A keyframe was asked of each video leg as the other side subscribed.
        asked = value(second, "parloir_keyframe_requests_total", call=call, leg=leg, kind="video")
        assert asked >= 1, leg
    # The booking was settled when the call ended: a settlement in the ledger's series.
    ops = {tuple(sorted(lbl.items())): v for lbl, v in after["parloir_ledger_operations_total"]}
    assert sum(v for k, v in ops.items() if ("result", "done") in k) >= 3, ops  # credit, hold…
    for family in ("parloir_leg_packets_total", "parloir_leg_frames_sent_total",
                   "parloir_leg_rtt_seconds", "parloir_leg_loss_ratio"):  # fmt: skip
        assert not [s for s in after.get(family, []) if s[0]["call"] == call], family
