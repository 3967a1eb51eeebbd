"""The board's history, kept beside it in the same transactions: its own copy of the log
it applied (``board.log``) and snapshots of the board in memory (``board.snapshots``)
every ``SNAPSHOT_EVERY`` events, from which any earlier board is replayed.

The projector and the rebuild both call ``History.record`` inside the transaction that
writes a batch, with the events the board applied (the quarantined ones are neither on
the board nor in its log), so the log and the tables never disagree.

A snapshot is only a shortcut: an as-of view (``nearest``) reads the nearest snapshot at
or before its position and replays the log from there, so a snapshot missing — not
written yet, or lost in a crash — means the one before it is read and more of the log
replayed, with the same exact board. The live projection uses that: the batch that
passes a multiple of ``SNAPSHOT_EVERY`` only encodes the board (``Encoded.packed``: the
items changed since the last snapshot, the rest joined as bytes), and a
``SnapshotWriter`` compresses and inserts it after that batch's commit, in a thread of
its own with its own connection, so the events behind that batch do not wait for it.
The rebuild (and a ``History`` without a writer) still inserts each snapshot in the
batch's transaction. Either way a snapshot's bytes are ``snapshots.encode`` of the
board at its position."""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import psycopg
from psycopg import Connection, sql

from contracts import CloudEvent, decode_envelope
from projections.board import memory, snapshots
from projections.board.fold import Changes, concerned, fold

log = logging.getLogger("coalition.board.history")

#: A snapshot of the board every so many events of the log: an as-of view replays at most
#: this many events after reading the nearest snapshot before it.
SNAPSHOT_EVERY = 5_000

Applied = list[tuple[int, CloudEvent, bytes]]
"""Events the board applied: stream sequence, the decoded event, its raw bytes."""

LOG_COLUMNS = ("seq", "kind", "org", "subject", "items", "time", "tlp", "audience", "raw")


def log_row(seq: int, ce: CloudEvent, raw: bytes) -> tuple[object, ...]:
    d = ce.data
    return (seq, ce.type, d.org, ce.subject, concerned(ce), ce.time, d.tlp, d.audience, raw)


#: ``board.log``'s column types, for a binary COPY: the raw event goes as it is, not as hex text.
LOG_TYPES = ("int8", "text", "text", "text", "text[]", "timestamptz", "text", "text[]", "bytea")


def write_log(conn: Connection, applied: Applied, schema: str) -> None:
    """``applied`` into ``board.log``, inside the caller's transaction."""
    if applied:
        with conn.cursor() as cur, cur.copy(sql.SQL("COPY {}.log ({}) FROM STDIN (FORMAT BINARY)").format(
                sql.Identifier(schema), sql.SQL(", ").join(map(sql.Identifier, LOG_COLUMNS)))) as copy:
            copy.set_types(LOG_TYPES)
            for seq, ce, raw in applied:
                copy.write_row(log_row(seq, ce, raw))


def replay(state: memory.State, raws: Iterable[tuple[int, bytes]], position: int) -> memory.State:
    """``state`` moved on by the logged events ``raws`` (in order), up to ``position``: the
    same fold as the live board, in one batch (which gives the board of applying them one
    by one)."""
    with no_collection():
        batch = [(seq, decode_envelope(raw)) for seq, raw in raws]
        changes = fold(batch)  # type: ignore[arg-type]
        changes.last_seq = max(position, state.position)
        memory.apply(state, changes)
    return state


