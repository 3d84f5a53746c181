"""``python -m gateway check-texts``: every stored human text that breaks the core's text rule
(:mod:`gateway.core.text`), from records written before the rule or around the stores.

Read-only: it lists, never changes (a name or a reason is evidence; a person retypes it). Each
finding is ``{"record", "field", "value"}`` with the value as ``ascii()`` so that an invisible
character shows as ``\\u202e`` in the report.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis.asyncio as aioredis

from gateway.core.identifiers import is_detainee_number
from gateway.core.text import is_clean
from gateway.store import keys
from gateway.store.directory import CORRESPONDENT_TEXTS, DETAINEE_TEXTS, Directory
from gateway.store.keys import PREFIX
from gateway.store.ledger import Ledger
from gateway.store.sanctions import DetaineeSanctions, Sanctions
from gateway.store.staff import StaffAccounts
from recorder.store import RecordingStore

Finding = dict[str, str]

# Booking and recording hashes: the fields people type (the others are written by the program).
BOOKING_TEXTS = ("cancel_reason", "extension_reason")
RECORDING_TEXTS = ("hold_reason",)


def _found(record: str, texts: Iterable[tuple[str, str | None]]) -> list[Finding]:
    return [
        {"record": record, "field": name, "value": ascii(value)}
        for name, value in texts
        if value and not is_clean(value)
    ]


async def broken_texts_in(redis: aioredis.Redis) -> list[Finding]:
    """Every stored text breaking the rule: detainees, correspondents, staff names, sanction,
    booking and refund reasons, recording hold reasons and flag comments."""
    directory = Directory(redis)
    ledger = Ledger(redis)
    found: list[Finding] = []
    numbers = await directory.detainee_numbers()
    for detainee in await directory.detainees(numbers):
        number = detainee.number
        found += _found(f"detainee:{number}", ((n, getattr(detainee, n)) for n in DETAINEE_TEXTS))
        for c in await directory.correspondents_of(number):
            found += _found(f"correspondent:{c.id}",
                            ((n, getattr(c, n)) for n in CORRESPONDENT_TEXTS))  # fmt: skip
        for entry in await ledger.entries(number) if is_detainee_number(number) else []:
            found += _found(f"ledger:{number}:{entry.id}", [("reason", entry.reason)])
        sanction = await DetaineeSanctions(redis).get(number)
        if sanction is not None:
            found += _found(f"sanction:detainee:{number}", [("reason", sanction.reason)])
    for member in await StaffAccounts(redis).all():
        found += _found(f"staff:{member.login}", [("name", member.name)])
    for s in await Sanctions(redis).numbers():
        found += _found(f"sanction:phone:{s.phone}", [("reason", s.reason)])
    for bid in await redis.zrange(f"{PREFIX}bookings", 0, -1):
        values = await redis.hmget(f"{PREFIX}booking:{bid}", list(BOOKING_TEXTS))
        found += _found(f"booking:{bid}", zip(BOOKING_TEXTS, values, strict=True))
    recordings = RecordingStore(redis)
    for call_id in await redis.zrange(f"{PREFIX}recordings", 0, -1):
        values = await redis.hmget(recordings.key(call_id), list(RECORDING_TEXTS))
        found += _found(f"recording:{call_id}", zip(RECORDING_TEXTS, values, strict=True))
    # Flags may outlive or precede their recording's index entry: read every flag stream.
    streams = sorted([k async for k in redis.scan_iter(match=keys.call_flags("*"), count=500)])
    for key in streams:
        call_id = key.removeprefix(f"{PREFIX}call:").removesuffix(":flags")
        for flag in await recordings.flags(call_id):
            found += _found(f"flag:{call_id}:{flag.id}", [("comment", flag.comment)])
    return found
