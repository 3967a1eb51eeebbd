"""Rebuild the board from the whole shared log, without stopping the live board.

The log is replayed into a shadow schema in large batches. Then, holding the board's
lock (so the live projection pauses), the events that arrived meanwhile are replayed
too and the shadow replaces ``board`` in the same transaction: readers see the old
board until the new one is complete, and the live projection resumes after it.

Run as the admin (``coalition rebuild``) or as the projection's role, it works as the
board's owner, so that the board keeps its owner and its readers' grants.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from events.rawread import Raw, read_raw
from events.settings import STREAM
from events.stream import connect
from projections.board import schema
from projections.board.history_worker import HistoryProcess
from projections.board.projector import BOARD_LOCK, apply_received

SHADOW = "board_rebuild"

#: Indexes of the board's log that the replay itself never reads: built once after it (a
#: sort) instead of growing event by event, which cost PostgreSQL more than the rows (a
#: GIN entry per item an event concerns). The statements are the schema's own.
DEFERRED_INDEXES = [line for line in schema.DDL.splitlines()
                    if line.startswith("CREATE INDEX") and " ON {schema}.log " in line]
REPLAY_SUBJECTS = "coalition.>"


def _index_names(statements: list[str]) -> list[str]:
    return [line.split("IF NOT EXISTS ", 1)[1].split()[0] for line in statements]


def act_as_board_owner(conn: psycopg.Connection) -> str | None:
    """Work as the role that owns the live board (the projection's), when that is not us
    (the admin, from the CLI): the shadow and its tables are then the projection's own
    and, by that role's default privileges, readable by the services after the swap."""
    row = conn.execute("SELECT pg_get_userbyid(nspowner), current_user FROM pg_namespace WHERE nspname = %s",
                       [schema.SCHEMA]).fetchone()
    conn.commit()
    if row is not None and row[0] != row[1]:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(row[0])))
        conn.commit()
        return str(row[0])
    return None


@dataclass
class RebuildResult:
    events: int
    seconds: float
    position: int
    split: dict[str, float] = field(default_factory=dict)
    """wall seconds: ``read`` waiting for the stream, ``apply`` decoding, folding and writing
    the tables and the log, ``index`` the deferred indexes, ``swap`` catching up and
    swapping; ``history`` the second process's busy time (it overlaps the others) and
    ``history_cpu`` its CPU"""

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def rebuild(database_url: str, nats_url: str,
                  progress: Callable[[int, int], None] | None = None,
                  batch_size: int = 50_000) -> RebuildResult:
    """Drop and replay the board; ``progress(done, total)`` is called per batch.

    Large batches pay: the shadow starts empty, so the more of the log one fold covers,
    the more changes land in the inserted rows themselves instead of UPDATEs."""
    started = time.perf_counter()
    nc = await connect(nats_url, "coalition-rebuild", persistent=False)
    conn = psycopg.connect(database_url)
    history: HistoryProcess | None = None
    split = dict.fromkeys(("read", "apply", "index", "swap", "history"), 0.0)
    try:
        js = nc.jetstream(timeout=30)
        role = act_as_board_owner(conn)
        # the board in memory and its snapshots, on the other core (see history_worker)
        history = HistoryProcess(database_url, SHADOW, role)
        with conn.transaction():
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SHADOW)))
            schema.create(conn, SHADOW)
            for name in _index_names(DEFERRED_INDEXES):
                conn.execute(sql.SQL("DROP INDEX {}.{}").format(sql.Identifier(SHADOW), sql.Identifier(name)))
        info = await js.stream_info(STREAM)
        first, end = info.state.first_seq, info.state.last_seq
        total = info.state.messages
        done = 0

        # What the live board quarantines, the rebuild quarantines too: the same board.
        def write_batch(batch: Raw) -> None:
            with conn.transaction():
                apply_received(conn, batch, SHADOW, history)  # type: ignore[arg-type] # its record()

        waited = time.perf_counter()

        async def on_batch(batch: Raw) -> None:
            nonlocal done, waited
            began = time.perf_counter()
            split["read"] += began - waited
            await asyncio.to_thread(write_batch, batch)
            done += len(batch)
            waited = time.perf_counter()
            split["apply"] += waited - began
            if progress:
                progress(done, max(total, done))

        if total:
            await read_raw(nats_url, STREAM, first, end, on_batch, batch_size, REPLAY_SUBJECTS)
        began = time.perf_counter()
        with conn.transaction():
            conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for statement in DEFERRED_INDEXES:
                conn.execute(sql.SQL(statement).format(schema=sql.Identifier(SHADOW)))  # type: ignore[arg-type]
        swap = time.perf_counter()
        split["index"] = swap - began
        # Catch up and swap under the board lock: the live projection waits meanwhile.
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [BOARD_LOCK])
            latest = (await js.stream_info(STREAM)).state.last_seq

            async def catch_up(batch: Raw) -> None:
                nonlocal done
                apply_received(conn, batch, SHADOW, history)  # type: ignore[arg-type]
                done += len(batch)

            if latest > end:
                await read_raw(nats_url, STREAM, max(end + 1, first), latest, catch_up, batch_size,
                               REPLAY_SUBJECTS)
            history.finish()  # every snapshot committed before the shadow goes live
            position = schema.position(conn, SHADOW)
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema.SCHEMA)))
            conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                sql.Identifier(SHADOW), sql.Identifier(schema.SCHEMA)))
        split["swap"] = time.perf_counter() - swap
        split["history"], split["history_cpu"] = history.busy, history.cpu
        if progress:
            progress(done, done)
        return RebuildResult(events=done, seconds=time.perf_counter() - started, position=position, split=split)
    finally:
        if history is not None:
            history.close()
        conn.close()
        await nc.close()
