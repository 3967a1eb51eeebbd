"""Group commit: concurrent commands saved together, each durable before its reply.

eventsourcing serialises writers to one application (``LOCK TABLE … IN EXCLUSIVE
MODE``), so one transaction per command caps a service near a thousand commands a
second. Request threads hand their new events to one writer thread, which saves
whatever has queued up in a single ``Application.save(*aggregates)`` transaction and
then releases every waiting request. Nothing is acknowledged before its commit; if a
shared transaction fails (say, two commands raced on one aggregate), each command is
retried alone so that only the guilty one gets the error.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from typing import Any

from eventsourcing.application import Application

log = logging.getLogger("coalition.committer")

MAX_BATCH = 500


class GroupCommitter:
    def __init__(self, app: Application, on_commit: Any = None) -> None:
        self._app = app
        self._queue: queue.SimpleQueue[tuple[tuple[Any, ...], Future[None]] | None] = queue.SimpleQueue()
        self._on_commit = on_commit
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def save(self, *aggregates: Any) -> None:
        """Block until the aggregates' pending events are committed (or raise why not)."""
        # Collect here: a failed shared save must not lose the events of a command
        # that is then retried alone.
        events = tuple(e for agg in aggregates for e in agg.collect_events())
        done: Future[None] = Future()
        self._queue.put((events, done))
        done.result()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                batch.append(nxt)
            self._commit(batch)

    def _commit(self, batch: list[tuple[tuple[Any, ...], Future[None]]]) -> None:
        try:
            self._app.save(*(e for events, _ in batch for e in events))
        except Exception:  # noqa: BLE001 - isolate the failing command below
            if len(batch) == 1:
                self._fail_or_succeed(batch[0])
            else:
                for item in batch:
                    self._fail_or_succeed(item)
        else:
            for _, done in batch:
                done.set_result(None)
        if self._on_commit is not None:
            self._on_commit()

    def _fail_or_succeed(self, item: tuple[tuple[Any, ...], Future[None]]) -> None:
        events, done = item
        try:
            self._app.save(*events)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting request
            done.set_exception(exc)
        else:
            done.set_result(None)
