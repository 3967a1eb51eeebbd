"""ingest: N commands over HTTP, C at a time, spread over the three publishers.

Figures: accepted durable commands/s (each 201 means committed in PostgreSQL), and the
seconds until the board shows all of them. In the same run, the stock approach on the
same PostgreSQL: an eventsourcing ``Application.save()`` per command, one transaction
each, from C threads; and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time

from bench.common import median, report
from bench.platform import board_position, platform, send, session, until_all_seen, watch_board
from coalition.launcher import Running
from contracts.base import Target
from services.application import open_application
from services.commands import ReportAttack
from services.momentum import MomentumApp


class StockIngestApp(MomentumApp):
    """The movement's application in a schema of its own, for the stock approach."""

    name = "stockingest"


async def ours(p: Running, n: int, concurrency: int) -> tuple[float, float]:
    """(commands/s, seconds from the first send until the board shows every command)."""
    seen: dict[str, float] = {}
    acked: dict[str, float] = {}
    stop = asyncio.Event()
    async with session(concurrency + 4) as s:
        start_position = await board_position(s, p)
        watcher = asyncio.create_task(watch_board(s, p, seen, stop, start_position))
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(n):
            queue.put_nowait(i)

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                acked[await send(s, p, i)] = time.perf_counter()

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        accepted = time.perf_counter() - began
        await until_all_seen(acked, seen, 120)
        on_board = time.perf_counter() - began
        stop.set()
        await watcher
    missing = len(acked.keys() - seen.keys())
    if missing:
        raise RuntimeError(f"{missing} acknowledged commands never reached the board")
    return n / accepted, on_board


def stock(database_url: str, n: int, concurrency: int) -> float:
    """One ``Application.save()`` per command, one transaction each, C threads."""
    app = open_application(StockIngestApp, database_url)
    command = ReportAttack(attack_kind="suspension", targets=[Target(kind="member", name="A")], summary="stock",
                           severity="high", tlp="GREEN", region="London")
    per_thread = max(1, n // concurrency)

    def work() -> None:
        for _ in range(per_thread):
            app.save(app.report_attack("momentum", command))

    threads = [threading.Thread(target=work) for _ in range(concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    app.close()
    return per_thread * concurrency / elapsed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ingest", description=__doc__)
    parser.add_argument("--commands", type=int, default=20_000, help="N (default %(default)s)")
    parser.add_argument("--concurrency", type=int, default=64, help="C (default %(default)s)")
    parser.add_argument("--stock-commands", type=int, default=3_000, help="for the stock approach")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smoke run: small N, one run")
    args = parser.parse_args(argv)
    if args.quick:
        args.commands, args.stock_commands, args.runs, args.concurrency = 600, 300, 1, 16
    rates, boards, stocks = [], [], []
    with platform() as p:
        asyncio.run(ours(p, min(args.commands, 1000), args.concurrency))  # warm-up
        for _ in range(args.runs):
            rate, on_board = asyncio.run(ours(p, args.commands, args.concurrency))
            rates.append(rate)
            boards.append(on_board)
            stocks.append(stock(p.database_url, args.stock_commands, args.concurrency))
    rate, stock_rate = median(rates), median(stocks)
    figures = {
        "commands": args.commands, "concurrency": args.concurrency, "runs": args.runs,
        "commands_per_second": round(rate, 1), "seconds_until_on_board": round(median(boards), 3),
        "stock_commands_per_second": round(stock_rate, 1), "ratio": round(rate / stock_rate, 2),
        "each_run_commands_per_second": [round(r, 1) for r in rates],
        "each_run_stock_commands_per_second": [round(r, 1) for r in stocks],
    }
    report("ingest", [
        ("accepted durable commands/s", f"{rate:,.0f}", f"median of {args.runs}; N={args.commands}, C={args.concurrency}"),
        ("seconds until all on the board", f"{median(boards):.2f}", "from the first send"),
        ("stock: one save() per command", f"{stock_rate:,.0f}", f"commands/s, {args.stock_commands} commands"),
        ("ratio", f"{rate / stock_rate:.2f}×", "ours / stock"),
    ], figures)
    return 0
