"""SMPP 3.4 sender: one long-lived, reconnecting ``bind_transceiver`` session per process.

Why this shape: of the SMPP libraries on PyPI, ``smpplib`` (maintained, LGPL, used by many
gateways) has a complete and tested PDU codec but a blocking, thread-based client;
``aiosmpplib`` is asyncio but brings its own broker, correlator and retry machinery, which would
duplicate the Redis queue's (the queue already decides retries and gives up). So the session is
a small asyncio client here over smpplib's PDU codec (:func:`smpplib.smpp.make_pdu`,
:func:`smpplib.smpp.parse_pdu`); the rules (status → outcome, receipts, encoding and splitting)
are sans-IO in :mod:`gateway.core.smpp_rules` and :mod:`gateway.core.sms_text`.

* The session binds as a transceiver and stays bound: ``enquire_link`` every
  ``enquire_seconds``; an unanswered one (or any read/write error) closes the socket, and the
  session binds again after a backoff (1 s doubling to 30 s).
* At most ``window`` ``submit_sm`` await their response at once, and at most ``throttle`` are
  written per second (0: no limit), the operator's contract.
* A ``submit_sm`` written but not answered when the link drops is reported transient: the queue
  tries it again. SMPP has no idempotency key, so if the SMSC had taken it and its answer was
  lost in the drop, the relative gets the same code twice (the only case of a second SMS).
* ``deliver_sm`` receipts are answered and handed to ``on_receipt(message_id, status, reason)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from smpplib import smpp

from gateway.aio import cancel_and_wait, raise_if_cancelled
from gateway.core import sms_text
from gateway.core.smpp_rules import is_receipt, outcome_of_status, parse_receipt
from gateway.core.sms_queue import Outcome, mask_phone

log = logging.getLogger(__name__)

OnReceipt = Callable[[str, str, str], Awaitable[None]]


class _NoSequence:
    """smpplib asks its 'client' for sequence numbers; ours are set on each PDU explicitly."""

    sequence = 0

    def next_sequence(self) -> int:
        return 0


_CODEC_CLIENT = _NoSequence()


def make(command: str, sequence: int, **fields: Any) -> bytes:
    """One PDU's bytes (smpplib ignores a ``sequence`` keyword: it is set on the object)."""
    pdu = smpp.make_pdu(command, client=_CODEC_CLIENT, **fields)
    pdu.sequence = sequence
    return pdu.generate()


def parse(data: bytes) -> Any:
    return smpp.parse_pdu(data, client=_CODEC_CLIENT)


async def read_pdu(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readexactly(4)
    (length,) = struct.unpack(">L", head)
    if not 16 <= length <= 65536:
        raise ConnectionError(f"SMPP PDU of length {length}")
    return head + await reader.readexactly(length - 4)


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value or "")


@dataclass(frozen=True)
class SmppSettings:
    host: str
    port: int = 2775
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    source_addr: str = "Parloir"
    source_ton: int = 5
    "5: alphanumeric sender; 1 with npi 1 for an international number."
    source_npi: int = 0
    window: int = 10
    throttle: float = 0.0
    "submit_sm per second at most (0: no limit)."
    enquire_seconds: float = 30.0
    response_seconds: float = 10.0
    bind_wait_seconds: float = 5.0
    "How long a send waits for a bound session before it is reported transient."


