"""The phone-account ledger against a real, private redis-server (never a fake)."""

from __future__ import annotations

import asyncio
import collections
import itertools
import random
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gateway.core.pricing import CHARTER_TARIFFS, OFF_PLAN, call_cost, max_hold
from gateway.service.redis_server import EmbeddedRedis
from gateway.store.ledger import MAX_AMOUNT, Ledger, LedgerError

OFF = CHARTER_TARIFFS.get(OFF_PLAN)
HOLD = max_hold(OFF, 30)  # 914 c: the most a 30-minute off-plan call can cost
NOW = 1_700_000_000_000
NUMBER = "123456A"


# --------------------------------------------------------------------------- redis-server


@pytest.fixture
def redis_servers() -> Iterator[Callable[..., EmbeddedRedis]]:
    """Factory: ``redis_servers(fsync)`` starts a private server, all stopped at the end."""
    started: list[EmbeddedRedis] = []

    def start(fsync: str = "everysec") -> EmbeddedRedis:
        # short path under /tmp: unix socket paths are limited to ~100 bytes
        server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="parloir-ledger-")), fsync=fsync)
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()
        shutil.rmtree(server.data_dir, ignore_errors=True)


@pytest.fixture
def server(redis_servers: Callable[..., EmbeddedRedis]) -> EmbeddedRedis:
    return redis_servers()


@pytest.fixture
async def client(server: EmbeddedRedis) -> AsyncIterator[aredis.Redis]:
    r = aredis.from_url(server.url)
    yield r
    await r.aclose()


@pytest.fixture
def ledger(client: aredis.Redis) -> Ledger:
    return Ledger(client)


async def funded(ledger: Ledger, amount: int = 5000, number: str = NUMBER) -> None:
    await ledger.credit(number, amount, "regie", f"fund-{number}-{amount}", NOW)


# --------------------------------------------------------------------------- basics


async def test_new_account_is_empty(ledger: Ledger) -> None:
    account = await ledger.account(NUMBER)
    assert (account.balance, account.held, account.available) == (0, 0, 0)
    assert account.tariff == "hors_forfait"
    assert await ledger.entries(NUMBER) == []
    assert (await ledger.verify(NUMBER)).ok


async def test_credit_and_its_entry(ledger: Ledger, client: aredis.Redis) -> None:
    receipt = await ledger.credit(NUMBER, 2000, "regie:agent-7", "cantine-42", NOW)
    assert (receipt.op, receipt.amount, receipt.balance, receipt.held) == ("credit", 2000, 2000, 0)
    assert not receipt.replayed
    [entry] = await ledger.entries(NUMBER)
    assert entry.id == receipt.entry_ids[0]
    assert (entry.kind, entry.amount, entry.actor, entry.idem) == (
        "credit",
        2000,
        "regie:agent-7",
        "cantine-42",
    )
    assert (entry.at, entry.balance_after, entry.held_after, entry.signed) == (NOW, 2000, 0, 2000)
    assert await client.exists("parloir:acct:123456A", "parloir:acct:123456A:ledger") == 2
    assert await client.hexists("parloir:acct:123456A:idem", "cantine-42")


async def test_credit_replay_returns_the_first_result_and_changes_nothing(ledger: Ledger) -> None:
    first = await ledger.credit(NUMBER, 2000, "regie", "k1", NOW)
    await ledger.credit(NUMBER, 500, "regie", "k2", NOW + 1)
    again = await ledger.credit(NUMBER, 2000, "someone-else", "k1", NOW + 60_000)
    assert again == first and again.replayed and again.balance == 2000
    assert (await ledger.account(NUMBER)).balance == 2500
    assert len(await ledger.entries(NUMBER)) == 2


