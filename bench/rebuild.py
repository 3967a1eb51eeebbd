"""rebuild: a log of M events → board rebuild events/s, against the stock eventsourcing
``ProjectionRunner`` (one transaction per event) on a slice of the same data, and the ratio.

``python -m bench rebuild [--events M] [--stock-events K] [--runs R] [--quick]``

1. M events of the realistic mix (``bench.logdata``) are published as the relays would,
   each service's on its own subjects of ``COALITION``, and the benchmark waits until
   ``COALITION`` holds them all.
2. The ceiling, in the same run: the stream read alone by the rebuild's reader
   (``events.rawread``), then read and decoded, then read, decoded and folded (no writes),
   and read alone by nats-py (``events.replay``, the reader before); the time split
   read / decode / fold / write per event follows from the differences.
3. ``projections.board.rebuild.rebuild`` replays the whole stream into a shadow schema and
   swaps it in, R times: events/s of each run, and the median, with its own split (waiting
   for the stream, applying batches, the deferred indexes, the swap, and the busy time of
   the process that keeps the board in memory and its snapshots). The board it leaves is
   checked against what the log holds (items, pledges, position).
4. K events of the same mix are saved in an eventsourcing application (``benchsource``)
   and the stock ``eventsourcing.projection.ProjectionRunner`` projects them with
   ``StockBoardProjection``: for each event, the board row(s) and the tracking record are
   written in one transaction by a ``PostgresTrackingRecorder`` subclass, into tables of
   the board's own layout (``projections.board.schema``) in schema ``benchstock``.

The goal (not an assertion): ≥ 100,000 events/s and ≥ 90× the stock runner. With
COALITION_DATABASE_URL and COALITION_NATS_URL set, the benchmark runs against those servers:
it adds M events to their services' streams (numbered after each service's last, which
its relay then takes for its own) and **replaces their board**, so point it at scratch servers.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from psycopg import sql
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.common import console, engines, median, report
from bench.logdata import SOURCE, LogGenerator, fill_store, fill_stream
from contracts import decode_envelope
from events.rawread import read_raw
from events.replay import replay_raw
from events.settings import STREAM
from events.stream import connect
from events.settings import DatabaseParams
from projections.board import schema
from projections.board.fold import ATTACK_TITLES, fold
from projections.board.rebuild import rebuild
from projections.board.store import ITEM_COLUMNS, JSON_COLUMNS
from services.domain.attacks import Attack
from services.domain.campaigns import Action, Pledge, Win
from services.domain.industrial import SolidarityRequest, Strike
from services.domain.triage import Triage

STOCK = "benchstock"
TARGET_RATE = 100_000
TARGET_RATIO = 90


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), console=console, transient=False)


# The stock approach ------------------------------------------------------------------

class StockBoardView(PostgresTrackingRecorder):
    """The board's tables (items, pledges) in schema ``benchstock``; every write goes in
    one transaction with its tracking record, as eventsourcing's materialised views do."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.append(SQL(schema.DDL).format(schema=Identifier(STOCK)))  # type: ignore[arg-type]
        s = Identifier(STOCK)
        self._insert_item = SQL("INSERT INTO {}.items ({}) VALUES ({})").format(
            s, SQL(", ").join(map(Identifier, ITEM_COLUMNS)), SQL(", ").join(SQL("%s") for _ in ITEM_COLUMNS))
        self._update_status = SQL(
            "UPDATE {}.items SET status = %s, priority = coalesce(%s, priority), detail = detail || %s, "
            "updated_at = %s, updated_seq = %s WHERE id = %s").format(s)
        self._insert_pledge = SQL(
            "INSERT INTO {}.pledges (id, action, org, grp, people, note, created_at, seq) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)").format(s)
        self._count_pledge = SQL(
            "UPDATE {}.items SET people_pledged = people_pledged + %s, pledge_count = pledge_count + 1, "
            "updated_at = %s, updated_seq = %s WHERE id = %s").format(s)

    def insert_item(self, item: dict[str, Any], tracking: Tracking) -> None:
        row = [Jsonb(item[c]) if c in JSON_COLUMNS else item[c] for c in ITEM_COLUMNS]
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._insert_item, row, prepare=True)
            self._insert_tracking(curs, tracking)

    def update_status(self, item: str, status: str, priority: str | None, detail: dict[str, Any], at: Any,
                      tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._update_status,
                         [status, priority, Jsonb(detail), at, tracking.notification_id, item], prepare=True)
            self._insert_tracking(curs, tracking)

    def add_pledge(self, pledge: tuple[Any, ...], action: str, people: int, at: Any, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._insert_pledge, pledge, prepare=True)
            curs.execute(self._count_pledge, [people, at, tracking.notification_id, action], prepare=True)
            self._insert_tracking(curs, tracking)

    def count(self, table: str) -> int:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(SQL("SELECT count(*) AS n FROM {}.{}").format(Identifier(STOCK), Identifier(table)))
            row = curs.fetchone()
            return int(row["n"]) if row else 0


