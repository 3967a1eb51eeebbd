"""startup: seconds from ``coalition up`` to ``ready``, and the memory of all its processes.

Runs ``coalition up`` several times: first on an empty data folder (PostgreSQL's initdb
included), then again on the same folder. Memory is the resident set summed over the
supervisor, the engines, the services and the projection once ready — and, since forked
processes share pages, also the proportional set size (PSS), which counts a shared page
once in all.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import psutil

from bench.common import median, report
from coalition.launcher import launch, stop


def memory_mb(procs: list[psutil.Process]) -> tuple[float, float]:
    rss = pss = 0
    for proc in procs:
        try:
            info = proc.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return rss / 2**20, pss / 2**20


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench startup", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="restarts on the same folder (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help="smoke run: one cold start, one restart")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 1
    cold = 0.0
    warm: list[float] = []
    rss: list[float] = []
    pss: list[float] = []
    with tempfile.TemporaryDirectory(prefix="coalition-startup-") as tmp:
        data = Path(tmp) / "data"
        for run in range(args.runs + 1):
            running = launch(data)
            time.sleep(0.5)  # let every child finish its first steps before reading memory
            r, p = memory_mb(running.family())
            stop(running)
            if run == 0:
                cold = running.ready_seconds
            else:
                warm.append(running.ready_seconds)
            rss.append(r)
            pss.append(p)
    figures = {
        "runs": args.runs, "cold_start_seconds": round(cold, 2), "start_seconds": round(median(warm), 2),
        "each_start_seconds": [round(w, 2) for w in warm],
        "rss_mb": round(median(rss), 1), "pss_mb": round(median(pss), 1),
    }
    report("startup", [
        ("start → ready (existing data folder)", f"{median(warm):.2f} s", f"median of {args.runs}; target ≤ 5 s"),
        ("first start → ready (empty folder)", f"{cold:.2f} s", "includes initdb"),
        ("resident memory, all processes", f"{median(rss):.0f} MB", "sum of RSS; target ≤ 400 MB"),
        ("proportional memory, all processes", f"{median(pss):.0f} MB", "sum of PSS (shared pages once)"),
    ], figures)
    return 0
