"""Signaling over TLS: the gateway serving HTTPS itself, and behind a real nginx running
docs/nginx.conf; the forwarded client address believed only from a trusted proxy; the security
headers on every page.

Every client address here is on loopback: Linux routes all of 127.0.0.0/8 to ``lo``, so a test
client bound to 127.0.0.2 or 127.0.0.3 is a distinct client, while nginx reaches the gateway
from 127.0.0.1, the one trusted proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme
from aiohttp import web

from gateway.cli import Running
from gateway.config import ConfigError, load_config
from gateway.http.forwarded import client_from, parse_networks, scheme_from
from gateway.service.tls import server_context

from .callkit import Client, kiosk_login, seeded

ROOT = Path(__file__).resolve().parent.parent
DOCS_NGINX = ROOT / "docs" / "nginx.conf"
WEB_DIR = ROOT / "web"

Factory = Callable[..., Awaitable[Running]]


# ---------------------------------------------------------------- helpers


@dataclass
class Certs:
    ca: trustme.CA
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    """A throwaway CA and a server certificate for 127.0.0.1, as PEM files."""
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    for blob in issued.cert_chain_pems:
        blob.write_to_path(str(cert), append=True)
    issued.private_key_pem.write_to_path(str(key))
    return Certs(ca, cert, key)


def session(context: ssl.SSLContext | None = None, source: str | None = None) -> Any:
    """A client session, trusting ``context``'s CA, connecting from the address ``source``."""
    connector = aiohttp.TCPConnector(
        ssl=context or True, local_addr=(source, 0) if source else None, force_close=True
    )
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=20))


def assert_security_headers(headers: Any, *, hsts: bool, what: str = "") -> None:
    csp = headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert "script-src" in directives or "default-src" in directives, (what, csp)
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, (what, csp)
    assert directives.get("frame-ancestors") == ["'none'"], (what, csp)
    assert headers.get("X-Frame-Options") == "DENY", what
    assert headers.get("Referrer-Policy") == "no-referrer", what
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    if hsts:
        match = re.fullmatch(r"max-age=(\d+).*", headers.get("Strict-Transport-Security", ""))
        assert match and int(match[1]) >= 180 * 86400, (what, headers)
    else:
        assert "Strict-Transport-Security" not in headers, what