@contextmanager
def no_collection() -> Iterator[None]:
    """Python's cyclic garbage collector paused: building a board allocates many objects
    and no cycles, and a collection walks the whole board again each time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def nearest(conn: Connection, position: int, schema: str) -> snapshots.Snapshot:
    """The nearest snapshot at or before ``position`` (an empty board if none)."""
    row = conn.execute(sql.SQL("SELECT body FROM {}.snapshots WHERE position <= %s "
                               "ORDER BY position DESC LIMIT 1").format(sql.Identifier(schema)), [position],
                       binary=True).fetchone()
    with no_collection():
        return snapshots.decode_snapshot(bytes(row[0])) if row else snapshots.Snapshot()


def logged(conn: Connection, after: int, position: int, schema: str) -> list[tuple[int, bytes]]:
    """The raw events of ``board.log`` after ``after`` up to ``position``, in order."""
    return conn.execute(sql.SQL("SELECT seq, raw FROM {}.log WHERE seq > %s AND seq <= %s ORDER BY seq")
                        .format(sql.Identifier(schema)), [after, position], binary=True).fetchall()


def state_at(conn: Connection, position: int, schema: str) -> memory.State:
    """The board in memory as it stood at ``position``: the nearest snapshot at or
    before it, and the log from there."""
    snapshot = nearest(conn, position, schema)
    with no_collection():
        state = snapshots.state_of(snapshot)
    return replay(state, logged(conn, snapshot.position, position, schema), position)


def insert_snapshot(conn: Connection, schema: str, position: int, body: bytes) -> None:
    conn.execute(sql.SQL("INSERT INTO {}.snapshots (position, body) VALUES (%s, %s) "
                         "ON CONFLICT (position) DO NOTHING").format(sql.Identifier(schema)), [position, body])


Pending = tuple[str, int, bytes]
"""A snapshot to write: the board's schema, its position, its body as MessagePack (not compressed)."""


