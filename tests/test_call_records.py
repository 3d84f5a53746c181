"""The call's record store on a real Redis: one live call per booking, a clean forget, and a
dead process's call ended in one piece."""

from __future__ import annotations

import redis.asyncio as aioredis

from gateway.store import keys
from gateway.store.call_records import CallRecords


async def _new(records: CallRecords, call_id: str, booking: str, owner: str = "gw1") -> None:
    record = {"id": call_id, "ref": f"r-{call_id}", "owner": owner, "booking": booking}
    await records.create(call_id, record, ref=f"r-{call_id}", ref_ttl=600)


async def test_one_live_call_per_booking_and_a_clean_forget(redis: aioredis.Redis) -> None:
    records = CallRecords(redis)
    assert await records.claim_booking("b1", "c1", 600)
    await _new(records, "c1", "b1")
    # A second call of the same booking, while the first is live, is refused.
    assert not await records.claim_booking("b1", "c2", 600)
    assert await records.live_call_of_booking("b1") == "c1"
    assert await records.owner_of("c1") == "gw1"
    assert await records.by_ref("r-c1") == "c1"
    await records.add_socket("c1", "gw2 s1 fr")

    await records.forget("c1", "r-c1", "b1")
    assert await records.live_ids() == set()
    assert await records.owner_of("c1") is None  # not live any more
    assert await records.by_ref("r-c1") is None
    assert not await redis.exists(keys.booking_call("b1"), keys.call_sockets("c1"))
    assert (await records.get("c1"))["owner"] == "gw1"  # the record stays, for review
    # The booking may now have its next call; a claim left behind by an ended call is taken.
    assert await records.claim_booking("b1", "c2", 600)
    await redis.set(keys.booking_call("b2"), "c-old")
    assert await records.claim_booking("b2", "c3", 600)
    assert await redis.get(keys.booking_call("b2")) == "c3"


async def test_forget_keeps_a_later_calls_claim(redis: aioredis.Redis) -> None:
    records = CallRecords(redis)
    await _new(records, "c1", "b1")
    await redis.set(keys.booking_call("b1"), "c2")  # the booking's next call already claimed it
    await records.forget("c1", "r-c1", "b1")
    assert await redis.get(keys.booking_call("b1")) == "c2"


async def test_events_and_fields_together_and_an_orphan_ended(redis: aioredis.Redis) -> None:
    records = CallRecords(redis)
    assert await records.claim_booking("b1", "c1", 600)
    await _new(records, "c1", "b1", owner="dead")
    await records.save("c1", [{"type": "CodeSent", "at": "1.0"}], {"state": "waiting_relative"})
    await records.checkpoint("c1", 4200)
    # Two processes see the orphan: one recovers it.
    assert await records.claim_recovery("c1", "gw1")
    assert not await records.claim_recovery("c1", "gw2")
    await records.end_orphan("c1", await records.get("c1"), 99.0, "gw1")

    record = await records.get("c1")
    assert record["state"] == "ended" and record["end_reason"] == "interrupted"
    assert record["recovered_by"] == "gw1" and record["connected_ms"] == "4200"
    assert [e["type"] for e in await records.events("c1")] == ["CodeSent", "CallEnded"]
    assert await records.live_ids() == set()
    assert await records.recovered_by(["c1", "unknown"]) == ["gw1", None]
    assert not await redis.exists(keys.booking_call("b1"), keys.call_ref("r-c1"))
