"""Tamper evidence for call recordings: a hash chain of per-call manifests.

Layout under the recordings root (``var/recordings/`` by default)::

    ROOT/YYYY-MM-DD/{call_id}/kiosk.webm        media, written by the recorder
    ROOT/YYYY-MM-DD/{call_id}/relative.webm
    ROOT/YYYY-MM-DD/{call_id}/manifest.json     written by :func:`seal` once the call is over
    ROOT/YYYY-MM-DD/{call_id}/destruction.json  written by :func:`recorder.retention.purge`
    ROOT/chain.jsonl                            one line per sealed manifest, in sealing order
    ROOT/chain.lock                             ``flock`` serialising :func:`seal` across processes
    ROOT/destructions.jsonl                     the register of destructions (retention)
    ROOT/purge.lock                             ``flock`` serialising purges

Theory of operation
-------------------
* :func:`seal` hashes every ``*.webm`` of a finished call and writes ``manifest.json`` (canonical
  JSON: sorted keys, no spaces, UTF-8, one trailing newline). The manifest names the hash of the
  previous manifest (``prev``), and the chain file records ``{seq, hash, folder, call_id}`` where
  ``hash`` is the SHA-256 of the manifest file's exact bytes. Editing a media file changes its
  hash (caught against the manifest); editing a manifest changes its hash (caught against the
  chain); rewriting a chain line to match breaks the next manifest's ``prev``; removing or
  reordering lines breaks ``seq`` and ``prev``; removing the last line leaves a manifest outside
  the chain, which :func:`verify` reports.
* Writes are crash-safe: the manifest is written to a temporary file, fsynced and renamed, then
  the chain line is appended and fsynced, all under ``chain.lock``. A crash between the two
  leaves a manifest outside the chain: :func:`verify` reports it and sealing the folder again
  re-chains it (only if its media still match it; the new manifest names the old one's hash in
  ``resealed``). A torn last chain line (crash mid-append) is cut off by the next seal.
* Destroyed media (legal purge, see :mod:`recorder.retention`) are expected to be missing when
  the folder's ``destruction.json`` lists them with the manifest's hash; manifests are kept, so
  the chain still verifies after a purge.

Limits: the chain proves that nothing changed *since sealing* unless someone rewrites the whole
chain from the altered point onward. Recording :func:`chain_head` in the audit log (Redis,
another host) from time to time anchors it; this module does not do it by itself. Likewise a
forged ``destruction.json`` + register line would pass here: each purge should also write a
``recording.destroy`` audit entry (:mod:`recorder.audit`) to compare the register with.

Everything here is blocking file IO: call it from a worker thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import IO, Any

__all__ = [
    "CHAIN",
    "CHAIN_LOCK",
    "DESTRUCTION",
    "MANIFEST",
    "MANIFEST_VERSION",
    "REGISTER",
    "ChainEntry",
    "FileEntry",
    "IntegrityError",
    "Manifest",
    "VerifyReport",
    "append_line",
    "canonical_json",
    "chain_entries",
    "chain_head",
    "fsync_dir",
    "load_manifest",
    "locked",
    "seal",
    "sha256_file",
    "verify",
    "write_atomic",
]

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
DESTRUCTION = "destruction.json"
CHAIN = "chain.jsonl"
CHAIN_LOCK = "chain.lock"
REGISTER = "destructions.jsonl"
MEDIA_GLOB = "*.webm"
MANIFEST_VERSION = 1
_CHUNK = 1 << 20
_HEX64 = re.compile(r"[0-9a-f]{64}")


class IntegrityError(Exception):
    """The chain cannot be extended safely (its last line is corrupt, a path escapes root…)."""


@dataclass(frozen=True)
class FileEntry:
    """One media file as sealed: plain file name (no folder), SHA-256 (hex), size in bytes."""

    name: str
    sha256: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "size": self.size}

    @classmethod
    def from_json(cls, raw: Any) -> FileEntry:
        if not isinstance(raw, dict):
            raise ValueError("file entry is not an object")
        name, digest, size = raw.get("name"), raw.get("sha256"), raw.get("size")
        if not isinstance(name, str) or not _plain_name(name):
            raise ValueError(f"bad file name {name!r}")
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise ValueError(f"bad sha256 for {name}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"bad size for {name}")
        return cls(name, digest, size)


@dataclass(frozen=True)
class ChainEntry:
    """One line of ``chain.jsonl``; ``folder`` is relative to root, POSIX style."""

    seq: int
    hash: str
    folder: str
    call_id: str


@dataclass(frozen=True)
class Manifest:
    """A sealed manifest as read back; ``hash`` is the SHA-256 of the file's exact bytes."""

    call_id: str
    folder: str
    """Relative to root, POSIX style (``2024-05-01/abc``)."""
    meta: dict[str, Any]
    files: tuple[FileEntry, ...]
    sealed_at: str
    """ISO 8601, aware (UTC)."""
    prev: str | None
    hash: str
    seq: int
    version: int = MANIFEST_VERSION


