"""Billing arithmetic for video calls (sans-IO: no clock, no network, no Redis).

Theory of operation
-------------------
The rules below are the only place Parloir decides what a call costs. The ledger
(:mod:`gateway.store.ledger`) moves money; it never computes a price.

1. **Money is integer euro cents**, never floats. Every amount returned here is an ``int``.

2. **Tariffs** come from the charter's price table ("Est payant"), per minute:

   ===============  ===========  ==========================
   plan             c / minute   connection fee (cents)
   ===============  ===========  ==========================
   ``hors_forfait`` 30           14 ("coût de mise en relation")
   ``forfait_20``   26           0
   ``forfait_30``   25           0
   ``forfait_40``   20           0
   ``forfait_50``   27           0
   ``forfait_70``   25           0
   ``forfait_100``  20           0
   ===============  ===========  ==========================

   The charter names the 0,14 € connection fee only in the off-plan column, so the plans
   carry none. The table is a frozen dataclass (:class:`TariffTable`); :data:`CHARTER_TARIFFS`
   is the default and a deployment may pass its own.

3. **Only connected time is billed**: the time during which the call was actually connected,
   accumulated by :class:`ConnectedClock`. Waiting for the relative is free, and a gap while a leg
   drops and comes back is not billed. Before any rounding the connected duration is normalised
   to the nearest millisecond, so that float noise from subtracting clock readings
   (``60.000000000001`` s) never bills an extra minute.

4. **Rounding** (:class:`Rounding`):

   * ``per_started_minute`` (default, like a phone call): each started minute is billed in full,
     ``minutes = ceil(seconds / 60)``, ``usage = minutes * rate``. 60 s is 1 minute, 61 s is 2.
   * ``per_second``: each started second is billed, ``seconds = ceil(seconds)``, and the usage is
     ``ceil(rate * seconds / 60)`` cents: rounded up to the cent **once per call**, never per
     minute. 1 s at 30 c/min costs 1 c, 61 s costs 31 c.

5. **The connection fee is charged once per call, and only if the call was connected**
   (connected time > 0 after normalisation). A call that never connected costs 0, fee included.

6. **The hold**: :func:`max_hold` is ``fee + max_minutes * rate``, the most a call of at most
   ``max_minutes`` can cost under either rounding. It is what is held on the account when a slot
   is booked; the settlement then charges :func:`call_cost` (which the ledger caps to the hold).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

__all__ = [
    "CHARTER_TARIFFS",
    "DEFAULT_ROUNDING",
    "OFF_PLAN",
    "CallCost",
    "ConnectedClock",
    "PricingError",
    "Rounding",
    "Tariff",
    "TariffTable",
    "call_cost",
    "max_hold",
]

OFF_PLAN = "hors_forfait"
"""Name of the off-plan tariff, the default for an account that never chose a plan."""


class PricingError(ValueError):
    """A refused pricing input.

    ``reason`` is stable and machine-readable (``pricing.bad_duration``); ``message`` is a French
    sentence for the person in front of the screen.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


class Rounding(StrEnum):
    """How connected time is rounded before it is priced (see the module docstring, rule 4)."""

    PER_STARTED_MINUTE = "per_started_minute"
    """Each started minute is billed in full (default)."""

    PER_SECOND = "per_second"
    """Each started second is billed; the total is rounded up to the cent once per call."""


DEFAULT_ROUNDING = Rounding.PER_STARTED_MINUTE


def _check_cents(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PricingError(
            "pricing.bad_tariff", f"Tarif invalide : {what} doit être un entier de centimes ≥ 0."
        )
    return value


@dataclass(frozen=True)
class Tariff:
    """One price plan."""

    name: str
    """Stable identifier stored on the account (``hors_forfait``, ``forfait_20``…)."""

    per_minute_cents: int
    """Price of one minute of connected time, in euro cents."""

    connection_fee_cents: int = 0
    """Charged once per call that actually connected, in euro cents (off-plan only)."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise PricingError("pricing.bad_tariff", "Tarif invalide : nom manquant.")
        _check_cents(self.per_minute_cents, "le prix à la minute")
        _check_cents(self.connection_fee_cents, "le coût de mise en relation")


@dataclass(frozen=True)
class TariffTable:
    """The configurable table of price plans, looked up by name."""

    tariffs: tuple[Tariff, ...]
    """The plans; names must be unique."""

    default: str = OFF_PLAN
    """Plan of an account that never chose one; must be in ``tariffs``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tariffs", tuple(self.tariffs))
        names = [t.name for t in self.tariffs]
        if len(set(names)) != len(names):
            raise PricingError("pricing.bad_tariff", "Table de tarifs invalide : nom en double.")
        if self.default not in names:
            raise PricingError(
                "pricing.bad_tariff", "Table de tarifs invalide : le tarif par défaut est absent."
            )

    @classmethod
    def from_mapping(
        cls, plans: Mapping[str, Mapping[str, int]], default: str = OFF_PLAN
    ) -> TariffTable:
        """Build a table from configuration, e.g. a TOML table
        ``{"hors_forfait": {"per_minute_cents": 30, "connection_fee_cents": 14}, ...}``."""
        return cls(
            tuple(
                Tariff(
                    name,
                    plan["per_minute_cents"],
                    plan.get("connection_fee_cents", 0),
                )
                for name, plan in plans.items()
            ),
            default,
        )

    def get(self, name: str) -> Tariff:
        """The plan called ``name``; :class:`PricingError` ``pricing.unknown_tariff`` if none."""
        for tariff in self.tariffs:
            if tariff.name == name:
                return tariff
        raise PricingError("pricing.unknown_tariff", f"Tarif inconnu : {name!r}.")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tariffs)

    def __contains__(self, name: object) -> bool:
        return any(t.name == name for t in self.tariffs)

    def __iter__(self) -> Iterator[Tariff]:
        return iter(self.tariffs)


