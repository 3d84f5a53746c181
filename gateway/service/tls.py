"""HTTPS served by the gateway itself: the server's TLS context, from ``tls_cert``/``tls_key``."""

from __future__ import annotations

import ssl

from gateway.config import ConfigError, GatewayConfig


def server_context(config: GatewayConfig) -> ssl.SSLContext | None:
    """A TLS ≥ 1.2 server context, or None for plain HTTP (no ``tls_cert``, or TLS done by a
    reverse proxy). Built at start-up so a missing or mismatched file stops the gateway at once."""
    if not config.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # Every browser that can do WebRTC speaks TLS 1.2; older versions only widen the attack surface.
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(config.tls_cert, config.tls_key or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"tls_cert/tls_key: cannot load {config.tls_cert}: {exc}") from exc
    return context


__all__ = ["server_context"]
