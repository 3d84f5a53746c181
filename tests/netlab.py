"""A real-kernel network lab for browser tests: the relative's phone in its own namespace.

The kernel here has no netem, so bad networks are built from what every Linux has: a network
namespace (the phone), a veth pair between it and the host (the phone's only link), ``tc tbf``
token buckets on either end of that pair (its downlink and uplink), and the pair's state and
addresses (losing the network, moving from Wi-Fi to 4G). The gateway and the kiosk's browser
stay on the host; the phone's Chromium runs inside the namespace through ``ip netns exec``::

    async with network_lab() as lab:
        gateway = await gateway_factory(**lab.gateway_config())
        async with lab.chromium_outside(gateway.base_url) as kb, \
                   lab.chromium_inside(gateway.base_url) as pb:
            call = await start_browser_call(gateway, kb, pb)
            lab.shape(300)                 # the phone's downlink: 300 kbit/s
            lab.link_down(); lab.link_up() # the phone loses its network, then finds it again
            await resumed_within(call.phone, 20)

Only addresses of the lab's own /24 are used (the host side is .1, the phone .2, then .3, .4…
after each :meth:`Lab.change_address`); the namespace has no default route, and an
``unreachable`` route for the /24 on the host keeps the gateway's packets for the phone from
ever taking the host's default route while the link is down. Everything is torn down on exit,
also when the body raised. Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN); skips otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ipaddress
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser import (
    CHROMIUM_ARGS,
    chromium_path,
    enrolled_kiosk_context,
    kiosk_signs_in,
    relative_enters_code,
)
from tests.callkit import read_codes, seeded, wait_for_code

# Chromium for the lab: the usual flags, but no ICE on loopback. Inside the namespace 127.0.0.1
# is the namespace's own loopback, which the gateway (on the host) would try to reach on the
# host's loopback: somebody else's sockets. Both browsers reach the gateway at ``host_addr``.
LAB_CHROMIUM_ARGS = [a for a in CHROMIUM_ARGS if a != "--allow-loopback-in-peer-connection"]

# tbf: the bucket must hold at least one full-size packet (1500 bytes = 12 kbit) or such
# packets never pass; 16 kbit (2 kB) is barely more, so the cap holds even over a keyframe's
# burst of packets, as on a real bottleneck. Above 3.2 Mbit/s the bucket grows to 5 ms of
# traffic so the kernel's timer does not have to fire every few hundred microseconds.
# ``latency 200ms`` sizes the queue in front of the bucket: 200 ms of traffic at the rate
# (7.5 kB, about 5 packets, at 300 kbit/s), roughly a mobile link's buffer; beyond it the
# link drops, which is what a receiver's bandwidth estimate must react to.
TBF_MIN_BURST_KBIT = 16
TBF_LATENCY = "200ms"

_CLONE_NEWNET = 0x40000000


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {proc.stderr.strip() or proc.returncode}")
    return proc


def _require_lab() -> None:
    """Skip (not fail) where a lab cannot exist: not root, or no iproute2."""
    if os.geteuid() != 0:
        pytest.skip("network lab: needs root (ip netns, veth, tc)")
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            pytest.skip(f"network lab: {tool} (iproute2) is not installed")


def _used_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 network the host routes or has an address in, so the lab's /24 clashes
    with none of them."""
    used: list[ipaddress.IPv4Network] = []
    routes = json.loads(_run("ip", "-j", "-4", "route", "show", "table", "all").stdout or "[]")
    for route in routes:
        dst = route.get("dst", "")
        if dst and dst != "default":
            with contextlib.suppress(ValueError):
                used.append(ipaddress.IPv4Network(dst, strict=False))
    for link in json.loads(_run("ip", "-j", "-4", "addr").stdout or "[]"):
        for info in link.get("addr_info", []):
            used.append(ipaddress.IPv4Network(f"{info['local']}/{info['prefixlen']}", strict=False))
    return used