@dataclass
class VerifyReport:
    ok: bool
    checked: int
    """Number of chain entries examined."""
    problems: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- small helpers


def sha256_file(path: Path) -> str:
    """SHA-256 (hex) of a file, read in 1 MiB chunks so recordings never sit in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def canonical_json(obj: Any) -> bytes:
    """The one byte form of a document: sorted keys, no spaces, UTF-8, trailing newline."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def _json_safe(value: Any, where: str = "meta") -> Any:
    """Meta as plain JSON; datetimes must be aware so a legal record is never ambiguous."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{where}: non-finite number")
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{where}: naive datetime (give a time zone)")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return _json_safe(value.value, where)
    if isinstance(value, Path | PurePosixPath):
        return str(value)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: non-string key {key!r}")
            out[key] = _json_safe(item, f"{where}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [_json_safe(item, f"{where}[]") for item in value]
    raise ValueError(f"{where}: {type(value).__name__} is not JSON-safe")


def _plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\0" not in name


def _relative(root: Path, folder: Path) -> str:
    try:
        rel = folder.resolve().relative_to(root.resolve())
    except ValueError as exc:
        raise IntegrityError(f"{folder} is not under {root}") from exc
    if not rel.parts:
        raise IntegrityError("a call folder cannot be the root itself")
    return rel.as_posix()


def _folder(root: Path, rel: str) -> Path | None:
    """``root / rel`` if ``rel`` (read from a file) is a safe relative path, else None."""
    parts = PurePosixPath(rel).parts
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return None
    return root.joinpath(*parts)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable (POSIX needs the directory fsynced)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file + fsync + rename + directory fsync: all or nothing on a crash."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


@contextmanager
def locked(path: Path, *, shared: bool = False) -> Iterator[None]:
    """``flock`` on ``path`` (created if needed); one open file per call, so threads exclude
    each other as well as processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def _shared_lock_if_possible(path: Path) -> Iterator[None]:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # no store yet, or never sealed there: nobody to wait for
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def _rfind_newline(f: IO[bytes], before: int) -> int:
    """Offset of the last ``\\n`` strictly before ``before``, or -1; reads backwards."""
    pos = before
    while pos > 0:
        start = max(0, pos - 65536)
        f.seek(start)
        i = f.read(pos - start).rfind(b"\n")
        if i >= 0:
            return start + i
        pos = start
    return -1


@contextmanager
def _open_log(path: Path) -> Iterator[IO[bytes]]:
    """Open a JSON-lines log for appending, cutting a torn last line left by a crash."""
    created = not path.exists()
    with path.open("a+b") as f:
        size = f.seek(0, os.SEEK_END)
        if size:
            f.seek(size - 1)
            if f.read(1) != b"\n":
                keep = _rfind_newline(f, size) + 1
                log.warning("%s: cutting a torn last line (%d bytes)", path, size - keep)
                f.truncate(keep)
                f.flush()
                os.fsync(f.fileno())
        yield f
    if created:
        fsync_dir(path.parent)


def _last_line(f: IO[bytes]) -> bytes | None:
    size = f.seek(0, os.SEEK_END)
    if not size:
        return None
    start = _rfind_newline(f, size - 1) + 1
    f.seek(start)
    return f.read(size - 1 - start)


def _append(f: IO[bytes], line: bytes) -> None:
    f.write(line)
    f.flush()
    os.fsync(f.fileno())


def append_line(path: Path, line: bytes) -> None:
    """Append one JSON line durably (fsync); the caller serialises appenders."""
    with _open_log(path) as f:
        _append(f, line)


# --------------------------------------------------------------------------- chain


def _parse_entry(raw: bytes) -> ChainEntry:
    doc = json.loads(raw)
    if not isinstance(doc, dict):
        raise ValueError("not an object")
    seq, digest = doc.get("seq"), doc.get("hash")
    folder, call_id = doc.get("folder"), doc.get("call_id")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise ValueError("bad seq")
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        raise ValueError("bad hash")
    if not isinstance(folder, str) or not isinstance(call_id, str):
        raise ValueError("bad folder or call_id")
    return ChainEntry(seq, digest, folder, call_id)


