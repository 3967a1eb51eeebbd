"""The live board: a durable pull consumer, applied exactly once into PostgreSQL.

Each fetched batch is folded, written with the stream sequence it reached in one
transaction, and only then acknowledged. A redelivery (the process died between
commit and ack) is at or below the recorded sequence and is skipped.
"""

from __future__ import annotations

import asyncio
import logging
import zlib

import psycopg
from nats.aio.client import Client as NATS
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from events.pull import PullConsumer, stream_seq
from events.replay import Batch, decode
from events.settings import STREAM
from projections.board import schema
from projections.board.fold import fold
from projections.board.store import write

log = logging.getLogger("coalition.board")

DURABLE = "board"
BOARD_LOCK = zlib.crc32(b"coalition-board")
FETCH = 1000


def consumer_config(start: int) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=DURABLE,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=start,
        ack_policy=AckPolicy.ALL,
        ack_wait=30,
        max_ack_pending=50_000,
        filter_subject="coalition.>",
    )


def apply_batch(conn: psycopg.Connection, batch: Batch, target: str = schema.SCHEMA) -> int:
    """Apply what is new in ``batch`` in one transaction; returns the position reached."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [BOARD_LOCK])
        reached = schema.position(conn, target)
        fresh = [(seq, ce) for seq, ce in batch if seq > reached]
        if not fresh:
            return reached
        changes = fold(fresh)
        write(conn, changes, target)
        conn.execute("SELECT pg_notify('board', %s)", [str(changes.last_seq)])
        return changes.last_seq


class BoardProjector:
    def __init__(self, database_url: str, nc: NATS) -> None:
        self.database_url = database_url
        self.nc = nc
        self.js = nc.jetstream(timeout=10)
        self.position = 0

    async def subscribe(self, conn: psycopg.Connection) -> PullConsumer:
        """(Re)create the durable consumer just after the position recorded in PostgreSQL.

        The read model's own position is the checkpoint. Messages a killed process had
        fetched but not acknowledged would otherwise come back only after ``ack_wait``,
        behind later ones; starting from the recorded position keeps the board gap-free."""
        self.position = await asyncio.to_thread(schema.position, conn)
        try:
            await self.js.delete_consumer(STREAM, DURABLE)
        except NotFoundError:
            pass
        await self.js.add_consumer(STREAM, consumer_config(self.position + 1))
        pump = PullConsumer(self.nc, STREAM, DURABLE, batch=FETCH)
        await pump.start()
        log.info("board projection consuming %s as %r from stream seq %d", STREAM, DURABLE, self.position + 1)
        return pump

    async def run(self, stop: asyncio.Event) -> None:
        conn = await asyncio.to_thread(psycopg.connect, self.database_url, autocommit=True)
        try:
            await asyncio.to_thread(schema.create, conn)
            pump = await self.subscribe(conn)
            while not stop.is_set():
                msgs = await pump.next_batch(timeout=2.0)
                if not msgs:
                    continue
                batch = [(seq, decode(seq, m.data)) for m in msgs for seq in (stream_seq(m),)]
                try:
                    self.position = await asyncio.to_thread(apply_batch, conn, batch)
                except psycopg.Error:
                    log.exception("board: could not apply up to stream seq %d; resubscribing", batch[-1][0])
                    await asyncio.sleep(1.0)
                    if conn.closed:
                        conn = await asyncio.to_thread(psycopg.connect, self.database_url, autocommit=True)
                    await pump.stop()
                    pump = await self.subscribe(conn)
                    continue
                await msgs[-1].ack()  # AckPolicy.ALL: acknowledges the whole batch
        finally:
            conn.close()
