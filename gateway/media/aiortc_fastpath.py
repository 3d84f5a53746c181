"""Fewer Python calls per received RTP packet: shortcuts through aiortc's and aioice's receive path.

Theory of operation
-------------------
Every packet the gateway relays is received by aiortc the same way, and the benchmark's profile
(README, *Benchmark*) put a large share of the server's CPU in that path rather than in the
relay. Nothing here changes what is done with a packet, only how many layers carry it:

* **STUN demultiplexing** (RFC 7983): aioice's ``StunProtocol.datagram_received`` tries to parse
  every datagram as STUN and takes the ``ValueError`` as "not STUN", one exception per RTP
  packet. A datagram whose first byte is above 3 cannot be STUN (DTLS is 20-63, RTP/RTCP
  128-191): it goes straight to the connection, as the ``ValueError`` branch does.
* **No queue, no task wake-up per packet**: aioice queues each datagram (``Connection._queue``)
  for ``RTCDtlsTransport.__run``, a task that is woken once per packet to take it, unprotect it,
  parse it and route it. Once that transport is connected with SRTP keys, an SRTP *RTP* packet
  is handled right in the datagram callback instead (:func:`_receive_rtp`): unprotected, parsed,
  routed and given to the receiver's ``_handle_rtp_packet`` as ``__run`` would, in arrival order.
  That coroutine does not suspend in practice (its RTCP sends do not wait); if it ever does,
  :func:`run_eager` finishes it in a task. DTLS and SRTCP still go through the queue and
  ``__run``, so the handshake, its retransmissions, RTCP and the transport's end are aiortc's.
* **The incoming-bitrate counter** of aiortc's REMB estimator (``aiortc.rate.RateCounter``, one
  1 ms bucket per millisecond of a 1 s window) erased old buckets one millisecond at a time in a
  Python loop on every packet, twice, and rebuilt 1000 bucket objects on each reset.
  :class:`RateCounter` computes the same rate with two lists of integers and slice operations.

* **The clock without datetime**: aiortc reads the time as a timezone-aware ``datetime`` and
  turns it into NTP or milliseconds in Python arithmetic, twice per packet sent (the
  ``abs-send-time`` extension and the sender report's clock) and once per packet received.
  :func:`current_ntp_time` and :func:`current_ms` compute the same integers from
  ``time.time_ns()``.
* **The delay estimator's minimum frame period** (``OveruseEstimator.update_min_frame_period``,
  once per frame received) took the minimum of its 60-entry history with one ``min`` call per
  entry in a Python loop: :func:`_update_min_frame_period` makes one ``min`` call.
* **One call per packet sent, not five coroutines**: ``RTCDtlsTransport._send_rtp`` protects
  the packet and then awaits ``RTCIceTransport._send`` (aioice's ``Connection.send``), which
  awaits ``Connection.sendto``, which awaits ``StunProtocol.send_data``, which calls the
  datagram transport's ``sendto``. :func:`_send_rtp` protects it and calls that ``sendto``
  itself when the nominated pair is a plain UDP one; through a TURN relay (another protocol
  class) it still awaits the protocol's ``send_data``.

These are private names: :func:`check_compatibility` asserts them, and
:func:`gateway.media.aiortc_passthrough.check_compatibility` calls it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Coroutine, Generator
from typing import Any

import aioice.ice
import pylibsrtp
from aiortc import clock
from aiortc import rate as _rate_mod
from aiortc.rtcdtlstransport import RTCDtlsTransport, State
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtp import RtpPacket, is_rtcp

log = logging.getLogger(__name__)

_original_datagram_received = aioice.ice.StunProtocol.datagram_received
_original_setup_srtp = RTCDtlsTransport._setup_srtp
_OriginalRateCounter = _rate_mod.RateCounter
_original_send_rtp = RTCDtlsTransport._send_rtp
_original_update_min_frame_period = _rate_mod.OveruseEstimator.update_min_frame_period
_original_current_ms = clock.current_ms
_original_current_ntp_time = clock.current_ntp_time
_NTP_EPOCH_NS = 2_208_988_800 * 1_000_000_000
"""Nanoseconds from the NTP epoch (1900) to the Unix epoch (1970)."""


def current_ms() -> int:
    """``aiortc.clock.current_ms``: milliseconds since 1900 (its microseconds, truncated)."""
    return (time.time_ns() + _NTP_EPOCH_NS) // 1_000 // 1_000


def current_ntp_time() -> int:
    """``aiortc.clock.current_ntp_time``: 32.32 fixed-point seconds since 1900, from the
    microseconds as aiortc's ``datetime`` has them."""
    seconds, ns = divmod(time.time_ns() + _NTP_EPOCH_NS, 1_000_000_000)
    return (seconds << 32) | ((ns // 1_000) << 32) // 1_000_000


def _update_min_frame_period(self: Any, ts_delta: float) -> float:
    """``OveruseEstimator.update_min_frame_period``: the same history, the same minimum."""
    history = self.ts_delta_hist
    if len(history) >= _rate_mod.MIN_FRAME_PERIOD_HISTORY_LENGTH:
        history.pop(0)
    smallest = min(history, default=ts_delta)
    history.append(ts_delta)
    return ts_delta if ts_delta < smallest else smallest


async def _send_rtp(self: RTCDtlsTransport, data: bytes) -> None:
    """``RTCDtlsTransport._send_rtp`` and aioice's send chain in one call (see the notes)."""
    if self._state != State.CONNECTED:
        raise ConnectionError("Cannot send encrypted RTP, not connected")
    if is_rtcp(data):
        data = self._tx_srtp.protect_rtcp(data)
    else:
        data = self._tx_srtp.protect(data)
    pair = self.transport._connection._nominated.get(1)
    if pair is None:
        raise ConnectionError("Cannot send data, not connected")
    protocol = pair.protocol
    if type(protocol) is aioice.ice.StunProtocol and protocol.transport is not None:
        global sent
        sent += 1
        protocol.transport.sendto(data, pair.remote_addr)
    else:
        await protocol.send_data(data, pair.remote_addr)
    self._RTCDtlsTransport__tx_bytes += len(data)  # type: ignore[attr-defined]
    self._RTCDtlsTransport__tx_packets += 1  # type: ignore[attr-defined]


def _datagram_received(self: Any, data: bytes, addr: tuple[Any, ...]) -> None:
    if data and data[0] > 3:  # RFC 7983: not STUN (DTLS, RTP or RTCP)
        self.receiver.data_received(data, self.local_candidate.component)
        return
    _original_datagram_received(self, data, addr)


def _setup_srtp(self: RTCDtlsTransport) -> None:
    """aiortc's, then route this transport's SRTP RTP around its queue (see the notes)."""
    _original_setup_srtp(self)
    if getattr(self, "_rx_srtp", None) is None:
        return  # no SRTP profile: aiortc failed the transport
    connection = self.transport._connection
    queued = connection.data_received

    def data_received(data: bytes, component: int) -> None:
        # 128-191: RTP or RTCP; RTCP's second byte (its packet type) is 192 to 208.
        if (
            len(data) > 1
            and 127 < data[0] < 192
            and not 191 < data[1] < 209
            and self._state == State.CONNECTED
        ):
            _receive_rtp(self, data)
        else:
            queued(data, component)

    connection.data_received = data_received


received = 0
"""RTP packets taken by the shortcut, for the tests."""
sent = 0
"""RTP and RTCP packets sent by the one-call shortcut (UDP pairs), for the tests."""


def _receive_rtp(transport: RTCDtlsTransport, data: bytes) -> None:
    """What ``RTCDtlsTransport._recv_next`` and ``_handle_rtp_data`` do with an SRTP packet."""
    global received
    received += 1
    transport._RTCDtlsTransport__rx_bytes += len(data)  # type: ignore[attr-defined]
    transport._RTCDtlsTransport__rx_packets += 1  # type: ignore[attr-defined]
    arrival_time_ms = clock.current_ms()
    try:
        data = transport._rx_srtp.unprotect(data)
        packet = RtpPacket.parse(data, transport._rtp_header_extensions_map)
    except (pylibsrtp.Error, ValueError):
        return  # aiortc drops these too (it logs them at debug level)
    receiver = transport._rtp_router.route_rtp(packet)
    if receiver is not None:
        run_eager(receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms))


def run_eager(coro: Coroutine[Any, Any, Any]) -> None:
    """Run ``coro`` now, up to its first real suspension; a task finishes it from there.

    (Python 3.12's eager tasks, for one coroutine; an error is logged, the call goes on.)
    """
    try:
        waited = coro.send(None)
    except StopIteration:
        return
    except Exception:
        log.exception("receiving an RTP packet failed")
        return
    asyncio.ensure_future(_finish(coro, waited))


async def _finish(coro: Coroutine[Any, Any, Any], waited: Any) -> None:
    while True:
        try:
            await (waited if waited is not None else _yield())
        except asyncio.CancelledError:
            coro.close()
            raise
        except Exception:
            pass  # the coroutine gets it itself: its await reads the future's result
        try:
            waited = coro.send(None)
        except StopIteration:
            return
        except Exception:
            log.exception("receiving an RTP packet failed")
            return


class _Yield:
    def __await__(self) -> Generator[None, None, None]:
        yield  # a bare yield (asyncio.sleep(0)): one turn of the loop


def _yield() -> _Yield:
    return _Yield()


class RateCounter:
    """``aiortc.rate.RateCounter`` (the amount received in 1 ms buckets over a window), with the
    buckets in two integer lists and old ones erased by slices, not one Python loop turn per
    millisecond."""

    def __init__(self, window_size: int, scale: int = 8000) -> None:
        self._window_size = window_size
        self._scale = scale
        self.reset()

    def reset(self) -> None:
        self._counts = [0] * self._window_size
        self._values = [0] * self._window_size
        self._origin_index = 0
        self._origin_ms: int | None = None
        self._total_count = 0
        self._total_value = 0

    def add(self, value: int, now_ms: int) -> None:
        if self._origin_ms is None:
            self._origin_ms = now_ms
        else:
            self._erase_old(now_ms)
        index = (self._origin_index + now_ms - self._origin_ms) % self._window_size
        self._counts[index] += 1
        self._values[index] += value
        self._total_count += 1
        self._total_value += value

    def rate(self, now_ms: int) -> int | None:
        if self._origin_ms is not None:
            self._erase_old(now_ms)
            active_window_size = now_ms - self._origin_ms + 1
            if self._total_count > 0 and active_window_size > 1:
                return round(self._scale * self._total_value / active_window_size)
        return None

    def _erase_old(self, now_ms: int) -> None:
        assert self._origin_ms is not None
        size = self._window_size
        behind = now_ms - size + 1 - self._origin_ms
        if behind <= 0:
            return
        if behind >= size:  # the whole window is old
            self._counts = [0] * size
            self._values = [0] * size
            self._total_count = self._total_value = 0
            self._origin_index = (self._origin_index + behind) % size
        else:
            start = self._origin_index
            end = start + behind
            spans = [(start, end)] if end <= size else [(start, size), (0, end - size)]
            for a, b in spans:
                self._total_count -= sum(self._counts[a:b])
                self._total_value -= sum(self._values[a:b])
                self._counts[a:b] = [0] * (b - a)
                self._values[a:b] = [0] * (b - a)
            self._origin_index = end % size
        self._origin_ms += behind


def check_compatibility() -> list[str]:
    """What changed in aiortc/aioice that this module relies on (empty: nothing)."""
    problems: list[str] = []
    src = inspect.getsource(aioice.ice.StunProtocol.datagram_received)
    if "self.receiver.data_received(data, self.local_candidate.component)" not in src:
        problems.append("StunProtocol.datagram_received no longer hands non-STUN data on")
    if "self._queue.put_nowait((data, component))" not in inspect.getsource(
        aioice.ice.Connection.data_received
    ):
        problems.append("aioice Connection.data_received no longer queues")
    recv_src = inspect.getsource(RTCDtlsTransport._recv_next)
    for needle in (
        "self.__rx_bytes += len(data)",
        "self.__rx_packets += 1",
        "arrival_time_ms = clock.current_ms()",
        "data = self._rx_srtp.unprotect(data)",
        "await self._handle_rtp_data(data, arrival_time_ms=arrival_time_ms)",
    ):
        if needle not in recv_src:
            problems.append(f"RTCDtlsTransport._recv_next no longer contains {needle!r}")
    rtp_src = inspect.getsource(RTCDtlsTransport._handle_rtp_data)
    for needle in (
        "RtpPacket.parse(data, self._rtp_header_extensions_map)",
        "receiver = self._rtp_router.route_rtp(packet)",
        "await receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)",
    ):
        if needle not in rtp_src:
            problems.append(f"RTCDtlsTransport._handle_rtp_data no longer contains {needle!r}")
    if "self._rx_srtp = Session(rx_policy)" not in inspect.getsource(_original_setup_srtp):
        problems.append("RTCDtlsTransport._setup_srtp no longer sets _rx_srtp")
    if "self._connection = gatherer._connection" not in inspect.getsource(RTCIceTransport):
        problems.append("RTCIceTransport no longer keeps its aioice connection in _connection")
    if "self.incoming_bitrate = RateCounter(1000, 8000)" not in inspect.getsource(
        _rate_mod.RemoteBitrateEstimator.__init__
    ):
        problems.append("RemoteBitrateEstimator no longer builds a RateCounter(1000, 8000)")
    period_src = inspect.getsource(_original_update_min_frame_period)
    for needle in (
        "if len(self.ts_delta_hist) >= MIN_FRAME_PERIOD_HISTORY_LENGTH:",
        "min_frame_period = min(old_ts_delta, min_frame_period)",
        "self.ts_delta_hist.append(ts_delta)",
    ):
        if needle not in period_src:
            problems.append(f"OveruseEstimator.update_min_frame_period lacks {needle!r}")
    send_src = inspect.getsource(_original_send_rtp)
    for needle in (
        "data = self._tx_srtp.protect(data)",
        "await self.transport._send(data)",
        "self.__tx_bytes += len(data)",
        "self.__tx_packets += 1",
    ):
        if needle not in send_src:
            problems.append(f"RTCDtlsTransport._send_rtp no longer contains {needle!r}")
    if "self._send = self._connection.send" not in inspect.getsource(RTCIceTransport):
        problems.append("RTCIceTransport._send is no longer aioice's Connection.send")
    if "await self.sendto(data, 1)" not in inspect.getsource(aioice.ice.Connection.send):
        problems.append("aioice Connection.send no longer sends on component 1")
    sendto_src = inspect.getsource(aioice.ice.Connection.sendto)
    for needle in (
        "active_pair = self._nominated.get(component)",
        "await active_pair.protocol.send_data(data, active_pair.remote_addr)",
    ):
        if needle not in sendto_src:
            problems.append(f"aioice Connection.sendto no longer contains {needle!r}")
    if "self.transport.sendto(data, addr)" not in inspect.getsource(
        aioice.ice.StunProtocol.send_data
    ):
        problems.append("aioice StunProtocol.send_data no longer calls transport.sendto")
    if inspect.getsource(_original_current_ntp_time).count("datetime_to_ntp") != 1:
        problems.append("aiortc clock.current_ntp_time changed")
    for name in ("add", "rate", "reset"):
        if not hasattr(_OriginalRateCounter, name):
            problems.append(f"aiortc RateCounter has no {name}")
    return problems


def install() -> None:
    """Install the shortcuts (idempotent)."""
    aioice.ice.StunProtocol.datagram_received = _datagram_received  # type: ignore[method-assign]
    RTCDtlsTransport._setup_srtp = _setup_srtp  # type: ignore[method-assign]
    _rate_mod.RateCounter = RateCounter  # type: ignore[misc]
    RTCDtlsTransport._send_rtp = _send_rtp  # type: ignore[method-assign]
    _rate_mod.OveruseEstimator.update_min_frame_period = _update_min_frame_period  # type: ignore[method-assign]
    clock.current_ms = current_ms
    clock.current_ntp_time = current_ntp_time
