"""Short-lived TURN credentials, coturn's REST scheme (``use-auth-secret``).

The gateway and coturn share a secret; a credential is ``username = "<expiry>:<user>"`` and
``password = base64(HMAC-SHA1(secret, username))``. coturn accepts it until ``expiry`` (epoch
seconds) without any database, so a leaked credential dies with the call it was made for. They
are handed out only to someone who logged in at the kiosk or entered a right code, never on a
public page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def rest_credentials(secret: str, user: str, now: float, ttl: int) -> tuple[str, str]:
    username = f"{int(now) + int(ttl)}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()
