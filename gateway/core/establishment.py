"""The establishment's settings as the rules need them, built once from the configuration."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from gateway.config import ConfigError, GatewayConfig
from gateway.core.booking_rules import SlotGrid, SlotTime
from gateway.core.pricing import CHARTER_TARIFFS, Rounding, TariffTable

_SLOT = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _parse_time(text: str, what: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"{what}: {text!r} is not HH:MM[:SS]") from exc


def slot_grid(config: GatewayConfig) -> SlotGrid:
    """The :class:`SlotGrid` of the configured grid, days, notice, cut-off and quota."""
    day_slots = []
    for text in config.slot_times:
        match = _SLOT.match(text)
        if not match:
            raise ConfigError(f"slot_times: {text!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        try:
            day_slots.append(SlotTime(time(h1, m1), time(h2, m2)))
        except ValueError as exc:
            raise ConfigError(f"slot_times: {text!r}: {exc}") from exc
    day_slots.sort(key=lambda s: s.start)
    if any(not 1 <= d <= 7 for d in config.slot_days):
        raise ConfigError("slot_days: days are 1 (Monday) to 7 (Sunday)")
    weekly = tuple(tuple(day_slots) if d + 1 in config.slot_days else () for d in range(7))
    cutoff = config.saturday_cutoff.strip()
    try:
        return SlotGrid(
            time_zone=config.time_zone,
            holiday_region=config.holiday_region,  # type: ignore[arg-type]
            weekly_slots=weekly,
            notice=timedelta(hours=config.booking_notice_hours),
            saturday_cutoff=_parse_time(cutoff, "saturday_cutoff") if cutoff else None,
            quota_count=config.quota_count,
            quota_window_days=config.quota_window_days,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


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
    def from_config(cls, config: GatewayConfig) -> Establishment:
        if config.default_tariff not in CHARTER_TARIFFS:
            raise ConfigError(f"default_tariff: unknown tariff {config.default_tariff!r}")
        return cls(
            name=config.establishment_name,
            grid=slot_grid(config),
            rooms=config.kiosk_rooms(),
            tariffs=dataclasses.replace(CHARTER_TARIFFS, default=config.default_tariff),
            default_tariff=config.default_tariff,
            rounding=Rounding(config.billing_rounding),
            call_max_seconds=config.call_max_seconds,
        )