def _read_chain(root: Path) -> list[ChainEntry | str]:
    """Every line of the chain: an entry, or a problem message for an unreadable line."""
    path = root / CHAIN
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")
    torn = lines.pop()  # b"" when the file ends with a newline
    out: list[ChainEntry | str] = []
    for number, raw in enumerate(lines, 1):
        try:
            out.append(_parse_entry(raw))
        except (ValueError, UnicodeDecodeError) as exc:
            out.append(f"{CHAIN} line {number}: unreadable ({exc})")
    if torn:
        out.append(f"{CHAIN} line {len(lines) + 1}: incomplete (crash while sealing?)")
    return out


def chain_entries(root: Path) -> list[ChainEntry]:
    """The readable entries of ``chain.jsonl``, in order (use :func:`verify` to check them)."""
    return [item for item in _read_chain(root) if isinstance(item, ChainEntry)]


def chain_head(root: Path) -> tuple[int, str | None]:
    """``(seq, hash)`` of the last chain entry, ``(0, None)`` if none: a value worth anchoring
    elsewhere (audit log) so that rewriting the whole chain shows."""
    entries = chain_entries(root)
    if not entries:
        return 0, None
    return entries[-1].seq, entries[-1].hash


def _manifest_from(data: bytes, folder: str, seq: int) -> Manifest:
    doc = json.loads(data)
    if not isinstance(doc, dict):
        raise ValueError("manifest is not an object")
    files = doc.get("files")
    if not isinstance(files, list):
        raise ValueError("manifest has no file list")
    call_id, meta, sealed_at, prev = (doc.get(k) for k in ("call_id", "meta", "sealed_at", "prev"))
    if not isinstance(call_id, str) or not isinstance(meta, dict) or not isinstance(sealed_at, str):
        raise ValueError("manifest lacks call_id, meta or sealed_at")
    if prev is not None and not isinstance(prev, str):
        raise ValueError("manifest prev is not a hash")
    version = doc.get("version")
    return Manifest(
        call_id=call_id,
        folder=folder,
        meta=meta,
        files=tuple(FileEntry.from_json(item) for item in files),
        sealed_at=sealed_at,
        prev=prev,
        hash=hashlib.sha256(data).hexdigest(),
        seq=seq,
        version=version if isinstance(version, int) else 0,
    )


def load_manifest(root: Path, entry: ChainEntry) -> Manifest:
    """The manifest of a chain entry as on disk (``hash`` is of the bytes read: compare it with
    ``entry.hash``). Raises ``OSError`` or ``ValueError`` if missing or unreadable."""
    folder = _folder(root, entry.folder)
    if folder is None:
        raise ValueError(f"unsafe folder {entry.folder!r} in {CHAIN}")
    return _manifest_from((folder / MANIFEST).read_bytes(), entry.folder, entry.seq)


def _media(folder: Path) -> list[Path]:
    return sorted((p for p in folder.glob(MEDIA_GLOB) if p.is_file()), key=lambda p: p.name)


def _hash_media(folder: Path) -> list[FileEntry]:
    return [FileEntry(p.name, sha256_file(p), p.stat().st_size) for p in _media(folder)]


def _find(root: Path, rel: str) -> ChainEntry | None:
    """The chain entry for a folder: a full scan, only on the rare re-seal path."""
    needle = json.dumps(rel, ensure_ascii=False).encode("utf-8")
    path = root / CHAIN
    if not path.exists():
        return None
    with path.open("rb") as f:
        for raw in f:
            if needle in raw and raw.endswith(b"\n"):
                try:
                    entry = _parse_entry(raw)
                except ValueError:
                    continue
                if entry.folder == rel:
                    return entry
    return None


def _orphan_files(path: Path, folder: Path, rel: str) -> tuple[list[FileEntry], str]:
    """A manifest outside the chain (crash before its chain line, or the line was removed) is
    sealed again only if the media still match it: re-chaining must not launder changes."""
    data = path.read_bytes()
    files = _hash_media(folder)
    try:
        old = _manifest_from(data, rel, 0)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{rel}: unchained {MANIFEST} is unreadable") from exc
    if list(old.files) != files:
        raise IntegrityError(f"{rel}: media differ from the unchained {MANIFEST}; not resealed")
    log.warning("%s: %s not in the chain (interrupted seal?), sealing again", rel, MANIFEST)
    return files, old.hash


