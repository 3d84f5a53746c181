"""The receive path's shortcuts (gateway/media/aiortc_fastpath.py) do what aiortc's layers did:
the same rates, the same frames, and a real call's RTP goes through them."""

from __future__ import annotations

import asyncio
import functools
import random

from aiortc import RTCPeerConnection

from gateway.media import aiortc_fastpath as fastpath
from gateway.media import aiortc_passthrough as passthrough
from gateway.media.relay import MediaSource
from tests.test_passthrough import _rtp


def test_rate_counter_matches_aiortcs() -> None:
    """Same rate as aiortc's counter after any sequence of adds, gaps, resets (windows of
    1000 ms as the REMB estimator uses, and of 50 to exercise the wrap-around)."""
    rng = random.Random(16)
    original = fastpath._OriginalRateCounter
    for trial in range(200):
        window = 50 if trial % 2 else 1000
        theirs, ours = original(window, 8000), fastpath.RateCounter(window, 8000)
        now = rng.randint(0, 10**6)
        for _ in range(300):
            now += rng.choice([0, 1, 2, 5, 10, 30, 49, 50, 51, 200, 999, 1000, 1500])
            roll = rng.random()
            if roll < 0.6:
                size = rng.randint(1, 1500)
                theirs.add(size, now)
                ours.add(size, now)
            elif roll < 0.97:
                assert ours.rate(now) == theirs.rate(now), (trial, window)
            else:
                theirs.reset()
                ours.reset()


class _FullScan(passthrough.MarkerJitterBuffer):
    """The jitter buffer as it was: the hole search scans all 512 slots."""

    def _first_hole(self) -> int | None:
        self._newest = None
        return super()._first_hole()


def test_the_bounded_hole_search_releases_the_same_frames() -> None:
    """Loss, reordering, duplicates, a jump far ahead and a sequence-number wrap: the bounded
    hole search gives the same frames, PLIs and give-ups as the full scan."""
    rng = random.Random(7)
    gave_up = 0
    for trial in range(40):
        now = [0.0]
        clock = functools.partial(now.__getitem__, 0)
        bounded = passthrough.MarkerJitterBuffer(512, is_video=True, clock=clock)
        full = _FullScan(512, is_video=True, clock=clock)
        seq, ts = rng.randint(60000, 65535), 0
        packets = []
        for frame in range(150):
            count = rng.randint(1, 4)
            key = frame % 30 == 0
            for i in range(count):
                data = bytes([0 if key and i == 0 else 1, frame & 0xFF, i])
                packets.append((seq & 0xFFFF, ts, i == count - 1, data))
                seq += 1
            ts += 3000
            if trial % 5 == 0 and frame == 75:
                seq += 700  # far ahead: more than the buffer holds
        order = list(packets)
        for k in range(len(order) - 1):
            if rng.random() < 0.05:
                order[k], order[k + 1] = order[k + 1], order[k]
        for packet in order:
            now[0] += 0.01
            if rng.random() < 0.03:
                continue  # lost
            copies = 2 if rng.random() < 0.02 else 1
            for _ in range(copies):
                a = bounded.add(_rtp(*packet))
                b = full.add(_rtp(*packet))
                assert (a[0], a[1] and (a[1].data, a[1].timestamp)) == (
                    b[0],
                    b[1] and (b[1].data, b[1].timestamp),
                ), trial
        assert bounded.given_up == full.given_up
        gave_up += bounded.given_up
    assert gave_up > 0  # the losses did reach the give-up path