async def closed_with(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    msg = await ws.receive(timeout=10)
    while msg.type == aiohttp.WSMsgType.TEXT:
        msg = await ws.receive(timeout=10)
    return ws.close_code


async def bad_hello_closes_4401(http: aiohttp.ClientSession, ws_url: str) -> None:
    ws = await http.ws_connect(ws_url)
    await ws.send_json({"type": "hello", "token": "not-a-token"})
    assert await closed_with(ws) == 4401


async def kiosk_round_trip(http: aiohttp.ClientSession, base: str, gateway: Running) -> None:
    """A logged-in kiosk's socket: hello answered by welcome, 'call' by the waiting state."""
    demo = await seeded(gateway)
    kiosk = Client(base, http)
    try:
        # The enrolled kiosk's device credential, passed by hand: through nginx, the base URL
        # is not the gateway's own.
        await kiosk_login(kiosk, demo["detainee"], demo["access_code"], demo["kiosk_credential"])
        welcome = await kiosk.connect()  # base is https://…: Client connects to wss://…/ws
        assert welcome["role"] == "kiosk"
        await kiosk.send({"type": "call"})
        await kiosk.expect("state", call__state="waiting_relative")
    finally:
        await kiosk.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def post_code(http: aiohttp.ClientSession, url: str, **headers: str) -> int:
    payload = {"code": "000000", "rules_accepted": True}
    async with http.post(url + "/api/join", json=payload, headers=headers) as resp:
        await resp.read()
        return resp.status


async def status_of(http: aiohttp.ClientSession, url: str, **headers: str) -> int:
    async with http.get(url, headers=headers, allow_redirects=False) as resp:
        await resp.read()
        return resp.status


async def network_refused(http: aiohttp.ClientSession, url: str, **headers: str) -> bool:
    """Did the staff network check turn this client away? (Past it, staff sign-in decides.)"""
    async with http.get(url + "/desk", headers=headers, allow_redirects=False) as resp:
        body = await resp.text()
        return resp.status == 403 and "staff.forbidden_network" in body


# ---------------------------------------------------------------- configuration and parsing


def test_config_reads_tls_and_proxies_from_env_and_toml(tmp_path: Path) -> None:
    config = load_config(
        {"PARLOIR_TLS_CERT": "/x/cert.pem", "PARLOIR_TRUSTED_PROXIES": "10.0.0.1, 10.1.0.0/16"}
    )
    assert config.tls_cert == "/x/cert.pem" and config.tls_key == ""
    assert config.trusted_proxies == ("10.0.0.1", "10.1.0.0/16")
    assert config.base_url(8443) == "https://127.0.0.1:8443"
    toml = tmp_path / "parloir.toml"
    toml.write_text('[gateway]\ntrusted_proxies = ["127.0.0.1/32"]\ntls_cert = "c.pem"\n')
    config = load_config({}, str(toml))
    assert (config.trusted_proxies, config.tls_cert) == (("127.0.0.1/32",), "c.pem")
    assert load_config({}).base_url(8080) == "http://127.0.0.1:8080"
    with pytest.raises(ConfigError):
        load_config({"PARLOIR_TRUSTED_PROXIES": "not-a-network"})
    with pytest.raises(ConfigError):
        load_config({"PARLOIR_TLS_KEY": "/x/key.pem"})
    with pytest.raises(ConfigError):  # a missing file stops the start, with its name
        server_context(load_config({"PARLOIR_TLS_CERT": str(tmp_path / "missing.pem")}))


def test_key_may_live_in_the_certificate_file(tmp_path: Path, certs: Certs) -> None:
    both = tmp_path / "both.pem"
    both.write_bytes(certs.key.read_bytes() + certs.cert.read_bytes())
    context = server_context(load_config({"PARLOIR_TLS_CERT": str(both)}))
    assert context is not None and context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert server_context(load_config({})) is None


@pytest.mark.parametrize(
    "peer,header,expected",
    [
        # Not from a trusted proxy: the header is the sender's own say, never read.
        ("198.51.100.7", ["203.0.113.1"], "198.51.100.7"),
        # From the proxy: the right-most address that is not a proxy, whatever was to its left.
        ("10.0.0.1", ["203.0.113.1"], "203.0.113.1"),
        ("10.0.0.1", ["127.0.0.3, 203.0.113.1"], "203.0.113.1"),
        ("10.0.0.1", ["127.0.0.3", "203.0.113.1, 10.0.0.2"], "203.0.113.1"),
        ("10.0.0.1", ["2001:db8::5"], "2001:db8::5"),
        ("10.0.0.1", ["[2001:db8::5]:4711"], "2001:db8::5"),
        ("10.0.0.1", ["203.0.113.1:4711"], "203.0.113.1"),
        ("::ffff:10.0.0.1", ["203.0.113.1"], "203.0.113.1"),
        # Garbage stops the walk at the last hop we can vouch for.
        ("10.0.0.1", ["203.0.113.1, unknown"], "10.0.0.1"),
        ("10.0.0.1", ["203.0.113.1, 10.0.0.2, nonsense"], "10.0.0.1"),
        ("10.0.0.1", ["nonsense, 203.0.113.1"], "203.0.113.1"),
        # No header, or only proxies: the nearest proxy's word is all there is.
        ("10.0.0.1", [], "10.0.0.1"),
        ("10.0.0.1", ["10.0.0.3, 10.0.0.2"], "10.0.0.3"),
    ],
)
def test_client_address_from_forwarded_for(peer: str, header: list[str], expected: str) -> None:
    assert client_from(peer, header, parse_networks(["10.0.0.0/24"])) == expected


def test_scheme_from_forwarded_proto() -> None:
    trusted = parse_networks(["10.0.0.0/24"])
    assert scheme_from("10.0.0.1", "http", ["https"], trusted) == "https"
    assert scheme_from("10.0.0.1", "http", ["HTTPS"], trusted) == "https"
    assert scheme_from("10.0.0.1", "https", ["http"], trusted) == "http"
    assert scheme_from("10.0.0.1", "http", ["gopher"], trusted) == "http"
    assert scheme_from("10.0.0.1", "http", [], trusted) == "http"
    assert scheme_from("198.51.100.7", "http", ["https"], trusted) == "http"


# ---------------------------------------------------------------- the gateway serving HTTPS


async def test_gateway_serves_https_and_wss(gateway_factory: Factory, certs: Certs) -> None:
    gateway = await gateway_factory(tls_cert=str(certs.cert), tls_key=str(certs.key))
    base = gateway.base_url
    assert base.startswith("https://127.0.0.1:")
    async with session(certs.client_context()) as http:
        async with http.get(base + "/join") as resp:
            assert resp.status == 200
            assert resp.content_type == "text/html"
            tls = resp.connection.transport.get_extra_info("ssl_object")  # type: ignore[union-attr]
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
            assert_security_headers(resp.headers, hsts=True, what="/join")
        async with http.get(base + "/no-such-page") as resp:  # refusals carry HSTS too
            assert resp.status == 404
            assert_security_headers(resp.headers, hsts=True, what="404")
        await bad_hello_closes_4401(http, base.replace("https", "wss") + "/ws")
        await kiosk_round_trip(http, base, gateway)
    async with session() as http:
        plain = base.replace("https://", "http://") + "/join"
        with pytest.raises(aiohttp.ClientError):  # plain HTTP on the TLS port gets nowhere
            await status_of(http, plain)


async def test_plain_gateway_sends_no_hsts_and_ignores_forwarded_proto(
    gateway_factory: Factory,
) -> None:
    gateway = await gateway_factory()  # no trusted proxy: X-Forwarded-Proto is anyone's say
    async with session() as http:
        forged = {"X-Forwarded-Proto": "https"}
        async with http.get(gateway.base_url + "/join", headers=forged) as resp:
            assert resp.status == 200
            assert_security_headers(resp.headers, hsts=False)


# ---------------------------------------------------------------- behind nginx


def nginx_binary() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else "")
    if not path:
        pytest.fail("Debian's nginx is not installed: ./run test installs it")
    return path