class StockBoardProjection(Projection[StockBoardView]):
    """The board, projected from domain events one at a time, the stock way."""

    name = "stockboard"

    def _item(self, e: Any, tracking: Tracking, *, item: str, kind: str, title: str, summary: str | None,
              detail: dict[str, Any], priority: str = "normal", people_wanted: int | None = None) -> None:
        share = e.sharing
        self.view.insert_item({
            "id": item, "kind": kind, "org": e.org, "service": SOURCE, "title": title, "summary": summary,
            "status": "new", "priority": priority, "tlp": share.tlp, "audience": share.audience,
            "region": share.region, "refs": share.refs, "detail": detail, "people_wanted": people_wanted,
            "created_at": e.timestamp, "updated_at": e.timestamp,
            "created_seq": tracking.notification_id, "updated_seq": tracking.notification_id,
        }, tracking)

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.insert_tracking(tracking)  # not on the board; the position still moves

    @process_event.register(Attack.Reported)
    def _attack_reported(self, e: Any, tracking: Tracking) -> None:
        names = ", ".join(t.name or t.kind for t in e.targets)
        priority = {"high": "high", "critical": "urgent"}.get(e.severity, "normal")
        self._item(e, tracking, item=str(e.originator_id), kind="attack",
                   title=f"{ATTACK_TITLES[e.attack_kind]}: {names}", summary=e.summary, priority=priority,
                   detail={"attack_kind": e.attack_kind, "severity": e.severity,
                           "targets": [{"kind": t.kind, "name": t.name} for t in e.targets]})

    @process_event.register(Attack.Resolved)
    def _attack_resolved(self, e: Any, tracking: Tracking) -> None:
        self.view.update_status(str(e.originator_id), "resolved", None,
                                {"outcome": e.outcome, "resolution": e.summary}, e.timestamp, tracking)

    @process_event.register(Strike.Called)
    def _strike_called(self, e: Any, tracking: Tracking) -> None:
        self._item(e, tracking, item=str(e.originator_id), kind="strike", title=f"{e.employer} strike ({e.sector})",
                   summary=f"{e.members_involved:,} members, {e.starts_on} to {e.ends_on}: " + ", ".join(e.workplaces),
                   detail={"employer": e.employer, "sector": e.sector, "workplaces": e.workplaces,
                           "starts_on": str(e.starts_on), "ends_on": str(e.ends_on), "members_involved": e.members_involved})

    @process_event.register(Strike.PicketScheduled)
    def _picket_scheduled(self, e: Any, tracking: Tracking) -> None:
        self._item(e, tracking, item=e.picket, kind="picket", title=f"Picket: {e.where}", summary=e.needs,
                   detail={"where": e.where, "when": e.when.isoformat(), "strike": str(e.originator_id)})

    @process_event.register(SolidarityRequest.Requested)
    def _solidarity_requested(self, e: Any, tracking: Tracking) -> None:
        self._item(e, tracking, item=str(e.originator_id), kind="solidarity", title="Solidarity requested",
                   summary=e.summary, detail={"help": list(e.help)})

    @process_event.register(Action.Called)
    def _action_called(self, e: Any, tracking: Tracking) -> None:
        self._item(e, tracking, item=str(e.originator_id), kind="action",
                   title=f"{e.action_kind.replace('_', ' ').capitalize()}: {e.where}", summary=e.asks,
                   detail={"action_kind": e.action_kind, "where": e.where, "when": e.when.isoformat()},
                   people_wanted=e.people_wanted)

    @process_event.register(Pledge.Made)
    def _pledge_made(self, e: Any, tracking: Tracking) -> None:
        self.view.add_pledge((str(e.originator_id), e.action, e.org, e.group, e.people, e.note, e.timestamp,
                              tracking.notification_id), e.action, e.people, e.timestamp, tracking)

    @process_event.register(Win.Recorded)
    def _win_recorded(self, e: Any, tracking: Tracking) -> None:
        self._item(e, tracking, item=str(e.originator_id), kind="win", title=f"Win: {e.win_kind.replace('_', ' ')}",
                   summary=e.summary, detail={"win_kind": e.win_kind})

    @process_event.register(Triage.Opened)
    @process_event.register(Triage.Triaged)
    def _triaged(self, e: Any, tracking: Tracking) -> None:
        self.view.update_status(e.item, e.status, e.priority, {"triaged_by": e.org, "triage_note": e.note},
                                e.timestamp, tracking)


