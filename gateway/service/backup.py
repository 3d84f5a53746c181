"""Backup and restore of a Parloir service: its Redis keys and its recordings with their chain.

Why ``DUMP``/``RESTORE`` of the ``parloir:`` keys, in one Lua script, rather than ``BGSAVE`` and a
copy of the RDB file:

* **one instant for every key**: the script runs alone on the server, so an account's hash and
  its ledger stream, a booking and its hold, are copied at the same point (``BGSAVE`` gives that
  too, a ``SCAN`` + ``DUMP`` from outside does not);
* **no access to Redis's files**: it works over the network, with TLS and ACLs, on a managed or
  remote Redis, where the RDB file is out of reach;
* **only Parloir's keys**: a shared Redis's other tenants are neither copied nor overwritten;
* **restore into any fresh Redis** (same version or newer: ``RESTORE`` checks the format) while
  it runs, no file to place before it starts.

Its cost: the server is busy while the script runs (milliseconds for a prison's data, a few
megabytes; it grows with the data). Recordings are copied under the chain's lock
(``chain.lock``), so no call is sealed mid-copy: the copy's chain and manifests agree. The Redis
snapshot is taken first, then the recordings: a recording sealed in between is in the copy with
Redis still saying "recording", never the reverse (Redis naming a manifest the copy lacks).

A backup folder holds ``redis.jsonl`` (one key a line: name, remaining time to live in ms or 0,
the ``DUMP`` payload in base64), ``recordings/`` and ``backup.json`` (when, how many keys, the
SHA-256 of ``redis.jsonl``). A restore refuses a target Redis that already has ``parloir:`` keys
or a recordings folder that already has a chain: it is for a fresh service.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis

from gateway.store.keys import PREFIX
from recorder.integrity import CHAIN, CHAIN_LOCK, locked

PATTERN = f"{PREFIX}*"
KEYS_FILE = "redis.jsonl"
INFO_FILE = "backup.json"
RECORDINGS = "recordings"

SNAPSHOT = """
local out, cursor = {}, "0"
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    out[#out + 1] = key
    out[#out + 1] = redis.call('PTTL', key)
    out[#out + 1] = redis.call('DUMP', key)
  end
until cursor == "0"
return out
"""


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class Summary:
    keys: int
    recording_files: int
    taken_at: float


async def snapshot(redis: aioredis.Redis) -> dict[bytes, tuple[int, bytes]]:
    """Every ``parloir:`` key at one instant: name -> (ttl in ms or 0, DUMP payload).

    ``redis`` is a binary client (``decode_responses=False``), of a URL or through Sentinel."""
    flat = await redis.eval(SNAPSHOT, 0, PATTERN)  # type: ignore[misc]
    keys: dict[bytes, tuple[int, bytes]] = {}
    for i in range(0, len(flat), 3):  # SCAN may name a key twice: one entry each
        name, ttl, payload = flat[i], int(flat[i + 1]), flat[i + 2]
        if payload is not None and ttl != -2:
            keys[name] = (max(ttl, 0), payload)
    return keys


def _copy_recordings(source: Path, target: Path) -> int:
    """Copy the recordings under the chain's lock (no seal meanwhile); the files copied."""
    if not source.is_dir():
        target.mkdir(parents=True)
        return 0
    with locked(source / CHAIN_LOCK):
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.lock", ".readyz-*"))
    return sum(1 for p in target.rglob("*") if p.is_file())


def _empty_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty")


async def backup(redis: aioredis.Redis, recordings: Path, folder: Path, now: float) -> Summary:
    await asyncio.to_thread(_empty_folder, folder)
    keys = await snapshot(redis)  # first Redis, then the files (see the module's notes)
    lines = [
        json.dumps({"key": base64.b64encode(name).decode(), "ttl": ttl,
                    "dump": base64.b64encode(payload).decode()})
        for name, (ttl, payload) in sorted(keys.items())
    ]  # fmt: skip
    data = ("\n".join(lines) + "\n").encode() if lines else b""
    (folder / KEYS_FILE).write_bytes(data)
    files = await asyncio.to_thread(_copy_recordings, recordings, folder / RECORDINGS)
    info = {"taken_at": now, "keys": len(keys), "recording_files": files,
            "redis_sha256": hashlib.sha256(data).hexdigest()}  # fmt: skip
    (folder / INFO_FILE).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    return Summary(len(keys), files, now)


async def restore(redis: aioredis.Redis, recordings: Path, folder: Path) -> Summary:
    info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
    data = (folder / KEYS_FILE).read_bytes()
    if hashlib.sha256(data).hexdigest() != info["redis_sha256"]:
        raise BackupError(f"{KEYS_FILE} does not match {INFO_FILE} (damaged backup)")
    if (recordings / CHAIN).exists():
        raise BackupError(f"{recordings} already holds recordings: restore into a fresh folder")
    async for _key in redis.scan_iter(match=PATTERN, count=100):
        raise BackupError("the target Redis already holds parloir: keys")
    pipe = redis.pipeline(transaction=True)
    count = 0
    for line in data.decode().splitlines():
        entry = json.loads(line)
        pipe.restore(base64.b64decode(entry["key"]), int(entry["ttl"]),
                     base64.b64decode(entry["dump"]))  # fmt: skip
        count += 1
    await pipe.execute()
    source = folder / RECORDINGS
    if source.is_dir():
        await asyncio.to_thread(shutil.copytree, source, recordings, dirs_exist_ok=True)
    return Summary(count, int(info.get("recording_files", 0)), float(info["taken_at"]))
