"""What the relative is told of a booking, and when (sans-IO).

Three notices, where the establishment turns them on (``sms_booking_notices``): when a slot is
booked, a reminder ``sms_reminder_minutes`` before it starts, and when it is cancelled. They
hold the date and time only: never the detainee's name, money (tariff, hold, balance) or
location (establishment, building, cell). A sanctioned number gets none. Each notice goes at
most once per booking (the store claims ``(booking, kind)`` in Redis before queueing it).
Texts are written in GSM-7 (no ``ç``, ``ê``, ``û``…) so that each fits one segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from gateway.core.i18n import message

Kind = Literal["booked", "reminder", "cancelled"]


@dataclass(frozen=True)
class NoticeFacts:
    enabled: bool
    kind: Kind
    status: str
    "The booking's status now (``booked``, ``cancelled``…)."
    start: float
    now: float
    number_sanctioned: bool
    lead_seconds: float = 1800.0


def should_send(f: NoticeFacts) -> bool:
    if not f.enabled or f.number_sanctioned:
        return False
    if f.kind == "cancelled":
        return f.status == "cancelled"
    if f.status != "booked" or f.now >= f.start:
        return False
    if f.kind == "reminder":
        return f.start - f.lead_seconds <= f.now
    return True


def reminder_window(now: float, lead_seconds: float) -> tuple[float, float]:
    """Bookings starting in ``[now, now + lead]`` are due for their reminder (the end is
    included: a pass exactly ``lead`` before the slot sends it; the end bound given is open)."""
    return now, now + lead_seconds + 0.001


def text(kind: Kind, start_local: datetime, lead_minutes: int, lang: str = "fr") -> str:
    return message(f"sms.booking.{kind}", lang).format(
        date=start_local.strftime("%d/%m/%Y"),
        time=start_local.strftime("%Hh%M"),
        minutes=lead_minutes,
    )