class SnapshotWriter:
    """Compresses and inserts the live board's snapshots after the batches that made them
    have committed: one daemon thread, started with the first snapshot, with its own
    connection (autocommit: one INSERT is one transaction), writing them in order.

    Nothing waits for it. A snapshot it could not write (the database away, the process
    stopped first) is logged and dropped: an as-of view then reads the one before it
    and replays more of the log, as exact (see the module's docstring)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.queue: queue.Queue[Pending | None] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.written = 0
        """snapshots written (for tests and logs)"""

    def submit(self, batch: list[Pending]) -> None:
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="board-snapshots", daemon=True)
                self.thread.start()
        for pending in batch:
            self.queue.put(pending)

    def _run(self) -> None:
        conn: Connection | None = None
        try:
            while (pending := self.queue.get()) is not None:
                board, position, packed = pending
                began = time.perf_counter()
                try:
                    body = snapshots.compress(packed)
                    if conn is None or conn.closed:
                        conn = psycopg.connect(self.database_url, autocommit=True)
                    insert_snapshot(conn, board, position, body)
                except Exception as exc:  # noqa: BLE001 - a shortcut lost, never the writer: the next may be written
                    log.warning("board: snapshot at %d not written (%s: %s); an as-of view replays from the one "
                                "before it", position, type(exc).__name__, exc)
                    if conn is not None:
                        conn.close()
                    conn = None
                    continue
                self.written += 1
                log.info("board: snapshot at %d compressed (%d → %d bytes) and written in %.1f ms, after its "
                         "batch", position, len(packed), len(body), 1000 * (time.perf_counter() - began))
        finally:
            if conn is not None:
                conn.close()

    def close(self, timeout: float = 5.0) -> None:
        """Write what is pending, for up to ``timeout`` seconds; what is left then is
        dropped (logged): a stop is never held longer for a shortcut."""
        with self.lock:
            thread, self.thread = self.thread, None
        if thread is None:
            return
        self.queue.put(None)
        thread.join(timeout)
        if thread.is_alive():
            left = self.queue.qsize()
            log.warning("board: stopping with about %d snapshot(s) not written yet; an as-of view replays "
                        "from the one before", left)


class History:
    """Keeps ``board.log`` and the snapshots of one board schema (the live one, or a
    rebuild's shadow). Holds the board in memory between batches; it is loaded from the
    latest snapshot and the log when first needed, and dropped by ``forget`` when a
    transaction it took part in did not commit."""

    def __init__(self, schema: str, every: int = SNAPSHOT_EVERY, fresh: bool = False, log: bool = True,
                 writer: SnapshotWriter | None = None) -> None:
        self.schema = schema
        self.writer = writer
        """when given, snapshots are compressed and written by it after the commit (``committed``)"""
        self.pending: list[Pending] = []
        """snapshots of the transaction under way, for ``writer`` once it commits"""
        self.every = every
        self.log = log
        """whether ``record`` writes ``board.log`` too (a rebuild writes it in the transaction of
        the tables and leaves the board in memory and its snapshots to another process)"""
        self.state: memory.State | None = memory.State() if fresh else None
        self.encoded = snapshots.Encoded()
        """the items' snapshot entries and bytes, true but for ``stale``: a snapshot makes only those again"""
        self.stale: set[str] = set()

    def forget(self) -> None:
        self.state = None
        self.encoded, self.stale = snapshots.Encoded(), set()
        self.pending = []  # of a transaction that did not commit: made again when its events are

    def committed(self) -> None:
        """The transaction ``record`` wrote in has committed: its snapshots go to the writer."""
        if self.pending and self.writer is not None:
            self.writer.submit(self.pending)
        self.pending = []

    def _load(self, conn: Connection, position: int) -> memory.State:
        """The board at ``position`` from the nearest snapshot (whose entries it keeps) and the log."""
        snapshot = nearest(conn, position, self.schema)
        with no_collection():
            state = snapshots.state_of(snapshot)
            self.encoded = snapshots.Encoded({e.id: e for e in snapshot.items})
            raws = logged(conn, snapshot.position, position, self.schema)
            changes = fold([(seq, decode_envelope(raw)) for seq, raw in raws])  # type: ignore[misc]
            changes.last_seq = max(position, state.position)
            self.stale = memory.apply(state, changes)
        return state

    def record(self, conn: Connection, applied: Applied, position: int,
               written: list[Changes] | None = None) -> None:
        """Inside the caller's transaction: log ``applied`` and move the board in memory to
        ``position`` (the batch's last sequence, quarantined events included), writing a
        snapshot each time it passes a multiple of ``every``.

        ``written`` are the changes the caller folded and wrote to the tables for the same
        events: when no snapshot falls inside the batch (most live batches), the board in
        memory takes those rather than folding the events a second time."""
        if self.log:
            write_log(conn, applied, self.schema)
        if self.state is None:
            # the board before this batch, which is already in the log
            before = applied[0][0] - 1 if applied else position
            self.state = self._load(conn, before)
        state = self.state
        if written is not None and position // self.every == state.position // self.every:
            for changes in written:
                self.stale |= memory.apply(state, changes)
            state.position = position
            return
        chunk: list[tuple[int, CloudEvent | None]] = []
        boundary = (state.position // self.every + 1) * self.every
        for seq, ce, _ in applied:
            chunk.append((seq, ce))
            if seq >= boundary:
                self._advance(state, chunk, seq)
                self._snapshot(conn, state)
                chunk = []
                boundary = (seq // self.every + 1) * self.every
        self._advance(state, chunk, position)
        if position >= boundary:
            self._snapshot(conn, state)

    def _advance(self, state: memory.State, chunk: list[tuple[int, CloudEvent | None]], position: int) -> None:
        changes = fold(chunk)
        changes.last_seq = max(position, state.position)
        self.stale |= memory.apply(state, changes)

    def _snapshot(self, conn: Connection, state: memory.State) -> None:
        """A snapshot of ``state``: the entries of the items changed since the last one are
        made again, the others kept. With a writer, only encoded here (the board in memory
        moves on with the next batch); compressed and inserted after the commit."""
        with no_collection():
            began = time.perf_counter()
            packed = self.encoded.packed(state, self.stale)
        self.stale = set()
        if self.writer is not None:
            self.pending.append((self.schema, state.position, packed))
            log.info("board: snapshot at %d encoded in the batch in %.1f ms; written after its commit",
                     state.position, 1000 * (time.perf_counter() - began))
            return
        insert_snapshot(conn, self.schema, state.position, snapshots.compress(packed))
