"""Sampling profile of the server under test with py-spy, summarised per function and module.

``--profile`` records the server process during each Parloir point's measuring window (py-spy
``--nonblocking``: the process is never paused) into ``results/profile-parloir-N.txt`` (collapsed
stacks, one per line with its sample count), and prints where the time goes.

Read the shares with care: py-spy samples the wall clock, and a thread that is runnable but
preempted still counts as busy where it stands. A call that wakes another thread or process
(``sendto`` on loopback waking the load generator, ``Condition.notify`` waking a recorder
thread, a Redis write) is where the gateway stands while the woken one runs, so those lines are
inflated, most of all with the server pinned to one core. The run's ``cpu_kernel_share`` (from
``/proc``: the system time of all the server's threads) bounds what system calls really cost.
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
from pathlib import Path

GROUPS = (
    ("srtp (libsrtp via pylibsrtp)", ("pylibsrtp",)),
    ("ICE/UDP (aioice)", ("aioice",)),
    # MarkerJitterBuffer lives in gateway/media/aiortc_passthrough.py but is aiortc's jitter buffer.
    (
        "RTP receive + jitter buffer (aiortc)",
        ("rtcrtpreceiver", "jitterbuffer", "rtp.py", "MarkerJitterBuffer"),
    ),
    ("RTP send + packetize (aiortc)", ("rtcrtpsender", "codecs/vpx", "codecs/opus")),
    ("DTLS/transport (aiortc)", ("rtcdtlstransport", "rtcicetransport")),
    ("Parloir relay", ("gateway/media/relay.py", "gateway/media/aiortc_passthrough.py")),
    ("recorder", ("recorder/",)),
    ("asyncio event loop", ("asyncio/",)),
)


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return found if Path(found).exists() else None


def start(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    exe = py_spy()
    if exe is None:
        print("py-spy missing (pip install -e '.[bench]'): no profile", file=sys.stderr)
        return None
    argv = [exe, "record", "-p", str(pid), "-d", str(int(seconds)), "-f", "raw",
            "-o", str(out), "--nonblocking", "--threads"]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish(spy: subprocess.Popen[bytes]) -> None:
    """Wait for py-spy; say why when it recorded nothing (it used to fail silently)."""
    _, err = spy.communicate(timeout=60)
    if spy.returncode:
        lines = err.decode(errors="replace").strip().splitlines()
        print(f"py-spy failed ({spy.returncode}): {lines[0] if lines else ''}", file=sys.stderr)


IDLE = ("select (selectors.py", "Condition.wait (threading.py", "Event.wait (threading.py")
"Leaves of a thread that waits (the event loop's epoll, the writer thread's queue): not work."


def summarise(path: Path, top: int = 12) -> dict[str, list[tuple[str, float]]]:
    """Self time per function, and inclusive time per group of modules, in % of busy samples."""
    own: collections.Counter[str] = collections.Counter()
    groups: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        if any(idle in frames[-1] for idle in IDLE):
            continue
        total += n
        own[frames[-1]] += n
        # Inclusive: a sample counts for the innermost group it is in.
        for frame in reversed(frames):
            name = next((g for g, keys in GROUPS if any(k in frame for k in keys)), None)
            if name is not None:
                groups[name] += n
                break
        else:
            groups["other"] += n
    if not total:
        return {"functions": [], "groups": []}
    return {
        "functions": [(f, round(100 * n / total, 1)) for f, n in own.most_common(top)],
        "groups": [(g, round(100 * n / total, 1)) for g, n in groups.most_common()],
    }
