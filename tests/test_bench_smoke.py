"""The benchmarks run and produce figures (a smoke test: never how fast)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.stages import STAGES

CHAIN = {name for name, _, _ in STAGES}


def run_bench(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench", *args, "--quick"], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["bench"] == args[0]
    return figures


#: the process groups the ingest benchmark reports CPU for: pids.json's names, the supervisor, the client
PROCESS_GROUPS = {"forum", "momentum", "scg", "unions", "board", "distributor", "webhooks", "postgres", "nats",
                  "supervisor", "client"}


def check_cpu_verdict(held: dict, target: float) -> None:
    """An ingest verdict: met or not against ``target``, CPU by real process group, the text."""
    assert held["target_commands_per_second"] == target and held["met"] == (held["commands_per_second"] >= target)
    per = held["cpu_us_per_command"]
    assert set(per) - {"total"} <= PROCESS_GROUPS and {"client", "nats", "postgres", "momentum"} <= set(per), per
    assert all(us >= 0 for us in per.values()) and per["total"] > 0
    assert per["total"] == pytest.approx(sum(us for group, us in per.items() if group != "total"), abs=1.0)
    assert held["wall_seconds"] > 0 and held["cores"] >= 1 and held["platform_cores_busy"] > 0
    assert held["machine_cores_busy"] is None or held["machine_cores_busy"] >= 0
    assert held["largest"]["group"] in PROCESS_GROUPS and held["ceiling_commands_per_second"] > 0
    assert ("saturated" if held["saturated"] else "not saturated") in held["text"]


@pytest.mark.parametrize("name", ["ingest", "latency", "startup", "webhooks", "partners"])
def test_a_benchmark_prints_its_figures(name: str) -> None:
    figures = run_bench(name)
    if name == "ingest":
        assert figures["commands_per_second"] > 0 and figures["stock_commands_per_second"] > 0
        assert "ratio" in figures
        # what holds each target: the CPU of every process of the platform and the client
        check_cpu_verdict(figures["what_holds_it"], 3_000)
        check_cpu_verdict(figures["batch_what_holds_it"], 20_000)
        assert figures["what_holds_it"]["ratio_met"] == (min(figures["ratio"], figures["ratio_stock_http"]) >= 3)
    elif name == "latency":
        assert figures["not_seen"] == 0 and figures["p99_ms"] > 0
        # the stage table: every stage measured (for a command the relay took from its
        # store, or whose batch the feed showed before its notification came, a few are
        # unknown), and the headline for every command
        stages = figures["stages"]
        assert all(row["n"] > 0 for row in stages.values()), stages
        assert stages["201 → read from the SSE feed (the headline)"]["n"] == figures["rate"] * figures["seconds"]
        # the verdict on the target: met, or the stages that hold it (real ones) and the slow batches
        held = figures["what_holds_it"]
        assert held["target_p99_ms"] == 25 and held["p99_ms"] == figures["sse_p99_ms"]
        assert held["met"] == (figures["sse_p99_ms"] <= 25)
        if not held["met"]:
            assert held["largest_p99"]["stage"] in stages and held["largest_p50"]["stage"] in stages
            assert held["largest_p99"]["p99_ms"] == max(stages[s]["p99_ms"] for s in CHAIN)
            for batch in held["slow_batches"]:
                assert 0 <= batch["after"] < batch["position"] and batch["ms"] > held["batch_p95_ms"] >= 0
    elif name == "webhooks":
        assert figures["lost"] == 0 and figures["duplicated"] == 0 and figures["p99_ms"] > 0
        assert figures["delivered"] == figures["expected"] > 0
        # the partners' HTTP feed beside them: every SSE reader read every event, once
        feed = figures["feed_sse"]
        assert feed["channel"] == "feed (SSE)" and feed["readers"] > 0
        assert feed["lost"] == 0 and feed["duplicated"] == 0 and feed["p99_ms"] > 0
        assert feed["received"] == feed["expected"] == figures["published"] * feed["readers"]
        held = figures["what_holds_it"]  # a channel's verdict, when its p99 is above 1 s
        assert (held["webhooks"] is None) == (figures["p99_ms"] <= 1000)
        assert (held["feed_sse"] is None) == (feed["p99_ms"] <= 1000)
        assert set(figures["cpu_share"]) == {"webhooks", "forum"} and min(figures["cpu_share"].values()) >= 0
    elif name == "partners":
        assert figures["lost"] == 0 and figures["duplicates"] == 0 and figures["p99_ms"] > 0
        assert all(run["subscriber_wall_s"] > 0 and run["subscriber_cpu_s"] >= 0 for run in figures["per_run"])
        assert (figures["what_holds_it"] is None) == (figures["p99_ms"] <= 1000)
    else:
        assert figures["start_seconds"] > 0 and figures["pss_mb"] > 0


def test_coalition_bench_is_the_same_command() -> None:
    out = subprocess.run([sys.executable, "-m", "coalition.cli", "bench", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "ingest" in out.stdout
