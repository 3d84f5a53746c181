"""The call engine: this process's calls, their Redis records, and the cluster around them.

Each call is owned by exactly one gateway process (``owner`` in its Redis record). Its state and
every lifecycle event are written to Redis (``call:{id}`` hash and ``call:{id}:events`` stream;
``calls:live`` lists the calls in progress; ``bookingcall:{booking}`` names a booking's live
call), so that another process can find it and route to it (:mod:`gateway.service.cluster`): what
other processes may ask of a call's owner is the engine's ``_here_*`` methods.

One call's media and lifecycle adapter is :class:`gateway.media.calls.Call`; the engine is the
process duty around them (starting calls, the cluster's requests, accounting, the codes), which
is why it lives with the other process duties and hands each call only the narrow
:class:`~gateway.media.calls.CallHost` it needs.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any, TypedDict

import redis.asyncio as aioredis
from aiortc import RTCConfiguration, RTCIceServer

from gateway.config import GatewayConfig
from gateway.core.call_rules import CallStartFacts, closes_booking, may_start
from gateway.core.codes import Judgement, Outcome
from gateway.core.i18n import message
from gateway.core.lifecycle import (
    CallConnected,
    CallEnded,
    CallLimits,
    CallState,
    CodeSent,
    Event,
    LifecycleError,
)
from gateway.core.records import Booking, Correspondent, Detainee
from gateway.media.calls import BadSdp, Call, CallError, Joined
from gateway.service.cluster import Cluster, ClusterError, alive_key
from gateway.service.loop_watch import LoopWatch
from gateway.service.sms import SmsSender
from gateway.store.bookings import BookingDesk
from gateway.store.call_records import CallRecords, event_fields
from gateway.store.codes import CodeStore
from gateway.store.sanctions import DetaineeSanctions, Sanctions
from recorder.store import RecordingStore

log = logging.getLogger(__name__)


class SettledBilling(TypedDict):
    """``billing.settled`` in the kiosk's CallView: what the ledger did when this call's end
    closed its booking, so that the end screen shows the charge itself, not an estimate."""

    charged_cents: int
    """Charged for the booking's connected time (all its calls, fee once, capped to the hold)."""

    balance_cents: int
    """The phone account's balance once charged."""