def test_the_clock_gives_aiortcs_integers(monkeypatch) -> None:
    """The same NTP and millisecond values as aiortc's datetime arithmetic, at the same
    instant (both read the system clock; the microseconds are what datetime keeps). The
    instants span 146 years from 1970."""
    import datetime

    rng = random.Random(3)
    for _ in range(2000):
        ns = rng.randint(0, 2**62)
        instant = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC) + (
            datetime.timedelta(microseconds=ns // 1000)
        )
        monkeypatch.setattr(fastpath.time, "time_ns", lambda ns=ns: ns)
        assert fastpath.current_ntp_time() == fastpath.clock.datetime_to_ntp(instant)
        delta = instant - datetime.datetime(1900, 1, 1, tzinfo=datetime.UTC)
        assert fastpath.current_ms() == int(delta.total_seconds() * 1000) or (
            # total_seconds() is a float: past 2**53 µs it rounds, the integers do not.
            abs(fastpath.current_ms() - delta.total_seconds() * 1000) < 2
        )


def test_the_minimum_frame_period_matches_aiortcs() -> None:
    from aiortc.rate import OveruseEstimator

    rng = random.Random(5)
    theirs, ours = OveruseEstimator(), OveruseEstimator()
    for _ in range(500):
        delta = rng.choice([0.0, 33.3, 16.7, 100.0, rng.uniform(0, 200)])
        expected = fastpath._original_update_min_frame_period(theirs, delta)
        assert fastpath._update_min_frame_period(ours, delta) == expected
        assert ours.ts_delta_hist == theirs.ts_delta_hist


def test_stun_demultiplexing_by_first_byte() -> None:
    """RFC 7983: only a datagram whose first byte is 0 to 3 is offered to the STUN parser."""
    handed: list[bytes] = []

    class Receiver:
        def data_received(self, data: bytes, component: int) -> None:
            handed.append(data)

    class Candidate:
        component = 1

    protocol = type("P", (), {})()
    protocol.receiver = Receiver()
    protocol.local_candidate = Candidate()
    rtp = bytes([0x80, 96]) + bytes(30)
    fastpath._datagram_received(protocol, rtp, ("127.0.0.1", 9))
    dtls = bytes([22, 0xFE, 0xFD]) + bytes(20)
    fastpath._datagram_received(protocol, dtls, ("127.0.0.1", 9))
    assert handed == [rtp, dtls]


async def test_a_calls_rtp_goes_through_the_shortcut_and_arrives_whole() -> None:
    """Two aiortc peers on loopback, the answerer fitted as the gateway fits its legs: every
    frame the offerer's packer sends arrives, byte for byte, through the shortcut."""
    passthrough.install()
    passthrough.restrict_host_addresses(["127.0.0.1"])
    source = MediaSource("video", "test")
    got: list[bytes] = []
    offerer, answerer = RTCPeerConnection(), RTCPeerConnection()
    try:
        track = source.subscribe()
        sender = offerer.addTrack(track)
        passthrough.attach_sender(sender, source.request_keyframe)
        offer = await offerer.createOffer()
        await offerer.setLocalDescription(offer)
        await answerer.setRemoteDescription(offerer.localDescription)
        (transceiver,) = answerer.getTransceivers()
        passthrough.attach_receiver(
            transceiver.receiver, lambda packet: got.append(bytes(packet)) if packet else None
        )
        await answerer.setLocalDescription(await answerer.createAnswer())
        await offerer.setRemoteDescription(answerer.localDescription)
        before, before_sent = fastpath.received, fastpath.sent
        sent = [bytes([0 if i % 10 == 0 else 1]) + bytes([i]) * 3000 for i in range(40)]
        for _ in range(200):
            if answerer.connectionState == "connected" and offerer.connectionState == "connected":
                break
            await asyncio.sleep(0.05)
        for i, frame in enumerate(sent):
            packet = passthrough.av.Packet(frame)
            packet.pts = packet.dts = i * 3000
            packet.time_base = passthrough.fractions.Fraction(1, 90000)
            source.publish(packet)
            await asyncio.sleep(0.02)
        for _ in range(100):
            if len(got) >= len(sent):
                break
            await asyncio.sleep(0.05)
        assert got == sent
        assert fastpath.received - before >= 2 * len(sent)  # 3 kB frames: 3 packets each
        assert fastpath.sent - before_sent >= 2 * len(sent)  # sent in one call each, too
    finally:
        passthrough.restrict_host_addresses(None)
        await offerer.close()
        await answerer.close()