async def test_idempotency_key_reused_with_other_arguments(ledger: Ledger) -> None:
    await ledger.credit(NUMBER, 2000, "regie", "k1", NOW)
    with pytest.raises(LedgerError) as info:
        await ledger.credit(NUMBER, 2001, "regie", "k1", NOW)
    assert info.value.reason == "ledger.idempotency_conflict"
    assert "paramètres" in info.value.message
    # the same key on another account is another key
    await ledger.credit("999999Z", 2001, "regie", "k1", NOW)
    # a refund may not reuse a credit's key either
    await ledger.hold(NUMBER, "bk-1", HOLD, "kiosk", NOW)
    await ledger.settle(NUMBER, "bk-1", 100, "gateway", "call-1", NOW)
    with pytest.raises(LedgerError, match="ledger.idempotency_conflict"):
        await ledger.refund(NUMBER, "call-1", 50, "agent", "coupure", "k1", NOW)
    assert (await ledger.account(NUMBER)).balance == 1900
    assert (await ledger.verify(NUMBER)).ok


@pytest.mark.parametrize("amount", [0, -1, 1.5, "10", True, None, MAX_AMOUNT + 1])
async def test_bad_amounts(ledger: Ledger, amount: object) -> None:
    with pytest.raises(LedgerError) as info:
        await ledger.credit(NUMBER, amount, "regie", "k", NOW)  # type: ignore[arg-type]
    assert info.value.reason == "ledger.bad_amount"
    await funded(ledger)
    with pytest.raises(LedgerError, match="ledger.bad_amount"):
        await ledger.hold(NUMBER, "bk-1", amount, "kiosk", NOW)  # type: ignore[arg-type]
    assert len(await ledger.entries(NUMBER)) == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda lg: lg.credit("12:34", 1, "regie", "k", NOW),  # would collide with other keys
        lambda lg: lg.credit("", 1, "regie", "k", NOW),
        lambda lg: lg.credit(NUMBER, 1, "", "k", NOW),
        lambda lg: lg.credit(NUMBER, 1, "regie", "", NOW),
        lambda lg: lg.credit(NUMBER, 1, "regie", "k", -1),
        lambda lg: lg.credit(NUMBER, 1, "regie", "k", 1.5),
        lambda lg: lg.hold(NUMBER, "bad id", 1, "kiosk", NOW),
        lambda lg: lg.settle(NUMBER, "bk", 1, "gw", "call\n1", NOW),
    ],
    ids=[
        "colon",
        "empty-number",
        "actor",
        "idem",
        "now-negative",
        "now-float",
        "hold-id",
        "call-id",
    ],
)
async def test_bad_arguments(ledger: Ledger, call: Callable[[Ledger], object]) -> None:
    with pytest.raises(LedgerError) as info:
        await call(ledger)  # type: ignore[misc]
    assert info.value.reason == "ledger.bad_argument"
    assert info.value.message.startswith("Paramètre invalide")


async def test_set_tariff(ledger: Ledger) -> None:
    account = await ledger.set_tariff(NUMBER, "forfait_20")
    assert account.tariff == "forfait_20"
    assert (await ledger.account(NUMBER)).tariff == "forfait_20"
    with pytest.raises(LedgerError, match="ledger.unknown_tariff"):
        await ledger.set_tariff(NUMBER, "forfait_1000")
    assert await ledger.entries(NUMBER) == []  # not a money movement


async def test_prefixes_are_isolated(client: aredis.Redis) -> None:
    a, b = Ledger(client), Ledger(client, prefix="autre:")
    await a.credit(NUMBER, 100, "regie", "k", NOW)
    assert (await b.account(NUMBER)).balance == 0
    assert await client.exists("autre:acct:123456A") == 0


# --------------------------------------------------------------------------- holds


async def test_hold_insufficient_credit(ledger: Ledger) -> None:
    await funded(ledger, HOLD - 1)
    with pytest.raises(LedgerError) as info:
        await ledger.hold(NUMBER, "bk-1", HOLD, "kiosk", NOW)
    assert info.value.reason == "booking.insufficient_credit"
    assert info.value.details == {"available": HOLD - 1, "requested": HOLD}
    assert "insuffisant" in info.value.message
    assert (await ledger.account(NUMBER)).held == 0
    assert len(await ledger.entries(NUMBER)) == 1
    # a refusal is not recorded: once credited, the same hold goes through
    await ledger.credit(NUMBER, 1, "regie", "top-up", NOW)
    receipt = await ledger.hold(NUMBER, "bk-1", HOLD, "kiosk", NOW)
    assert (receipt.state, receipt.held, receipt.balance) == ("held", HOLD, HOLD)
    account = await ledger.account(NUMBER)
    assert account.available == 0
    with pytest.raises(LedgerError, match="booking.insufficient_credit"):
        await ledger.hold(NUMBER, "bk-2", 1, "kiosk", NOW)


