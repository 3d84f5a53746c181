"""A small SMSC of the tests' own: a real SMPP 3.4 server on loopback, over smpplib's codec.

It accepts ``bind_transceiver`` (checking system_id and password), answers ``submit_sm`` (with
ESME_RINVDSTADR for the destinations in ``refuse``), answers ``enquire_link``, sends a delivery
receipt (``deliver_sm``, esm_class 4) for each message it took (``receipt_delay`` seconds after
its answer, or with ``receipt_first`` *before* its submit_sm_resp: the receipt's id is not known
to the client yet; ``DELIVRD`` unless ``receipt_stats`` says otherwise), and drops the link
once, right after answering its ``drop_after``-th ``submit_sm``, without reading what the client
had already written after it (those submit_sm were never taken: the client must send them again).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from gateway.core import sms_text
from gateway.service.smpp import make, parse, read_pdu


@dataclass
class Smsc:
    system_id: str = "parloir"
    password: str = "secret"
    refuse: set[str] = field(default_factory=set)
    drop_after: int | None = None
    receipts: bool = True
    receipt_delay: float = 0.3
    receipt_first: bool = False
    receipt_stats: dict[str, str] = field(default_factory=dict)
    "A receipt's final state by destination (without +); DELIVRD for the others."
    taken: Counter[str] = field(default_factory=Counter)
    "Texts taken (submit_sm answered ESME_ROK), each counted."
    submits: int = 0
    binds: int = 0
    enquiries: int = 0
    drops: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _seq: int = 0
    _sessions: set[asyncio.Task[Any]] = field(default_factory=set)
    _receipts: list[tuple[float, str, str]] = field(default_factory=list)
    "Receipts not yet acknowledged (due time, message id, destination): kept across binds."

    async def __aenter__(self) -> Smsc:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._sessions):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        await self._server.wait_closed()

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        unacked: dict[int, tuple[float, str, str]] = {}
        pusher: asyncio.Task[None] | None = None
        try:
            while True:
                pdu = parse(await read_pdu(reader))
                if pdu.command == "bind_transceiver":
                    ok = (pdu.system_id.decode(), pdu.password.decode()) == (
                        self.system_id, self.password)  # fmt: skip
                    self.binds += ok
                    writer.write(make("bind_transceiver_resp", pdu.sequence,
                                      status=0 if ok else 0x0E, system_id="SMSC"))  # fmt: skip
                    if ok and self.receipts and pusher is None:
                        pusher = asyncio.create_task(self._push(writer, unacked))
                elif pdu.command == "enquire_link":
                    self.enquiries += 1
                    writer.write(make("enquire_link_resp", pdu.sequence))
                elif pdu.command == "unbind":
                    writer.write(make("unbind_resp", pdu.sequence))
                    await writer.drain()
                    return
                elif pdu.command == "deliver_sm_resp":
                    unacked.pop(pdu.sequence, None)
                    continue
                elif pdu.command == "submit_sm":
                    self.submits += 1
                    dest = pdu.destination_addr.decode()
                    if dest in self.refuse:
                        writer.write(make("submit_sm_resp", pdu.sequence, status=0x0B))
                        continue
                    text = sms_text.decode(pdu.short_message, int(pdu.data_coding))
                    self.taken[text] += 1
                    msg_id = f"smsc{self.submits:05d}"
                    if self.receipt_first:  # the receipt overtakes the answer
                        seq = self._next()
                        unacked[seq] = (0.0, msg_id, dest)
                        writer.write(self._receipt(seq, msg_id, dest))
                    writer.write(make("submit_sm_resp", pdu.sequence, message_id=msg_id))
                    await writer.drain()
                    if not self.receipt_first:
                        due = asyncio.get_running_loop().time() + self.receipt_delay
                        self._receipts.append((due, msg_id, dest))
                    if self.drop_after is not None and sum(self.taken.values()) == self.drop_after:
                        self.drop_after = None
                        self.drops += 1
                        writer.transport.abort()  # what the client wrote after it is lost
                        return
                else:
                    writer.write(make("generic_nack", pdu.sequence, status=0x03))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            if pusher is not None:
                pusher.cancel()
                with contextlib.suppress(BaseException):
                    await pusher
            self._receipts.extend(unacked.values())  # sent again on the next bind
            writer.close()
            self._sessions.discard(task)

    def _receipt(self, seq: int, msg_id: str, dest: str) -> bytes:
        stat = self.receipt_stats.get(dest, "DELIVRD")
        text = (f"id:{msg_id} sub:001 dlvrd:001 submit date:2612031200 "
                f"done date:2612031200 stat:{stat} err:000 text:")  # fmt: skip
        return make("deliver_sm", seq, esm_class=4, source_addr=dest, destination_addr="Parloir",
                    short_message=text.encode())  # fmt: skip

    async def _push(
        self, writer: asyncio.StreamWriter, unacked: dict[int, tuple[float, str, str]]
    ) -> None:
        loop = asyncio.get_running_loop()
        while not writer.is_closing():
            due = [r for r in self._receipts if r[0] <= loop.time()]
            for item in due:
                self._receipts.remove(item)
                _, msg_id, dest = item
                seq = self._next()
                unacked[seq] = item
                writer.write(self._receipt(seq, msg_id, dest))
            await writer.drain()
            await asyncio.sleep(0.05)


def header(data: bytes) -> tuple[int, int, int, int]:
    return struct.unpack(">LLLL", data[:16])
