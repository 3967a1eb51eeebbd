"""latency: a steady rate of commands for a fixed time; from each publisher's 201 to the
moment the item is in the board's read model and visible through ``GET /api/board``.

The watcher long-polls ``GET /api/board?since=<position>&wait=…``, which answers as soon
as the projection commits past ``position`` (it listens to the projection's NOTIFY).
The stock approach it is compared with is what a client without that does: poll the
whole ``GET /api/board`` every 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp

from bench.common import median, percentile, report
from bench.platform import board_position, platform, send, session, until_all_seen, watch_board
from coalition.launcher import Running


async def poll_whole_board(s: aiohttp.ClientSession, p: Running, seen: dict[str, float],
                           stop: asyncio.Event, every: float = 0.1) -> None:
    while not stop.is_set():
        async with s.get(p.url("forum", "/api/board")) as resp:
            board = await resp.json()
        now = time.perf_counter()
        for item in board["items"]:
            seen.setdefault(item["id"], now)
        await asyncio.sleep(every)


async def measure(p: Running, rate: float, seconds: float, long_poll: bool) -> list[float]:
    """Latencies in ms for every command sent at ``rate`` per second for ``seconds``."""
    seen: dict[str, float] = {}
    acked: dict[str, float] = {}
    stop = asyncio.Event()
    async with session(256) as s:
        since = await board_position(s, p)
        watcher = asyncio.create_task(
            watch_board(s, p, seen, stop, since) if long_poll else poll_whole_board(s, p, seen, stop))

        async def one(i: int) -> None:
            item = await send(s, p, i)
            acked[item] = time.perf_counter()

        tasks = []
        began = time.perf_counter()
        total = int(rate * seconds)
        for i in range(total):
            delay = began + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        await until_all_seen(acked, seen, 60)
        stop.set()
        await watcher
    return [max(0.0, (seen[i] - t) * 1000) for i, t in acked.items() if i in seen]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench latency", description=__doc__)
    parser.add_argument("--rate", type=float, default=500, help="commands/s (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=10, help="duration of each run (default %(default)s)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smoke run: 100/s for 2 s, one run")
    args = parser.parse_args(argv)
    if args.quick:
        args.rate, args.seconds, args.runs = 100, 2, 1
    runs, stock_runs, lost = [], [], 0
    with platform() as p:
        asyncio.run(measure(p, min(args.rate, 200), 1, True))  # warm-up
        for _ in range(args.runs):
            lat = asyncio.run(measure(p, args.rate, args.seconds, True))
            lost += int(args.rate * args.seconds) - len(lat)
            runs.append(lat)
            stock_runs.append(asyncio.run(measure(p, args.rate, min(args.seconds, 5), False)))
    p50, p95, p99 = (median([percentile(r, q) for r in runs]) for q in (50, 95, 99))
    s99 = median([percentile(r, 99) for r in stock_runs])
    figures = {
        "rate": args.rate, "seconds": args.seconds, "runs": args.runs, "not_seen": lost,
        "p50_ms": round(p50, 2), "p95_ms": round(p95, 2), "p99_ms": round(p99, 2),
        "each_run_p99_ms": [round(percentile(r, 99), 2) for r in runs],
        "stock_poll_p50_ms": round(median([percentile(r, 50) for r in stock_runs]), 2),
        "stock_poll_p99_ms": round(s99, 2), "ratio_p99_stock_over_ours": round(s99 / p99, 2) if p99 else None,
    }
    report("latency", [
        ("p50 201 → on the board", f"{p50:.1f} ms", f"median over {args.runs} runs at {args.rate:g}/s for {args.seconds:g}s"),
        ("p95", f"{p95:.1f} ms", ""),
        ("p99", f"{p99:.1f} ms", "target ≤ 50 ms"),
        ("stock: poll the board every 100 ms, p99", f"{s99:.1f} ms", "same rate"),
        ("not seen on the board", str(lost), "must be 0"),
    ], figures)
    return 0 if lost == 0 else 1