async def test_hold_is_idempotent_per_hold_id(ledger: Ledger, client: aredis.Redis) -> None:
    await funded(ledger)
    first = await ledger.hold(NUMBER, "bk-1", HOLD, "kiosk", NOW)
    again = await ledger.hold(NUMBER, "bk-1", HOLD, "kiosk", NOW + 5)
    assert again == first and again.replayed
    assert (await ledger.account(NUMBER)).held == HOLD
    with pytest.raises(LedgerError, match="ledger.idempotency_conflict"):
        await ledger.hold(NUMBER, "bk-1", HOLD + 1, "kiosk", NOW)
    await funded(ledger, number="777B")
    with pytest.raises(LedgerError, match="ledger.idempotency_conflict"):
        await ledger.hold("777B", "bk-1", HOLD, "kiosk", NOW)
    assert await client.hget("parloir:hold:bk-1", "amount") == str(HOLD).encode()
    entries = await ledger.entries(NUMBER)
    assert [e.kind for e in entries] == ["credit", "hold"]
    assert (entries[1].ref, entries[1].hold_id, entries[1].held_after) == ("bk-1", "bk-1", HOLD)


async def test_release(ledger: Ledger) -> None:
    await funded(ledger)
    await ledger.hold(NUMBER, "bk-1", HOLD, "kiosk", NOW)
    receipt = await ledger.release(NUMBER, "bk-1", "kiosk", NOW + 1)
    assert (receipt.state, receipt.released, receipt.held, receipt.replayed) == (
        "released",
        HOLD,
        0,
        False,
    )
    again = await ledger.release(NUMBER, "bk-1", "kiosk", NOW + 2)
    assert (again.state, again.replayed, again.held) == ("released", True, 0)
    unknown = await ledger.release(NUMBER, "bk-404", "kiosk", NOW)
    assert (unknown.state, unknown.replayed, unknown.amount) == ("unknown", True, 0)
    assert [e.kind for e in await ledger.entries(NUMBER)] == ["credit", "hold", "release"]
    # a released hold cannot be settled (nor re-held under the same id)
    with pytest.raises(LedgerError, match="ledger.hold_released"):
        await ledger.settle(NUMBER, "bk-1", 10, "gateway", "call-1", NOW)
    replay = await ledger.hold(NUMBER, "bk-1", HOLD, "kiosk", NOW)
    assert replay.replayed and (await ledger.account(NUMBER)).held == 0
    assert (await ledger.verify(NUMBER)).ok


async def test_release_of_a_settled_hold_is_a_no_op(ledger: Ledger) -> None:
    await funded(ledger)
    await ledger.hold(NUMBER, "bk-1", HOLD, "kiosk", NOW)
    await ledger.settle(NUMBER, "bk-1", 104, "gateway", "call-1", NOW)
    receipt = await ledger.release(NUMBER, "bk-1", "kiosk", NOW)
    assert (receipt.state, receipt.charged, receipt.released, receipt.replayed) == (
        "settled",
        104,
        HOLD - 104,
        True,
    )
    assert receipt.call_id == "call-1"
    assert (await ledger.account(NUMBER)).balance == 5000 - 104
    assert len(await ledger.entries(NUMBER)) == 4


async def test_hold_of_another_account(ledger: Ledger) -> None:
    await funded(ledger)
    await ledger.hold(NUMBER, "bk-1", HOLD, "kiosk", NOW)
    with pytest.raises(LedgerError, match="ledger.wrong_account"):
        await ledger.release("777B", "bk-1", "kiosk", NOW)
    with pytest.raises(LedgerError, match="ledger.wrong_account"):
        await ledger.settle("777B", "bk-1", 10, "gateway", "call-1", NOW)
    assert (await ledger.account(NUMBER)).held == HOLD


