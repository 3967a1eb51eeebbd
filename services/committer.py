"""Group commit: concurrent commands saved together, each durable before its reply.

eventsourcing serialises writers to one application (``LOCK TABLE … IN EXCLUSIVE
MODE``), so one transaction per command caps a service near a thousand commands a
second. Requests hand their new events to one writer thread, which saves whatever has
queued up in a single ``Application.save(*events)`` transaction and then releases every
waiting request. Nothing is acknowledged before its commit; if a shared transaction
fails (say, two commands raced on one aggregate), each command is retried alone so that
only the guilty one gets the error; if it fails because PostgreSQL cannot be reached, every
command of the batch gets that error at once.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import InterfaceError, OperationalError, Recording
from psycopg.errors import PipelineAborted

from events import trace

log = logging.getLogger("coalition.committer")

MAX_BATCH = 1000

Done = Callable[[BaseException | None], None]
Queued = tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...], Done, int]
"""A command's events, what ``check`` made of them (one each, or none), the answers to
record with them (idempotency), its waiter, and when its request was received
(``events.trace``; 0 outside a request)."""
Committed = Callable[[list[Recording], list[Any], list[int], int], None]
"""``on_commit(recordings, checked, received, committed)``: what a commit saved, what the
check made of it (or []), when each recording's request was received (one each), and when
the commit returned (``events.trace`` times)."""


class GroupCommitter:
    def __init__(self, app: Application,
                 on_commit: Committed | None = None,
                 check: Callable[[tuple[Any, ...]], list[Any]] | None = None) -> None:
        """``check(events)`` may refuse a command's events (by raising) before they are
        queued; what it returns for each event is handed to ``on_commit`` beside the
        recordings (the relay takes the events as the check translated them)."""
        self._app = app
        self._queue: queue.SimpleQueue[Queued | None] = queue.SimpleQueue()
        self._on_commit = on_commit
        self._check = check
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def _events(self, aggregates: tuple[Any, ...]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        # Collected by the caller: a failed shared save must not lose the events of a
        # command that is then retried alone.
        events = tuple(e for agg in aggregates for e in agg.collect_events())
        # a refusal raises here, in the caller: nothing is stored
        checked = tuple(self._check(events)) if self._check is not None else ()
        return events, checked

    async def commit(self, *aggregates: Any, answers: tuple[Any, ...] = ()) -> None:
        """Wait, without blocking the event loop, until the aggregates' new events are
        committed (with ``answers``: ``events.recorder.Answer`` rows in the same transaction)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def resolve(exc: BaseException | None) -> None:
            def settle() -> None:
                if done.done():
                    return
                if exc is None:
                    done.set_result(None)
                else:
                    done.set_exception(exc)

            loop.call_soon_threadsafe(settle)

        self._queue.put((*self._events(aggregates), answers, resolve, trace.RECEIVED.get()))
        await done

    async def commit_each(self, commands: list[tuple[tuple[Any, ...], tuple[Any, ...]]]) -> list[BaseException | None]:
        """Several commands at once (``POST /v1/batch``), each ``(aggregates, answers)`` as
        :meth:`commit` takes one: checked and queued one by one, so each still commits or
        fails on its own (a refused one fails alone), but all queued before this waits, and
        the event loop woken once when the last is settled. Returns, per command, None once
        it is durable, or what refused it."""
        outcomes: list[BaseException | None] = [None] * len(commands)
        queued: list[Queued] = []
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        left = [0]
        received = trace.RECEIVED.get()

        def settle() -> None:
            if not done.done():
                done.set_result(None)

        def resolver(index: int) -> Done:
            def resolve(exc: BaseException | None) -> None:  # on the writer thread only
                outcomes[index] = exc
                left[0] -= 1
                if left[0] == 0:
                    loop.call_soon_threadsafe(settle)

            return resolve

        for index, (aggregates, answers) in enumerate(commands):
            try:
                queued.append((*self._events(aggregates), answers, resolver(index), received))
            except Exception as exc:  # noqa: BLE001 - this command's refusal, handed back
                outcomes[index] = exc
        left[0] = len(queued)
        if not queued:
            return outcomes
        for entry in queued:
            self._queue.put(entry)
        await done
        return outcomes

    def save(self, *aggregates: Any) -> None:
        """Block until the aggregates' new events are committed (for threads and scripts)."""
        done: Future[None] = Future()

        def resolve(exc: BaseException | None) -> None:
            if exc is None:
                done.set_result(None)
            else:
                done.set_exception(exc)

        self._queue.put((*self._events(aggregates), (), resolve, trace.RECEIVED.get()))
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

    def _save(self, events: Any, answers: list[Any]) -> list[Recording]:
        return self._app.save(*events, answers=answers) if answers else self._app.save(*events)

    def _commit(self, batch: list[Queued]) -> None:
        recordings: list[Recording] = []
        checked: list[Any] = []
        received: list[int] = []
        committed = 0
        try:
            recordings = self._save((e for events, _, _, _, _ in batch for e in events),
                                    [a for _, _, answers, _, _ in batch for a in answers])
            checked = [c for _, made, _, _, _ in batch for c in made]
            received = [at for events, _, _, _, at in batch for _ in events]
        except (OperationalError, InterfaceError) as exc:
            if len(batch) > 1 and isinstance(exc.__cause__, PipelineAborted):
                # not PostgreSQL away: one command's error (two retries of one Idempotency-Key,
                # say) aborted the pipeline the save runs in, and eventsourcing reports the abort
                # as an OperationalError; isolate the guilty command as for any other error
                self._one_by_one(batch, recordings, checked, received)
                return self._handed_over(recordings, checked, received, committed)
            # PostgreSQL is unreachable: every command fails alike, at once (a 503), rather
            # than each waiting out the pool's timeout again alone
            log.warning("group commit of %d commands failed: %s", len(batch), exc)
            for _, _, _, done, _ in batch:
                done(exc)
        except Exception:  # noqa: BLE001 - isolate the failing command below
            self._one_by_one(batch, recordings, checked, received)
        else:
            committed = trace.now()
            for _, _, _, done, _ in batch:
                done(None)
        self._handed_over(recordings, checked, received, committed)

    def _one_by_one(self, batch: list[Queued], recordings: list[Recording], checked: list[Any],
                    received: list[int]) -> None:
        """Each command of a failed shared save alone, so only the guilty one gets its error."""
        for events, made, answers, done, at in batch:
            try:
                recordings += self._save(events, list(answers))
            except Exception as exc:  # noqa: BLE001 - handed to the waiting request
                done(exc)
            else:
                checked += made
                received += [at] * len(events)
                done(None)

    def _handed_over(self, recordings: list[Recording], checked: list[Any], received: list[int],
                     committed: int) -> None:
        if self._on_commit is not None:
            self._on_commit(recordings, checked if len(checked) == len(recordings) else [],
                            received if len(received) == len(recordings) else [], committed or trace.now())
