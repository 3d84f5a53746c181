"""The establishment's settings as the rules need them, built once from plain values (the
configuration's, read by :func:`gateway.http.app.establishment_of`)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from gateway.core.booking_rules import SlotGrid, SlotTime
from gateway.core.pricing import CHARTER_TARIFFS, Rounding, TariffTable


class SettingError(ValueError):
    """A setting is malformed; the message names it (the caller reports a bad configuration)."""


_SLOT = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _parse_time(text: str, what: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        raise SettingError(f"{what}: {text!r} is not HH:MM[:SS]") from exc


def slot_grid(
    *, slot_times: Iterable[str], slot_days: Collection[int], time_zone: str,
    holiday_region: str, booking_notice_hours: int, saturday_cutoff: str, quota_count: int,
    quota_window_days: int,
) -> SlotGrid:  # fmt: skip
    """The :class:`SlotGrid` of the configured grid, days, notice, cut-off and quota."""
    day_slots = []
    for text in slot_times:
        match = _SLOT.match(text)
        if not match:
            raise SettingError(f"slot_times: {text!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        try:
            day_slots.append(SlotTime(time(h1, m1), time(h2, m2)))
        except ValueError as exc:
            raise SettingError(f"slot_times: {text!r}: {exc}") from exc
    day_slots.sort(key=lambda s: s.start)
    if any(not 1 <= d <= 7 for d in slot_days):
        raise SettingError("slot_days: days are 1 (Monday) to 7 (Sunday)")
    weekly = tuple(tuple(day_slots) if d + 1 in slot_days else () for d in range(7))
    cutoff = saturday_cutoff.strip()
    try:
        return SlotGrid(
            time_zone=time_zone,
            holiday_region=holiday_region,  # type: ignore[arg-type]
            weekly_slots=weekly,
            notice=timedelta(hours=booking_notice_hours),
            saturday_cutoff=_parse_time(cutoff, "saturday_cutoff") if cutoff else None,
            quota_count=quota_count,
            quota_window_days=quota_window_days,
        )
    except ValueError as exc:
        raise SettingError(str(exc)) from exc


@dataclass(frozen=True)
class Establishment:
    name: str
    grid: SlotGrid
    rooms: dict[str, str]
    "Kiosk id -> room name."
    tariffs: TariffTable
    default_tariff: str
    rounding: Rounding
    call_max_seconds: int

    @property
    def zone(self) -> ZoneInfo:
        return self.grid.zone

    @classmethod
    def build(
        cls, *, name: str, rooms: Mapping[str, str], grid: SlotGrid, default_tariff: str,
        billing_rounding: str, call_max_seconds: int,
    ) -> Establishment:  # fmt: skip
        """The establishment of these settings; :class:`SettingError` for a bad one."""
        if default_tariff not in CHARTER_TARIFFS:
            raise SettingError(f"default_tariff: unknown tariff {default_tariff!r}")
        return cls(
            name=name,
            grid=grid,
            rooms=dict(rooms),
            tariffs=dataclasses.replace(CHARTER_TARIFFS, default=default_tariff),
            default_tariff=default_tariff,
            rounding=Rounding(billing_rounding),
            call_max_seconds=call_max_seconds,
        )
