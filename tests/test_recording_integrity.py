"""Recordings: hash-chained manifests (tamper evidence) and the 90-day legal purge."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recorder import retention
from recorder.integrity import (
    CHAIN,
    DESTRUCTION,
    MANIFEST,
    REGISTER,
    IntegrityError,
    chain_entries,
    chain_head,
    seal,
    sha256_file,
    verify,
)
from recorder.retention import LEGAL_BASIS, destructions, purge

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=100)


def make_call(root: Path, call_id: str, ended: datetime, size: int = 3000) -> Path:
    folder = root / ended.date().isoformat() / call_id
    folder.mkdir(parents=True)
    for name in ("kiosk.webm", "relative.webm"):
        (folder / name).write_bytes(os.urandom(size))
    return folder


def meta(call_id: str, ended: datetime) -> dict[str, object]:
    return {
        "call_id": call_id,
        "started_at": ended - timedelta(minutes=20),
        "ended_at": ended,
        "detainee": "1234567",
        "correspondent": "+33612345678",
        "kind": "famille",
    }


def sealed_calls(root: Path, n: int = 4, ended: datetime = T0) -> list[Path]:
    folders = []
    for i in range(n):
        call_id = f"c{i}"
        at = ended + timedelta(hours=i)
        folders.append(make_call(root, call_id, at))
        seal(root, folders[-1], meta(call_id, at), now=at + timedelta(seconds=5))
    return folders


def chain_lines(root: Path) -> list[str]:
    return (root / CHAIN).read_text().splitlines(keepends=True)


def problems_of(root: Path, **kwargs: bool) -> list[str]:
    report = verify(root, **kwargs)
    assert report.ok is (not report.problems)
    return report.problems


def assert_problem(root: Path, *fragments: str) -> None:
    problems = problems_of(root)
    assert any(all(f in p for f in fragments) for p in problems), problems


# --------------------------------------------------------------------------- sealing


def test_sha256_file_streams(tmp_path: Path) -> None:
    path = tmp_path / "big.webm"
    data = os.urandom(3 * (1 << 20) + 17)
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_seal_writes_manifest_and_chain(tmp_path: Path) -> None:
    root = tmp_path / "recordings"
    folder = make_call(root, "abc", T0)
    (folder / "notes.txt").write_text("not media")
    manifest = seal(root, folder, meta("abc", T0), now=T0 + timedelta(seconds=3))

    assert manifest.call_id == "abc"
    assert manifest.folder == "2024-03-01/abc"
    assert manifest.seq == 1 and manifest.prev is None
    assert [f.name for f in manifest.files] == ["kiosk.webm", "relative.webm"]
    assert manifest.files[0].sha256 == sha256_file(folder / "kiosk.webm")
    assert manifest.files[0].size == 3000
    assert manifest.meta["ended_at"] == "2024-03-01T10:00:00+00:00"
    assert manifest.sealed_at == "2024-03-01T10:00:03+00:00"

    raw = (folder / MANIFEST).read_bytes()
    doc = json.loads(raw)
    assert set(doc) == {"version", "call_id", "meta", "files", "sealed_at", "prev"}
    # Canonical bytes: what is hashed is exactly what a re-serialisation gives.
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    assert raw == text.encode()
    [line] = chain_lines(root)
    assert json.loads(line) == {
        "seq": 1,
        "hash": manifest.hash,
        "folder": "2024-03-01/abc",
        "call_id": "abc",
    }
    assert chain_head(root) == (1, manifest.hash)

    second = make_call(root, "def", T0 + timedelta(hours=1))
    other = seal(root, second, meta("def", T0 + timedelta(hours=1)))
    assert other.seq == 2 and other.prev == manifest.hash
    report = verify(root)
    assert report.ok and report.checked == 2 and report.problems == []


def test_seal_is_idempotent(tmp_path: Path) -> None:
    root = tmp_path
    folder = make_call(root, "abc", T0)
    first = seal(root, folder, meta("abc", T0), now=T0)
    again = seal(root, folder, meta("abc", T0), now=T0 + timedelta(hours=1))
    assert again == first
    assert len(chain_lines(root)) == 1


def test_seal_rejects_bad_input(tmp_path: Path) -> None:
    folder = make_call(tmp_path, "abc", T0)
    with pytest.raises(ValueError, match="call_id"):
        seal(tmp_path, folder, {"ended_at": T0})
    with pytest.raises(ValueError, match="naive"):
        seal(tmp_path, folder, {"call_id": "abc", "ended_at": datetime(2024, 1, 1)})
    with pytest.raises(ValueError, match="JSON-safe"):
        seal(tmp_path, folder, {"call_id": "abc", "x": object()})
    with pytest.raises(IntegrityError, match="not under"):
        seal(tmp_path / "elsewhere", folder, meta("abc", T0))
    assert not (folder / MANIFEST).exists()


def test_interrupted_seal_is_reported_then_rechained(tmp_path: Path) -> None:
    """A crash between the manifest and its chain line (or a removed last line)."""
    root = tmp_path
    folders = sealed_calls(root, 3)
    lines = chain_lines(root)
    (root / CHAIN).write_text("".join(lines[:-1]))
    assert_problem(root, folders[2].relative_to(root).as_posix(), "not in chain.jsonl")

    old_hash = json.loads(lines[-1])["hash"]
    manifest = seal(root, folders[2], meta("c2", T0))
    assert manifest.seq == 3
    assert json.loads((folders[2] / MANIFEST).read_bytes())["resealed"] == old_hash
    assert verify(root).ok


def test_unchained_manifest_with_changed_media_is_not_resealed(tmp_path: Path) -> None:
    root = tmp_path
    folders = sealed_calls(root, 3)
    (root / CHAIN).write_text("".join(chain_lines(root)[:-1]))
    (folders[2] / "kiosk.webm").write_bytes(b"edited")
    with pytest.raises(IntegrityError, match="media differ"):
        seal(root, folders[2], meta("c2", T0))
    assert_problem(root, "2024-03-01/c2", "not in chain.jsonl")


def test_torn_chain_line_is_cut_by_next_seal(tmp_path: Path) -> None:
    root = tmp_path
    sealed_calls(root, 2)
    with (root / CHAIN).open("a") as f:
        f.write('{"seq":3,"hash":"ab')  # crash mid-append
    assert_problem(root, "line 3", "incomplete")

    folder = make_call(root, "late", T0 + timedelta(days=1))
    assert seal(root, folder, meta("late", T0 + timedelta(days=1))).seq == 3
    assert verify(root).ok


def test_seal_refuses_to_extend_a_corrupt_chain(tmp_path: Path) -> None:
    root = tmp_path
    sealed_calls(root, 1)
    with (root / CHAIN).open("a") as f:
        f.write("garbage\n")
    folder = make_call(root, "next", T0 + timedelta(days=1))
    with pytest.raises(IntegrityError, match="corrupt"):
        seal(root, folder, meta("next", T0))


# --------------------------------------------------------------------------- tampering


def test_deleted_manifest_is_detected(tmp_path: Path) -> None:
    folders = sealed_calls(tmp_path)
    (folders[1] / MANIFEST).unlink()
    assert_problem(tmp_path, "seq 2", "manifest.json missing")


def test_one_byte_of_media_edited_is_detected(tmp_path: Path) -> None:
    folders = sealed_calls(tmp_path)
    path = folders[2] / "relative.webm"
    data = bytearray(path.read_bytes())
    data[1234] ^= 0x01
    path.write_bytes(bytes(data))
    assert_problem(tmp_path, "seq 3", "relative.webm", "SHA-256 differs")
    assert len(problems_of(tmp_path)) == 1


def test_truncated_deleted_or_added_media_are_detected(tmp_path: Path) -> None:
    folders = sealed_calls(tmp_path)
    with (folders[0] / "kiosk.webm").open("r+b") as f:
        f.truncate(100)
    (folders[1] / "kiosk.webm").unlink()
    (folders[2] / "extra.webm").write_bytes(b"spliced")
    assert_problem(tmp_path, "seq 1", "kiosk.webm size 100")
    assert_problem(tmp_path, "seq 2", "kiosk.webm missing")
    assert_problem(tmp_path, "seq 3", "extra.webm not in the manifest")


def test_edited_manifest_is_detected(tmp_path: Path) -> None:
    folders = sealed_calls(tmp_path)
    path = folders[1] / MANIFEST
    path.write_bytes(path.read_bytes().replace(b"1234567", b"7654321"))
    assert_problem(tmp_path, "seq 2", "manifest.json modified")


def test_edited_manifest_with_rewritten_chain_line_is_detected(tmp_path: Path) -> None:
    """Fixing up the chain line's hash breaks the next manifest's prev."""
    folders = sealed_calls(tmp_path)
    path = folders[1] / MANIFEST
    forged = path.read_bytes().replace(b"1234567", b"7654321")
    path.write_bytes(forged)
    lines = chain_lines(tmp_path)
    doc = json.loads(lines[1])
    doc["hash"] = hashlib.sha256(forged).hexdigest()
    lines[1] = json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n"
    (tmp_path / CHAIN).write_text("".join(lines))
    problems = problems_of(tmp_path)
    assert problems and all("seq 3" in p and "prev" in p for p in problems), problems


def test_removed_chain_line_is_detected(tmp_path: Path) -> None:
    sealed_calls(tmp_path)
    lines = chain_lines(tmp_path)
    del lines[1]
    (tmp_path / CHAIN).write_text("".join(lines))
    assert_problem(tmp_path, "seq 3", "where 2 was expected")
    assert_problem(tmp_path, "seq 3", "prev does not match")
    assert_problem(tmp_path, "2024-03-01/c1", "not in chain.jsonl")


def test_reordered_chain_lines_are_detected(tmp_path: Path) -> None:
    sealed_calls(tmp_path)
    lines = chain_lines(tmp_path)
    lines[1], lines[2] = lines[2], lines[1]
    (tmp_path / CHAIN).write_text("".join(lines))
    assert_problem(tmp_path, "seq 3", "where 2 was expected")
    assert_problem(tmp_path, "prev does not match")


def test_unreadable_chain_line_is_reported(tmp_path: Path) -> None:
    sealed_calls(tmp_path)
    lines = chain_lines(tmp_path)
    lines[1] = "not json\n"
    (tmp_path / CHAIN).write_text("".join(lines))
    assert_problem(tmp_path, "chain.jsonl line 2", "unreadable")


def test_unsealed_folders_only_in_strict_mode(tmp_path: Path) -> None:
    sealed_calls(tmp_path, 2)
    make_call(tmp_path, "live", T0 + timedelta(days=3))  # being recorded: no manifest yet
    assert verify(tmp_path).ok
    assert_problem_strict = verify(tmp_path, strict=True).problems
    assert assert_problem_strict == ["2024-03-04/live: unsealed (media without manifest.json)"]


def test_verify_empty_root(tmp_path: Path) -> None:
    report = verify(tmp_path / "nothing-yet")
    assert report.ok and report.checked == 0
    assert not (tmp_path / "nothing-yet").exists()  # verify writes nothing


# --------------------------------------------------------------------------- concurrency


def _seal_one(root: Path, i: int) -> int:
    folder = root / "2024-03-01" / f"t{i:02d}"
    return seal(root, folder, meta(f"t{i:02d}", T0)).seq


def _assert_single_chain(root: Path, n: int) -> None:
    entries = chain_entries(root)
    assert [e.seq for e in entries] == list(range(1, n + 1))
    assert len({e.folder for e in entries}) == n
    report = verify(root)
    assert report.ok, report.problems
    assert report.checked == n


def test_concurrent_seals_from_threads_form_one_chain(tmp_path: Path) -> None:
    for i in range(20):
        make_call(tmp_path, f"t{i:02d}", T0, size=50_000)
    with ThreadPoolExecutor(8) as pool:
        seqs = list(pool.map(lambda i: _seal_one(tmp_path, i), range(20)))
    assert sorted(seqs) == list(range(1, 21))
    _assert_single_chain(tmp_path, 20)


def test_concurrent_seals_from_processes_form_one_chain(tmp_path: Path) -> None:
    for i in range(12):
        make_call(tmp_path, f"t{i:02d}", T0)
    folders = [tmp_path / "2024-03-01" / f"t{i:02d}" for i in range(12)]
    metas = [meta(f"t{i:02d}", T0) for i in range(12)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(4, mp_context=context) as pool:
        manifests = list(pool.map(seal, [tmp_path] * 12, folders, metas))
    assert sorted(m.seq for m in manifests) == list(range(1, 13))
    _assert_single_chain(tmp_path, 12)


def test_concurrent_seals_of_the_same_folder_chain_it_once(tmp_path: Path) -> None:
    make_call(tmp_path, "t00", T0)
    with ThreadPoolExecutor(8) as pool:
        seqs = list(pool.map(lambda _: _seal_one(tmp_path, 0), range(8)))
    assert seqs == [1] * 8
    _assert_single_chain(tmp_path, 1)


# --------------------------------------------------------------------------- retention


def _store(root: Path) -> dict[str, Path]:
    """old1, old2 (ended > 90 days before NOW), held (old, on legal hold), recent."""
    calls = {
        "old1": T0,
        "held": T0 + timedelta(hours=1),
        "old2": T0 + timedelta(hours=2),
        "recent": NOW - timedelta(days=30),
        "edge": NOW - timedelta(days=90),  # exactly 90 days: due
        "young": NOW - timedelta(days=90) + timedelta(seconds=1),
    }
    folders = {}
    for call_id, ended in calls.items():
        folders[call_id] = make_call(root, call_id, ended)
        seal(root, folders[call_id], meta(call_id, ended), now=ended + timedelta(seconds=2))
    return folders


def _held(call_id: str) -> bool:
    return call_id == "held"


def _media_left(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.webm"))


def test_purge_destroys_old_unheld_recordings(tmp_path: Path) -> None:
    folders = _store(tmp_path)
    hashes = {name: sha256_file(folders["old1"] / name) for name in ("kiosk.webm", "relative.webm")}
    records = purge(tmp_path, NOW, 90, _held, actor="greffe:dupont")

    assert sorted(r.call_id for r in records) == ["edge", "old1", "old2"]
    for call_id in ("old1", "old2", "edge"):
        assert _media_left(folders[call_id]) == []
        assert (folders[call_id] / MANIFEST).exists()
    for call_id in ("held", "recent", "young"):
        assert _media_left(folders[call_id]) == ["kiosk.webm", "relative.webm"]
        assert not (folders[call_id] / DESTRUCTION).exists()

    record = next(r for r in records if r.call_id == "old1")
    assert record.folder == "2024-03-01/old1"
    assert {f.name: f.sha256 for f in record.files} == hashes
    assert [f.size for f in record.files] == [3000, 3000]
    assert record.destroyed_at == NOW.isoformat()
    assert record.actor == "greffe:dupont"
    assert record.legal_basis == LEGAL_BASIS
    assert "L. 223-4" in record.legal_basis and "90 jours" in record.legal_basis
    assert record.ended_at == T0.isoformat()
    assert record.manifest == chain_entries(tmp_path)[0].hash

    on_disk = json.loads((folders["old1"] / DESTRUCTION).read_bytes())
    assert on_disk["files"][0]["sha256"] == hashes["kiosk.webm"]
    assert on_disk["actor"] == "greffe:dupont"
    assert destructions(tmp_path) == records
    assert len((tmp_path / REGISTER).read_text().splitlines()) == 3

    report = verify(tmp_path)
    assert report.ok, report.problems
    assert report.checked == 6


def test_purge_twice_makes_no_new_records(tmp_path: Path) -> None:
    _store(tmp_path)
    assert len(purge(tmp_path, NOW, 90, _held, "cron")) == 3
    assert purge(tmp_path, NOW, 90, _held, "cron") == []
    assert len(destructions(tmp_path)) == 3
    # The hold is lifted later: that call goes on the next run.
    later = purge(tmp_path, NOW + timedelta(days=1), 90, lambda _: False, "cron")
    assert [r.call_id for r in later] == ["held", "young"]
    assert verify(tmp_path).ok


def test_forged_destruction_record_does_not_hide_missing_files(tmp_path: Path) -> None:
    folders = _store(tmp_path)
    (folders["recent"] / "kiosk.webm").unlink()
    (folders["recent"] / DESTRUCTION).write_text('{"files": []}')
    assert_problem(tmp_path, "recent", "kiosk.webm missing")
    assert_problem(tmp_path, "recent", "not in destructions.jsonl")


def test_purge_leaves_already_missing_files_reported(tmp_path: Path) -> None:
    folders = _store(tmp_path)
    (folders["old1"] / "kiosk.webm").unlink()  # vanished before the purge
    records = purge(tmp_path, NOW, 90, _held, "cron")
    old1 = next(r for r in records if r.call_id == "old1")
    assert [f.name for f in old1.files] == ["relative.webm"]
    assert problems_of(tmp_path) == [
        "seq 1 (2024-03-01/old1): kiosk.webm missing (not destroyed on record)"
    ]


class Crash(Exception):
    pass


def _crash(*_: object) -> None:
    raise Crash


@pytest.mark.parametrize("point", ["_append_register", "_delete"])
def test_interrupted_purge_is_reported_and_completed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    folders = _store(tmp_path)
    with monkeypatch.context() as patch:
        patch.setattr(retention, point, _crash)
        with pytest.raises(Crash):
            purge(tmp_path, NOW, 90, _held, "cron")
    # The first due call has its record written, its files still there.
    assert (folders["old1"] / DESTRUCTION).exists()
    assert _media_left(folders["old1"]) == ["kiosk.webm", "relative.webm"]
    assert_problem(tmp_path, "old1", "purge incomplete")

    records = purge(tmp_path, NOW, 90, _held, "cron")
    assert sorted(r.call_id for r in records) == ["edge", "old1", "old2"]
    assert _media_left(folders["old1"]) == []
    assert [r.call_id for r in destructions(tmp_path)].count("old1") == 1
    report = verify(tmp_path)
    assert report.ok, report.problems
    assert purge(tmp_path, NOW, 90, _held, "cron") == []


def test_record_present_file_present_is_purge_incomplete(tmp_path: Path) -> None:
    folders = _store(tmp_path)
    purge(tmp_path, NOW, 90, _held, "cron")
    (folders["old2"] / "kiosk.webm").write_bytes(b"restored from a backup")
    assert_problem(tmp_path, "old2", "kiosk.webm destroyed on record but still present")
    [again] = purge(tmp_path, NOW, 90, _held, "cron")
    assert again.call_id == "old2"
    assert verify(tmp_path).ok


def test_purge_skips_a_tampered_manifest(tmp_path: Path) -> None:
    folders = _store(tmp_path)
    path = folders["recent"] / MANIFEST
    recent = (NOW - timedelta(days=30)).date().isoformat()
    path.write_bytes(path.read_bytes().replace(recent.encode(), b"2020-01-01"))
    records = purge(tmp_path, NOW, 90, _held, "cron")
    assert "recent" not in {r.call_id for r in records}
    assert _media_left(folders["recent"]) == ["kiosk.webm", "relative.webm"]


def test_purge_without_ended_at_uses_sealing_time(tmp_path: Path) -> None:
    folder = make_call(tmp_path, "x", T0)
    seal(tmp_path, folder, {"call_id": "x"}, now=T0)
    assert purge(tmp_path, T0 + timedelta(days=89), 90, _held, "cron") == []
    assert len(purge(tmp_path, T0 + timedelta(days=90), 90, _held, "cron")) == 1


@pytest.mark.parametrize(
    "bad",
    [
        lambda root: purge(root, datetime(2024, 1, 1), 90, _held, "cron"),
        lambda root: purge(root, NOW, 0, _held, "cron"),
        lambda root: purge(root, NOW, 90, _held, ""),
    ],
)
def test_purge_rejects_bad_arguments(tmp_path: Path, bad: Callable[[Path], object]) -> None:
    with pytest.raises(ValueError):
        bad(tmp_path)
