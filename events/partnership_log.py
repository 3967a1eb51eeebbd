"""The partners' changes (``partner.changed``), read from the shared log and kept up to
date by position, for the channels that read the log themselves (``events.partnership``
is the rule they apply).

Only the changes are read — a batched direct get filtered on their one subject
(:data:`events.partnership.SUBJECT`), so the NATS server skips every other event — and
only those after the position the history is already complete to: a reader that asks
for a position it already knows costs nothing, one that moves on costs one request.
"""

from __future__ import annotations

import asyncio

import msgspec
from nats.aio.client import Client as NATS

from contracts import decode_envelope
from contracts.partners import PartnerChanged
from events.logread import MAX_BATCH, log_end, read_after
from events.partnership import SUBJECT, Change, History

#: How long the answer to "is this partner revoked now?" is taken as current (seconds):
#: a stream info and a filtered get at most this often, however many requests ask.
FRESH_FOR = 0.25


def change_of(position: int, raw: bytes) -> Change | None:
    """The change a message of :data:`SUBJECT` records (None: not a valid one)."""
    try:
        event = decode_envelope(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    data = event.data
    if not isinstance(data, PartnerChanged):
        return None
    return Change(position=position, partner=data.partner, change=data.change, from_position=data.from_position,
                  time=event.time)


class PartnershipLog:
    """A :class:`History` of every partner's changes, completed from the log on demand."""

    def __init__(self, nc: NATS, history: History | None = None) -> None:
        self.nc = nc
        self.history = history or History()
        self._lock = asyncio.Lock()
        self._checked = float("-inf")

    async def complete_to(self, position: int) -> History:
        """The history, complete at least up to ``position`` (a position the log has)."""
        if position <= self.history.known:
            return self.history
        async with self._lock:
            after = self.history.known
            if position <= after:
                return self.history
            while page := await read_after(self.nc, after, MAX_BATCH, subject=SUBJECT):
                for seq, raw in page:
                    change = change_of(seq, raw)
                    if change is not None:
                        self.history.add(change)
                after = page[-1][0]
                if len(page) < MAX_BATCH:
                    break
            self.history.complete_to(position)
        return self.history

    async def now(self, fresh_for: float = FRESH_FOR) -> History:
        """The history complete to the end of the log as it was at most ``fresh_for``
        seconds ago."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._checked >= fresh_for:
            checked = loop.time()
            await self.complete_to(await log_end(self.nc))
            self._checked = checked
        return self.history
