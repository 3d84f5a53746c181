"""Legal destruction of recordings 90 days after the call (Code pénitentiaire, art. L. 223-4).

:func:`purge` walks the sealed recordings (``chain.jsonl`` + manifests, see
:mod:`recorder.integrity`) and destroys the media of every call that ended at least
``retention_days`` days before ``now``, unless it is on legal hold (handed to the judiciary).
For each one it writes the *procès-verbal de destruction*: ``destruction.json`` in the call's
folder and the same record as one line of ``ROOT/destructions.jsonl`` (the register). The
manifest stays, so the chain still verifies and proves what was destroyed.

Crash safety, in this order for each call: write ``destruction.json`` (atomic, fsynced), append
it to the register (fsynced), delete the media, fsync the folder. A crash anywhere leaves a
record whose files may still be present: :func:`recorder.integrity.verify` reports "purge
incomplete" and the next :func:`purge` finishes the job (and returns that record again, so the
caller can write its audit entry). Purges are serialised by ``flock`` on ``ROOT/purge.lock``;
seals are not blocked.

Nothing here reads a clock: ``now`` is given. Blocking file IO: run it in a worker thread;
``held`` is called from that thread, so pass a lookup over data fetched beforehand (a set of
held call ids), not something touching the event loop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from recorder.integrity import (
    DESTRUCTION,
    REGISTER,
    ChainEntry,
    FileEntry,
    Manifest,
    append_line,
    canonical_json,
    chain_entries,
    fsync_dir,
    load_manifest,
    locked,
    write_atomic,
)

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "LEGAL_BASIS",
    "DestructionRecord",
    "destructions",
    "purge",
]

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 90
LEGAL_BASIS = "Code pénitentiaire, art. L. 223-4 : destruction à l'issue d'un délai de 90 jours"
PURGE_LOCK = "purge.lock"
RECORD_VERSION = 1


@dataclass(frozen=True)
class DestructionRecord:
    """The procès-verbal of one call's destruction (``destruction.json`` and register line)."""

    call_id: str
    folder: str
    """Relative to the recordings root, POSIX style."""
    files: tuple[FileEntry, ...]
    """What was destroyed: names, sizes and SHA-256 as sealed in the manifest."""
    destroyed_at: str
    """ISO 8601, aware: the ``now`` of the purge."""
    actor: str
    legal_basis: str
    manifest: str
    """SHA-256 of the sealed manifest (ties the record to ``chain.jsonl``)."""
    ended_at: str
    """When the call ended (the retention clock's start), ISO 8601."""

    def to_json(self) -> dict[str, Any]:
        return {
            "version": RECORD_VERSION,
            "call_id": self.call_id,
            "folder": self.folder,
            "files": [f.to_json() for f in self.files],
            "destroyed_at": self.destroyed_at,
            "actor": self.actor,
            "legal_basis": self.legal_basis,
            "manifest": self.manifest,
            "ended_at": self.ended_at,
        }

    @classmethod
    def from_json(cls, doc: Any) -> DestructionRecord:
        if not isinstance(doc, dict):
            raise ValueError("destruction record is not an object")
        try:
            return cls(
                call_id=str(doc["call_id"]),
                folder=str(doc["folder"]),
                files=tuple(FileEntry.from_json(item) for item in doc["files"]),
                destroyed_at=str(doc["destroyed_at"]),
                actor=str(doc["actor"]),
                legal_basis=str(doc["legal_basis"]),
                manifest=str(doc["manifest"]),
                ended_at=str(doc["ended_at"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"destruction record incomplete ({exc})") from exc


def destructions(root: Path) -> list[DestructionRecord]:
    """The register (``destructions.jsonl``), oldest first; unreadable lines are logged and
    skipped (:func:`recorder.integrity.verify` reports them)."""
    path = root / REGISTER
    if not path.exists():
        return []
    records: list[DestructionRecord] = []
    lines = path.read_bytes().split(b"\n")
    lines.pop()  # b"" after the last newline, or a torn line cut by the next append
    for number, raw in enumerate(lines, 1):
        try:
            records.append(DestructionRecord.from_json(json.loads(raw)))
        except (ValueError, UnicodeDecodeError) as exc:
            log.error("%s line %d unreadable: %s", path, number, exc)
    return records


def _aware(value: Any) -> datetime | None:
    """ISO 8601 with an offset, or epoch seconds (what the Redis index stores)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.utcoffset() is not None else None


def _ended_at(manifest: Manifest) -> datetime | None:
    """``meta.ended_at``; else the sealing time (later than the end: never destroys early)."""
    ended = _aware(manifest.meta.get("ended_at"))
    if ended is None:
        log.warning("%s: no valid meta.ended_at, using sealed_at", manifest.folder)
        ended = _aware(manifest.sealed_at)
    return ended


def _append_register(root: Path, record: DestructionRecord) -> None:
    append_line(root / REGISTER, canonical_json(record.to_json()))


def _delete(path: Path) -> None:
    path.unlink(missing_ok=True)


def _finish(root: Path, folder: Path, record: DestructionRecord, registered: set[str]) -> bool:
    """Register the record and delete its files, whichever is not done yet; True if anything
    was left to do."""
    changed = False
    if record.folder not in registered:
        _append_register(root, record)
        registered.add(record.folder)
        changed = True
    for item in record.files:
        path = folder / item.name
        if path.exists():
            _delete(path)
            changed = True
    if changed:
        fsync_dir(folder)
    return changed


def _due(root: Path, entry: ChainEntry, cutoff: datetime) -> tuple[Manifest, datetime] | None:
    try:
        manifest = load_manifest(root, entry)
    except (OSError, ValueError) as exc:
        log.error("%s: manifest unreadable, not purged: %s", entry.folder, exc)
        return None
    if manifest.hash != entry.hash:
        # Its dates cannot be trusted; verify reports it and a human decides.
        log.error("%s: manifest does not match the chain, not purged", entry.folder)
        return None
    ended = _ended_at(manifest)
    if ended is None:
        log.error("%s: no usable end time, not purged", entry.folder)
        return None
    return (manifest, ended) if ended <= cutoff else None


def purge(
    root: Path,
    now: datetime,
    retention_days: int,
    held: Callable[[str], bool],
    actor: str,
) -> list[DestructionRecord]:
    """Destroy the media of sealed calls that ended ``retention_days`` days or more before
    ``now`` (aware) and are not ``held(call_id)``; return the records completed by this run
    (new ones, and ones an interrupted purge left unfinished). Idempotent."""
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    if not actor:
        raise ValueError("actor is required (who destroys, for the procès-verbal)")
    cutoff = now - timedelta(days=retention_days)
    done: list[DestructionRecord] = []
    with locked(root / PURGE_LOCK):
        registered = {r.folder for r in destructions(root)}
        for entry in chain_entries(root):
            folder = root / entry.folder
            if ".." in Path(entry.folder).parts or Path(entry.folder).is_absolute():
                log.error("%s: unsafe folder in the chain, skipped", entry.folder)
                continue
            record_path = folder / DESTRUCTION
            if record_path.exists():
                try:
                    record = DestructionRecord.from_json(json.loads(record_path.read_bytes()))
                except (OSError, ValueError) as exc:
                    log.error("%s: %s unreadable: %s", entry.folder, DESTRUCTION, exc)
                    continue
                if _finish(root, folder, record, registered):
                    log.warning("%s: finished an interrupted purge", entry.folder)
                    done.append(record)
                continue
            if entry.folder in registered:
                log.error("%s: registered as destroyed but %s is gone", entry.folder, DESTRUCTION)
                continue
            due = _due(root, entry, cutoff)
            if due is None:
                continue
            manifest, ended = due
            if held(manifest.call_id):
                continue
            present = []
            for item in manifest.files:
                if (folder / item.name).is_file():
                    present.append(item)
                else:  # left out of the record, so verify keeps reporting it
                    log.error("%s: %s already missing before purge", entry.folder, item.name)
            record = DestructionRecord(
                call_id=manifest.call_id,
                folder=entry.folder,
                files=tuple(present),
                destroyed_at=now.isoformat(),
                actor=actor,
                legal_basis=LEGAL_BASIS,
                manifest=manifest.hash,
                ended_at=ended.isoformat(),
            )
            # The record first: a crash after it leaves something the next run completes.
            write_atomic(record_path, canonical_json(record.to_json()))
            _finish(root, folder, record, registered)
            log.info("destroyed %s (%d files) by %s", entry.folder, len(present), actor)
            done.append(record)
    return done
