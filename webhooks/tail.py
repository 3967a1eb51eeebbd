"""The end of the shared log, read once for every endpoint: the deliverer's one reader.

Endpoints that keep up read from here (the events after their position, already decoded
once); one that is behind (down for a week, or redelivering from a position) reads its
own pages from the log (``events.logread``): there is no retention cliff, the log is the
queue, and a slow endpoint costs nobody else anything.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from dataclasses import dataclass

from nats.aio.client import Client as NATS

from contracts import CloudEvent
from events.logread import MAX_BATCH, log_end, read_after
from events.replay import decode

log = logging.getLogger("coalition.webhooks.tail")


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
    def __init__(self, nc: NATS, keep: int = 50_000, idle: float = 0.01) -> None:
        self.nc = nc
        self.keep = keep
        self.idle = idle
        self.end = 0
        self._positions: list[int] = []
        self._entries: list[Entry] = []
        self._moved = asyncio.Event()

    async def start(self) -> None:
        self.end = await log_end(self.nc)

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the log until ``stop``: each new page kept, and every waiting endpoint woken."""
        while not stop.is_set():
            try:
                page = entries(await read_after(self.nc, self.end, MAX_BATCH))
            except Exception as exc:  # noqa: BLE001 - NATS restarting: try again
                log.warning("reading the log after %d failed (%s); retrying", self.end, exc)
                await asyncio.sleep(0.5)
                continue
            if not page:
                await asyncio.sleep(self.idle)
                continue
            self._entries += page
            self._positions += [e.position for e in page]
            if len(self._entries) > self.keep:
                drop = len(self._entries) - self.keep
                del self._entries[:drop], self._positions[:drop]
            self.end = page[-1].position
            moved, self._moved = self._moved, asyncio.Event()
            moved.set()

    async def after(self, position: int, limit: int = MAX_BATCH, wait: float = 1.0) -> list[Entry]:
        """Entries after ``position`` (at most ``limit``); waits up to ``wait`` for one when
        ``position`` is the end of the log."""
        if position >= self.end:
            moved = self._moved
            try:
                await asyncio.wait_for(moved.wait(), wait)
            except asyncio.TimeoutError:
                return []
        if self._positions and position >= self._positions[0] - 1:
            i = bisect.bisect_right(self._positions, position)
            return self._entries[i:i + limit]
        return entries(await read_after(self.nc, position, limit))