# --------------------------------------------------------------------------- settlement


async def test_settle_charges_the_cost_and_releases_the_rest(ledger: Ledger) -> None:
    await funded(ledger, 2000)
    await ledger.hold(NUMBER, "bk-1", HOLD, "kiosk", NOW)
    cost = call_cost(OFF, 125).amount  # 14 + 3 minutes = 104
    receipt = await ledger.settle(NUMBER, "bk-1", cost, "gateway", "call-1", NOW + 1)
    assert (receipt.charged, receipt.released, receipt.capped) == (104, HOLD - 104, False)
    assert (receipt.balance, receipt.held, receipt.state) == (1896, 0, "settled")
    account = await ledger.account(NUMBER)
    assert (account.balance, account.held, account.available) == (1896, 0, 1896)
    entries = await ledger.entries(NUMBER)
    assert [(e.kind, e.amount) for e in entries] == [
        ("credit", 2000),
        ("hold", HOLD),
        ("charge", 104),
        ("release", HOLD - 104),
    ]
    charge = entries[2]
    assert (charge.ref, charge.hold_id, charge.requested, charge.actor) == (
        "call-1",
        "bk-1",
        104,
        "gateway",
    )
    assert [e.id for e in entries[2:]] == list(receipt.entry_ids)
    assert (await ledger.verify(NUMBER)).ok


async def test_settle_twice_charges_once(ledger: Ledger) -> None:
    await funded(ledger, 2000)
    await ledger.hold(NUMBER, "bk-1", HOLD, "kiosk", NOW)
    first = await ledger.settle(NUMBER, "bk-1", 104, "gateway", "call-1", NOW)
    again = await ledger.settle(NUMBER, "bk-1", 104, "gateway-2", "call-1", NOW + 9)
    assert again == first and again.replayed
    for hold_id, amount, call_id in [("bk-1", 105, "call-1"), ("bk-1", 104, "call-2")]:
        with pytest.raises(LedgerError, match="ledger.idempotency_conflict"):
            await ledger.settle(NUMBER, hold_id, amount, "gateway", call_id, NOW)
    # a second hold cannot be settled for a call already settled
    await ledger.hold(NUMBER, "bk-2", HOLD, "kiosk", NOW)
    with pytest.raises(LedgerError, match="ledger.idempotency_conflict"):
        await ledger.settle(NUMBER, "bk-2", 104, "gateway", "call-1", NOW)
    account = await ledger.account(NUMBER)
    assert (account.balance, account.held) == (1896, HOLD)
    assert (await ledger.verify(NUMBER)).ok


async def test_settle_is_capped_to_the_hold(ledger: Ledger) -> None:
    await funded(ledger, 2000)
    await ledger.hold(NUMBER, "bk-1", HOLD, "kiosk", NOW)
    overrun = call_cost(OFF, 31 * 60).amount
    assert overrun > HOLD
    receipt = await ledger.settle(NUMBER, "bk-1", overrun, "gateway", "call-1", NOW)
    assert (receipt.charged, receipt.released, receipt.capped) == (HOLD, 0, True)
    assert receipt.requested == overrun
    entries = await ledger.entries(NUMBER)
    assert [(e.kind, e.amount) for e in entries][-1] == ("charge", HOLD)
    assert entries[-1].requested == overrun
    assert (await ledger.account(NUMBER)).balance == 2000 - HOLD
    assert (await ledger.verify(NUMBER)).ok


async def test_settle_a_call_that_never_connected(ledger: Ledger) -> None:
    await funded(ledger, 2000)
    await ledger.hold(NUMBER, "bk-1", HOLD, "kiosk", NOW)
    receipt = await ledger.settle(NUMBER, "bk-1", call_cost(OFF, 0).amount, "gw", "call-1", NOW)
    assert (receipt.charged, receipt.released) == (0, HOLD)
    assert [e.kind for e in await ledger.entries(NUMBER)] == ["credit", "hold", "release"]
    assert (await ledger.account(NUMBER)).balance == 2000
    with pytest.raises(LedgerError, match="ledger.refund_exceeds_charge"):
        await ledger.refund(NUMBER, "call-1", 1, "agent", "geste", "r1", NOW)