def site_from_docs(gateway_port: int, https_port: int, http_port: int, certs: Certs) -> str:
    """docs/nginx.conf with only the addresses, ports and certificate paths swapped: the
    locations, headers and timeouts tested are the documented ones."""
    text = DOCS_NGINX.read_text(encoding="utf-8")
    swaps = [
        ("server 127.0.0.1:8080;", f"server 127.0.0.1:{gateway_port};"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        ("listen [::]:443 ssl;", ""),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;", ""),
        ("/etc/letsencrypt/live/parloir.example.fr/fullchain.pem", str(certs.cert)),
        ("/etc/letsencrypt/live/parloir.example.fr/privkey.pem", str(certs.key)),
    ]
    for old, new in swaps:
        assert text.count(old) == 1, f"docs/nginx.conf has no single {old!r}: update this test"
        text = text.replace(old, new)
    return text


def main_conf(folder: Path, site: Path, binary: str) -> str:
    """A whole nginx.conf around the site, every file in ``folder``: no root, no /var needed."""
    built = subprocess.run([binary, "-V"], capture_output=True, text=True).stderr
    temps = "\n".join(  # one *_temp_path per module built in (Debian's flavours differ)
        f"    {name.replace('-', '_')}_temp_path {folder / name};"
        for name in re.findall(r"--http-([a-z-]+)-temp-path=", built)
    )
    # As root, nginx would switch its workers to "nobody", who cannot read pytest's folders.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}worker_processes 1;\ndaemon off;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} info;\n"
        "events { worker_connections 256; }\n"
        f"http {{\n    access_log off;\n{temps}\n    include {site};\n}}\n"
    )


@dataclass
class Nginx:
    https: str
    http: str
    process: subprocess.Popen[bytes]