class CallEngine:
    def __init__(
        self,
        config: GatewayConfig,
        redis: aioredis.Redis,
        sms: SmsSender,
        owner: str,
        desk: BookingDesk,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.redis = redis
        self.sms = sms
        self.owner = owner
        self.desk = desk
        self.recordings = RecordingStore(redis)
        self.records = CallRecords(redis)
        self.clock = clock
        self._background: asyncio.Task[None] | None = None
        self.codes = CodeStore(redis, config.code_max_attempts)
        self.calls: dict[str, Call] = {}
        self.by_booking: dict[str, Call] = {}
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        "What this process saw, for /metrics: (event, label) -> count since it started."
        self.public_base_url = config.base_url()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.loop_watch = LoopWatch(governor=config.overload_governor)
        "The event loop's load, and the overload rule that caps the senders (started by the app)."
        self.cluster = Cluster(redis, owner)
        self.cluster.methods.update(
            joined=self._here_joined,
            code_burned=self._here_code_burned,
            watch=self._here_watch,
            cut=self._here_cut,
            extend=self._here_extend,
        )
        # STUN only: the gateway has an address the browsers (or their TURN relay) reach, so a
        # relay candidate of its own is no use. Asking coturn for one cost an allocation per
        # leg, with the REST scheme's empty username a refusal, and when coturn was out of
        # reach aioice's 5 s gathering timeout on every answer.
        servers = [RTCIceServer(urls=url) for url in config.stun_urls]
        # An explicit (possibly empty) list: aiortc's default would reach out to Google's STUN.
        self.rtc_configuration = RTCConfiguration(iceServers=servers)

    def sms_text(self, code: str, ref: str) -> str:
        url = f"{self.public_base_url}/join?appel={ref}"
        minutes = max(1, round(self.config.code_validity_seconds / 60))
        return message("sms.code", self.config.lang).format(code=code, url=url, minutes=minutes)

    def cpu_scale(self) -> float:
        """What each sender may send for this process's CPU, as a share of its rate before."""
        return self.loop_watch.scale

    def advertise(self, sdp: str) -> str:
        """Add the public IP of a 1:1 NAT to the answer's host candidates."""
        public = self.config.ice_public_ip
        if not public:
            return sdp
        out = []
        for line in sdp.splitlines():
            out.append(line)
            match = re.match(r"a=candidate:(\S+) (\d) (\S+) (\d+) (\S+) (\d+) typ host(.*)$", line)
            if match and match.group(5) != public:
                foundation, comp, proto, prio, _ip, port, rest = match.groups()
                out.append(
                    f"a=candidate:{foundation}n {comp} {proto} {int(prio) - 1} "
                    f"{public} {port} typ host{rest}"
                )
        return "\r\n".join(out) + "\r\n"

    # -- lifecycle of calls -----------------------------------------------------------------
    def live_call_for_booking(self, booking_id: str) -> Call | None:
        call = self.by_booking.get(booking_id)
        return call if call and call.state is not CallState.ENDED else None

    async def start_call(
        self, detainee: Detainee, correspondent: Correspondent, booking: Booking
    ) -> Call:
        existing = self.live_call_for_booking(booking.id)
        if existing is not None:
            return existing
        if self.cluster.draining:  # drain (gateway.service.drain): no new call here
            raise CallError("call.draining")
        now = self.clock()
        fresh = await self.desk.directory.booking(booking.id)
        decision = may_start(
            CallStartFacts(
                slot_start=booking.start,
                slot_end=booking.end,
                status=fresh.status if fresh else None,
                max_seconds=fresh.max_seconds if fresh else 0,
                default_max_seconds=self.config.call_max_seconds,
                connected_ms=fresh.connected_ms if fresh else 0,
                number_sanctioned=bool(
                    await Sanctions(self.redis).active_on(correspondent.phone, now)
                ),
                detainee_suspended=bool(
                    await DetaineeSanctions(self.redis).blocking(detainee.number, now, now + 1)
                ),
            ),
            now,
        )
        if decision.refusal is not None or fresh is None:
            raise CallError(decision.refusal or "kiosk.no_booking")
        remaining = decision.remaining
        booking = fresh
        call_id = f"call_{secrets.token_hex(8)}"
        await self._claim_booking(booking, call_id, now)
        limits = CallLimits(
            max_duration=remaining,
            slot_end=booking.end,
            code_validity=self.config.code_validity_seconds,
            connect_timeout=self.config.connect_timeout_seconds,
            reconnect_grace=float(self.config.reconnect_grace_seconds),
            warnings=tuple(float(w) for w in self.config.warning_seconds),
        )
        call = Call(self, call_id, detainee, correspondent, booking, limits)
        est = self.desk.establishment
        account = await self.desk.ledger.account(detainee.number)
        tariff = est.tariffs.get(booking.tariff or account.tariff)
        call.billing = {
            "balance_cents": account.balance,
            "hold_cents": booking.hold,
            "tariff": tariff.name,
            "per_minute_cents": tariff.per_minute_cents,
            "fee_cents": tariff.connection_fee_cents,
            "rounding": str(est.rounding),
            "prior_connected_ms": booking.connected_ms,
            # Set by account() if this call's end settles the booking; null until then.
            "settled": None,
        }
        self.calls[call_id] = call
        self.by_booking[booking.id] = call
        await self.records.create(
            call_id,
            {
                "id": call_id,
                "ref": call.ref,
                "owner": self.owner,
                "booking": booking.id,
                "detainee": detainee.number,
                "correspondent": correspondent.id,
                "kiosk": booking.kiosk,
                "created_at": repr(now),
                "state": str(call.state),
            },
            ref=call.ref,
            ref_ttl=int(booking.end - now) + 3600,
        )
        self.counts["calls_started", ""] += 1
        await self._note_load()
        await call.new_code()
        return call

    async def _claim_booking(self, booking: Booking, call_id: str, now: float) -> None:
        """One live call per booking across the service: ``bookingcall:{booking}``, set NX."""
        if not await self.records.claim_booking(booking.id, call_id, int(booking.end - now) + 3600):
            raise CallError("signaling.out_of_order")  # a call of this booking is live elsewhere

    async def _note_load(self) -> None:
        """Refresh this process's live-call count at once, for the next placement's sake."""
        if not self.cluster.listening:
            return  # stopping (or not started): never look alive again
        key = alive_key(self.owner)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(key, "calls", str(len(self.calls)))
        pipe.expire(key, 3 * self.config.heartbeat_seconds)
        await pipe.execute()

    async def join(self, code: str, ref: str | None) -> tuple[Outcome, Joined | None]:
        """The relative typed a code (on any process). Returns the outcome and, if accepted,
        the call as its owner saw it."""
        now = self.clock()
        call_id: str | None = None
        if ref:
            call_id = await self.records.by_ref(ref)
            if call_id is None:
                self.counts["code_refused", str(Outcome.INVALID)] += 1
                return Outcome.INVALID, None
        judgement, call_id = await self.codes.try_code(code, call_id, now)
        if judgement is None or call_id is None:
            self.counts["code_refused", str(Outcome.INVALID)] += 1
            return Outcome.INVALID, None
        owner = await self.owner_of(call_id)
        await self._after_judgement(owner, call_id, judgement)
        if judgement.outcome is not Outcome.ACCEPTED:
            self.counts["code_refused", str(judgement.outcome)] += 1
            return judgement.outcome, None
        if owner is None:
            return Outcome.EXPIRED, None
        try:
            joined = await self.cluster.request(owner, "joined", {"call": call_id})
        except ClusterError:
            return Outcome.EXPIRED, None
        if not joined:
            return Outcome.EXPIRED, None
        return Outcome.ACCEPTED, Joined(**joined)

    async def _after_judgement(self, owner: str | None, call_id: str, judgement: Judgement) -> None:
        if owner is not None and judgement.just_burned:
            try:
                await self.cluster.request(owner, "code_burned", {"call": call_id})
            except ClusterError as exc:
                log.warning("call %s: code burned, kiosk not told: %s", call_id, exc)

    # -- what other processes may ask of a call's owner ---------------------------------
    async def owner_of(self, call_id: str) -> str | None:
        """The process owning a live call (this one or another), None if it is not live."""
        if call_id in self.calls:
            return self.owner
        return await self.records.owner_of(call_id)

    async def live_call_id(self, booking_id: str) -> str | None:
        """The live call of a booking, on whichever process."""
        here = self.live_call_for_booking(booking_id)
        if here is not None:
            return here.id
        return await self.records.live_call_of_booking(booking_id)

    async def at_owner(self, call_id: str, method: str, **args: Any) -> dict[str, Any]:
        """Run ``method`` on the process owning ``call_id``; its refusals as :class:`CallError`
        (``monitor.no_call`` when the call is not live, ``cluster.unreachable``)."""
        owner = await self.owner_of(call_id)
        if owner is None:
            raise CallError("monitor.no_call")
        try:
            return await self.cluster.request(owner, method, {"call": call_id, **args})
        except ClusterError as exc:
            if exc.reason == "signaling.bad_sdp":
                raise BadSdp(exc.detail) from exc
            raise CallError(exc.reason) from exc

    async def extend_live(self, booking_id: str, max_seconds: int) -> str | None:
        """A longer call was allowed: tell the booking's live call, wherever it runs."""
        call_id = await self.live_call_id(booking_id)
        if call_id is None:
            return None
        with contextlib.suppress(CallError):  # it ended meanwhile
            await self.at_owner(call_id, "extend", max_seconds=max_seconds)
        return call_id

    def _here(self, args: dict[str, Any]) -> Call:
        call = self.calls.get(str(args.get("call")))
        if call is None or call.state is CallState.ENDED:
            raise CallError("monitor.no_call")
        return call

    async def _here_joined(self, args: dict[str, Any]) -> dict[str, Any]:
        call = self.calls.get(str(args.get("call")))
        if call is None or call.state is not CallState.WAITING_RELATIVE:
            return {}
        try:
            await call.joined()
        except LifecycleError:
            return {}
        return {"id": call.id, "detainee_name": call.detainee.short_name,
                "booking_end": call.booking.end}  # fmt: skip

    async def _here_code_burned(self, args: dict[str, Any]) -> dict[str, Any]:
        call = self.calls.get(str(args.get("call")))
        if call is not None:
            await call.input(lambda now: call.lifecycle.code_burned(now))
        return {}

    async def _here_watch(self, args: dict[str, Any]) -> dict[str, Any]:
        sdp, layout = await self._here(args).watch(str(args.get("sdp", "")))
        return {"sdp": sdp, "tracks": layout}

    async def _here_cut(self, args: dict[str, Any]) -> dict[str, Any]:
        call = self._here(args)
        if call.correspondent.lawyer:
            raise CallError("monitor.lawyer")
        await call.cut()
        return {"id": call.id, "state": str(call.state)}

    async def _here_extend(self, args: dict[str, Any]) -> dict[str, Any]:
        await self._here(args).extend(int(args["max_seconds"]))
        return {}

    async def record_events(self, call: Call, events: list[Event]) -> None:
        lc = call.lifecycle
        state: dict[str, str] = {"state": str(lc.state)}
        for name in ("code_expires_at", "joined_at", "connected_at", "ends_at", "ended_at"):
            value = getattr(lc, name)
            if value is not None:
                state[name] = repr(value)
        if lc.end_reason:
            state["end_reason"] = str(lc.end_reason)
        if lc.joined_at and lc.connected_at and any(isinstance(e, CallConnected) for e in events):
            # /metrics: join time (code accepted to connected), in tenths of a second
            self.counts["join_ds", str(round((lc.connected_at - lc.joined_at) * 10))] += 1
        if any(isinstance(e, CodeSent | CallConnected | CallEnded) for e in events):
            log.info("call %s: %s", call.id, ", ".join(type(e).__name__ for e in events))
        await self.records.save(call.id, [event_fields(e) for e in events], state)

    async def account(self, call: Call, event: CallEnded) -> None:
        """Add the call's connected time to its booking; close the booking when it is over."""
        ms = int(call.lifecycle.connected_seconds(event.at) * 1000)
        self.counts["calls_ended", str(event.reason)] += 1
        self.counts["connected_ms", ""] += ms
        await self.records.checkpoint(call.id, ms)
        await self.desk.add_connected(call.booking.id, call.id, ms)
        if closes_booking(event.reason, ms, event.at, call.booking.end):
            closed = await self.desk.close(call.booking.id, event.at, f"call:{call.id}")
            if closed is not None:  # the final CallView, sent next, carries it to the kiosk
                balance = (await self.desk.ledger.account(closed.detainee)).balance
                call.billing["settled"] = SettledBilling(
                    charged_cents=closed.charged, balance_cents=balance
                )

    async def forget(self, call: Call) -> None:
        await self.codes.discard(call.id)
        await self.records.forget(call.id, call.ref, call.booking.id)
        self.calls.pop(call.id, None)
        if self.by_booking.get(call.booking.id) is call:
            del self.by_booking[call.booking.id]
        await self._note_load()

    async def events(self, call_id: str) -> list[dict[str, str]]:
        return await self.records.events(call_id)

    async def shutdown(self) -> None:
        """End every call this process owns as interrupted (the process is stopping)."""
        for call in list(self.calls.values()):
            await call.input(call.lifecycle.interrupt)
        for task in list(self.tasks):
            task.cancel()

    def stats(self) -> dict[str, Any]:
        return {"calls": len(self.calls), "owner": self.owner}