async def test_settle_unknown_hold(ledger: Ledger) -> None:
    with pytest.raises(LedgerError) as info:
        await ledger.settle(NUMBER, "bk-404", 10, "gateway", "call-1", NOW)
    assert info.value.reason == "ledger.unknown_hold"
    assert await ledger.entries(NUMBER) == []


# --------------------------------------------------------------------------- refunds


async def test_refund_limits(ledger: Ledger) -> None:
    await funded(ledger, 2000)
    await ledger.hold(NUMBER, "bk-1", HOLD, "kiosk", NOW)
    await ledger.settle(NUMBER, "bk-1", 104, "gateway", "call-1", NOW)
    first = await ledger.refund(NUMBER, "call-1", 50, "agent-3", "coupure réseau", "r1", NOW)
    assert (first.balance, first.refunded, first.call_id) == (1946, 50, "call-1")
    again = await ledger.refund(NUMBER, "call-1", 50, "agent-3", "autre motif", "r1", NOW + 1)
    assert again == first and again.replayed
    with pytest.raises(LedgerError, match="ledger.idempotency_conflict"):
        await ledger.refund(NUMBER, "call-1", 51, "agent-3", "coupure", "r1", NOW)
    with pytest.raises(LedgerError) as info:
        await ledger.refund(NUMBER, "call-1", 55, "agent-3", "coupure", "r2", NOW)
    assert info.value.reason == "ledger.refund_exceeds_charge"
    assert info.value.details == {"refundable": 54}
    assert (
        await ledger.refund(NUMBER, "call-1", 54, "agent-3", "reste", "r3", NOW)
    ).refunded == 104
    with pytest.raises(LedgerError, match="ledger.refund_exceeds_charge"):
        await ledger.refund(NUMBER, "call-1", 1, "agent-3", "coupure", "r4", NOW)
    account = await ledger.account(NUMBER)
    assert account.balance == 2000
    entries = await ledger.entries(NUMBER)
    assert [e.kind for e in entries][-2:] == ["refund", "refund"]
    assert (entries[-1].reason, entries[-1].ref, entries[-1].idem) == ("reste", "call-1", "r3")
    assert (await ledger.verify(NUMBER)).ok


async def test_refund_of_an_unknown_or_foreign_call(ledger: Ledger) -> None:
    await funded(ledger, 2000)
    await funded(ledger, 2000, number="777B")
    await ledger.hold("777B", "bk-9", HOLD, "kiosk", NOW)
    await ledger.settle("777B", "bk-9", 300, "gateway", "call-9", NOW)
    for call_id in ("call-404", "call-9"):
        with pytest.raises(LedgerError) as info:
            await ledger.refund(NUMBER, call_id, 10, "agent", "geste", f"r-{call_id}", NOW)
        assert info.value.reason == "ledger.unknown_call"
    assert (await ledger.account(NUMBER)).balance == 2000


async def test_verify_detects_tampering(ledger: Ledger, client: aredis.Redis) -> None:
    await funded(ledger, 2000)
    assert (await ledger.verify(NUMBER)).ok
    await client.hincrby("parloir:acct:123456A", "balance", 1)
    audit = await ledger.verify(NUMBER)
    assert not audit.ok and (audit.balance, audit.ledger_balance) == (2001, 2000)


# --------------------------------------------------------------------------- concurrency


