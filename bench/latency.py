"""latency: a steady rate of commands for a fixed time; from each publisher's 201 to the
moment the item is in the board's read model and visible through ``GET /api/board``, and
to the moment the board's live feed (``GET /api/board/events``, Server-Sent Events, what
the page listens to) delivers it to a client.

The watcher long-polls ``GET /api/board?since=<position>&wait=…``, which answers as soon
as the projection commits past ``position`` (it listens to the projection's NOTIFY).
The SSE client reads the feed's ``board`` events as they arrive (each carries the changed
items, rendered cards included) and notes when it has read the whole event naming an item.
The stock approach it is compared with is what a client without that does: poll the
whole ``GET /api/board`` every 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


async def read_feed(p: Running, seen: dict[str, float], stop: asyncio.Event, since: int,
                    ready: asyncio.Event) -> None:
    """Listen to the board's live feed from ``since``, noting when each item first arrives."""
    timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
    async with aiohttp.ClientSession(timeout=timeout) as s, s.get(
            p.url("forum", "/api/board/events"), params={"last_event_id": since}) as resp:
        if resp.status != 200:
            raise RuntimeError(f"/api/board/events → {resp.status}: {await resp.text()}")
        stopped = asyncio.ensure_future(stop.wait())
        chunks = resp.content.iter_any()
        buffer, data = b"", []
        while True:
            chunk = asyncio.ensure_future(chunks.__anext__())
            await asyncio.wait({chunk, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not chunk.done():
                chunk.cancel()
                break
            try:
                buffer += chunk.result()
            except StopAsyncIteration:
                break
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                line = line.rstrip(b"\r")
                if line.startswith(b"data:"):
                    data.append(line[5:].lstrip())
                elif line.startswith(b"event: ready"):
                    ready.set()
                elif not line and data:
                    now = time.perf_counter()
                    for item in json.loads(b"\n".join(data)).get("items", ()):
                        seen.setdefault(item["id"], now)
                    data = []
        stopped.cancel()


async def measure(p: Running, rate: float, seconds: float, long_poll: bool, sse: bool = False) -> list[float]:
    """Latencies in ms for every command sent at ``rate`` per second for ``seconds``: to
    the board's live feed (``sse``), the long poll, or the stock poll."""
    seen: dict[str, float] = {}
    acked: dict[str, float] = {}
    stop = asyncio.Event()
    async with session(256) as s:
        since = await board_position(s, p)
        if sse:
            ready = asyncio.Event()
            watcher = asyncio.create_task(read_feed(p, seen, stop, since, ready))
            await asyncio.wait_for(ready.wait(), 30)
        else:
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
    runs, sse_runs, stock_runs, lost, sse_lost = [], [], [], 0, 0
    with platform() as p:
        asyncio.run(measure(p, min(args.rate, 200), 1, True))  # warm-up
        asyncio.run(measure(p, min(args.rate, 200), 1, False, sse=True))
        for _ in range(args.runs):
            lat = asyncio.run(measure(p, args.rate, args.seconds, True))
            lost += int(args.rate * args.seconds) - len(lat)
            runs.append(lat)
            lat = asyncio.run(measure(p, args.rate, args.seconds, False, sse=True))
            sse_lost += int(args.rate * args.seconds) - len(lat)
            sse_runs.append(lat)
            stock_runs.append(asyncio.run(measure(p, args.rate, min(args.seconds, 5), False)))
    p50, p95, p99 = (median([percentile(r, q) for r in runs]) for q in (50, 95, 99))
    s99 = median([percentile(r, 99) for r in stock_runs])
    e50, e95, e99 = (median([percentile(r, q) for r in sse_runs]) for q in (50, 95, 99))
    figures = {
        "rate": args.rate, "seconds": args.seconds, "runs": args.runs, "not_seen": lost,
        "p50_ms": round(p50, 2), "p95_ms": round(p95, 2), "p99_ms": round(p99, 2),
        "each_run_p99_ms": [round(percentile(r, 99), 2) for r in runs],
        "stock_poll_p50_ms": round(median([percentile(r, 50) for r in stock_runs]), 2),
        "stock_poll_p99_ms": round(s99, 2), "ratio_p99_stock_over_ours": round(s99 / p99, 2) if p99 else None,
        "sse_p50_ms": round(e50, 2), "sse_p95_ms": round(e95, 2), "sse_p99_ms": round(e99, 2),
        "sse_each_run_p99_ms": [round(percentile(r, 99), 2) for r in sse_runs], "sse_not_seen": sse_lost,
    }
    report("latency", [
        ("p50 201 → on the board", f"{p50:.1f} ms", f"median over {args.runs} runs at {args.rate:g}/s for {args.seconds:g}s"),
        ("p95", f"{p95:.1f} ms", ""),
        ("p99", f"{p99:.1f} ms", "target ≤ 50 ms"),
        ("p50 201 → SSE event at a client", f"{e50:.1f} ms", "GET /api/board/events, what the page listens to"),
        ("SSE p95", f"{e95:.1f} ms", ""),
        ("SSE p99", f"{e99:.1f} ms", "same rate"),
        ("stock: poll the board every 100 ms, p99", f"{s99:.1f} ms", "same rate"),
        ("not seen on the board", str(lost), "must be 0"),
        ("not seen on the live feed", str(sse_lost), "must be 0"),
    ], figures)
    return 0 if lost == 0 and sse_lost == 0 else 1
