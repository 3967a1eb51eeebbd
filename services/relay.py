"""The relay: one service's event store → the shared log, in order, exactly once.

The loop belongs to the service (it knows the service's store and translator); the
publishing mechanics — atomic batches, the order guard, the stream as the checkpoint —
are ``events.publish``'s.

* **Single**: a PostgreSQL advisory lock keeps one relay per service log.
* **Resumes from the stream**: on start, and after any doubt (a lost acknowledgement, a
  refused expectation), it re-reads where this service's part of the stream ends.
* **Never skips**: an event it cannot publish is retried, so that a fix deployed
  resumes in order; nothing is lost. It says so once a minute, with how many attempts
  failed meanwhile, not once per attempt.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections import deque
from collections.abc import Callable
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import Recording
from nats.aio.client import Client as NATS
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import APIError

from events import trace
from events.publish import Message, OrderedPublisher, Position, message
from services.translator import Prepared, translate

log = logging.getLogger("coalition.relay")

BATCH = 500
HANDED_LIMIT = 100_000

Handed = tuple[int, Any, Prepared | None, int, int]
"""A committed event handed over: its notification id, the domain event, the event as
the committer's check already translated it (None: translate it here), and when its
request was received and its commit returned (``events.trace``; 0 if not known)."""
REPORT_EVERY = 60.0
"""Seconds between two reports of a relay that keeps failing."""


class Trouble:
    """A failure that recurs, reported when it starts and then once every ``every`` seconds
    with the number of failed attempts since the last report; and once when it is over."""

    def __init__(self, service: str, every: float = REPORT_EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        self.service = service
        self.every = every
        self.clock = clock
        self.failures = 0  # since the trouble began
        self.unreported = 0  # since the last report
        self.began = 0.0
        self.reported = 0.0

    def failed(self, what: str, exc: BaseException) -> None:
        """One more failed attempt: logged if it is the first, or a minute after the last report."""
        now = self.clock()
        if self.failures == 0:
            self.began = now
        self.failures += 1
        self.unreported += 1
        if self.failures > 1 and now - self.reported < self.every:
            return
        attempts = "" if self.failures == 1 else (
            f" ({self.unreported} failed attempts in the last {now - self.reported:.0f}s, "
            f"{self.failures} since {now - self.began:.0f}s ago)")
        log.error("relay %s: %s%s", self.service, what, attempts, exc_info=exc)
        self.reported = now
        self.unreported = 0

    def over(self) -> None:
        """An attempt succeeded: say so if there was trouble."""
        if self.failures:
            log.info("relay %s: working again after %d failed attempts in %.0fs",
                     self.service, self.failures, self.clock() - self.began)
        self.failures = self.unreported = 0


class Relay:
    def __init__(self, service: str, application: Application, nc: NATS, database_url: str) -> None:
        self.service = service
        self.application = application
        self.publisher = OrderedPublisher(nc, service)
        self.database_url = database_url
        self.position = Position()
        self._wake = asyncio.Event()
        self._handed: deque[Handed] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.trouble = Trouble(service)

    def wake(self, recordings: list[Recording] | None = None, prepared: list[Prepared] | None = None,
             received: list[int] | None = None, committed: int = 0) -> None:
        """Thread-safe: new events were committed (and here they are, if the caller has them).

        Handing over the committed events spares the relay reading them back from
        PostgreSQL; it still reads the store whenever what it was handed does not follow
        on exactly from where the stream ends (a gap, a restart). With ``prepared`` (the
        events as the committer's check translated and encoded them, one per recording), it
        does not translate them again. ``received`` (one per recording) and ``committed``
        are the stage times the messages carry (``events.trace``)."""
        if self._loop is None:
            return
        recordings = recordings or []
        ready: list[Prepared | None] = list(prepared) if prepared else [None] * len(recordings)
        times = received or [0] * len(recordings)
        handed = [(r.notification.id, r.domain_event, p, at, committed)
                  for r, p, at in zip(recordings, ready, times, strict=True)]
        self._loop.call_soon_threadsafe(self._hand_over, handed)

    def _hand_over(self, handed: list[Handed]) -> None:
        """On the relay's loop, so that the queue is only ever touched by one thread."""
        if len(self._handed) + len(handed) > HANDED_LIMIT:
            self._handed.clear()  # the relay is far behind (NATS down?): it reads the store instead
        else:
            self._handed.extend(handed)
        self._wake.set()

    def _from_handed(self) -> list[Handed]:
        after = self.position.notification_id
        while self._handed and self._handed[0][0] <= after:
            self._handed.popleft()
        if not self._handed or self._handed[0][0] != after + 1:
            return []
        out: list[Handed] = []
        expected = after + 1
        for handed in self._handed:
            if handed[0] != expected or len(out) >= BATCH:
                break
            out.append(handed)
            expected += 1
        return out

    @property
    def lock_key(self) -> int:
        return zlib.crc32(f"coalition-relay:{self.service}".encode())

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop``; if PostgreSQL or NATS go away, start over (lock, position)."""
        self._loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                await self._run(stop)
            except Exception as exc:  # noqa: BLE001 - an engine restarting: the lock is gone with it
                self.trouble.failed("lost PostgreSQL or NATS; starting over", exc)
                await _sleep_or_stop(stop, 1.0)

    async def _run(self, stop: asyncio.Event) -> None:
        async with await psycopg.AsyncConnection.connect(self.database_url, autocommit=True) as lock:
            while not stop.is_set():
                row = await (await lock.execute("SELECT pg_try_advisory_lock(%s)", (self.lock_key,))).fetchone()
                if row and row[0]:
                    break
                log.info("relay %s: another relay holds the lock; waiting", self.service)
                await _sleep_or_stop(stop, 1.0)
            if stop.is_set():
                return
            log.info("relay %s: holding the lock", self.service)
            self.position = await self.publisher.read_position()
            log.info("relay %s: resuming after notification %d (stream seq %d)",
                     self.service, self.position.notification_id, self.position.stream_seq)
            checked = asyncio.get_running_loop().time()
            look = True  # in the store: at first, after trouble, and after a quiet wait
            while not stop.is_set():
                # Cleared before looking, so a commit made while we look is not missed.
                self._wake.clear()
                try:
                    moved = await self.step(look)
                except (NatsTimeout, asyncio.TimeoutError, APIError) as exc:
                    self.trouble.failed(f"cannot publish after notification {self.position.notification_id} "
                                        f"({exc}); re-reading the stream and retrying", exc)
                    await self._recover(stop, 0.2)
                    look = True
                    continue
                except Exception as exc:  # noqa: BLE001
                    # A bug (an event with no contract, say): never skip it, which would
                    # lose it; say so and retry, so a fix deployed resumes in order.
                    self.trouble.failed(f"cannot publish after notification {self.position.notification_id}; "
                                        "retrying", exc)
                    await self._recover(stop, 2.0)
                    look = True
                    continue
                self.trouble.over()  # the store was read and the stream took what there was
                look = False
                if not moved or not self._handed:
                    waiter = asyncio.ensure_future(self._wake.wait())
                    stopper = asyncio.ensure_future(stop.wait())
                    await asyncio.wait({waiter, stopper}, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
                    # Quiet for half a second: look in the store, for what no commit of this
                    # process handed over (another process's, a hand-over dropped when far behind).
                    look = not waiter.done()
                    waiter.cancel()
                    stopper.cancel()
                if asyncio.get_running_loop().time() - checked > 1.0:
                    # The lock lives as long as this connection: if it is gone, so is the lock.
                    await lock.execute("SELECT 1")
                    checked = asyncio.get_running_loop().time()

    async def _recover(self, stop: asyncio.Event, pause: float) -> None:
        await _sleep_or_stop(stop, pause)
        try:
            self.position = await self.publisher.read_position()
        except Exception as exc:  # noqa: BLE001 - NATS may be restarting; try again next round
            self.trouble.failed("cannot read the stream's position; retrying", exc)

    async def step(self, look: bool = True) -> bool:
        """Publish the next batch of stored events; False when there was none.

        The events handed over by the committer are published as they are; the store is
        read only when they do not follow on from the stream (a gap) or when ``look``.
        Reading it after every batch, to find it mostly empty, cost a query per batch and
        raced the next hand-over (a commit that returned during the query was published
        from the store, its stage times lost)."""
        events = self._from_handed()
        if not events and (look or self._handed):
            notifications = await asyncio.to_thread(
                self.application.recorder.select_notifications,
                self.position.notification_id, BATCH, inclusive_of_start=False,
            )
            events = [(n.id, self.application.mapper.to_domain_event(n), None, 0, 0) for n in notifications]
        if not events:
            return False
        relayed = trace.now()
        batch = [relay_message(self.service, nid, event, trace.header(received, committed, relayed))
                 if ready is None else message(self.service, nid, *ready, trace=trace.header(received, committed, relayed))
                 for nid, event, ready, received, committed in events]
        self.position = await self.publisher.publish(self.position, batch)
        return True


def relay_message(service: str, notification_id: int, domain_event: Any, stages: str | None = None) -> Message:
    """A stored domain event of ``service`` as its message on the shared log (``stages``:
    its ``events.trace`` header)."""
    subject, envelope = translate(service, domain_event)
    return message(service, notification_id, subject, envelope, trace=stages)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass
