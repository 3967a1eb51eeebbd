"""startup: seconds from ``coalition up`` to ``ready``, and the memory of all its processes.

The stock approach it is compared with: each process a fresh interpreter importing
everything itself (``coalition up --spawn``), rather than forked from the warm supervisor.

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
from bench.platform import launch_platform
from coalition.launcher import stop


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
    stock: list[float] = []
    stock_rss: list[float] = []
    stock_pss: list[float] = []
    with tempfile.TemporaryDirectory(prefix="coalition-startup-") as tmp:
        data = Path(tmp) / "data"
        for run in range(args.runs + 1):
            for spawn in (False, True):
                if run == 0 and spawn:
                    continue
                running = launch_platform(data, *(["--spawn"] if spawn else []))
                time.sleep(0.5)  # let every child finish its first steps before reading memory
                r, p = memory_mb(running.family())
                stop(running)
                if run == 0:
                    cold = running.ready_seconds
                    continue
                (stock if spawn else warm).append(running.ready_seconds)
                (stock_rss if spawn else rss).append(r)
                (stock_pss if spawn else pss).append(p)
    ours, theirs = median(warm), median(stock)
    figures = {
        "runs": args.runs, "cold_start_seconds": round(cold, 2), "start_seconds": round(ours, 2),
        "each_start_seconds": [round(w, 2) for w in warm],
        "rss_mb": round(median(rss), 1), "pss_mb": round(median(pss), 1),
        "stock_start_seconds": round(theirs, 2), "each_stock_start_seconds": [round(w, 2) for w in stock],
        "stock_rss_mb": round(median(stock_rss), 1), "stock_pss_mb": round(median(stock_pss), 1),
        "ratio": round(theirs / ours, 2) if ours else None,
    }
    report("startup", [
        ("start → ready (existing data folder)", f"{ours:.2f} s", f"median of {args.runs}; target ≤ 5 s"),
        ("stock: a fresh interpreter per process", f"{theirs:.2f} s", f"`coalition up --spawn`; {theirs / ours:.2f}× ours"),
        ("first start → ready (empty folder)", f"{cold:.2f} s", "includes initdb"),
        ("proportional memory, all processes", f"{median(pss):.0f} MB", "sum of PSS (shared pages once); target ≤ 400 MB"),
        ("resident memory, all processes", f"{median(rss):.0f} MB", "sum of RSS (shared pages once per process)"),
        ("stock: PSS / RSS", f"{median(stock_pss):.0f} / {median(stock_rss):.0f} MB", "fresh interpreters"),
    ], figures)
    return 0
