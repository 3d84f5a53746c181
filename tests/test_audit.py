"""The audit log (L. 223-3): append-only Redis Stream, filters, French CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis

import recorder
from recorder.audit import Audit, AuditEntry, audit_csv

# 2024-06-01 08:00:00 UTC = 10:00 in Paris (summer time).
T = datetime(2024, 6, 1, 8, 0, tzinfo=UTC).timestamp()


async def _fill(audit: Audit) -> list[str]:
    return [
        await audit.record("agent:martin", "monitor.watch", "call:c1", T, kiosk="K1"),
        await audit.record("agent:martin", "call.flag", "call:c1", T + 10, comment="menaces"),
        await audit.record("agent:durand", "recording.play", "call:c0", T + 60),
        await audit.record("juge:leroy", "recording.download", "call:c0", T + 120, ref="PV 42"),
        await audit.record("cron", "recording.destroy", "call:c9", T + 3600, files="2"),
    ]


async def test_record_and_read_back(redis: aioredis.Redis) -> None:
    audit = Audit(redis)
    ids = await _fill(audit)
    assert ids[0] == f"{int(T * 1000)}-0"
    entries = await audit.entries()
    assert [e.id for e in entries] == ids
    assert entries[1] == AuditEntry(
        id=ids[1],
        at=T + 10,
        actor="agent:martin",
        action="call.flag",
        target="call:c1",
        details={"comment": "menaces"},
    )
    assert entries[2].details == {}
    assert await redis.type("parloir:audit") == "stream"
    assert await redis.xlen("parloir:audit") == 5


async def test_filters(redis: aioredis.Redis) -> None:
    audit = Audit(redis)
    ids = await _fill(audit)
    assert [e.id for e in await audit.entries(since=T + 10)] == ids[1:]
    assert [e.id for e in await audit.entries(until=T + 60)] == ids[:3]
    assert [e.id for e in await audit.entries(since=T + 10, until=T + 120)] == ids[1:4]
    assert [e.id for e in await audit.entries(since=T + 10.5, until=T + 119.5)] == [ids[2]]
    assert [e.id for e in await audit.entries(action="recording.play")] == [ids[2]]
    assert await audit.entries(action="sanction") == []
    assert [e.id for e in await audit.entries(limit=2)] == ids[:2]
    newest = await audit.entries(limit=2, newest_first=True)
    assert [e.id for e in newest] == [ids[4], ids[3]]
    assert await audit.entries(since=T + 7200) == []


async def test_paging_and_action_filter_over_many_entries(redis: aioredis.Redis) -> None:
    audit = Audit(redis)
    for i in range(1200):
        action = "recording.play" if i % 3 == 0 else "monitor.watch"
        await audit.record("agent:a", action, f"call:{i}", T + i)
    plays = await audit.entries(action="recording.play", limit=10_000)
    assert len(plays) == 400
    assert [e.target for e in plays[:2]] == ["call:0", "call:3"]
    assert len(await audit.entries()) == 1000  # default limit
    latest = await audit.entries(action="recording.play", limit=3, newest_first=True)
    assert [e.target for e in latest] == ["call:1197", "call:1194", "call:1191"]


async def test_ids_keep_increasing_when_the_clock_steps_back(redis: aioredis.Redis) -> None:
    audit = Audit(redis)
    first = await audit.record("a", "monitor.watch", "call:1", T + 5)
    same = await audit.record("b", "monitor.watch", "call:2", T + 5)
    behind = await audit.record("c", "monitor.watch", "call:3", T + 1)
    after = await audit.record("d", "monitor.watch", "call:4", T + 6)
    ms = int((T + 5) * 1000)
    assert [first, same, behind] == [f"{ms}-0", f"{ms}-1", f"{ms}-2"]
    assert after == f"{ms + 1000}-0"
    entries = await audit.entries()
    assert [e.actor for e in entries] == ["a", "b", "c", "d"]
    assert entries[2].at == T + 5  # clamped: never before the entry it follows


async def test_prefix_and_separate_logs(redis: aioredis.Redis) -> None:
    other = Audit(redis, prefix="autre:")
    await other.record("a", "monitor.watch", "call:1", T)
    assert await redis.xlen("autre:audit") == 1
    assert await Audit(redis).entries() == []


async def test_bad_records_are_refused(redis: aioredis.Redis) -> None:
    audit = Audit(redis)
    with pytest.raises(ValueError):
        await audit.record("", "monitor.watch", "call:1", T)
    with pytest.raises(ValueError):
        await audit.record("a", "Monitor Watch", "call:1", T)
    with pytest.raises(ValueError):
        await audit.record("a", "monitor.watch", "call:1", 0)
    with pytest.raises(TypeError):
        await audit.record("a", "monitor.watch", "call:1", T, seconds=3)  # type: ignore[arg-type]
    assert await audit.entries() == []


async def test_csv_export(redis: aioredis.Redis) -> None:
    audit = Audit(redis)
    await _fill(audit)
    await audit.record("agent:x", "custom.action", '=HYPERLINK("x")', T + 7200, a="1", b="2;3")
    data = audit_csv(await audit.entries())
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[0] == "date;heure;agent;action;objet;details"
    watch = "01/06/2024;10:00:00;agent:martin;Écoute / visionnage en direct;call:c1;kiosk=K1"
    assert lines[1] == watch
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert len(rows) == 1 + 6
    assert rows[4] == [
        "01/06/2024",
        "10:02:00",
        "juge:leroy",
        "Téléchargement d'un enregistrement",
        "call:c0",
        "ref=PV 42",
    ]
    # Unknown actions keep their code; formulas are neutralised; ";" is quoted, not split.
    assert rows[6] == ["01/06/2024", "12:00:00", "agent:x", "custom.action",
                       "'=HYPERLINK(\"x\")", "a=1, b=2;3"]  # fmt: skip
    overseas = audit_csv(await audit.entries(limit=1), ZoneInfo("Indian/Reunion"))
    assert overseas.decode("utf-8-sig").split("\r\n")[1].startswith("01/06/2024;12:00:00;")
    assert audit_csv([]) == "\ufeffdate;heure;agent;action;objet;details\r\n".encode()


def test_no_code_deletes_or_trims_the_log() -> None:
    """Append-only by convention: nothing in the recorder package may XDEL/XTRIM/MAXLEN."""
    banned = re.compile(r"\.(xdel|xtrim)\(|maxlen\s*=|['\"](xdel|xtrim|maxlen)['\"]", re.I)
    package = Path(recorder.__file__).parent
    offenders = [
        str(path) for path in package.glob("*.py") if banned.search(path.read_text("utf-8"))
    ]
    assert offenders == []
