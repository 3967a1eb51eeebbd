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
from dataclasses import dataclass

import psycopg
from psycopg import sql

from events.replay import Raw, replay_raw
from events.settings import STREAM
from events.stream import connect
from projections.board import schema
from projections.board.history import History
from projections.board.projector import BOARD_LOCK, apply_received

SHADOW = "board_rebuild"


def act_as_board_owner(conn: psycopg.Connection) -> None:
    """Work as the role that owns the live board (the projection's), when that is not us
    (the admin, from the CLI): the shadow and its tables are then the projection's own
    and, by that role's default privileges, readable by the services after the swap."""
    row = conn.execute("SELECT pg_get_userbyid(nspowner), current_user FROM pg_namespace WHERE nspname = %s",
                       [schema.SCHEMA]).fetchone()
    conn.commit()
    if row is not None and row[0] != row[1]:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(row[0])))
        conn.commit()


@dataclass
class RebuildResult:
    events: int
    seconds: float
    position: int

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
    try:
        js = nc.jetstream(timeout=30)
        act_as_board_owner(conn)
        with conn.transaction():
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SHADOW)))
            schema.create(conn, SHADOW)
        info = await js.stream_info(STREAM)
        first, end = info.state.first_seq, info.state.last_seq
        total = info.state.messages
        done = 0
        history = History(SHADOW, fresh=True)

        # What the live board quarantines, the rebuild quarantines too: the same board.
        def write_batch(batch: Raw) -> None:
            with conn.transaction():
                apply_received(conn, batch, SHADOW, history)

        async def on_batch(batch: Raw) -> None:
            nonlocal done
            await asyncio.to_thread(write_batch, batch)
            done += len(batch)
            if progress:
                progress(done, max(total, done))

        if total:
            await replay_raw(js, first, end, on_batch, batch_size)
        # Catch up and swap under the board lock: the live projection waits meanwhile.
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [BOARD_LOCK])
            latest = (await js.stream_info(STREAM)).state.last_seq

            async def catch_up(batch: Raw) -> None:
                nonlocal done
                apply_received(conn, batch, SHADOW, history)
                done += len(batch)

            if latest > end:
                await replay_raw(js, max(end + 1, first), latest, catch_up, batch_size)
            position = schema.position(conn, SHADOW)
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema.SCHEMA)))
            conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                sql.Identifier(SHADOW), sql.Identifier(schema.SCHEMA)))
        if progress:
            progress(done, done)
        return RebuildResult(events=done, seconds=time.perf_counter() - started, position=position)
    finally:
        conn.close()
        await nc.close()