def drop_schemas(database_url: str, *names: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def run_stock(database_url: str, count: int, timeout: float = 600.0) -> dict[str, Any]:
    """Save ``count`` events in the ``benchsource`` store, then time the stock runner over them."""
    drop_schemas(database_url, SOURCE, STOCK)
    with _progress() as bar:
        task = bar.add_task(f"saving {count:,} events for the stock runner", total=count, rate="")
        began = time.perf_counter()
        app = fill_store(database_url, count)
        bar.update(task, completed=count, rate=f"{count / (time.perf_counter() - began):,.0f} ev/s")
    last = app.recorder.max_notification_id() or 0
    app_class, generator = type(app), app.generator  # type: ignore[attr-defined]
    app.close()
    env = DatabaseParams.from_url(database_url).eventsourcing_env(SOURCE)
    with _progress() as bar:
        task = bar.add_task("stock ProjectionRunner", total=last, rate="")
        started = time.perf_counter()
        with ProjectionRunner(application_class=app_class, projection_class=StockBoardProjection,
                              view_class=StockBoardView, env=env) as runner:
            while True:
                reached = runner.view.max_tracking_id(app_class.name) or 0
                elapsed = time.perf_counter() - started
                bar.update(task, completed=reached, rate=f"{reached / elapsed:,.0f} ev/s" if elapsed else "")
                if reached >= last:
                    break
                if elapsed > timeout:
                    raise TimeoutError(f"stock runner reached {reached} of {last} in {timeout}s")
                runner.run_forever(timeout=0.01)  # re-raises the processing thread's error
                if runner.is_interrupted.is_set():
                    raise RuntimeError("the stock runner stopped before the end")
            seconds = time.perf_counter() - started
            items, pledges = runner.view.count("items"), runner.view.count("pledges")
    expected = generator.board_items, generator.counts["Pledge.Made"]
    if (items, pledges) != expected:
        console.print(f"[red]stock board has {items} items and {pledges} pledges; expected {expected}")
    return {"events": last, "seconds": seconds, "rate": last / seconds, "items": items, "pledges": pledges,
            "ok": (items, pledges) == expected}


# Ours ----------------------------------------------------------------------------------

def board_counts(database_url: str) -> tuple[int, int, int]:
    with psycopg.connect(database_url) as conn:
        items = conn.execute("SELECT count(*) FROM board.items").fetchone()
        pledges = conn.execute("SELECT count(*) FROM board.pledges").fetchone()
        return int(items[0]) if items else 0, int(pledges[0]) if pledges else 0, schema.position(conn)


async def stream_messages(nats_url: str) -> int:
    nc = await connect(nats_url, "bench-rebuild", persistent=False)
    try:
        return (await nc.jetstream(timeout=30).stream_info(STREAM)).state.messages
    except Exception:  # noqa: BLE001 - no stream yet
        return 0
    finally:
        await nc.close()


async def fill(nats_url: str, count: int, generator: LogGenerator) -> tuple[int, float]:
    with _progress() as bar:
        task = bar.add_task(f"publishing {count:,} events", total=count, rate="")
        began = time.perf_counter()

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, rate=f"{done / (time.perf_counter() - began):,.0f} ev/s")

        # a loaded machine stores slowly: wait long rather than fail (the rebuild is timed, not this)
        last_seq = await fill_stream(nats_url, count, progress, generator=generator, timeout=120 + count / 2_000)
        return last_seq, count / (time.perf_counter() - began)