async def test_no_double_spending_under_contention(server: EmbeddedRedis) -> None:
    clients = [aredis.from_url(server.url) for _ in range(5)]
    ledgers = [Ledger(c) for c in clients]
    try:
        await ledgers[0].credit(NUMBER, 10 * HOLD, "regie", "fund", NOW)

        async def book(i: int) -> str:
            try:
                await ledgers[i % 5].hold(NUMBER, f"bk-{i}", HOLD, "kiosk", NOW + i)
                return "held"
            except LedgerError as e:
                return e.reason

        outcomes = await asyncio.gather(*(book(i) for i in range(40)))
        assert outcomes.count("held") == 10
        assert outcomes.count("booking.insufficient_credit") == 30
        account = await ledgers[0].account(NUMBER)
        assert (account.held, account.available) == (10 * HOLD, 0)
        assert (await ledgers[0].verify(NUMBER)).ok
    finally:
        for c in clients:
            await c.aclose()


async def test_parallel_settlements_and_credits_are_exact(server: EmbeddedRedis) -> None:
    rng = random.Random(1234)
    clients = [aredis.from_url(server.url) for _ in range(6)]
    pick = itertools.cycle([Ledger(c) for c in clients]).__next__
    calls = 50
    initial = calls * HOLD
    costs = [
        call_cost(OFF, rng.choice([0, 1, 59, 61, 600, 1799, 1800, 1900])).amount
        for _ in range(calls)
    ]
    credits = [rng.randint(1, 5000) for _ in range(60)]
    refunds = [rng.randint(0, min(c, HOLD)) for c in costs]
    try:
        await pick().credit(NUMBER, initial, "regie", "fund", NOW)

        async def call(i: int) -> None:
            await pick().hold(NUMBER, f"bk-{i}", HOLD, "kiosk", NOW + i)
            # the gateway and a retry race to settle the same call
            a, b = await asyncio.gather(
                pick().settle(NUMBER, f"bk-{i}", costs[i], "gateway", f"call-{i}", NOW + i),
                pick().settle(NUMBER, f"bk-{i}", costs[i], "gateway", f"call-{i}", NOW + i),
            )
            assert a == b and a.replayed != b.replayed
            if refunds[i]:
                await asyncio.gather(
                    *(
                        pick().refund(NUMBER, f"call-{i}", refunds[i], "agent", "x", f"r{i}", NOW)
                        for _ in range(2)
                    )
                )

        async def credit(j: int) -> None:
            # every credit is sent twice (a client retry): it counts once
            await asyncio.gather(
                *(pick().credit(NUMBER, credits[j], "regie", f"c{j}", NOW + j) for _ in range(2))
            )

        ops = [call(i) for i in range(calls)] + [credit(j) for j in range(len(credits))]
        rng.shuffle(ops)
        await asyncio.gather(*ops)

        charged = sum(min(c, HOLD) for c in costs)
        expected = initial + sum(credits) - charged + sum(refunds)
        ledger = pick()
        account = await ledger.account(NUMBER)
        assert (account.balance, account.held) == (expected, 0)
        audit = await ledger.verify(NUMBER)
        assert audit.ok, audit.problems
        assert audit.ledger_balance == expected
        entries = await ledger.entries(NUMBER)
        assert sum(e.signed for e in entries) == expected
        assert len(entries) == (
            1
            + len(credits)
            + calls  # holds
            + sum(1 for c in costs if c > 0)  # charges
            + sum(1 for c in costs if c < HOLD)  # releases of the rest
            + sum(1 for r in refunds if r)
        )
    finally:
        for c in clients:
            await c.aclose()


# --------------------------------------------------------------------------- model