@pytest.fixture
async def nginx(tmp_path: Path, certs: Certs) -> AsyncIterator[Callable[[int], Awaitable[Nginx]]]:
    started: list[subprocess.Popen[bytes]] = []

    async def start(gateway_port: int) -> Nginx:
        binary = nginx_binary()
        folder = tmp_path / "nginx"
        folder.mkdir()
        https_port, http_port = free_port(), free_port()
        site = folder / "parloir.conf"
        site.write_text(site_from_docs(gateway_port, https_port, http_port, certs))
        conf = folder / "nginx.conf"
        conf.write_text(main_conf(folder, site, binary))
        log = folder / "error.log"
        args = [binary, "-p", str(folder), "-e", str(log), "-c", str(conf)]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        started.append(process)
        async with asyncio.timeout(15):
            while True:
                if process.poll() is not None:
                    pytest.fail(f"nginx exited: {log.read_text() if log.exists() else ''}")
                with contextlib.suppress(OSError):
                    _, writer = await asyncio.open_connection("127.0.0.1", https_port)
                    writer.close()
                    break
                await asyncio.sleep(0.05)
        return Nginx(f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}", process)

    try:
        yield start
    finally:
        for process in started:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def proxied_gateway(gateway_factory: Factory) -> Running:
    # Only nginx (127.0.0.1) is believed; only 127.0.0.3 is "staff"; a small code-entry budget.
    return await gateway_factory(
        trusted_proxies=("127.0.0.1/32",),
        staff_networks=("127.0.0.3/32",),
        join_attempts_per_minute=3,
    )


async def test_nginx_serves_pages_and_websocket(
    gateway_factory: Factory, nginx: Callable[[int], Awaitable[Nginx]], certs: Certs
) -> None:
    gateway = await proxied_gateway(gateway_factory)
    proxy = await nginx(gateway.port)
    async with session(certs.client_context()) as http:
        async with http.get(proxy.https + "/join") as resp:
            assert resp.status == 200 and resp.content_type == "text/html"
            # HSTS: the gateway learned from nginx's X-Forwarded-Proto that this was HTTPS.
            assert_security_headers(resp.headers, hsts=True, what="/join via nginx")
            assert_no_version(resp.headers)
        async with http.get(proxy.http + "/join?lang=en", allow_redirects=False) as resp:
            assert resp.status == 301
            assert resp.headers["Location"] == "https://127.0.0.1/join?lang=en"
            assert_no_version(resp.headers)
        await bad_hello_closes_4401(http, proxy.https.replace("https", "wss") + "/ws")
        await kiosk_round_trip(http, proxy.https, gateway)
        # The gateway's 4 MiB body limit is enforced by nginx already.
        async with http.post(proxy.https + "/api/join", data=b"x" * (5 * 1024 * 1024)) as resp:
            assert resp.status == 413
            assert_no_version(resp.headers)  # nginx's own error page too
            assert "nginx/" not in await resp.text()


def assert_no_version(headers: Mapping[str, str]) -> None:
    """nginx names itself (it replaces the gateway's ``Server``) but not its version."""
    assert headers.get("Server") == "nginx", headers.get("Server")


def test_documented_nginx_sites_hide_the_version() -> None:
    """Both documented sites (single process and cluster) say ``server_tokens off`` in each
    server block: the cluster's is run by tests/test_cluster.py, which does not look at it."""
    for path in (DOCS_NGINX, ROOT / "docs" / "nginx-cluster.conf"):
        text = path.read_text(encoding="utf-8")
        assert text.count("server {") == text.count("server_tokens off;") == 2, path


async def test_nginx_forwards_the_client_address(
    gateway_factory: Factory, nginx: Callable[[int], Awaitable[Nginx]], certs: Certs
) -> None:
    gateway = await proxied_gateway(gateway_factory)
    proxy = await nginx(gateway.port)
    context = certs.client_context()
    async with session(context, "127.0.0.2") as two, session(context, "127.0.0.3") as three:
        # 127.0.0.2 spends its budget, naming a new address each time: nginx replaces the
        # header with the address it saw, so every try counts against 127.0.0.2.
        for i in range(3):
            forged = {"X-Forwarded-For": f"198.51.100.{i}"}
            assert await post_code(two, proxy.https, **forged) == 403
        assert await post_code(two, proxy.https, **{"X-Forwarded-For": "198.51.100.9"}) == 429
        # The gateway sees only nginx's address, yet 127.0.0.3 has a budget of its own.
        assert await post_code(three, proxy.https) == 403
        # The staff check reads the forwarded address too, and cannot be talked into another.
        assert not await network_refused(three, proxy.https)
        assert await network_refused(two, proxy.https)
        assert await network_refused(two, proxy.https, **{"X-Forwarded-For": "127.0.0.3"})