def _charter(plans: Iterable[tuple[str, int, int]]) -> TariffTable:
    return TariffTable(tuple(Tariff(name, rate, fee) for name, rate, fee in plans))


CHARTER_TARIFFS = _charter(
    [
        (OFF_PLAN, 30, 14),
        ("forfait_20", 26, 0),
        ("forfait_30", 25, 0),
        ("forfait_40", 20, 0),
        ("forfait_50", 27, 0),
        ("forfait_70", 25, 0),
        ("forfait_100", 20, 0),
    ]
)
"""The charter's price table ("Est payant")."""


@dataclass(frozen=True)
class CallCost:
    """What one call costs. All amounts in euro cents."""

    tariff: str
    """Name of the plan used."""

    rounding: Rounding
    """Rounding rule used."""

    connected_ms: int
    """Connected time, normalised to the nearest millisecond."""

    billed_seconds: int
    """Seconds billed: ``billed_minutes * 60`` per started minute, started seconds per second."""

    billed_minutes: int
    """Started minutes (the billed minutes for ``per_started_minute``)."""

    fee: int
    """Connection fee: the plan's fee if the call connected, else 0."""

    usage: int
    """Price of the connected time."""

    amount: int
    """Total to charge: ``fee + usage``."""


def _connected_ms(connected_seconds: float | int) -> int:
    if isinstance(connected_seconds, bool) or not isinstance(connected_seconds, int | float):
        raise PricingError("pricing.bad_duration", "Durée de communication invalide.")
    if not math.isfinite(connected_seconds) or connected_seconds < 0:
        raise PricingError("pricing.bad_duration", "Durée de communication invalide.")
    # Exact (Fraction) so that no float product sneaks in; round() is half-to-even.
    return round(Fraction(connected_seconds) * 1000)


def call_cost(
    tariff: Tariff,
    connected_seconds: float | int,
    rounding: Rounding | str = DEFAULT_ROUNDING,
) -> CallCost:
    """Price a call that was connected for ``connected_seconds`` (see the module rules)."""
    try:
        rounding = Rounding(rounding)
    except ValueError:
        raise PricingError("pricing.bad_rounding", f"Arrondi inconnu : {rounding!r}.") from None
    ms = _connected_ms(connected_seconds)
    rate = tariff.per_minute_cents
    if ms == 0:
        return CallCost(tariff.name, rounding, 0, 0, 0, 0, 0, 0)
    minutes = -(-ms // 60_000)
    if rounding is Rounding.PER_STARTED_MINUTE:
        seconds = minutes * 60
        usage = minutes * rate
    else:
        seconds = -(-ms // 1000)
        usage = -(-(rate * seconds) // 60)
    fee = tariff.connection_fee_cents
    return CallCost(tariff.name, rounding, ms, seconds, minutes, fee, usage, fee + usage)


def max_hold(tariff: Tariff, max_minutes: int) -> int:
    """The most a call of at most ``max_minutes`` connected minutes can cost, in cents:
    ``fee + max_minutes * rate``. Held on the account when the slot is booked."""
    if isinstance(max_minutes, bool) or not isinstance(max_minutes, int) or max_minutes <= 0:
        raise PricingError("pricing.bad_duration", "Durée maximale d'appel invalide.")
    return tariff.connection_fee_cents + max_minutes * tariff.per_minute_cents


class ConnectedClock:
    """Accumulates the connected time of one call; the clock is passed in.

    Feed it ``connected(now)`` when the call becomes connected (both ends present) and
    ``disconnected(now)`` when it stops being so. Repeated ``connected``/``disconnected`` calls
    in the same state are no-ops (they return ``False``), so a gap while a leg drops and comes
    back is simply not counted. ``now`` is in seconds from any monotonic clock and must never go
    backwards (:class:`PricingError` ``clock.went_backwards``).
    """

    def __init__(self) -> None:
        self._accumulated = 0.0
        self._since: float | None = None
        self._last: float | None = None
        self._ever = False

    @property
    def is_connected(self) -> bool:
        return self._since is not None

    @property
    def ever_connected(self) -> bool:
        """``True`` once ``connected`` has been fed at least once."""
        return self._ever

    def _observe(self, now: float) -> None:
        if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
            raise PricingError("clock.bad_time", "Horloge invalide.")
        if self._last is not None and now < self._last:
            raise PricingError("clock.went_backwards", "L'horloge est revenue en arrière.")

    def connected(self, now: float) -> bool:
        """The call is connected from ``now``. Returns ``True`` if that changed the state."""
        self._observe(now)
        self._last = now
        if self._since is not None:
            return False
        self._since = now
        self._ever = True
        return True

    def disconnected(self, now: float) -> bool:
        """The call is no longer connected from ``now``. ``True`` if that changed the state."""
        self._observe(now)
        self._last = now
        if self._since is None:
            return False
        self._accumulated += now - self._since
        self._since = None
        return True

    def total(self, now: float) -> float:
        """Connected seconds up to ``now`` (does not change the clock)."""
        self._observe(now)
        if self._since is None:
            return self._accumulated
        return self._accumulated + (now - self._since)

    def checkpoint(self, now: float) -> float:
        """Fold the running segment into the total at ``now`` and return the seconds so far.

        Meant to be called periodically (and persisted) so that a crash loses at most one
        checkpoint interval; the result is the same as :meth:`total`.
        """
        self._observe(now)
        self._last = now
        if self._since is not None:
            self._accumulated += now - self._since
            self._since = now
        return self._accumulated