CEILINGS = ("read", "read+decode", "read+decode+fold", "read by nats-py")


async def ceiling(nats_url: str, stage: str, batch_size: int = 50_000) -> tuple[int, float, float]:
    """The whole stream through ``stage`` only (no writes): events, wall and CPU seconds."""
    nc = await connect(nats_url, "bench-ceiling", persistent=False)
    try:
        js = nc.jetstream(timeout=30)
        info = await js.stream_info(STREAM)
        first, end = info.state.first_seq, info.state.last_seq
        seen = 0

        async def on_batch(batch: list[tuple[int, bytes]]) -> None:
            nonlocal seen
            seen += len(batch)
            if stage != "read" and stage != "read by nats-py":
                decoded = [(seq, decode_envelope(data)) for seq, data in batch]
                if stage == "read+decode+fold":
                    fold(decoded)  # type: ignore[arg-type]

        began, cpu = time.perf_counter(), time.process_time()
        if stage == "read by nats-py":
            await replay_raw(js, first, end, on_batch, batch_size)
        else:
            await read_raw(nats_url, STREAM, first, end, on_batch, batch_size, "coalition.>")
        return seen, time.perf_counter() - began, time.process_time() - cpu
    finally:
        await nc.close()


async def run_ceilings(nats_url: str) -> dict[str, tuple[int, float, float]]:
    results = {}
    for stage in CEILINGS:
        with _progress() as bar:
            task = bar.add_task(f"ceiling: {stage}", total=None, rate="")
            results[stage] = await ceiling(nats_url, stage)
            n, seconds, _ = results[stage]
            bar.update(task, total=n, completed=n, rate=f"{n / seconds:,.0f} ev/s")
    return results


async def run_rebuilds(database_url: str, nats_url: str, runs: int, total: int) -> list[Any]:
    results = []
    for i in range(runs):
        with _progress() as bar:
            task = bar.add_task(f"rebuild {i + 1}/{runs}", total=total, rate="")
            began = time.perf_counter()

            def progress(done: int, total: int, task: Any = task, began: float = began) -> None:
                bar.update(task, completed=done, total=total,
                           rate=f"{done / (time.perf_counter() - began):,.0f} ev/s")

            results.append(await rebuild(database_url, nats_url, progress))
    return results