def seal(
    root: Path, folder: Path, meta: dict[str, Any], *, now: datetime | None = None
) -> Manifest:
    """Seal a finished call's folder: write ``manifest.json`` and chain it. Idempotent.

    ``meta`` must hold ``call_id`` and should hold ``ended_at`` (aware datetime or ISO string:
    the retention clock starts there). ``now`` (aware) is the sealing time, the real clock if
    omitted. Blocking: run it in a worker thread. A manifest outside the chain is sealed again
    (with ``resealed``: its hash) if the media still match it, else ``IntegrityError``.
    """
    call_id = meta.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        raise ValueError("meta['call_id'] must be a non-empty string")
    safe_meta = _json_safe(meta)
    sealed = datetime.now(UTC) if now is None else now
    if sealed.tzinfo is None or sealed.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    rel = _relative(root, folder)
    path = folder / MANIFEST
    # Hash outside the lock (recordings are large); only the chain append is serialised.
    files = None if path.exists() else _hash_media(folder)
    resealed: str | None = None
    with locked(root / CHAIN_LOCK):
        if path.exists():
            entry = _find(root, rel)
            if entry is not None:
                return _manifest_from(path.read_bytes(), rel, entry.seq)
            files, resealed = _orphan_files(path, folder, rel)
        if files is None:
            files = _hash_media(folder)
        with _open_log(root / CHAIN) as chain:
            last_raw = _last_line(chain)
            try:
                last = None if last_raw is None else _parse_entry(last_raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise IntegrityError(f"{CHAIN}: last line is corrupt, run verify") from exc
            doc = {
                "version": MANIFEST_VERSION,
                "call_id": call_id,
                "meta": safe_meta,
                "files": [f.to_json() for f in files],
                "sealed_at": sealed.astimezone(UTC).isoformat(),
                "prev": None if last is None else last.hash,
            }
            if resealed is not None:
                doc["resealed"] = resealed  # the replaced manifest's hash, for the record
            data = canonical_json(doc)
            write_atomic(path, data)
            seq = 1 if last is None else last.seq + 1
            digest = hashlib.sha256(data).hexdigest()
            line = {"seq": seq, "hash": digest, "folder": rel, "call_id": call_id}
            _append(chain, canonical_json(line))
    log.info("sealed %s (seq %d, %d files)", rel, seq, len(files))
    return _manifest_from(data, rel, seq)


# --------------------------------------------------------------------------- verify


def _register_folders(root: Path, problems: list[str]) -> set[str]:
    path = root / REGISTER
    folders: set[str] = set()
    if not path.exists():
        return folders
    lines = path.read_bytes().split(b"\n")
    if lines.pop():
        problems.append(f"{REGISTER}: incomplete last line (crash while purging?)")
    for number, raw in enumerate(lines, 1):
        try:
            doc = json.loads(raw)
            folders.add(doc["folder"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            problems.append(f"{REGISTER} line {number}: unreadable")
    return folders


def _destroyed(folder: Path, label: str, problems: list[str]) -> dict[str, FileEntry] | None:
    """Files listed in the folder's ``destruction.json``, or None if there is none."""
    path = folder / DESTRUCTION
    try:
        doc = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        problems.append(f"{label}: {DESTRUCTION} unreadable ({exc})")
        return {}
    try:
        return {e.name: e for e in (FileEntry.from_json(x) for x in doc["files"])}
    except (KeyError, TypeError, ValueError) as exc:
        problems.append(f"{label}: {DESTRUCTION} malformed ({exc})")
        return {}


def _check_files(
    folder: Path, label: str, manifest: Manifest, registered: set[str], problems: list[str]
) -> None:
    # Read the destruction record first: purge writes it before deleting, so a file seen
    # missing below with no record is really missing, not mid-purge.
    destroyed = _destroyed(folder, label, problems)
    if destroyed is not None and manifest.folder not in registered:
        problems.append(f"{label}: purge incomplete ({DESTRUCTION} not in {REGISTER})")
    listed = {f.name for f in manifest.files}
    for item in manifest.files:
        path = folder / item.name
        gone = destroyed is not None and item.name in destroyed
        if gone and destroyed is not None and destroyed[item.name].sha256 != item.sha256:
            problems.append(f"{label}: {DESTRUCTION} lists {item.name} with another SHA-256")
            gone = False
        if gone:
            if path.exists():
                problems.append(
                    f"{label}: purge incomplete ({item.name} destroyed on record but still present)"
                )
            continue
        if not path.is_file():
            problems.append(f"{label}: {item.name} missing (not destroyed on record)")
            continue
        size = path.stat().st_size
        if size != item.size:
            problems.append(f"{label}: {item.name} size {size}, sealed {item.size} (modified)")
        elif sha256_file(path) != item.sha256:
            problems.append(f"{label}: {item.name} SHA-256 differs from the manifest (modified)")
    for extra in _media(folder):
        if extra.name not in listed:
            problems.append(f"{label}: {extra.name} not in the manifest (added after sealing)")


def _orphans(root: Path, chained: set[str], strict: bool, problems: list[str]) -> None:
    if not root.is_dir():
        return
    for day in sorted(p for p in root.iterdir() if p.is_dir()):
        for call in sorted(p for p in day.iterdir() if p.is_dir()):
            rel = call.relative_to(root).as_posix()
            if rel in chained:
                continue
            if (call / MANIFEST).exists():
                problems.append(
                    f"{rel}: {MANIFEST} not in {CHAIN} (a chain line was removed, "
                    f"or sealing was interrupted)"
                )
            elif strict and _media(call):
                problems.append(f"{rel}: unsealed (media without {MANIFEST})")


def verify(root: Path, *, strict: bool = False) -> VerifyReport:
    """Check the whole chain, every manifest and every media file (hashes them all: slow on
    a large store; run it in a worker thread, e.g. nightly before the purge).

    Reports manifests outside the chain always, and media folders without a manifest only
    when ``strict`` (a call being recorded has none yet).
    """
    problems: list[str] = []
    registered = _register_folders(root, problems)
    items = _read_chain(root)
    expected_seq = 1
    prev: str | None = None
    prev_known = True  # False right after an unreadable line: its hash is unknown
    seen: set[str] = set()
    checked = 0
    for item in items:
        if isinstance(item, str):
            problems.append(item)
            expected_seq += 1
            prev_known = False
            continue
        checked += 1
        label = f"seq {item.seq} ({item.folder})"
        if item.seq != expected_seq:
            problems.append(
                f"{label}: seq {item.seq} where {expected_seq} was expected "
                f"(chain line removed, inserted or reordered)"
            )
        expected_seq = item.seq + 1
        if item.folder in seen:
            problems.append(f"{label}: folder sealed twice in {CHAIN}")
        seen.add(item.folder)
        folder = _folder(root, item.folder)
        if folder is None:
            problems.append(f"{label}: unsafe folder path in {CHAIN}")
        else:
            _check_entry(folder, item, prev, prev_known, registered, problems)
        prev, prev_known = item.hash, True
    # Under the lock, so a seal between its manifest and its chain line is not an "orphan";
    # without it on a read-only copy (an inspector's), where nothing is being sealed.
    with _shared_lock_if_possible(root / CHAIN_LOCK):
        chained = {e.folder for e in chain_entries(root)}
        _orphans(root, chained, strict, problems)
    for rel in sorted(registered - seen):
        folder = _folder(root, rel)
        if folder is None or not (folder / DESTRUCTION).exists():
            problems.append(f"{rel}: in {REGISTER} but no {DESTRUCTION} in the folder")
    return VerifyReport(ok=not problems, checked=checked, problems=problems)


def _check_entry(
    folder: Path,
    entry: ChainEntry,
    prev: str | None,
    prev_known: bool,
    registered: set[str],
    problems: list[str],
) -> None:
    label = f"seq {entry.seq} ({entry.folder})"
    try:
        data = (folder / MANIFEST).read_bytes()
    except FileNotFoundError:
        problems.append(f"{label}: {MANIFEST} missing (deleted)")
        return
    except OSError as exc:
        problems.append(f"{label}: {MANIFEST} unreadable ({exc})")
        return
    if hashlib.sha256(data).hexdigest() != entry.hash:
        problems.append(f"{label}: {MANIFEST} modified (hash differs from {CHAIN})")
    try:
        manifest = _manifest_from(data, entry.folder, entry.seq)
    except (ValueError, UnicodeDecodeError) as exc:
        problems.append(f"{label}: {MANIFEST} unreadable ({exc})")
        return
    if prev_known and manifest.prev != prev:
        problems.append(
            f"{label}: prev does not match the previous chain entry "
            f"(chain line removed, inserted, reordered or rewritten)"
        )
    if manifest.call_id != entry.call_id:
        problems.append(f"{label}: call_id {manifest.call_id!r} differs from {CHAIN}")
    _check_files(folder, label, manifest, registered, problems)
