"""Smoke test of the fanout benchmark: it runs end to end on real engines and loses nothing.

No speed assertions: the figures depend on the machine; only that the report is whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_fanout_quick_loses_nothing() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "fanout", "--quick"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, proc.stderr[-3000:]
    figures = json.loads(lines[-1])
    assert figures["bench"] == "fanout"
    assert figures["published"] > 0
    assert figures["lost"] == 0, figures
    assert figures["delivered"] >= figures["expected"], figures
    assert figures["p99_ms"] > 0, figures
    assert figures["baseline_lost"] == 0, figures
    assert figures["baseline_p99_ms"] > 0, figures


def test_fanout_options_from_the_command_line() -> None:
    """``python -m bench fanout`` imports ``bench.fanout`` and calls its ``main``; the
    options it parses are what every worker process is handed."""
    import bench.fanout
    from bench.fanout.cli import parse
    from bench.fanout.options import MODES

    assert callable(bench.fanout.main)
    quick = parse(["--quick", "--ack", "all"])
    assert (quick.subscribers, quick.rate, quick.seconds, quick.runs) == (10, 100.0, 2.0, 1)
    assert quick.ack == "all" and quick.modes == MODES
    assert parse(["--only", "ordered"]).modes == ("ordered",)


def test_partners_quick_delivers_everything_once_through_the_partners_streams() -> None:
    """100 partners in full; here 5, each with its own NATS user, stream and durable, fed
    by the real distributor through SHARE: every event reaches every partner once."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "partners", "--quick"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert figures["bench"] == "partners"
    assert figures["published"] > 0 and figures["delivered"] == figures["expected"] == 5 * figures["published"]
    assert figures["lost"] == 0 and figures["duplicates"] == 0, figures
    assert figures["p99_ms"] > 0
