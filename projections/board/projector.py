"""The live board: a durable pull consumer, applied exactly once into PostgreSQL.

Each fetched batch is folded, written with the stream sequence it reached in one
transaction, and only then acknowledged. A redelivery (the process died between
commit and ack) is at or below the recorded sequence and is skipped.

No event can stop the board. One it cannot apply — not a valid shared event, or one
the database refuses (a value out of range, text it cannot hold) — is **quarantined**:
kept in ``board.rejected`` with its stream sequence, the error and its raw bytes,
skipped, and counted; the board's position moves past it. Only the database itself
failing (a lost connection, a restart, a missing right) makes the projection stop,
reconnect and try the same events again.
"""

from __future__ import annotations

import asyncio
import logging
import zlib

import psycopg
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from contracts import decode_envelope
from events import trace
from events.pull import PullConsumer, log_consumer, stream_seq
from events.replay import Batch
from events.settings import STREAM
from projections.board import schema
from projections.board.fold import Changes, fold
from projections.board.history import History, SnapshotWriter
from projections.board.store import write

log = logging.getLogger("coalition.board")

Received = list[tuple[int, bytes]]
"""Messages of the shared log as they arrive: stream sequence and raw CloudEvent."""

DURABLE = "board"
BOARD_LOCK = zlib.crc32(b"coalition-board")
FETCH = 1000


def apply_batch(conn: psycopg.Connection, received: Received, target: str = schema.SCHEMA,
                history: History | None = None, stages: tuple[int, int] | None = None) -> int:
    """Apply what is new in ``received`` in one transaction; returns the position reached.

    ``stages``: when the batch arrived and was taken (``events.trace``); the ``board``
    NOTIFY carries them, with the moment its rows were written, to the readers it wakes.

    A snapshot the batch made goes to ``history``'s writer once the transaction has
    committed (``History.committed``), so the events behind this batch do not wait for it."""
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [BOARD_LOCK])
            reached = schema.position(conn, target)
            fresh = [(seq, data) for seq, data in received if seq > reached]
            if not fresh:
                return reached
            apply_received(conn, fresh, target, history)
            note = str(fresh[-1][0]) if stages is None else trace.note(fresh[-1][0], *stages, trace.now())
            conn.execute("SELECT pg_notify('board', %s)", [note])
        if history is not None and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            history.committed()  # its snapshots are written now, after the batch (see history)
        return fresh[-1][0]
    except BaseException:
        if history is not None:
            history.forget()  # it moved with a transaction that did not commit
        raise


def apply_received(conn: psycopg.Connection, received: Received, target: str = schema.SCHEMA,
                   history: History | None = None) -> list[int]:
    """Fold and write ``received`` inside the caller's transaction, quarantining what the
    board cannot apply; the position ends at the last of them. The events applied go to
    the board's log, and its snapshots move on (``history``; one made for the call if
    none is given). Returns the stream sequences quarantined."""
    batch: Batch = []
    errors: dict[int, str] = {}
    for seq, data in received:
        try:
            batch.append((seq, decode_envelope(data)))
        except Exception as exc:  # noqa: BLE001 - whatever a publisher sent, the board goes on
            batch.append((seq, None))
            errors[seq] = f"not a valid shared event: {exc}"
    written: list[Changes] = []
    _write_or_split(conn, batch, target, errors, written)
    raw = dict(received)
    applied = [(seq, ce, raw[seq]) for seq, ce in batch if ce is not None and seq not in errors]
    if received:
        (history or History(target)).record(conn, applied, received[-1][0], written)
    for seq, error in sorted(errors.items()):
        log.error("board: quarantined stream seq %d, which it cannot apply: %s", seq, error)
        schema.reject(conn, seq, _printable(error), raw[seq], target)
    return sorted(errors)


def _write_or_split(conn: psycopg.Connection, batch: Batch, target: str, errors: dict[int, str],
                    written: list[Changes], top: bool = True) -> None:
    """Write ``batch`` in a savepoint; if the board cannot take it, write each half the
    same way, down to the single events to blame, which go in ``errors``. Halves written
    in order give the same board as the whole (see ``fold``), and a batch with one bad
    event costs a few more writes, not one per event. The changes written go to
    ``written``, in order, for the board's history to reuse."""
    try:
        with conn.transaction():
            changes = fold(batch)
            write(conn, changes, target)
        written.append(changes)
    except Exception as exc:  # noqa: BLE001 - the event's fault or not, decided here
        if not _fault_of_the_event(exc):
            raise
        if len(batch) == 1:
            errors[batch[0][0]] = f"{type(exc).__name__}: {exc}"
            return
        if top:
            log.warning("board: stream seq %d to %d could not be applied together (%s); looking for the "
                        "events to blame", batch[0][0], batch[-1][0], exc)
        half = len(batch) // 2
        _write_or_split(conn, batch[:half], target, errors, written, top=False)
        _write_or_split(conn, batch[half:], target, errors, written, top=False)


def _fault_of_the_event(exc: Exception) -> bool:
    """Whether ``exc`` says that the board cannot take what the event holds (a value out
    of range, text PostgreSQL cannot store, a row too large, or the fold's own refusal),
    rather than that the database is unwell or out of reach, which a retry may mend."""
    if not isinstance(exc, psycopg.Error):
        return True
    return isinstance(exc, (psycopg.DataError, psycopg.IntegrityError, psycopg.errors.ProgramLimitExceeded))


def _printable(text: str, limit: int = 2000) -> str:
    """An error message as PostgreSQL text can hold it (a message may quote the bad input)."""
    clean = "".join(c if c.isprintable() or c in "\n\t" else f"\\x{ord(c):02x}" for c in text[:limit])
    return clean.encode("utf-8", "backslashreplace").decode("utf-8")


class BoardProjector:
    def __init__(self, database_url: str, nc: NATS) -> None:
        self.database_url = database_url
        self.nc = nc
        self.js = nc.jetstream(timeout=10)
        self.position = 0
        self.snapshots = SnapshotWriter(database_url)
        """the board's snapshots, compressed and written after their batches' commits"""
        self.history = History(schema.SCHEMA, writer=self.snapshots)

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
        await self.js.add_consumer(STREAM, log_consumer(DURABLE, self.position + 1))
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
                stages = (pump.arrived, trace.now())
                received = [(stream_seq(m), m.data) for m in msgs]
                try:
                    self.position = await asyncio.to_thread(apply_batch, conn, received, schema.SCHEMA,
                                                          self.history, stages)
                except psycopg.Error:
                    # the database, not an event (those are quarantined): try again once it is back
                    log.exception("board: could not apply up to stream seq %d; resubscribing", received[-1][0])
                    await asyncio.sleep(1.0)
                    if conn.closed:
                        conn = await asyncio.to_thread(psycopg.connect, self.database_url, autocommit=True)
                    await pump.stop()
                    pump = await self.subscribe(conn)
                    continue
                await msgs[-1].ack()  # AckPolicy.ALL: acknowledges the whole batch
        finally:
            conn.close()
            await asyncio.to_thread(self.snapshots.close)
