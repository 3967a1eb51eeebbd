"""The live board's snapshots, written after their batches' commits (issue 10): the
projection only encodes a snapshot inside the batch that passes a multiple of the
snapshot interval, and a ``SnapshotWriter`` compresses and inserts it once that batch
has committed, in its own thread and connection.

What that must not change: each snapshot is byte for byte the one the board wrote in
the batch's transaction (the rebuild still does), and an as-of view is as exact when a
snapshot is missing — not written yet, or lost in a crash — because it reads the one
before and replays more of the board's log."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import psycopg
import pytest

from bench.common import engines
from bench.logdata import LogGenerator
from projections.board import schema, snapshots
from projections.board.history import History, SnapshotWriter, state_at
from projections.board.projector import apply_batch, apply_received
from services.relay import relay_message

EVERY = 400  # a snapshot every 400 events: several in a short log
EVENTS = 2_300
BATCH = 150  # batches that do not end on the multiples
IN_THE_BATCH = "board_inline"


def snapshot_rows(conn: psycopg.Connection, board: str) -> list[tuple[int, bytes]]:
    return [(p, bytes(b)) for p, b in conn.execute(f"SELECT position, body FROM {board}.snapshots ORDER BY position",
                                                   binary=True).fetchall()]


def causal_log(count: int) -> list[tuple[int, bytes]]:
    """``count`` events of the four services as their relays put them on the shared log,
    in the order the services made them (an item before what changes it): the board is
    then the same whatever the batches, which is what lets an as-of view start from any
    snapshot. (``bench.logdata.fill_stream`` interleaves the services in batches of a
    thousand, where a change can come before its item.)"""
    counts: dict[str, int] = {}
    log: list[tuple[int, bytes]] = []
    for seq, (service, event) in enumerate(LogGenerator(11).entries(count), start=1):
        counts[service] = counts.get(service, 0) + 1
        log.append((seq, relay_message(service, counts[service], event).payload))
    return log


@pytest.fixture(scope="module")
def two_boards(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[int]]]:
    """The same log applied twice in the same batches: into ``board`` as the live projection
    does (snapshots written after each commit) and into ``board_inline`` with the snapshots
    inserted inside the batches' transactions. Yields the database and the batches' ends."""
    received = causal_log(EVENTS)
    batches = [received[start:start + BATCH] for start in range(0, len(received), BATCH)]
    with engines(tmp_path_factory.mktemp("snapshots") / "data") as eng:
        writer = SnapshotWriter(eng.database_url)
        live, inline = History(schema.SCHEMA, every=EVERY, writer=writer), History(IN_THE_BATCH, every=EVERY)
        with psycopg.connect(eng.database_url, autocommit=True) as conn:
            with conn.transaction():
                schema.create(conn)
                schema.create(conn, IN_THE_BATCH)
            for batch in batches:
                apply_batch(conn, batch, schema.SCHEMA, live)
                with conn.transaction():
                    apply_received(conn, batch, IN_THE_BATCH, inline)
        writer.close()  # a clean stop: what is pending is written
        yield eng.database_url, [batch[-1][0] for batch in batches]


def test_the_snapshots_written_after_the_commit_are_those_written_in_it_byte_for_byte(
        two_boards: tuple[str, list[int]]) -> None:
    database_url, _ = two_boards
    with psycopg.connect(database_url) as conn:
        after, within = snapshot_rows(conn, schema.SCHEMA), snapshot_rows(conn, IN_THE_BATCH)
        assert len(after) == EVENTS // EVERY  # one each time the board passed a multiple
        assert after == within
        for position, body in after:  # and each is the board at its position, encoded whole
            assert body == snapshots.encode(state_at(conn, position, IN_THE_BATCH))


def test_an_as_of_board_is_the_same_when_a_snapshot_was_never_written(two_boards: tuple[str, list[int]]) -> None:
    """The writer had not got to it, or the process died first: the view reads the snapshot
    before and replays the log from there, to the same board."""
    database_url, ends = two_boards
    with psycopg.connect(database_url) as conn:
        written = snapshot_rows(conn, schema.SCHEMA)
        asked = [p for p in ends if written[1][0] <= p < written[3][0]] + [written[2][0]]
        boards = {p: snapshots.encode(state_at(conn, p, schema.SCHEMA)) for p in asked}
        with conn.transaction(force_rollback=True):
            conn.execute("DELETE FROM board.snapshots WHERE position = %s", [written[2][0]])
            assert {p: snapshots.encode(state_at(conn, p, schema.SCHEMA)) for p in asked} == boards


def test_a_batch_that_did_not_commit_leaves_no_snapshot_to_write(two_boards: tuple[str, list[int]]) -> None:
    """The board in memory moved with a transaction that failed: it is forgotten with the
    snapshot it made, which is made again when the same events come again."""
    database_url, _ = two_boards
    with psycopg.connect(database_url, autocommit=True) as conn:
        board = "board_failed"
        with conn.transaction():
            schema.create(conn, board)
        rows = conn.execute(f"SELECT seq, raw FROM board.log ORDER BY seq LIMIT {EVERY + 10}",
                            binary=True).fetchall()
        received = [(seq, bytes(raw)) for seq, raw in rows]
        history = History(board, every=EVERY, writer=SnapshotWriter(database_url))
        with pytest.raises(RuntimeError), conn.transaction():
            apply_received(conn, received, board, history)
            assert len(history.pending) == 1  # made, to be written after a COMMIT
            raise RuntimeError("the database went away before COMMIT")
        history.forget()
        assert history.pending == [] and history.state is None
        apply_batch(conn, received, board, history)
        assert history.writer is not None
        history.writer.close()
        (position, body), = snapshot_rows(conn, board)
        assert body == snapshots.encode(state_at(conn, position, board))


def test_a_snapshot_the_writer_cannot_write_is_dropped_and_the_next_is_written(
        two_boards: tuple[str, list[int]]) -> None:
    """The database refuses one (here: its board is gone, as after a rebuild's swap): it is
    logged and dropped, and the writer goes on with the next."""
    database_url, _ = two_boards
    with psycopg.connect(database_url, autocommit=True) as conn:
        with conn.transaction():
            schema.create(conn, "board_kept")
        position, body = snapshot_rows(conn, schema.SCHEMA)[0]
        packed = msgspec.msgpack.encode(snapshots.decode_snapshot(body))  # its body before compression
        writer = SnapshotWriter(database_url)
        writer.submit([("board_gone", position, packed), ("board_kept", position, packed)])
        writer.close()
        assert writer.written == 1
        assert snapshot_rows(conn, "board_kept") == [(position, body)]
