"""Smoke test of the rebuild benchmark: it runs end to end on real engines and reports its
figures as the last line of stdout. No speed is asserted: that is the benchmark's job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_rebuild_benchmark_quick_run_reports_its_figures() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "rebuild", "--quick"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, f"no output; stderr:\n{proc.stderr}"
    figures = json.loads(lines[-1])
    assert figures["bench"] == "rebuild"
    assert figures["events_per_second"] > 0
    assert figures["stock_events_per_second"] > 0
    assert "ratio" in figures
    assert figures["events"] == 5000 and figures["stock_events"] == 300 and figures["runs"] == 1
    assert figures["board_ok"] and figures["stock_ok"], figures
    # the ceiling of reading and decoding, measured in the same run, and the time split
    assert set(figures["ceiling_events_per_second"]) == {
        "read", "read+decode", "read+decode+fold", "read by nats-py"}
    assert all(rate > 0 for rate in figures["ceiling_events_per_second"].values())
    assert set(figures["split_us_per_event"]) == {"read", "decode", "fold", "write and the rest"}
    assert {"read", "apply", "index", "swap", "history"} <= set(figures["rebuild_split_seconds"])