class Model:
    """A plain-Python account: what the scripts must agree with, operation by operation."""

    def __init__(self) -> None:
        self.balance = self.held = 0
        self.holds: dict[str, list] = {}  # id -> [amount, state, call, requested]
        self.calls: dict[str, list[int]] = {}  # call -> [charged, refunded]
        self.idem: dict[str, tuple] = {}  # key -> fingerprint

    def credit(self, amount: int, idem: str) -> str | None:
        if idem in self.idem:
            return None if self.idem[idem] == ("credit", amount) else "ledger.idempotency_conflict"
        self.idem[idem] = ("credit", amount)
        self.balance += amount
        return None

    def hold(self, hold_id: str, amount: int) -> str | None:
        if hold_id in self.holds:
            return None if self.holds[hold_id][0] == amount else "ledger.idempotency_conflict"
        if self.balance - self.held < amount:
            return "booking.insufficient_credit"
        self.holds[hold_id] = [amount, "held", None, None]
        self.held += amount
        return None

    def release(self, hold_id: str) -> str | None:
        hold = self.holds.get(hold_id)
        if hold and hold[1] == "held":
            hold[1] = "released"
            self.held -= hold[0]
        return None

    def settle(self, hold_id: str, charge: int, call_id: str) -> str | None:
        hold = self.holds.get(hold_id)
        if hold is None:
            return "ledger.unknown_hold"
        if hold[1] == "settled":
            return None if hold[2:] == [call_id, charge] else "ledger.idempotency_conflict"
        if hold[1] == "released":
            return "ledger.hold_released"
        if call_id in self.calls:
            return "ledger.idempotency_conflict"
        charged = min(charge, hold[0])
        hold[1:] = ["settled", call_id, charge]
        self.calls[call_id] = [charged, 0]
        self.balance -= charged
        self.held -= hold[0]
        return None

    def refund(self, call_id: str, amount: int, idem: str) -> str | None:
        if idem in self.idem:
            fingerprint = ("refund", call_id, amount)
            return None if self.idem[idem] == fingerprint else "ledger.idempotency_conflict"
        if call_id not in self.calls:
            return "ledger.unknown_call"
        charged, refunded = self.calls[call_id]
        if refunded + amount > charged:
            return "ledger.refund_exceeds_charge"
        self.calls[call_id][1] += amount
        self.idem[idem] = ("refund", call_id, amount)
        self.balance += amount
        return None


async def test_random_operations_agree_with_a_model(ledger: Ledger) -> None:
    rng = random.Random(7)
    model = Model()
    holds = [f"bk-{i}" for i in range(60)]
    calls = [f"call-{i}" for i in range(60)]
    keys = [f"k{i}" for i in range(80)]
    seen: collections.Counter[str | None] = collections.Counter()
    for step in range(400):
        op = rng.choice(["credit", "hold", "hold", "release", "settle", "settle", "refund"])
        now = NOW + step
        if op == "credit":
            amount, idem = rng.choice([100, 914, 3000]), rng.choice(keys)
            expected = model.credit(amount, idem)
            attempt = ledger.credit(NUMBER, amount, "regie", idem, now)
        elif op == "hold":
            hold_id, amount = rng.choice(holds), rng.choice([104, HOLD, 2500])
            expected = model.hold(hold_id, amount)
            attempt = ledger.hold(NUMBER, hold_id, amount, "kiosk", now)
        elif op == "release":
            hold_id = rng.choice(holds)
            expected = model.release(hold_id)
            attempt = ledger.release(NUMBER, hold_id, "kiosk", now)
        elif op == "settle":
            hold_id, charge = rng.choice(holds), rng.choice([0, 44, 104, HOLD, 3000])
            call_id = rng.choice(calls)
            expected = model.settle(hold_id, charge, call_id)
            attempt = ledger.settle(NUMBER, hold_id, charge, "gateway", call_id, now)
        else:
            call_id, amount, idem = rng.choice(calls), rng.choice([1, 30, 104]), rng.choice(keys)
            expected = model.refund(call_id, amount, idem)
            attempt = ledger.refund(NUMBER, call_id, amount, "agent", "geste", idem, now)
        try:
            await attempt
            outcome = None
        except LedgerError as e:
            outcome = e.reason
        assert outcome == expected, (step, op)
        seen[outcome] += 1
        account = await ledger.account(NUMBER)
        assert (account.balance, account.held) == (model.balance, model.held), (step, op)
    audit = await ledger.verify(NUMBER)
    assert audit.ok, audit.problems
    assert audit.entries > 100
    assert len(seen) == 7  # success and each of the six refusals were exercised


# --------------------------------------------------------------------------- crash


