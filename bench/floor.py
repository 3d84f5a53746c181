"""``python -m bench floor``: the least CPU a relay written in Python can spend per packet here.

A yardstick for the Parloir/Janus ratio (README, *How low can Python go*): whatever a Python
SFU does, it must at least take each SRTP packet from the event loop, unprotect it, rewrite its
header (SSRC, sequence number, timestamp), protect it again and send it. This measures that and
nothing more (no RTCP, no statistics, no NACK, no bandwidth estimate, no recording), with the
same SRTP profile as the calls (AEAD AES-128-GCM) and about the benchmark's packet mix and rate
at N = 10 (2,830 packets a second, one in three a 120-byte sound packet, the rest 1,100-byte
video ones):

* ``asyncio``: a datagram protocol on asyncio's loop, the way the gateway receives (aioice);
* ``uvloop``: the same protocol on uvloop (when installed);
* ``blocking``: a plain ``recvfrom`` loop, no event loop at all.

A sender process and a sink process (on the load generator's CPUs) feed and drain the relay,
which runs in this process on the server's CPUs; its CPU time (user and system, from
``os.times``) is divided by the packets it relayed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import multiprocessing as mp
import os
import socket
import struct
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pylibsrtp

PROFILE = pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM
KEY_IN = bytes(range(28))  # 16-byte key + 12-byte salt (RFC 7714)
KEY_OUT = bytes(range(28, 56))
HEADER = struct.Struct("!BBHII")
OUT_SSRC = 5678
SIZES = (120, 1100, 1100)
"Payload bytes, in turn: one sound packet for two video ones."


def _session(key: bytes, direction: int) -> pylibsrtp.Session:
    return pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=direction, srtp_profile=PROFILE))


def _pin(cpus: set[int] | None) -> None:
    if cpus:
        os.sched_setaffinity(0, cpus)


def _sink(conn: Connection, cpus: set[int] | None) -> None:
    """Count the packets the relay sends that decrypt with its key and carry its SSRC, until it
    has been quiet for a second."""
    _pin(cpus)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind(("127.0.0.1", 0))
    conn.send(sock.getsockname()[1])
    rx = _session(KEY_OUT, pylibsrtp.Policy.SSRC_ANY_INBOUND)
    received = 0
    sock.settimeout(30)
    try:
        while True:
            plain = rx.unprotect(sock.recv(2048))
            received += HEADER.unpack_from(plain)[4] == OUT_SSRC
            sock.settimeout(1)
    except TimeoutError:
        pass
    conn.send(received)


def _sender(port: int, count: int, rate: float, cpus: set[int] | None) -> None:
    """``count`` SRTP packets to the relay, ``rate`` a second, on a fixed schedule."""
    _pin(cpus)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = _session(KEY_IN, pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    start = time.monotonic()
    for i in range(count):
        header = HEADER.pack(0x80, 96, i & 0xFFFF, (i * 1000) & 0xFFFFFFFF, 1234)
        sock.sendto(tx.protect(header + bytes(SIZES[i % len(SIZES)])), ("127.0.0.1", port))
        wait = start + (i + 1) / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)


def _forwarder(
    out: tuple[str, int], send: Callable[[bytes, tuple[str, int]], Any]
) -> Callable[[bytes], None]:
    """The per-packet work: unprotect, rewrite the header, protect, send."""
    rx = _session(KEY_IN, pylibsrtp.Policy.SSRC_ANY_INBOUND)
    tx = _session(KEY_OUT, pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    unpack, pack = HEADER.unpack_from, HEADER.pack

    def forward(data: bytes) -> None:
        plain = rx.unprotect(data)
        b0, b1, seq, ts, _ssrc = unpack(plain)
        header = pack(b0, b1, (seq + 1000) & 0xFFFF, (ts + 90000) & 0xFFFFFFFF, OUT_SSRC)
        send(tx.protect(header + plain[12:]), out)

    return forward


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, out: tuple[str, int], count: int, done: asyncio.Future[None]) -> None:
        self.out, self.count, self.done, self.relayed = out, count, done, 0
        self.forward: Callable[[bytes], None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.forward = _forwarder(self.out, transport.sendto)  # type: ignore[attr-defined]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.forward is not None
        self.forward(data)
        self.relayed += 1
        if self.relayed == self.count and not self.done.done():
            self.done.set_result(None)


async def _relay_async(sock: socket.socket, out: tuple[str, int], count: int, within: float,
                       started: Callable[[], None]) -> int:  # fmt: skip
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _Protocol(out, count, done), sock=sock
    )
    started()
    try:
        await asyncio.wait_for(done, within)
    except TimeoutError:
        pass  # some lost on the way: the packets relayed are what is counted
    transport.close()
    return protocol.relayed


def _relay_blocking(sock: socket.socket, out: tuple[str, int], count: int, within: float,
                    started: Callable[[], None]) -> int:  # fmt: skip
    forward = _forwarder(out, sock.sendto)
    recv = sock.recv
    sock.settimeout(within)
    started()
    relayed = 0
    try:
        while relayed < count:
            forward(recv(2048))
            relayed += 1
    except TimeoutError:
        pass
    return relayed


def variants() -> list[str]:
    found = ["asyncio", "blocking"]
    if importlib.util.find_spec("uvloop") is not None:
        found.insert(1, "uvloop")
    return found


def measure(variant: str, count: int, rate: float, server_cpus: set[int] | None,
            loadgen_cpus: set[int] | None) -> dict[str, Any]:  # fmt: skip
    """Relay ``count`` packets with ``variant``; this process's CPU per packet relayed."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    sink = ctx.Process(target=_sink, args=(child, loadgen_cpus), daemon=True)
    sink.start()
    out = ("127.0.0.1", parent.recv())
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sender = ctx.Process(target=_sender, args=(port, count, rate, loadgen_cpus), daemon=True)
    before = os.sched_getaffinity(0)
    _pin(server_cpus)
    times: list[os.times_result] = []

    def started() -> None:  # the relay is ready: start counting, start sending
        times.append(os.times())
        sender.start()

    within = count / rate + 10
    try:
        if variant == "blocking":
            relayed = _relay_blocking(sock, out, count, within, started)
        else:
            factory = None
            if variant == "uvloop":
                import uvloop

                factory = uvloop.new_event_loop
            with asyncio.Runner(loop_factory=factory) as runner:
                relayed = runner.run(_relay_async(sock, out, count, within, started))
        end = os.times()
    finally:
        os.sched_setaffinity(0, before)
        sock.close()
        sender.join(timeout=within)
    delivered = parent.recv() if parent.poll(30) else None
    sink.join(timeout=5)
    user, system = end.user - times[0].user, end.system - times[0].system
    per = 1e6 / max(1, relayed)
    return {"variant": variant, "packets": count, "relayed": relayed, "delivered": delivered,
            "us_per_packet": round((user + system) * per, 1), "us_user": round(user * per, 1),
            "us_system": round(system * per, 1)}  # fmt: skip


def main(args: argparse.Namespace) -> int:
    rows = [
        measure(v, args.packets, args.rate, args.server_cpus, args.loadgen_cpus)
        for v in variants()
    ]
    print("| relay loop | packets relayed | µs CPU per packet | user | system |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['relayed']} of {r['packets']} | {r['us_per_packet']:.1f} "
              f"| {r['us_user']:.1f} | {r['us_system']:.1f} |")  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    doc = {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "rate": args.rate,
           "sizes": SIZES, "srtp": "AEAD_AES_128_GCM", "rows": rows}  # fmt: skip
    (out / "floor.json").write_text(json.dumps(doc, indent=1) + "\n")
    return 0 if all(r["relayed"] for r in rows) else 1