async def test_forwarded_headers_from_an_untrusted_peer_are_ignored(
    gateway_factory: Factory,
) -> None:
    gateway = await proxied_gateway(gateway_factory)
    url = gateway.base_url  # straight to the gateway, skipping nginx
    async with session(source="127.0.0.2") as stranger:
        forged = {"X-Forwarded-For": "127.0.0.3", "X-Forwarded-Proto": "https"}
        assert await network_refused(stranger, url, **forged)
        async with stranger.get(url + "/join", headers=forged) as resp:
            assert_security_headers(resp.headers, hsts=False, what="forged proto")
        for i in range(3):
            assert await post_code(stranger, url, **{"X-Forwarded-For": f"203.0.113.{i}"}) == 403
        assert await post_code(stranger, url, **{"X-Forwarded-For": "203.0.113.9"}) == 429
    # The same headers from the trusted proxy's address are believed: the test above is not
    # passing merely because forwarding never works.
    async with session(source="127.0.0.1") as proxy:
        assert not await network_refused(proxy, url, **forged)
        async with proxy.get(url + "/join", headers=forged) as resp:
            assert_security_headers(resp.headers, hsts=True, what="trusted proto")


# ---------------------------------------------------------------- headers on every page


class InlineCode(HTMLParser):
    """Collects what the CSP (script-src/style-src 'self', no 'unsafe-inline') would block."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._script: dict[str, str | None] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> at line {self.getpos()[0]}")
            if name == "style":
                self.problems.append(f"<{tag} style=…> at line {self.getpos()[0]}")
            if (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…> at line {self.getpos()[0]}")
        if tag == "style":
            self.problems.append(f"<style> at line {self.getpos()[0]}")
        if tag == "script":
            self._script, self._text = dict(attrs), ""

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            if self._text.strip() or not self._script.get("src"):
                self.problems.append(f"inline <script> before line {self.getpos()[0]}")
            self._script = None


def test_no_inline_code_in_the_pages() -> None:
    pages = sorted(WEB_DIR.rglob("*.html"))
    assert pages
    for page in pages:
        parser = InlineCode()
        parser.feed(page.read_text(encoding="utf-8"))
        parser.close()
        assert parser.problems == [], f"{page.relative_to(ROOT)}: {parser.problems}"


RENDERED = {"/confidentialite"}
"Pages the gateway fills in from a template of web/ (gateway/http/notice.py)."


async def test_every_route_carries_the_security_headers(gateway_factory: Factory) -> None:
    """Every GET route, whatever it answers (a page, JSON, a redirect to the staff sign-in,
    a refusal): the headers come from one middleware, so every answer must carry them."""
    gateway = await gateway_factory()
    html_files = {p.read_bytes() for p in WEB_DIR.glob("*.html")}
    paths = sorted(
        {
            route.resource.canonical
            for route in gateway.app.router.routes()
            if route.method == "GET"
            and route.resource is not None
            and not isinstance(route.resource, web.StaticResource)
            and "{" not in route.resource.canonical
            and route.resource.canonical != "/ws"
        }
    )
    assert "/join" in paths and "/desk" in paths
    pages = 0
    async with session() as http:
        for path in [*paths, "/static/call.js", "/no-such-page"]:
            async with http.get(gateway.base_url + path, allow_redirects=False) as resp:
                body = await resp.read()
                assert_security_headers(resp.headers, hsts=False, what=f"{path} {resp.status}")
                if resp.status == 200 and resp.content_type == "text/html":
                    if path in RENDERED:
                        # Filled in from a web/ template with escaped text: still no inline
                        # code for the CSP to refuse.
                        parser = InlineCode()
                        parser.feed(body.decode())
                        parser.close()
                        assert parser.problems == [], f"{path}: {parser.problems}"
                    else:
                        assert body in html_files, f"{path} is HTML but no file of web/"
                    pages += 1
    assert pages >= 2  # at least / and /join, whatever sign-in the staff pages need
