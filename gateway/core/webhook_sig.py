"""The SMS provider's status webhook: its HMAC-SHA256 signature and replay window (sans-IO).

Header ``X-Parloir-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``:
the timestamp is signed with the body, so a captured request cannot be replayed outside the
window (default 5 minutes); inside it, a replay changes nothing, since a status only moves
forward (:func:`gateway.core.sms_queue.moves_forward`). Compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Parloir-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def check(secret: str, header: str | None, body: bytes, now: float, window: float) -> str | None:
    """``None`` when the signature holds; else the machine-readable reason of the refusal."""
    if not header:
        return "sms.webhook.signature_missing"
    fields = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return "sms.webhook.signature_malformed"
    given = fields.get("v1", "")
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return "sms.webhook.signature_invalid"
    if abs(now - timestamp) > window:
        return "sms.webhook.stale"
    return None
