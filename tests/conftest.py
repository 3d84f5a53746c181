"""Shared fixtures: a real Redis (embedded, or ``REDIS_URL``), a gateway in-process."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
import pytest
import redis.asyncio as aioredis

from gateway.cli import Running, start
from gateway.config import GatewayConfig
from gateway.service.redis_server import EmbeddedRedis

# Test files whose figures (frame rates, freezes, loss, failover and probe times, relayed bytes)
# measure the machine as much as the code: `./run test` runs them alone, one at a time, after
# the rest of the suite has run on parallel workers (pytest-xdist), so that no other test's
# browsers share the two cores with them.
SOLO = {
    "test_bad_network",
    "test_netlab",
    "test_reconnect_network",
    "test_check_network",
    "test_turn_relay",
    "test_sentinel_failover",
    "test_quality_aiortc",
    "test_drain",
    "test_cluster",
    # Two Chromium encoders and decoders at full rate: under the parallel pass's load the
    # kiosk's encoder adapts (lower rate, a new resolution, a keyframe of its own).
    "test_temporal_browser",
    # Holds its own process to a CPU quota for a minute.
    "test_overload_browser",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.stem in SOLO:
            item.add_marker(pytest.mark.solo)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server for the whole run: ``REDIS_URL`` if set, else a private one."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    folder = Path(tempfile.mkdtemp(prefix="parloir-redis-"))
    server = EmbeddedRedis(folder)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


def make_config(tmp_path: Path, redis_url: str, **changes: object) -> GatewayConfig:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": 0,
        "redis_url": redis_url,
        "data_dir": str(tmp_path / "var"),
        "ice_host_addresses": ("127.0.0.1",),
        "log_level": "DEBUG",
        # The test process's loop also runs the tests' own peers and clients, on a machine the
        # parallel pass keeps busy: its load says nothing of a gateway's. The rule's own tests
        # turn it on (tests/test_overload_browser.py).
        "overload_governor": False,
    }
    values.update(changes)
    return GatewayConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
async def gateway_factory(
    tmp_path: Path, redis_url: str, redis: aioredis.Redis
) -> AsyncIterator[object]:
    started: list[Running] = []

    async def make(**changes: object) -> Running:
        running = await start(make_config(tmp_path, redis_url, **changes))
        started.append(running)
        return running

    try:
        yield make
    finally:
        for running in started:
            try:
                await asyncio.wait_for(running.stop(), 30)
            except TimeoutError:
                # A hang at shutdown is a bug: fail with what is still running.
                for task in asyncio.all_tasks():
                    task.print_stack()
                raise


@pytest.fixture
def codec_spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts every decoder and encoder aiortc creates in this process (the gateway's)."""
    counts = {"decoders": 0, "encoders": 0}
    get_decoder, get_encoder = aiortc.rtcrtpreceiver.get_decoder, aiortc.rtcrtpsender.get_encoder

    def spy_decoder(codec: Any) -> Any:
        counts["decoders"] += 1
        return get_decoder(codec)

    def spy_encoder(codec: Any) -> Any:
        counts["encoders"] += 1
        return get_encoder(codec)

    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", spy_decoder)
    monkeypatch.setattr(aiortc.rtcrtpsender, "get_encoder", spy_encoder)
    return counts