def holder(split: dict[str, float], ceilings: dict[str, tuple[int, float, float]]) -> tuple[str, str]:
    """The stage that holds a rebuild short of the goal, with its evidence: the longest of
    the rebuild's own split (``apply`` includes waiting for the history process to take a
    batch), and the ceiling of reading and decoding alone."""
    stages = {"reading the stream": split.get("read", 0.0),
              "applying batches (decode, fold, tables, log)": split.get("apply", 0.0),
              "the history process (board in memory, snapshots)": split.get("history", 0.0)}
    name = max(stages, key=lambda k: stages[k])
    n, seconds, _ = ceilings.get("read+decode", (0, 0.0, 0.0))
    return name, (f"{stages[name]:.1f}s busy; reading and decoding alone: "
                  f"{n / seconds if seconds else 0:,.0f} events/s")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench rebuild", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000, metavar="M", help="events on the log (200,000)")
    parser.add_argument("--stock-events", type=int, default=5_000, metavar="K",
                        help="events for the stock ProjectionRunner (5,000)")
    parser.add_argument("--runs", type=int, default=3, metavar="R", help="rebuilds to time (3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: M=5,000, K=300, R=1")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="keep the engines' folder; a log of exactly M events already there (from an earlier "
                             "run with the same M) is replayed again without publishing it anew")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.stock_events, args.runs = 5_000, 300, 1

    with engines(args.data_dir) as eng:
        generator = LogGenerator()
        held = asyncio.run(stream_messages(eng.nats_url)) if args.data_dir else 0
        if held == args.events:  # the same seed made it: count what it holds without publishing it again
            for _ in generator.entries(args.events):
                pass
            last_seq, fill_rate = held, 0.0
        else:
            last_seq, fill_rate = asyncio.run(fill(eng.nats_url, args.events, generator))
        ceilings = asyncio.run(run_ceilings(eng.nats_url))
        results = asyncio.run(run_rebuilds(eng.database_url, eng.nats_url, args.runs, last_seq))
        items, pledges, position = board_counts(eng.database_url)
        stock = run_stock(eng.database_url, args.stock_events)

    rates = [r.rate for r in results]
    ours = median(rates)
    ratio = ours / stock["rate"] if stock["rate"] else 0.0
    replayed = results[-1].events if results else 0
    # On a fresh stream the board must hold exactly what was published.
    board_ok = position == last_seq and (replayed != args.events or (
        items == generator.board_items and pledges == generator.counts["Pledge.Made"]))
    if not board_ok:
        console.print(f"[red]rebuilt board: {items} items, {pledges} pledges, position {position}; expected "
                      f"{generator.board_items} items, {generator.counts['Pledge.Made']} pledges, position {last_seq}")
    rate = {stage: n / seconds if seconds else 0.0 for stage, (n, seconds, _) in ceilings.items()}
    per_event = {stage: seconds / n * 1e6 if n else 0.0 for stage, (n, seconds, _) in ceilings.items()}
    # wall µs per event of each stage: the differences between the passes; writing is the
    # rest of the median rebuild
    middle = sorted(results, key=lambda r: r.rate)[len(results) // 2] if results else None
    rebuild_us = middle.seconds / middle.events * 1e6 if middle and middle.events else 0.0
    stage_us = {"read": per_event["read"], "decode": per_event["read+decode"] - per_event["read"],
                "fold": per_event["read+decode+fold"] - per_event["read+decode"],
                "write and the rest": rebuild_us - per_event["read+decode+fold"]}
    split = middle.split if middle else {}
    rows = [
        ("log", f"{args.events:,} events", f"published into COALITION at {fill_rate:,.0f} events/s"
                                            if fill_rate else "already in --data-dir from an earlier run"),
        *[(f"ceiling: {stage}", f"{rate[stage]:,.0f} events/s",
           f"{ceilings[stage][0]:,} events in {ceilings[stage][1]:.2f}s, CPU {ceilings[stage][2]:.2f}s, no writes")
          for stage in CEILINGS],
        ("split per event (wall)", f"{rebuild_us:,.1f} µs",
         ", ".join(f"{k} {v:,.1f}" for k, v in stage_us.items())),
        ("rebuild's own split (s)", f"{middle.seconds if middle else 0:.2f}s",
         ", ".join(f"{k} {v:.2f}" for k, v in split.items())),
        *[(f"rebuild run {i + 1}", f"{r.rate:,.0f} events/s", f"{r.events:,} events in {r.seconds:.2f}s")
          for i, r in enumerate(results)],
        ("rebuild (median)", f"{ours:,.0f} events/s", f"goal ≥ {TARGET_RATE:,}"),
        *([] if ours >= TARGET_RATE else [("what holds it", *holder(split, ceilings))]),
        ("rebuilt board", f"{items:,} items", f"{pledges:,} pledges, position {position:,}"
                                               + ("" if board_ok else " — MISMATCH")),
        ("stock ProjectionRunner", f"{stock['rate']:,.0f} events/s",
         f"{stock['events']:,} events in {stock['seconds']:.2f}s, one transaction each"),
        ("ratio", f"{ratio:,.1f}×", f"goal ≥ {TARGET_RATIO}×"),
    ]
    figures = {
        "events": args.events, "stock_events": stock["events"], "runs": args.runs,
        "ceiling_events_per_second": {k: round(v, 1) for k, v in rate.items()},
        "split_us_per_event": {k: round(v, 2) for k, v in stage_us.items()},
        "rebuild_split_seconds": {k: round(v, 3) for k, v in split.items()},
        "events_per_second": round(ours, 1), "stock_events_per_second": round(stock["rate"], 1),
        "ratio": round(ratio, 2),
        "run_events_per_second": [round(r, 1) for r in rates],
        "run_seconds": [round(r.seconds, 3) for r in results],
        "run_events": [r.events for r in results],
        "stock_seconds": round(stock["seconds"], 3),
        "fill_events_per_second": round(fill_rate, 1),
        "board_items": items, "board_pledges": pledges, "board_ok": board_ok, "stock_ok": stock["ok"],
        "goal_events_per_second": TARGET_RATE, "goal_ratio": TARGET_RATIO,
        "meets_goal": ours >= TARGET_RATE and ratio >= TARGET_RATIO,
    }
    report("rebuild", rows, figures)
    return 0
