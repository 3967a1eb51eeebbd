"""As-of: the board as it stood at any position of a long log, rebuilt from the board's
own log and its snapshots.

``python -m bench.asof [--events M] [--queries Q] [--quick]``

1. M events of the realistic mix (``bench.logdata``, as the relays would publish them) are
   applied to an empty board on real PostgreSQL in batches of 1,000, as the live projector
   applies them (``projections.board.projector.apply_received`` with one ``History``): the
   board's log and a snapshot every ``SNAPSHOT_EVERY`` events are written with it.
2. ``projections.board.queries.board_as_of`` answers Q positions: random ones, and the worst
   case (the one just before each of the last three snapshots, the most events to replay
   onto the largest boards), for the open view and for an organisation: the whole board
   rebuilt, paged (500 items of the live columns) and its digest taken. Wall time of each,
   and the CPU time this process spent on it (steadier on a shared machine; PostgreSQL's
   share is not in it).

The goal (not an assertion): every as-of under 1 s on a 200,000-event log.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

import psycopg

from bench.common import console, engines, median, percentile, report
from bench.logdata import LogGenerator
from projections.board import schema
from projections.board.history import SNAPSHOT_EVERY, History
from projections.board.projector import apply_received
from projections.board.queries import board_as_of
from services.relay import relay_message

GOAL = 1.0


def fill(database_url: str, count: int) -> tuple[float, float, int]:
    """The board of ``count`` events, as the projector writes it; returns events/s, the CPU
    seconds this process spent on it (folding, history, snapshots: not PostgreSQL's) and items."""
    gen = LogGenerator(seed=2025)
    raws = [(seq, relay_message(service, seq, event).payload)
            for seq, (service, event) in enumerate(gen.entries(count), start=1)]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS board CASCADE")
        schema.create(conn)
        history = History(schema.SCHEMA)
        started, started_cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(raws), 1000):
            with conn.transaction():
                apply_received(conn, raws[start:start + 1000], schema.SCHEMA, history)
        rate = count / (time.perf_counter() - started)
        cpu = time.process_time() - started_cpu
        items = conn.execute("SELECT count(*) FROM board.items").fetchone()[0]  # type: ignore[index]
    return rate, cpu, int(items)


async def ask(database_url: str, positions: list[int], viewer: str | None) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of the as-of view at each position."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        times, cpu = [], []
        for position in positions:
            began, began_cpu = time.perf_counter(), time.process_time()
            board = await board_as_of(conn, viewer, position, archive=False, limit=500)
            times.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
            assert board.position == position and board.digest
        return times, cpu


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.asof", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="20,000 events, 6 queries")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.queries = 20_000, 6
    rng = random.Random(7)
    with engines() as running:
        console.print(f"filling a board with {args.events:,} events…")
        rate, fill_cpu, items = fill(running.database_url, args.events)
        worst = [p for p in range(SNAPSHOT_EVERY - 1, args.events, SNAPSHOT_EVERY)][-3:] or [args.events]
        positions = sorted(rng.randint(1, args.events) for _ in range(args.queries)) + worst + [args.events]
        with psycopg.connect(running.database_url) as conn:
            snapshots, size = conn.execute(
                "SELECT count(*), coalesce(sum(length(body)), 0) FROM board.snapshots").fetchone()  # type: ignore[misc]
        open_view, open_cpu = asyncio.run(ask(running.database_url, positions, None))
        member, member_cpu = asyncio.run(ask(running.database_url, positions, "momentum"))
    every, cpu = open_view + member, open_cpu + member_cpu
    worst_case = max(open_view[-len(worst) - 1:-1] + member[-len(worst) - 1:-1])
    figures = {
        "events": args.events, "items": items, "apply_events_per_second": round(rate), "apply_cpu_s": round(fill_cpu, 2),
        "snapshots": snapshots, "snapshot_bytes": size, "snapshot_every": SNAPSHOT_EVERY,
        "queries": len(every), "asof_p50_s": round(median(every), 3),
        "asof_p95_s": round(percentile(every, 95), 3), "asof_max_s": round(max(every), 3),
        "worst_case_s": round(worst_case, 3), "worst_positions": worst,
        "asof_cpu_p50_s": round(median(cpu), 3), "asof_cpu_max_s": round(max(cpu), 3),
        "goal_s": GOAL, "met": max(every) < GOAL,
    }
    report("asof", [
        ("log", f"{args.events:,} events", f"{items:,} board items; applied at {rate:,.0f} events/s with log "
                                           f"and snapshots ({fill_cpu:,.1f} s of this process's CPU)"),
        ("snapshots", f"{snapshots}", f"every {SNAPSHOT_EVERY:,} events, {size / 1e6:,.1f} MB in all"),
        ("as-of p50", f"{median(every):.3f} s", f"{len(every)} positions, open view and momentum's"),
        ("as-of p95", f"{percentile(every, 95):.3f} s", ""),
        ("as-of max", f"{max(every):.3f} s", f"goal < {GOAL} s: {'met' if max(every) < GOAL else 'NOT met'}"),
        ("just before a snapshot", f"{worst_case:.3f} s", f"the slowest at {', '.join(f'{p:,}' for p in worst)}"),
        ("CPU per as-of", f"{median(cpu):.3f} s", f"median; max {max(cpu):.3f} s (this process only)"),
    ], figures)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
