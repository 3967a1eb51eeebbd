"""The end of the shared log, read once for every endpoint: the deliverer's one reader.

Endpoints that keep up read from here (the events after their position, already decoded
once); one that is behind (down for a week, or redelivering from a position) reads its
own pages from the log (``events.logread``): there is no retention cliff, the log is the
queue, and a slow endpoint costs nobody else anything.

**Idle, it waits.** At the end of the log the tail does not ask NATS again and again: it
waits to be nudged (:meth:`Tail.nudge`: the deliverer hears the board's ``NOTIFY board``,
sent with each position the board commits) and otherwise looks again every
:data:`LOOK_EVERY` seconds (one direct get, answered "nothing there" by the server), so
that it keeps going while the board is away. While the log moves, it reads page after
page without waiting.

It keeps the partners' changes (``events.partnership_log``) complete to its end: a page
that holds a ``partner.changed`` is followed by one request for the changes on their own
subject, so an endpoint's walk never passes a change it does not know.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from dataclasses import dataclass

from nats.aio.client import Client as NATS

from contracts import CloudEvent
from contracts.partners import PartnerChanged
from events.logread import MAX_BATCH, log_end, read_after
from events.partnership_log import PartnershipLog
from events.replay import decode

log = logging.getLogger("coalition.webhooks.tail")

#: Seconds between two looks at the log while nothing nudges the tail.
LOOK_EVERY = 0.25


@dataclass(frozen=True, slots=True)
class Entry:
    """One message of the log: its position, its bytes (the body delivered as they are on
    the log) and the event decoded (None: not a valid shared event, never delivered)."""

    position: int
    raw: bytes
    event: CloudEvent | None


def entries(page: list[tuple[int, bytes]]) -> list[Entry]:
    return [Entry(seq, raw, decode(seq, raw)) for seq, raw in page]


class Tail:
    def __init__(self, nc: NATS, keep: int = 50_000, look_every: float = LOOK_EVERY) -> None:
        self.nc = nc
        self.keep = keep
        self.look_every = look_every
        self.end = 0
        self.partnerships = PartnershipLog(nc)
        self._positions: list[int] = []
        self._entries: list[Entry] = []
        self._moved = asyncio.Event()
        self._nudged = asyncio.Event()

    async def start(self) -> None:
        self.end = await log_end(self.nc)
        await self.partnerships.complete_to(self.end)

    def nudge(self, position: int) -> None:
        """The log is known to reach ``position`` (the board committed it): look now."""
        if position > self.end:
            self._nudged.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the log until ``stop``: each new page kept, and every waiting endpoint woken."""
        while not stop.is_set():
            self._nudged.clear()  # before reading: a nudge from here on wakes the wait below
            try:
                page = entries(await read_after(self.nc, self.end, MAX_BATCH))
                if page:
                    await self._complete(page)
            except Exception as exc:  # noqa: BLE001 - NATS restarting: try again
                log.warning("reading the log after %d failed (%s); retrying", self.end, exc)
                await asyncio.sleep(0.5)
                continue
            if not page:
                try:
                    await asyncio.wait_for(self._nudged.wait(), self.look_every)
                except asyncio.TimeoutError:
                    pass
                continue
            self._entries += page
            self._positions += [e.position for e in page]
            if len(self._entries) > self.keep:
                drop = len(self._entries) - self.keep
                del self._entries[:drop], self._positions[:drop]
            self.end = page[-1].position
            moved, self._moved = self._moved, asyncio.Event()
            moved.set()

    async def _complete(self, page: list[Entry]) -> None:
        """The partners' changes known up to the page's end before any walk sees it."""
        history = self.partnerships.history
        if history.known >= self.end and not any(
                e.event is not None and isinstance(e.event.data, PartnerChanged) for e in page):
            history.complete_to(page[-1].position)  # no change in it: nothing to ask
        else:
            await self.partnerships.complete_to(page[-1].position)

    async def moved(self, wait: float = 1.0) -> None:
        """Return once the tail moves on (or after ``wait`` seconds)."""
        try:
            await asyncio.wait_for(self._moved.wait(), wait)
        except asyncio.TimeoutError:
            pass

    async def after(self, position: int, limit: int = MAX_BATCH, wait: float = 1.0) -> list[Entry]:
        """Entries after ``position`` (at most ``limit``); waits up to ``wait`` for one when
        ``position`` is the end of the log. The partners' changes are known up to the last."""
        if position >= self.end:
            moved = self._moved
            try:
                await asyncio.wait_for(moved.wait(), wait)
            except asyncio.TimeoutError:
                return []
        if self._positions and position >= self._positions[0] - 1:
            i = bisect.bisect_right(self._positions, position)
            return self._entries[i:i + limit]
        page = entries(await read_after(self.nc, position, limit))
        if page:
            await self.partnerships.complete_to(page[-1].position)
        return page