def _free_subnet() -> ipaddress.IPv4Network:
    used = _used_networks()
    for _ in range(200):
        candidate = ipaddress.IPv4Network(
            f"10.{random.randint(16, 254)}.{random.randint(0, 254)}.0/24"
        )
        if not any(candidate.overlaps(net) for net in used):
            return candidate
    raise RuntimeError("network lab: no free 10.x.y.0/24")


@dataclass
class Lab:
    """One lab: the phone's namespace ``ns`` and its link to the host.

    ``host_addr`` is the host end (where the gateway listens), ``phone_addr`` the phone's
    current address. The methods are synchronous (each is one or two ``ip``/``tc`` calls of a
    few milliseconds) and may be called from async tests as they are."""

    ns: str
    host_if: str
    phone_if: str
    subnet: ipaddress.IPv4Network
    host_addr: str
    phone_addr: str
    workdir: Path
    _next_host: int = 3
    _shaped: set[str] = field(default_factory=set)
    _claimed: bool = False

    # -- running things on either side ---------------------------------------------------
    def ip(self, *args: str, inside: bool = False, check: bool = True) -> str:
        """Run ``ip ARGS`` on the host, or inside the namespace; return its stdout."""
        prefix = ("ip", "-n", self.ns) if inside else ("ip",)
        return _run(*prefix, *args, check=check).stdout

    def tc(self, *args: str, inside: bool = False, check: bool = True) -> str:
        prefix = ("ip", "netns", "exec", self.ns, "tc") if inside else ("tc",)
        return _run(*prefix, *args, check=check).stdout

    def socket_inside(
        self, family: int = socket.AF_INET, kind: int = socket.SOCK_DGRAM
    ) -> socket.socket:
        """A socket that lives in the phone's namespace (created there by a short-lived thread
        that enters it with setns(2)), for tests that need the phone's side without a browser."""
        made: list[socket.socket | BaseException] = []

        def make() -> None:
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                fd = os.open(f"/run/netns/{self.ns}", os.O_RDONLY)
                try:
                    if libc.setns(fd, _CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns")
                finally:
                    os.close(fd)
                made.append(socket.socket(family, kind))
            except BaseException as exc:  # handed to the caller's thread
                made.append(exc)
            # The thread ends here, still in the namespace: it never runs anything else.

        thread = threading.Thread(target=make)
        thread.start()
        thread.join()
        if isinstance(made[0], BaseException):
            raise made[0]
        return made[0]

    # -- the network's quality -----------------------------------------------------------
    def shape(self, down_kbit: int | None, up_kbit: int | None = None) -> None:
        """Cap the phone's downlink (tbf on the host end's egress) and its uplink (tbf on the
        phone end's egress), in kbit/s; None leaves that direction uncapped (and removes a
        cap set before). Calling it again changes the caps."""
        for dev, kbit, inside in ((self.host_if, down_kbit, False),
                                  (self.phone_if, up_kbit, True)):  # fmt: skip
            if kbit is not None:
                self._tbf(dev, kbit, inside=inside)
            elif dev in self._shaped:
                self._untbf(dev, inside=inside)

    def unshape(self) -> None:
        """Remove both caps."""
        if self.host_if in self._shaped:
            self._untbf(self.host_if, inside=False)
        if self.phone_if in self._shaped:
            self._untbf(self.phone_if, inside=True)

    def _tbf(self, dev: str, kbit: int, *, inside: bool) -> None:
        if kbit <= 0:
            raise ValueError("a rate in kbit/s must be positive")
        burst = max(TBF_MIN_BURST_KBIT, kbit // 200)
        self.tc("qdisc", "replace", "dev", dev, "root", "tbf", "rate", f"{kbit}kbit",
                "burst", f"{burst}kbit", "latency", TBF_LATENCY, inside=inside)  # fmt: skip
        self._shaped.add(dev)

    def _untbf(self, dev: str, *, inside: bool) -> None:
        self.tc("qdisc", "del", "dev", dev, "root", inside=inside, check=False)
        self._shaped.discard(dev)

    def downlink_stats(self) -> dict[str, int]:
        """The downlink cap's counters (``bytes``, ``packets``, ``drops``, ``overlimits``) since
        it was set; all zero when uncapped."""
        return self._tbf_stats(self.host_if, inside=False)

    def uplink_stats(self) -> dict[str, int]:
        """The same for the uplink cap."""
        return self._tbf_stats(self.phone_if, inside=True)

    def _tbf_stats(self, dev: str, *, inside: bool) -> dict[str, int]:
        keys = ("bytes", "packets", "drops", "overlimits")
        for qdisc in json.loads(self.tc("-s", "-j", "qdisc", "show", "dev", dev, inside=inside)
                                or "[]"):  # fmt: skip
            if qdisc.get("kind") == "tbf":
                return {k: int(qdisc.get(k, 0)) for k in keys}
        return dict.fromkeys(keys, 0)

    # -- losing the network, changing networks -------------------------------------------
    def link_down(self) -> None:
        """The phone loses its network: its end of the link goes down (nothing passes either
        way; the host end loses its carrier)."""
        self.ip("link", "set", self.phone_if, "down", inside=True)

    def link_up(self) -> None:
        """The phone finds its network again, same address: the link comes up, and the address
        and its route are checked back (the kernel restores the route on its own)."""
        self.ip("link", "set", self.phone_if, "up", inside=True)
        addrs = self.ip("-4", "-o", "addr", "show", "dev", self.phone_if, inside=True)
        if f" {self.phone_addr}/" not in addrs:
            self.ip("addr", "add", f"{self.phone_addr}/{self.subnet.prefixlen}",
                    "dev", self.phone_if, inside=True)  # fmt: skip
        routes = self.ip("-4", "route", "show", str(self.subnet), inside=True)
        if "linkdown" in routes or not routes.strip():
            raise RuntimeError(f"network lab: no route back after link_up: {routes!r}")

    def change_address(self) -> str:
        """The phone changes networks (Wi-Fi to 4G): a new address of the /24 is added and the
        old one removed, so every socket bound to the old one is dead. Returns the new one."""
        new = str(self.subnet.network_address + self._next_host)
        self._next_host += 1
        old = self.phone_addr
        self.ip("addr", "add", f"{new}/{self.subnet.prefixlen}", "dev", self.phone_if,
                inside=True)  # fmt: skip
        self.ip("addr", "del", f"{old}/{self.subnet.prefixlen}", "dev", self.phone_if,
                inside=True)  # fmt: skip
        self.phone_addr = new
        # The host's neighbour entry for the old address would otherwise be reused for a
        # while; without it, the host asks and nobody answers.
        self.ip("neigh", "flush", "dev", self.host_if, check=False)
        return new

    # -- what the tests plug into it -----------------------------------------------------
    def gateway_config(self) -> dict[str, Any]:
        """Keyword arguments for the ``gateway_factory`` fixture: listen on the host end and
        gather ICE host candidates there only. The pages are served from
        ``http://HOST_ADDR:PORT`` (also what the SMS says and what /ws's Origin check
        accepts, since it is the Host the browsers send)."""
        return {"host": self.host_addr, "ice_host_addresses": (self.host_addr,)}

    def chromium_args(self, base_url: str) -> list[str]:
        """Chromium's flags for a page at ``base_url``: getUserMedia needs a secure origin,
        and ``http://10.x.y.1:PORT`` is not one (only localhost is) unless told so."""
        parts = urlsplit(base_url)
        origin = f"{parts.scheme}://{parts.netloc}"
        return [*LAB_CHROMIUM_ARGS, f"--unsafely-treat-insecure-origin-as-secure={origin}"]

    @contextlib.asynccontextmanager
    async def chromium_inside(self, base_url: str, **launch: Any) -> AsyncIterator[Any]:
        """A Playwright Browser whose Chromium runs in the phone's namespace."""
        wrapper = self.workdir / "chromium-in-ns"
        if not wrapper.exists():
            wrapper.write_text(
                f'#!/bin/sh\nexec ip netns exec {self.ns} {chromium_path()} "$@"\n',
                encoding="utf-8",
            )
            wrapper.chmod(0o755)
        async with _launch(str(wrapper), self.chromium_args(base_url), launch) as browser:
            yield browser

    @contextlib.asynccontextmanager
    async def chromium_outside(self, base_url: str, **launch: Any) -> AsyncIterator[Any]:
        """A Playwright Browser on the host (the kiosk), reaching the gateway at host_addr."""
        async with _launch(chromium_path(), self.chromium_args(base_url), launch) as browser:
            yield browser

    # -- building and tearing down -------------------------------------------------------
    def _claim(self) -> bool:
        """Take the /24 before anything uses it: an ``unreachable`` route for it, which also
        keeps packets for it from ever leaving by the default route (link down, old address).
        Adding it is atomic, so two labs started at once never both get the same /24."""
        proc = _run("ip", "route", "add", "unreachable", str(self.subnet), "metric", "4242",
                    check=False)  # fmt: skip
        if proc.returncode != 0:
            if "File exists" in proc.stderr:
                return False
            raise RuntimeError(f"ip route add unreachable {self.subnet}: {proc.stderr.strip()}")
        self._claimed = True
        return True

    def _build(self) -> None:
        _run("ip", "netns", "add", self.ns)
        _run("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.phone_if,
             "netns", self.ns)  # fmt: skip
        prefix = self.subnet.prefixlen
        self.ip("addr", "add", f"{self.host_addr}/{prefix}", "dev", self.host_if)
        self.ip("link", "set", self.host_if, "up")
        self.ip("link", "set", "lo", "up", inside=True)
        # Deleting the primary address would take the others with it (change_address).
        self.ip("netns", "exec", self.ns, "sysctl", "-qw",
                f"net.ipv4.conf.{self.phone_if}.promote_secondaries=1")  # fmt: skip
        self.ip("addr", "add", f"{self.phone_addr}/{prefix}", "dev", self.phone_if, inside=True)
        self.ip("link", "set", self.phone_if, "up", inside=True)

    def _teardown(self) -> list[str]:
        """Remove everything, whatever state it is in; return what could not be removed."""
        # The host end first: deleting it deletes its peer at once, whereas a namespace's
        # devices go away only when the kernel gets round to freeing the namespace.
        _run("ip", "link", "del", self.host_if, check=False)
        if self._claimed:  # never another lab's route
            _run("ip", "route", "del", "unreachable", str(self.subnet), "metric", "4242",
                 check=False)  # fmt: skip
        _run("ip", "netns", "del", self.ns, check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)
        left = []
        if self.ns in _run("ip", "netns", "list").stdout.split():
            left.append(f"namespace {self.ns}")
        if _run("ip", "link", "show", self.host_if, check=False).returncode == 0:
            left.append(f"link {self.host_if}")
        return left


@contextlib.asynccontextmanager
async def _launch(executable: str, args: list[str], launch: dict[str, Any]) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    extra = list(launch.pop("args", []))
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=args + extra, **launch)
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.contextmanager
def lab_sync() -> Iterator[Lab]:
    """The lab as a plain context manager (see :func:`network_lab`)."""
    _require_lab()
    for _ in range(20):
        suffix = secrets.token_hex(3)
        subnet = _free_subnet()
        lab = Lab(
            ns=f"parloir-{suffix}",
            host_if=f"plh{suffix}",
            phone_if=f"plp{suffix}",
            subnet=subnet,
            host_addr=str(subnet.network_address + 1),
            phone_addr=str(subnet.network_address + 2),
            workdir=Path(tempfile.mkdtemp(prefix=f"parloir-lab-{suffix}-")),
        )
        try:
            if lab._claim():
                break
        except RuntimeError as exc:
            lab._teardown()
            if "Operation not permitted" in str(exc):
                pytest.skip(f"network lab: not allowed here ({exc})")
            raise
        lab._teardown()  # another lab took that /24 meanwhile: draw again
    else:
        raise RuntimeError("network lab: no free 10.x.y.0/24")
    try:
        try:
            lab._build()
        except RuntimeError as exc:
            if "Operation not permitted" in str(exc):  # e.g. no CAP_SYS_ADMIN for ip netns
                pytest.skip(f"network lab: not allowed here ({exc})")
            raise
        yield lab
    finally:
        left = lab._teardown()
        if left:
            raise RuntimeError(f"network lab: could not remove {', '.join(left)}")


@contextlib.asynccontextmanager
async def network_lab() -> AsyncIterator[Lab]:
    """A fresh lab (namespace ``parloir-XXXXXX``, link ``plhXXXXXX``/``plpXXXXXX``, a free
    ``10.x.y.0/24``), removed on exit, also when the body raised."""
    with lab_sync() as lab:
        yield lab


# -- what a page receives (getStats through window.parloir.pc) ---------------------------

OBSERVE_JS = """async () => {
  const pc = window.parloir && window.parloir.pc;
  if (!pc) return null;
  const stats = await pc.getStats();
  const out = {
    connectionState: pc.connectionState, iceConnectionState: pc.iceConnectionState,
    framesDecoded: 0, freezeCount: 0, totalFreezesDuration: 0, framesPerSecond: 0,
    videoBytesReceived: 0, videoPacketsLost: 0, concealedSamples: 0, totalSamplesReceived: 0,
    audioBytesReceived: 0, bytesReceived: 0, bytesSent: 0, timestamp: 0,
    localCandidateType: null, localAddress: null, remoteCandidateType: null, remoteAddress: null,
  };
  let pairId = null;
  stats.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      out.framesDecoded += s.framesDecoded || 0;
      out.freezeCount += s.freezeCount || 0;
      out.totalFreezesDuration += s.totalFreezesDuration || 0;
      out.framesPerSecond += s.framesPerSecond || 0;
      out.videoBytesReceived += s.bytesReceived || 0;
      out.videoPacketsLost += s.packetsLost || 0;
      out.timestamp = Math.max(out.timestamp, s.timestamp);
    }
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      out.concealedSamples += s.concealedSamples || 0;
      out.totalSamplesReceived += s.totalSamplesReceived || 0;
      out.audioBytesReceived += s.bytesReceived || 0;
    }
    if (s.type === 'outbound-rtp') out.bytesSent += s.bytesSent || 0;
  });
  out.bytesReceived = out.videoBytesReceived + out.audioBytesReceived;
  const pair = pairId && stats.get(pairId);
  if (pair) {
    const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
    if (local) {
      out.localCandidateType = local.candidateType;
      out.localAddress = local.address;
    }
    if (remote) {
      out.remoteCandidateType = remote.candidateType;
      out.remoteAddress = remote.address;
    }
  }
  if (!out.timestamp) out.timestamp = performance.timeOrigin + performance.now();
  return out;
}"""


async def observe(page: Any) -> dict[str, Any]:
    """The page's receive side now: video ``framesDecoded``, ``freezeCount``,
    ``totalFreezesDuration``, ``framesPerSecond``, ``videoBytesReceived``,
    ``videoPacketsLost``; audio ``concealedSamples``, ``totalSamplesReceived``,
    ``audioBytesReceived``; ``bytesReceived`` (RTP payload, both kinds), ``bytesSent``;
    ``connectionState``, ``iceConnectionState``; the selected pair's ``localCandidateType``,
    ``localAddress``, ``remoteCandidateType``, ``remoteAddress``; ``timestamp`` (ms).
    Empty when the page has no peer connection yet."""
    return await page.evaluate(OBSERVE_JS) or {}


async def received_kbit(page: Any, seconds: float = 3.0) -> float:
    """The page's received RTP bitrate (payload bytes, audio and video) over ``seconds``, in
    kbit/s, timed by getStats' own timestamps. Payload only: the wire carries 5 to 10 % more
    (RTP, SRTP, UDP and IP headers), so it never reads above what a cap lets through."""
    first = await observe(page)
    await asyncio.sleep(seconds)
    last = await observe(page)
    elapsed_ms = max(last["timestamp"] - first["timestamp"], 1.0)
    return (last["bytesReceived"] - first["bytesReceived"]) * 8 / elapsed_ms


async def resumed_within(page: Any, seconds: float, frames: int = 3) -> float:
    """Wait until the page's ``framesDecoded`` has grown by ``frames`` from now; return how
    long it took (s). Fails the test if it has not within ``seconds``."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    base = last = (await observe(page)).get("framesDecoded", 0)
    while (now := (await observe(page)).get("framesDecoded", 0)) < base + frames:
        if now < last:  # the page came back on a new peer connection: it counts from zero
            base = 0
        last = now
        if loop.time() - start > seconds:
            pytest.fail(f"video did not resume within {seconds} s")
        await asyncio.sleep(0.1)
    return loop.time() - start


# -- a whole call in two real browsers ---------------------------------------------------


@dataclass
class BrowserCall:
    """The pages and contexts of a call started by :func:`start_browser_call`; ``errors``
    collects the pages' uncaught exceptions."""

    kiosk: Any
    phone: Any
    kiosk_context: Any
    phone_context: Any
    demo: dict[str, Any]
    errors: list[str]

    async def close(self) -> None:
        for context in (self.kiosk_context, self.phone_context):
            with contextlib.suppress(Exception):
                await context.close()


async def _decodes(page: Any, above: int, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while (await observe(page)).get("framesDecoded", 0) <= above:
            await asyncio.sleep(0.2)


async def start_browser_call(
    gateway: Any,
    kiosk_browser: Any,
    phone_browser: Any,
    demo: dict[str, Any] | None = None,
    *,
    phone_init_script: str = "",
    timeout: float = 30.0,
    on_page: Callable[[str, Any], Awaitable[None]] | None = None,
) -> BrowserCall:
    """Stand a call up through the real pages, as tests/test_call_browsers.py does: the
    kiosk (an enrolled context) logs in and calls, the SMS's code is read from the outbox,
    the relative accepts the rules, types the code (bare address) and accepts. Returns once
    both pages decode video. ``demo`` is :func:`tests.callkit.seeded`'s (seeded here if not
    given); ``phone_init_script`` runs in the phone's page before its own scripts;
    ``on_page("kiosk" | "phone", page)`` is awaited for each page before it opens anything."""
    demo = demo or await seeded(gateway)
    base = gateway.base_url
    kiosk_ctx = await enrolled_kiosk_context(
        kiosk_browser, gateway, viewport={"width": 1280, "height": 800}
    )
    phone_ctx = await phone_browser.new_context(
        viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True
    )
    if phone_init_script:
        await phone_ctx.add_init_script(phone_init_script)
    call = BrowserCall(
        await kiosk_ctx.new_page(), await phone_ctx.new_page(), kiosk_ctx, phone_ctx, demo, []
    )
    for page in (call.kiosk, call.phone):
        page.on("pageerror", lambda exc: call.errors.append(str(exc)))
    try:
        if on_page is not None:
            await on_page("kiosk", call.kiosk)
            await on_page("phone", call.phone)
        kiosk, phone = call.kiosk, call.phone
        sent = len(read_codes(gateway.config.outbox_path))
        await kiosk_signs_in(kiosk, base, demo)
        await kiosk.wait_for_selector("#call", state="visible")
        await kiosk.click("#call")
        code, _ref = await wait_for_code(gateway.config.outbox_path, count=sent + 1, timeout=10)
        await relative_enters_code(phone, base, code)
        await phone.click("#accept-call")
        await _decodes(kiosk, 10, timeout)
        await _decodes(phone, 10, timeout)
    except BaseException:
        await call.close()
        raise
    return call