async def test_sigkill_loses_nothing_and_doubles_nothing(
    redis_servers: Callable[..., EmbeddedRedis],
) -> None:
    """appendfsync always: every acknowledged operation survives a SIGKILL, operations cut
    mid-flight are either wholly there or wholly absent, and retrying them all (the scripts
    must be reloaded too) lands on the exact expected balance."""
    server = redis_servers("always")
    no_retry = Retry(NoBackoff(), 0)
    clients = [aredis.from_url(server.url, retry=no_retry) for _ in range(4)]
    ledgers = [Ledger(c) for c in clients]
    rng = random.Random(99)
    batch = 40
    costs = [call_cost(OFF, rng.randint(0, 1900)).amount for _ in range(2 * batch)]
    try:
        await ledgers[0].credit(NUMBER, 2 * batch * HOLD, "regie", "fund", NOW)

        async def call(i: int) -> None:
            lg = ledgers[i % 4]
            await lg.hold(NUMBER, f"bk-{i}", HOLD, "kiosk", NOW + i)
            await lg.settle(NUMBER, f"bk-{i}", costs[i], "gateway", f"call-{i}", NOW + i)

        # 1. a batch of settlements, all acknowledged
        await asyncio.gather(*(call(i) for i in range(batch)))
        before = await ledgers[0].entries(NUMBER)
        balance_before = (await ledgers[0].account(NUMBER)).balance

        # 2. another batch, killed in the middle: by the chain whose hold is the
        #    (batch/2)-th acknowledged, before it sends its settlement
        acknowledged: list[int] = []
        holds_acknowledged: list[int] = []

        async def cut(i: int) -> None:
            lg = ledgers[i % 4]
            await lg.hold(NUMBER, f"bk-{i}", HOLD, "kiosk", NOW + i)
            holds_acknowledged.append(i)
            if len(holds_acknowledged) == batch // 2:
                server.kill()
            await lg.settle(NUMBER, f"bk-{i}", costs[i], "gateway", f"call-{i}", NOW + i)
            acknowledged.append(i)

        outcomes = await asyncio.gather(
            *(cut(i) for i in range(batch, 2 * batch)), return_exceptions=True
        )
        assert all(o is None or isinstance(o, redis.ConnectionError) for o in outcomes)
        assert len(acknowledged) < batch  # at least the killer's settlement was cut
        for c in clients:
            await c.aclose()

        await asyncio.to_thread(server.start)
        clients = [aredis.from_url(server.url) for _ in range(4)]
        ledgers = [Ledger(c) for c in clients]

        after = await ledgers[0].entries(NUMBER)
        assert after[: len(before)] == before  # nothing lost
        audit = await ledgers[0].verify(NUMBER)
        assert audit.ok, audit.problems  # nothing half-applied
        assert audit.held >= HOLD  # acknowledged holds whose settlement was cut are there
        held = {e.hold_id for e in after if e.kind == "hold"}
        assert {f"bk-{i}" for i in holds_acknowledged} <= held
        settled = {e.hold_id for e in after if e.idem.startswith("settle:")}
        assert {f"bk-{i}" for i in acknowledged} <= settled
        assert balance_before == sum(e.signed for e in before)

        # 3. retry everything: acknowledged work is replayed, the rest is done once
        retried = await asyncio.gather(
            *(
                ledgers[i % 4].settle(NUMBER, f"bk-{i}", costs[i], "gw", f"call-{i}", NOW)
                for i in range(batch)
            )
        )
        assert all(r.replayed for r in retried)
        await asyncio.gather(*(call(i) for i in range(batch, 2 * batch)))

        expected = 2 * batch * HOLD - sum(min(c, HOLD) for c in costs)
        account = await ledgers[0].account(NUMBER)
        assert (account.balance, account.held) == (expected, 0)
        audit = await ledgers[0].verify(NUMBER)
        assert audit.ok and audit.ledger_balance == expected
        entries = await ledgers[0].entries(NUMBER)
        assert sum(1 for e in entries if e.kind == "hold") == 2 * batch  # no hold twice
        assert sum(1 for e in entries if e.kind == "charge") == sum(1 for c in costs if c > 0)
    finally:
        for c in clients:
            await c.aclose()
