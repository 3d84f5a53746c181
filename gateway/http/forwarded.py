"""Who is really asking, and over what: the client address and scheme behind a reverse proxy.

Theory of operation. Every per-address rule (the code-entry rate limit, the staff network check)
reads ``request.remote``; secure cookies and HSTS read the scheme. Behind nginx both would be the
proxy's, so the first middleware replaces them with what the proxy says, through
``request.clone`` so every later middleware and handler sees the same answer.

The proxy's word is taken only when the TCP peer itself is in ``trusted_proxies``: anyone can send
an ``X-Forwarded-For`` header, and believing it from a stranger would let an attacker pick a fresh
address for each guess of a code, or claim a staff address. In the header, each hop appends the
address it received from, so the entries on the right were written by our proxies and those on
the left by whoever came before; the client is the right-most entry that is not itself a trusted
proxy. Anything left of it is the client's own say and is never read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable, Sequence

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]

HSTS = "max-age=31536000"
"One year: once a browser has seen the site over TLS, it never tries plain HTTP on it again."


def parse_networks(networks: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(n, strict=False) for n in networks]


def _address(text: str) -> Address | None:
    """An address as proxies write it: ``192.0.2.1``, ``2001:db8::1``, or with a port
    (``192.0.2.1:4711``, ``[2001:db8::1]:4711``)."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # a dual-stack socket's view of an IPv4 proxy
    return any(address in network for network in trusted)


def client_from(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> str | None:
    """The client's address: ``peer`` unless it is a trusted proxy, in which case the right-most
    X-Forwarded-For entry that is not one. An entry that is not an address stops the walk at the
    last hop we could vouch for: better to count a few clients as one than to believe garbage."""
    current = _address(peer or "")
    if current is None or not _trusted(current, trusted):
        return peer
    entries = [e for header in forwarded_for for e in header.split(",") if e.strip()]
    for entry in reversed(entries):
        address = _address(entry)
        if address is None:
            break
        current = address
        if not _trusted(address, trusted):
            break
    return str(current)


def scheme_from(
    peer: str | None, scheme: str, forwarded_proto: Sequence[str], trusted: Sequence[Network]
) -> str:
    """``https`` or ``http``: the nearest trusted proxy's X-Forwarded-Proto, else our own."""
    current = _address(peer or "")
    if current is None or not _trusted(current, trusted) or not forwarded_proto:
        return scheme
    value = forwarded_proto[-1].split(",")[-1].strip().lower()
    return value if value in ("http", "https") else scheme


def is_secure(request: web.Request) -> bool:
    """Did the browser reach us over TLS (directly, or through a trusted proxy)? Secure cookies
    and HSTS follow this, never the raw socket alone."""
    return request.scheme == "https"


def forwarded_headers(trusted_proxies: Iterable[str]) -> Middleware:
    """The first middleware: the real client and scheme, then HSTS on answers sent over TLS."""
    trusted = parse_networks(trusted_proxies)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if trusted:
            peer = request.remote
            remote = client_from(peer, request.headers.getall(hdrs.X_FORWARDED_FOR, []), trusted)
            scheme = scheme_from(
                peer, request.scheme, request.headers.getall(hdrs.X_FORWARDED_PROTO, []), trusted
            )
            if remote is not None and (remote != peer or scheme != request.scheme):
                request = request.clone(remote=remote, scheme=scheme)
        secure = is_secure(request)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if secure:
                exc.headers.setdefault("Strict-Transport-Security", HSTS)
            raise
        if secure and not response.prepared:  # a WebSocket's 101 has already gone out
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    return middleware


__all__ = ["client_from", "forwarded_headers", "is_secure", "scheme_from"]
