"""A rebuild writes the board's history as the live board wrote it: the rebuild reads the
log with its own reader and hands the board in memory and its snapshots to a second
process, and what it leaves — the tables, the board's log, every snapshot — is byte
for byte what the projection's own code leaves applying the same batches in one
process (so an as-of view and its digest are the same before and after a rebuild).

The batches are the same on both sides on purpose: on a log where a change to an item
comes before the item (the services' streams are sourced into ``COALITION`` side by
side, so a triage can land before the attack it triages), the board depends on where
the batches end — a change and its item in one batch meet, in two they do not. That
is the fold's, before and after this reader; it is not what this test is about."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg

from bench.common import engines
from bench.logdata import LogGenerator, fill_stream
from events.rawread import Raw, read_raw
from events.settings import STREAM
from projections.board import schema
from projections.board.history import SNAPSHOT_EVERY, History
from projections.board.projector import apply_received
from projections.board.rebuild import rebuild

EVENTS = SNAPSHOT_EVERY + 1_200  # one snapshot inside the log
BATCH = 1_000


def whole_board(database_url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(database_url) as conn:
        return {table: sorted(conn.execute(f"SELECT * FROM board.{table}", binary=True).fetchall(), key=repr)
                for table in ("items", "pledges", "tasks", "decisions", "decision_positions", "log", "snapshots",
                              "position", "rejected")}


def test_a_rebuilt_board_and_its_history_are_the_live_ones_byte_for_byte(tmp_path: Path) -> None:
    with engines(tmp_path / "data") as eng:
        last = asyncio.run(fill_stream(eng.nats_url, EVENTS, generator=LogGenerator(5)))
        received: Raw = []

        async def keep(batch: Raw) -> None:
            received.extend(batch)

        asyncio.run(read_raw(eng.nats_url, STREAM, 1, last, keep))
        # the projection's own code in one process: a transaction per batch, its History beside it
        with psycopg.connect(eng.database_url) as conn:
            with conn.transaction():
                schema.create(conn)
            history = History(schema.SCHEMA)
            for start in range(0, len(received), BATCH):
                with conn.transaction():
                    apply_received(conn, received[start:start + BATCH], schema.SCHEMA, history)
        live = whole_board(eng.database_url)
        assert [row[0] for row in live["snapshots"]] == [SNAPSHOT_EVERY]
        assert len(live["log"]) == EVENTS and live["position"][0][1] == last

        result = asyncio.run(rebuild(eng.database_url, eng.nats_url, batch_size=BATCH))
        assert result.events == EVENTS and result.position == last
        rebuilt = whole_board(eng.database_url)
        assert rebuilt.keys() == live.keys()
        for table in live:
            assert len(rebuilt[table]) == len(live[table]), f"board.{table} has other rows after the rebuild"
            for was, now in zip(live[table], rebuilt[table], strict=True):
                assert now == was, f"board.{table} differs after the rebuild: " + "; ".join(
                    f"column {k}: {a!r} → {b!r}" for k, (a, b) in enumerate(zip(was, now, strict=True)) if a != b)
