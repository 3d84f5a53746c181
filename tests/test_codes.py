"""The 6-digit code's rules (injected clock) and their Redis adapter (real Redis)."""

from __future__ import annotations

import asyncio

import pytest

from gateway.core import codes
from gateway.core.codes import CodeRecord, Outcome, judge
from gateway.store.codes import CodeStore

SECRET = b"k" * 32
T0 = 1_000_000.0


def record(code: str = "123456", **changes: object) -> CodeRecord:
    values: dict[str, object] = {
        "call_id": "c1",
        "digest": codes.digest(SECRET, code),
        "expires_at": T0 + 300,
    }
    values.update(changes)
    return CodeRecord(**values)  # type: ignore[arg-type]


def test_new_codes_are_six_digits_and_vary() -> None:
    made = {codes.new_code() for _ in range(200)}
    assert all(codes.well_formed(c) for c in made)
    assert len(made) > 190


def test_right_code_in_time_is_accepted_once() -> None:
    r = record()
    first = judge(r, codes.digest(SECRET, "123456"), T0 + 299, 5)
    assert first.outcome is Outcome.ACCEPTED and first.record.used
    again = judge(first.record, codes.digest(SECRET, "123456"), T0 + 299, 5)
    assert again.outcome is Outcome.USED


def test_code_expires_after_five_minutes() -> None:
    assert judge(record(), codes.digest(SECRET, "123456"), T0 + 300, 5).outcome is Outcome.EXPIRED


def test_five_wrong_tries_burn_the_code() -> None:
    r = record()
    for attempt in range(1, 5):
        j = judge(r, codes.digest(SECRET, "000000"), T0, 5)
        assert j.outcome is Outcome.INVALID and j.record.attempts == attempt
        r = j.record
    fifth = judge(r, codes.digest(SECRET, "000000"), T0, 5)
    assert fifth.outcome is Outcome.BURNED and fifth.just_burned
    # even the right code is refused once burned
    assert judge(fifth.record, codes.digest(SECRET, "123456"), T0, 5).outcome is Outcome.BURNED


def test_digest_depends_on_the_secret() -> None:
    assert codes.digest(b"a" * 32, "123456") != codes.digest(b"b" * 32, "123456")


async def test_store_issues_unique_codes_and_judges_atomically(redis) -> None:
    store = CodeStore(redis, max_attempts=5)
    code = await store.issue("call-a", T0, 300)
    assert codes.well_formed(code)
    # no clear code anywhere in Redis
    for key in await redis.keys("*"):
        kind = await redis.type(key)
        values = (
            list((await redis.hgetall(key)).values())
            if kind == "hash"
            else [await redis.get(key)]
            if kind == "string"
            else []
        )
        assert code not in key and all(code != v for v in values)
    # two concurrent tries of the right code: exactly one wins
    results = await asyncio.gather(*(store.try_code(code, None, T0 + 1) for _ in range(8)))
    outcomes = [j.outcome for j, _ in results if j is not None]
    assert outcomes.count(Outcome.ACCEPTED) == 1


async def test_store_counts_wrong_tries_via_the_call_reference(redis) -> None:
    store = CodeStore(redis, max_attempts=5)
    code = await store.issue("call-b", T0, 300)
    wrong = "000000" if code != "000000" else "111111"
    outcomes = []
    for _ in range(5):
        judgement, _ = await store.try_code(wrong, "call-b", T0 + 1)
        assert judgement is not None
        outcomes.append(judgement.outcome)
    assert outcomes == [Outcome.INVALID] * 4 + [Outcome.BURNED]
    judgement, _ = await store.try_code(code, "call-b", T0 + 2)
    assert judgement is not None and judgement.outcome is Outcome.BURNED
    # without the reference, a burned code is unknown
    assert await store.try_code(code, None, T0 + 2) == (None, None)


async def test_new_code_replaces_the_old_one(redis) -> None:
    store = CodeStore(redis, max_attempts=5)
    old = await store.issue("call-c", T0, 300)
    new = await store.issue("call-c", T0 + 10, 300)
    if old != new:
        assert await store.try_code(old, None, T0 + 11) == (None, None)
    judgement, call_id = await store.try_code(new, None, T0 + 11)
    assert judgement is not None and judgement.outcome is Outcome.ACCEPTED and call_id == "call-c"


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "12 456"])
def test_malformed_codes_are_not_well_formed(bad: str) -> None:
    assert not codes.well_formed(bad)
