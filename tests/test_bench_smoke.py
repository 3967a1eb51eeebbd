"""The benchmarks run and produce figures (a smoke test: never how fast)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def run_bench(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench", *args, "--quick"], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["bench"] == args[0]
    return figures


@pytest.mark.parametrize("name", ["ingest", "latency", "startup", "webhooks"])
def test_a_benchmark_prints_its_figures(name: str) -> None:
    figures = run_bench(name)
    if name == "ingest":
        assert figures["commands_per_second"] > 0 and figures["stock_commands_per_second"] > 0
        assert "ratio" in figures
    elif name == "latency":
        assert figures["not_seen"] == 0 and figures["p99_ms"] > 0
        # the stage table: every stage measured (for a command the relay took from its
        # store, or whose batch the feed showed before its notification came, a few are
        # unknown), and the headline for every command
        stages = figures["stages"]
        assert all(row["n"] > 0 for row in stages.values()), stages
        assert stages["201 → read from the SSE feed (the headline)"]["n"] == figures["rate"] * figures["seconds"]
    elif name == "webhooks":
        assert figures["lost"] == 0 and figures["duplicated"] == 0 and figures["p99_ms"] > 0
        assert figures["delivered"] == figures["expected"] > 0
        # the partners' HTTP feed beside them: every SSE reader read every event, once
        feed = figures["feed_sse"]
        assert feed["channel"] == "feed (SSE)" and feed["readers"] > 0
        assert feed["lost"] == 0 and feed["duplicated"] == 0 and feed["p99_ms"] > 0
        assert feed["received"] == feed["expected"] == figures["published"] * feed["readers"]
    else:
        assert figures["start_seconds"] > 0 and figures["pss_mb"] > 0


def test_coalition_bench_is_the_same_command() -> None:
    out = subprocess.run([sys.executable, "-m", "coalition.cli", "bench", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "ingest" in out.stdout
