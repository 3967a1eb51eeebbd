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

For the SSE runs it also prints where the time went, stage by stage (``bench.stages``):
from the request reaching the service to the client reading the feed's event, by the
times the platform writes down as it runs (``events.trace``) and the streams' own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

import aiohttp
from rich.console import Console
from rich.table import Table

from bench import stages
from bench.common import median, percentile, report
from bench.platform import board_position, platform, send, session, until_all_seen, watch_board
from coalition.launcher import Running
from events.stream import connect
from projections.board.history import SNAPSHOT_EVERY

Seen = dict[str, tuple[int, dict]]
"""item → when the client read the feed's event that first showed it (ns) and that
event's ``stages``"""


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
                    ready: asyncio.Event, read: Seen | None = None) -> None:
    """Listen to the board's live feed from ``since``, noting when each item first arrives
    (and in ``read``, the wall clock then and the event's stage times)."""
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
                    now, wall = time.perf_counter(), time.time_ns()
                    event = json.loads(b"\n".join(data))
                    for item in event.get("items", ()):
                        if item["id"] not in seen:
                            seen[item["id"]] = now
                            if read is not None:
                                read[item["id"]] = (wall, event.get("stages") or {})
                    data = []
        stopped.cancel()


async def measure(p: Running, rate: float, seconds: float, long_poll: bool, sse: bool = False,
                  trails: list[stages.Trail] | None = None) -> list[float]:
    """Latencies in ms for every command sent at ``rate`` per second for ``seconds``: to
    the board's live feed (``sse``), the long poll, or the stock poll. With ``sse``, each
    command's stage times go to ``trails``."""
    seen: dict[str, float] = {}
    acked: dict[str, float] = {}
    acked_ns: dict[str, int] = {}
    read: Seen = {}
    stop = asyncio.Event()
    async with session(256) as s:
        since = await board_position(s, p)
        if sse:
            ready = asyncio.Event()
            watcher = asyncio.create_task(read_feed(p, seen, stop, since, ready, read))
            await asyncio.wait_for(ready.wait(), 30)
        else:
            watcher = asyncio.create_task(
                watch_board(s, p, seen, stop, since) if long_poll else poll_whole_board(s, p, seen, stop))

        async def one(i: int) -> None:
            item = await send(s, p, i)
            acked[item] = time.perf_counter()
            acked_ns[item] = time.time_ns()

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
    if sse and trails is not None:
        trails += await stage_trails(p, since, acked_ns, read)
    return [max(0.0, (seen[i] - t) * 1000) for i, t in acked.items() if i in seen]


async def stage_trails(p: Running, since: int, acked: dict[str, int], read: Seen) -> list[stages.Trail]:
    """Each command's moments: from the log (read back after the run), the client's 201
    and the feed's event that showed it."""
    nc = await connect(p.nats_url, "bench-latency-stages", persistent=False)
    try:
        logged = await stages.from_the_log(nc, since)
    finally:
        await nc.close()
    out = []
    for item, at in acked.items():
        trail = logged.get(item) or stages.Trail(item)
        trail.at["acked"] = at
        if item in read:
            stages.from_the_feed(trail, *read[item])
        out.append(trail)
    return out


def stage_figures(runs: list[dict[str, dict[str, float | int]]]) -> dict[str, dict[str, float | int]]:
    """The median over runs of each stage's figures."""
    return {name: {key: median([float(r[name][key]) for r in runs]) for key in runs[0][name]}
            for name in runs[0]} if runs else {}


