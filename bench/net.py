"""``python -m bench net``: one call in two real Chromiums, the relative's downlink shaped.

The relative's Chromium runs in its own network namespace (tests/netlab.py: veth pair, ``tc
tbf`` caps); the gateway (in this process, on a private Redis) and the kiosk's Chromium on the
host. The kiosk's stream first climbs above the cap; then the relative's downlink is capped
(default 400 kbit/s for 40 s) and lifted. Reported from the relative's getStats(): audio
concealment over the shaped window, frames, frames per second (mean and worst second),
freezes (count and total), the rate at the end of the window, whether video was paused (the
notice shown) and how long it took to resume after the cap was lifted; and the gateway's
decisions (the caps it announced upstream). A regression shows as a number in
``results/net.json``. Needs root (network namespaces), Chromium and Playwright.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gateway.cli import start
from gateway.config import GatewayConfig
from gateway.http import appkeys as keys
from gateway.service.redis_server import EmbeddedRedis

RESULTS = Path(__file__).resolve().parent / "results"


async def measure(cap_kbit: int, seconds: float, folder: Path, redis_url: str) -> dict[str, Any]:
    from tests.netlab import network_lab, received_kbit, start_browser_call
    from tests.test_bad_network import shaped_downlink_figures

    async with network_lab() as lab:
        config = GatewayConfig(
            **{
                "host": "127.0.0.1",
                "port": 0,
                "redis_url": redis_url,
                "data_dir": str(folder / "var"),
                "log_level": "WARNING",
                "call_max_seconds": int(seconds) + 180,
                **lab.gateway_config(),
            }
        )
        running = await start(config)
        try:
            base = running.base_url
            async with lab.chromium_outside(base) as kb, lab.chromium_inside(base) as pb:
                call = await start_browser_call(running, kb, pb)
                try:
                    async with asyncio.timeout(60):
                        while (free := await received_kbit(call.phone, 2)) < 1.2 * cap_kbit:
                            pass
                    figures = await shaped_downlink_figures(lab, call, cap_kbit, seconds)
                    (live,) = running.app[keys.ENGINE].calls.values()
                    figures["unshaped_kbit_before"] = round(free, 1)
                    figures["decisions"] = [
                        {"leg": str(leg), "video": video, "cap": cap}
                        for _t, leg, video, cap in live.quality.history
                    ]
                    caps = [r[5] for r in live.quality.trace if r[1] == "relative" and r[5]]
                    figures["caps_announced"] = [min(caps), max(caps)] if caps else []
                    figures["page_errors"] = call.errors
                    figures["trace"] = [r for r in live.quality.trace if r[1] == "relative"]
                finally:
                    await call.close()
        finally:
            await running.stop()
    return figures


def table(f: dict[str, Any]) -> str:
    resume = "-" if f["resume_s"] is None else f"{f['resume_s']:.1f} s"
    rows = [
        ("downlink cap", f"{f['cap_kbit']} kbit/s for {f['seconds']} s"),
        ("audio concealed", f"{f['concealed']:.2%}"),
        ("video frames", f"{f['frames']} ({f['fps']:.1f} fps, worst second {f['min_fps_1s']})"),
        ("freezes", f"{f['freezes']} ({f['freezes_s']:.2f} s in all)"),
        ("received at the end", f"{f['received_kbit_end']} kbit/s"),
        ("video paused", f"{f['paused']} (resumed in {resume})"),
        ("link drops", str(f["drops"])),
    ]
    return "\n".join(["| figure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows])


def main(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="parloir-bench-net-"))
    (folder / "redis").mkdir()
    redis = EmbeddedRedis(folder / "redis", fsync="no")
    redis.start()
    try:
        figures = asyncio.run(measure(args.cap, args.seconds, folder, redis.url))
    finally:
        redis.stop()
        shutil.rmtree(folder, ignore_errors=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "net.json").write_text(json.dumps(figures, indent=2, default=str) + "\n")
    print(table(figures))
    return 0
