"""The board in memory and its snapshots, kept by a second process during a rebuild.

A rebuild's snapshots (``History``, one every ``SNAPSHOT_EVERY`` events) cost as much CPU
as decoding, folding and writing the tables together: each encodes the whole board
so far. One Python process runs one core at a time, so the rebuild hands them to this
process and both cores work: the rebuild writes the tables and ``board.log`` in its
transactions and sends each batch's applied events here (stream sequence and raw
bytes: what the board's log holds); this process decodes them again, moves its board
in memory with the same ``History.record`` (same batches, so the same snapshots at the
same positions) and writes the snapshots into the shadow schema, each batch in a
transaction of its own. The shadow is swapped in only after this process said all its
snapshots are committed, so the board never goes live without them; if either side
fails, the rebuild fails and the shadow is dropped by the next one.
"""

from __future__ import annotations

import gc
import queue
import struct
import subprocess
import sys
import threading
import time
from typing import IO, Any

import msgspec
import psycopg
from psycopg import sql

from contracts import CloudEvent, decode_envelope
from projections.board.history import Applied, History, write_log

_batch = msgspec.msgpack.Encoder()
_read = msgspec.msgpack.Decoder(tuple[int, list[tuple[int, bytes]]])
_start = msgspec.msgpack.Decoder(tuple[str, str, str | None])
DONE = b""
_LENGTH = struct.Struct(">I")


def write_frame(out: IO[bytes], body: bytes) -> None:
    out.write(_LENGTH.pack(len(body)))
    out.write(body)
    out.flush()


def read_frame(source: IO[bytes]) -> bytes:
    head = source.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError("the other side closed the pipe")
    (size,) = _LENGTH.unpack(head)
    body = source.read(size)
    if len(body) < size:
        raise EOFError("the other side closed the pipe")
    return body


class HistoryProcess:
    """The parent's side: start, ``record`` (or ``send``) each batch in order, ``finish``
    before the swap. The child is a fresh interpreter (``python -m`` this module) fed
    through its standard input: no fork of a process holding threads and sockets, no
    re-import of the caller's main module, and the database URL (a password) never on
    a command line."""

    def __init__(self, database_url: str, schema: str, role: str | None = None) -> None:
        self.schema = schema
        self.process = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.to_child, self.from_child = self.process.stdin, self.process.stdout
        write_frame(self.to_child, _batch.encode((database_url, schema, role)))
        self.busy = self.cpu = 0.0
        """seconds the child spent recording (decoding, folding, snapshots, writing them), and its CPU"""

    def record(self, conn: psycopg.Connection, applied: Applied, position: int, written: object = None) -> None:
        """What ``History.record`` does, split: ``board.log`` in the caller's transaction here,
        the board in memory and its snapshots there (``apply_received`` calls this)."""
        write_log(conn, applied, self.schema)
        self.send(applied, position)

    def send(self, applied: Applied, position: int) -> None:
        """Hand over one batch's applied events (the board's log of it) and its position."""
        try:
            write_frame(self.to_child, _batch.encode((position, [(seq, raw) for seq, _, raw in applied])))
        except BrokenPipeError:
            raise RuntimeError(f"the rebuild's history process stopped: {self._answer()}") from None

    def _answer(self) -> str:
        try:
            return read_frame(self.from_child).decode()
        except EOFError as exc:
            return str(exc)

    def finish(self) -> None:
        """Wait until every snapshot sent for is committed; raise what went wrong if not."""
        write_frame(self.to_child, DONE)
        answer = self._answer()
        if not answer.startswith("ok "):
            raise RuntimeError(f"the rebuild's history process failed: {answer}")
        self.busy, self.cpu = (float(x) for x in answer.split()[1:3])
        self.process.wait(60)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.to_child.close()
        self.from_child.close()


def main() -> None:
    """The child: record every batch received, then answer ``ok <busy seconds>``."""
    # The board in memory is many small objects and no cycles: a collection would walk it
    # all again at every threshold.
    gc.disable()
    source, out = sys.stdin.buffer, sys.stdout.buffer
    batches: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=4)

    def receive() -> None:  # the next batch is read while this one is recorded
        try:
            while (message := read_frame(source)) != DONE:
                batches.put(message)
        except BaseException as exc:  # noqa: BLE001 - the parent went away: stop
            batches.put(exc)
            return
        batches.put(DONE)

    busy = 0.0
    try:
        database_url, schema, role = _start.decode(read_frame(source))
        threading.Thread(target=receive, daemon=True).start()
        with psycopg.connect(database_url) as conn:
            if role:
                conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
                conn.commit()
            history = History(schema, fresh=True, log=False)
            while (message := batches.get()) != DONE:
                if isinstance(message, BaseException):
                    raise message
                began = time.perf_counter()
                position, raws = _read.decode(message)
                applied: list[tuple[int, CloudEvent, Any]] = [(seq, decode_envelope(raw), raw) for seq, raw in raws]
                with conn.transaction():
                    history.record(conn, applied, position)
                busy += time.perf_counter() - began
        write_frame(out, f"ok {busy:.3f} {time.process_time():.3f}".encode())
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the rebuild
        write_frame(out, f"{type(exc).__name__}: {exc}".encode())


if __name__ == "__main__":
    main()
