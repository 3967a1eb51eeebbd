"""The fan-out report: medians over the runs for each mode, the totals that must be
zero (lost, duplicates), the ratio to the baseline, and CPU per delivery.

Lags are compared by their medians over runs, since one noisy run on a shared machine
would otherwise decide the figure; losses and duplicates are summed, since one lost
message in any run is a failure. The JSON keys are what tests/test_bench_fanout.py and
comparisons with earlier runs read, so they stay as they are.
"""

from __future__ import annotations

import os
from typing import Any

from bench.common import median, report
from bench.fanout.options import TARGET_P99_MS, Options


def report_runs(runs: list[dict[str, dict[str, Any]]], opts: Options) -> None:
    """The table on the terminal, then the JSON line (the last line of stdout)."""

    def med(mode: str, key: str) -> float:
        return median([r[mode][key] for r in runs if mode in r])

    def total(mode: str, key: str) -> int:
        return sum(r[mode][key] for r in runs if mode in r)

    def each(mode: str, key: str) -> list[Any]:
        return [r[mode][key] for r in runs if mode in r]

    def med_known(mode: str, key: str) -> float | None:
        known = [v for v in each(mode, key) if v is not None]
        return median(known) if known else None  # None: an external server's CPU is not seen

    ours, base = med("durable", "p99_ms"), med("ordered", "p99_ms")
    ratio = ours / base if base else 0.0
    lost = total("durable", "lost")
    figures: dict[str, object] = {
        "subscribers": opts.subscribers,
        "rate": opts.rate,
        "seconds": opts.seconds,
        "runs": opts.runs,
        "workers": opts.workers,
        "reader": opts.reader,
        "ack": opts.ack,
        "batch": opts.batch,
        "loop": opts.loop,
        "cpus": os.cpu_count(),
        "published": total("durable", "published"),
        "delivered": total("durable", "delivered"),
        "expected": opts.subscribers * total("durable", "published"),
        "lost": lost,
        "duplicates": total("durable", "duplicates"),
        "p50_ms": round(med("durable", "p50_ms"), 2),
        "p95_ms": round(med("durable", "p95_ms"), 2),
        "p99_ms": round(ours, 2),
        "max_ms": round(max(each("durable", "max_ms"), default=0.0), 2),
        "p99_ms_per_run": [round(v, 2) for v in each("durable", "p99_ms")],
        "baseline_p50_ms": round(med("ordered", "p50_ms"), 2),
        "baseline_p95_ms": round(med("ordered", "p95_ms"), 2),
        "baseline_p99_ms": round(base, 2),
        "baseline_p99_ms_per_run": [round(v, 2) for v in each("ordered", "p99_ms")],
        "baseline_lost": total("ordered", "lost"),
        "baseline_duplicates": total("ordered", "duplicates"),
        "p99_ratio_vs_baseline": round(ratio, 2),
        "target_p99_ms": TARGET_P99_MS,
        "target_met": lost == 0 and ours <= TARGET_P99_MS,
        "subscriber_us_per_msg": med("durable", "subscriber_us_per_msg"),
        "server_us_per_msg": med_known("durable", "server_us_per_msg"),
        "baseline_subscriber_us_per_msg": med("ordered", "subscriber_us_per_msg"),
        "baseline_server_us_per_msg": med_known("ordered", "server_us_per_msg"),
        "per_run": [{mode: {k: v for k, v in r[mode].items() if k != "mode"} for mode in r}
                    for r in runs],
    }
    S, R, T = opts.subscribers, opts.rate, opts.seconds
    rows = [
        ("setup", f"S={S} R={R:g}/s T={T:g}s",
         f"{opts.runs} run(s), {opts.workers} worker process(es)"),
        ("delivered", f"{figures['delivered']:,}",
         f"expected {figures['expected']:,} (S × published)"),
        ("lost", str(lost), "goal: 0"),
        ("duplicates", str(figures["duplicates"]), ""),
        ("lag p50", f"{figures['p50_ms']:.1f} ms",
         f"durable pull ({opts.reader}, ack {opts.ack}); median over runs"),
        ("lag p95", f"{figures['p95_ms']:.1f} ms", ""),
        ("lag p99", f"{ours:.1f} ms",
         f"goal ≤ {TARGET_P99_MS:g} ms; per run {figures['p99_ms_per_run']}"),
        ("lag max", f"{figures['max_ms']:.1f} ms", "worst over all runs"),
        ("baseline p99", f"{base:.1f} ms",
         f"ordered push consumers, no acks; lost {figures['baseline_lost']}"),
        ("p99 ratio", f"{ratio:.2f}×", "ours / baseline"),
        ("CPU / delivery",
         f"{figures['subscriber_us_per_msg']} + {figures['server_us_per_msg']} µs",
         (f"subscribers + nats-server; baseline {figures['baseline_subscriber_us_per_msg']} + "
          f"{figures['baseline_server_us_per_msg']} µs")),
        ("others' cores", str(each("durable", "others_cores")),
         "CPU other processes took during each run (the noise)"),
    ]
    report("fanout", rows, figures)
