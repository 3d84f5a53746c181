"""The pages' compatibility check (./run test runs it on web/static) really refuses an API
that the families' phones lack, and passes the pages as they are."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def eslint(source: str, name: str = "web/static/probe.js") -> subprocess.CompletedProcess[str]:
    binary = ROOT / "node_modules" / ".bin" / "eslint"
    if not binary.exists():
        pytest.fail("eslint is not installed: ./run test installs it (npm ci)")
    return subprocess.run(
        [str(binary), "--stdin", "--stdin-filename", name], input=source, cwd=ROOT,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_an_api_missing_on_older_iphones_is_refused() -> None:
    result = eslint("'use strict';\nconst canvas = new OffscreenCanvas(1, 1);\nvoid canvas;\n")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "OffscreenCanvas is not supported in iOS Safari" in result.stdout


def test_the_relatives_page_passes() -> None:
    source = (ROOT / "web" / "static" / "join.js").read_text()
    result = eslint(source, "web/static/join.js")
    assert result.returncode == 0, result.stdout + result.stderr
