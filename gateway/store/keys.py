"""Every Redis key of Parloir starts with :data:`PREFIX`; the call's keys are spelled here only.

One prefix for the whole service, so that a backup (``service/backup.py``) and a restore take
exactly Parloir's keys, and several services could share a Redis under other prefixes one day.
The stores spell their own keys from :data:`PREFIX`; a call's keys are read and written by more
than one module (the call engine, the supervisor, the socket router, the recorder), so they have
one spelling each, below.
"""

from __future__ import annotations

PREFIX = "parloir:"

CALLS_LIVE = f"{PREFIX}calls:live"  # set: the ids of the calls in progress, on any process
DETAINEES = f"{PREFIX}detainees"  # set: every detainee number in the directory


def call(call_id: str) -> str:
    """Hash: the call's record (owner, booking, people, state, times, connected_ms, SMS)."""
    return f"{PREFIX}call:{call_id}"


def call_events(call_id: str) -> str:
    """Stream: the call's lifecycle events, in order (what monitoring and audits read)."""
    return f"{PREFIX}call:{call_id}:events"


def call_sockets(call_id: str) -> str:
    """Set: ``"holder sid lang"`` of the call's sockets held by processes other than its owner."""
    return f"{PREFIX}call:{call_id}:socks"


def call_flags(call_id: str) -> str:
    """Stream: the flags monitoring staff put on the call."""
    return f"{PREFIX}call:{call_id}:flags"


def call_ref(ref: str) -> str:
    """String: the call id for the public reference in the SMS link."""
    return f"{PREFIX}callref:{ref}"


def booking_call(booking_id: str) -> str:
    """String: the live call of a booking (one per booking across the service)."""
    return f"{PREFIX}bookingcall:{booking_id}"


def recovering(call_id: str) -> str:
    """String, short-lived: the process recovering a dead process's call."""
    return f"{PREFIX}recover:{call_id}"