class SmppSender:
    """A :class:`gateway.service.sms.Transport` over one SMPP session."""

    def __init__(self, settings: SmppSettings, on_receipt: OnReceipt | None = None) -> None:
        self.s = settings
        self.on_receipt = on_receipt
        self._seq = 0
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._bound = asyncio.Event()
        self._window = asyncio.Semaphore(max(1, settings.window))
        self._next_slot = 0.0
        self._slot_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.binds = 0
        "Successful binds so far (a reconnection adds one)."

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is None:
            return
        writer = self._writer
        if writer is not None and self._bound.is_set():
            with contextlib.suppress(Exception):  # polite unbind, without waiting long
                async with asyncio.timeout(1.0):
                    await self._request("unbind", {})
        await cancel_and_wait(self._task)
        self._task = None

    def _next_sequence(self) -> int:
        self._seq = self._seq % 0x7FFFFFFF + 1
        return self._seq

    async def _request(self, command: str, fields: dict[str, Any]) -> Any:
        writer = self._writer
        if writer is None:
            raise ConnectionError("SMPP not connected")
        seq = self._next_sequence()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[seq] = future
        try:
            writer.write(make(command, seq, **fields))
            await writer.drain()
            # asyncio.timeout, not 3.11's wait_for: it returns an answer that comes with a
            # cancel and drops the cancel (a stopped sender went on; gateway.aio).
            async with asyncio.timeout(self.s.response_seconds):
                return await future
        finally:
            self._pending.pop(seq, None)

    async def _run(self) -> None:
        delay = 1.0
        while True:
            raise_if_cancelled()  # a stop a read or a write swallowed: not another session
            try:
                await self._session()
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("SMPP session to %s:%d ended: %s", self.s.host, self.s.port, exc)
            await asyncio.sleep(delay * (0.8 + 0.4 * random.random()))
            delay = min(30.0, delay * 2)

    async def _session(self) -> None:
        reader, writer = await asyncio.open_connection(self.s.host, self.s.port)
        self._writer = writer
        reading = asyncio.create_task(self._read(reader))
        keepalive: asyncio.Task[None] | None = None
        try:
            bind = asyncio.ensure_future(
                self._request(
                    "bind_transceiver",
                    {
                        "system_id": self.s.system_id, "password": self.s.password,
                        "system_type": self.s.system_type, "interface_version": 0x34,
                        "addr_ton": 0, "addr_npi": 0, "address_range": "",
                    },
                )
            )  # fmt: skip
            done, _ = await asyncio.wait({bind, reading}, return_when=asyncio.FIRST_COMPLETED)
            if bind not in done:
                bind.cancel()
                raise ConnectionError("SMPP link closed during bind")
            resp = bind.result()
            if resp.status != 0:
                raise ConnectionError(f"bind refused: {resp.status:#x}")
            self.binds += 1
            self._bound.set()
            log.info("SMPP bound to %s:%d as %s", self.s.host, self.s.port, self.s.system_id)
            keepalive = asyncio.create_task(self._keepalive())
            await asyncio.wait({reading, keepalive}, return_when=asyncio.FIRST_COMPLETED)
            for task in (reading, keepalive):
                if task.done() and not task.cancelled() and task.exception():
                    raise task.exception()  # type: ignore[misc]
        finally:
            self._bound.clear()
            self._writer = None
            with contextlib.suppress(Exception):  # the session's end is already told
                await cancel_and_wait(reading, keepalive)
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("SMPP link lost"))
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.s.enquire_seconds)
            await self._request("enquire_link", {})  # a timeout here ends the session

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            data = await read_pdu(reader)
            try:
                pdu = parse(data)
            except Exception:  # a PDU smpplib cannot read: say so, keep the session
                seq = struct.unpack(">L", data[12:16])[0]
                await self._answer("generic_nack", seq, status=0x03)
                continue
            if pdu.is_response():
                future = self._pending.get(pdu.sequence)
                if future is not None and not future.done():
                    future.set_result(pdu)
            elif pdu.command == "enquire_link":
                await self._answer("enquire_link_resp", pdu.sequence)
            elif pdu.command == "deliver_sm":
                await self._answer("deliver_sm_resp", pdu.sequence)
                await self._deliver_sm(pdu)
            elif pdu.command == "unbind":
                await self._answer("unbind_resp", pdu.sequence)
                raise ConnectionError("SMSC unbound")
            else:
                await self._answer("generic_nack", pdu.sequence, status=0x03)

    async def _answer(self, command: str, sequence: int, **fields: Any) -> None:
        if self._writer is not None:
            self._writer.write(make(command, sequence, **fields))
            await self._writer.drain()

    async def _deliver_sm(self, pdu: Any) -> None:
        if not is_receipt(int(pdu.esm_class or 0)):
            return  # a relative answering the SMS: nobody reads it
        receipt = parse_receipt(
            _text(pdu.short_message),
            _text(getattr(pdu, "receipted_message_id", None)),
            getattr(pdu, "message_state", None),
        )
        if receipt.status and receipt.message_id and self.on_receipt is not None:
            try:
                await self.on_receipt(receipt.message_id, receipt.status, receipt.reason)
            except Exception:
                log.exception("SMPP receipt for %s not recorded", receipt.message_id)

    async def _throttle(self) -> None:
        if self.s.throttle <= 0:
            return
        async with self._slot_lock:
            now = time.monotonic()
            wait = self._next_slot - now
            self._next_slot = max(now, self._next_slot) + 1.0 / self.s.throttle
        if wait > 0:
            await asyncio.sleep(wait)

    async def deliver(self, msg_id: str, to: str, text: str) -> Outcome:
        try:
            async with asyncio.timeout(self.s.bind_wait_seconds):
                await self._bound.wait()
        except TimeoutError:
            return Outcome("transient", reason="sms.smpp_unbound")
        encoding, payloads = sms_text.split(text)
        parts = sms_text.concatenated(payloads, random.randrange(256))
        first_id = ""
        for part in parts:
            fields = {
                "source_addr_ton": self.s.source_ton, "source_addr_npi": self.s.source_npi,
                "source_addr": self.s.source_addr,
                "dest_addr_ton": 1, "dest_addr_npi": 1, "destination_addr": to.lstrip("+"),
                "esm_class": 0x40 if len(parts) > 1 else 0,
                "data_coding": sms_text.DATA_CODING[encoding],
                "registered_delivery": 1, "short_message": part,
            }  # fmt: skip
            async with self._window:
                await self._throttle()
                try:
                    resp = await self._request("submit_sm", fields)
                except (ConnectionError, OSError, TimeoutError) as exc:
                    return Outcome("transient", reason=f"sms.smpp_link:{type(exc).__name__}")
            outcome = outcome_of_status(int(resp.status), _text(resp.message_id))
            if outcome.kind != "sent":
                log.info("SMPP refused %s to %s: %#x", msg_id, mask_phone(to), resp.status)
                return outcome
            first_id = first_id or outcome.provider_id
        # A long text's receipts: only its first part's is matched (the others are ignored).
        return Outcome("sent", provider_id=first_id)