def print_stages(figures: dict[str, dict[str, float | int]], rate: float) -> None:
    table = Table(title=f"latency stage by stage at {rate:g} commands/s (SSE runs; median over runs)")
    for column in ("stage", "p50 ms", "p95 ms", "p99 ms", "commands"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for name, row in figures.items():
        table.add_row(name, *(f"{row[k]:.1f}" for k in ("p50_ms", "p95_ms", "p99_ms")), f"{row['n']:.0f}")
    Console().print(table)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench latency", description=__doc__)
    parser.add_argument("--rate", type=float, default=500, help="commands/s (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=10, help="duration of each run (default %(default)s)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smoke run: 100/s for 2 s, one run")
    parser.add_argument("--without-partners", action="store_true",
                        help="run the platform without the partners' distributor and webhook deliverer "
                             "(COALITION_PARTNER_FANOUT=off), to see what their fan-out costs")
    args = parser.parse_args(argv)
    if args.without_partners:
        os.environ["COALITION_PARTNER_FANOUT"] = "off"
    if args.quick:
        args.rate, args.seconds, args.runs = 100, 2, 1
    runs, sse_runs, stock_runs, lost, sse_lost = [], [], [], 0, 0
    stage_runs: list[dict[str, dict[str, float | int]]] = []
    slowest: list[list[tuple[int, float]]] = []
    batches: list[stages.Batch] = []
    with platform() as p:
        asyncio.run(measure(p, min(args.rate, 200), 1, True))  # warm-up
        asyncio.run(measure(p, min(args.rate, 200), 1, False, sse=True))
        for _ in range(args.runs):
            lat = asyncio.run(measure(p, args.rate, args.seconds, True))
            lost += int(args.rate * args.seconds) - len(lat)
            runs.append(lat)
            trails: list[stages.Trail] = []
            lat = asyncio.run(measure(p, args.rate, args.seconds, False, sse=True, trails=trails))
            stage_runs.append(stages.table(trails))
            slowest.append(stages.slowest_batches(trails))
            batches += stages.batch_spans(trails)
            sse_lost += int(args.rate * args.seconds) - len(lat)
            sse_runs.append(lat)
            stock_runs.append(asyncio.run(measure(p, args.rate, min(args.seconds, 5), False)))
    p50, p95, p99 = (median([percentile(r, q) for r in runs]) for q in (50, 95, 99))
    s99 = median([percentile(r, 99) for r in stock_runs])
    e50, e95, e99 = (median([percentile(r, q) for r in sse_runs]) for q in (50, 95, 99))
    figures = {
        "partner_fanout": not args.without_partners, "rate": args.rate, "seconds": args.seconds, "runs": args.runs, "not_seen": lost,
        "p50_ms": round(p50, 2), "p95_ms": round(p95, 2), "p99_ms": round(p99, 2),
        "each_run_p99_ms": [round(percentile(r, 99), 2) for r in runs],
        "stock_poll_p50_ms": round(median([percentile(r, 50) for r in stock_runs]), 2),
        "stock_poll_p99_ms": round(s99, 2), "ratio_p99_stock_over_ours": round(s99 / p99, 2) if p99 else None,
        "sse_p50_ms": round(e50, 2), "sse_p95_ms": round(e95, 2), "sse_p99_ms": round(e99, 2),
        "sse_each_run_p99_ms": [round(percentile(r, 99), 2) for r in sse_runs], "sse_not_seen": sse_lost,
        "stages": stage_figures(stage_runs),
        "slowest_projection_batches_each_run": slowest,  # (position reached, ms taken → written)
    }
    verdict = figures["what_holds_it"] = stages.what_holds_it(figures["stages"], batches, round(e99, 2),
                                                              SNAPSHOT_EVERY)
    print_stages(figures["stages"], args.rate)
    for run, worst in enumerate(slowest, start=1):
        Console().print(f"run {run}: slowest projection batches (position reached, ms taken → written): {worst}")
    report("latency", [
        ("p50 201 → on the board", f"{p50:.1f} ms", f"median over {args.runs} runs at {args.rate:g}/s for {args.seconds:g}s"),
        ("p95", f"{p95:.1f} ms", ""),
        ("p99", f"{p99:.1f} ms", "target ≤ 50 ms"),
        ("p50 201 → SSE event at a client", f"{e50:.1f} ms", "GET /api/board/events, what the page listens to"),
        ("SSE p95", f"{e95:.1f} ms", ""),
        ("SSE p99", f"{e99:.1f} ms", "same rate"),
        *stages.verdict_rows(verdict),
        ("stock: poll the board every 100 ms, p99", f"{s99:.1f} ms", "same rate"),
        ("not seen on the board", str(lost), "must be 0"),
        ("not seen on the live feed", str(sse_lost), "must be 0"),
    ], figures)
    return 0 if lost == 0 and sse_lost == 0 else 1
