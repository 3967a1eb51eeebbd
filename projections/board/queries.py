"""Reading the board — what the forum's page and JSON API show, item look-ups, and
waiting for the board to move: the only module of the board the services use."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import datetime
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from events import trace
from events.policy import can_see
from projections.board.audit import (
    BOARD_FIELDS,
    DECISION_FIELDS,
    TIMELINE_FIELDS,
    AsOfError,
    Heading,
    TimelineEntry,
    board_as_of,
    board_csv,
    decisions_csv,
    find_decision,
    heading,
    item_timeline,
    list_decisions,
    position_at_time,
    subject_timeline,
    timeline_csv,
    titles,
    whole_board,
)
from projections.board.current import read_board
from projections.board.regions import RegionCount, RegionCounts, Tally, region_counts
from projections.board.schema import POSITION
from projections.board.views import (
    ATTACK_STATUSES,
    GROUP_OF,
    INDUSTRIAL_KINDS,
    Board,
    BoardDecision,
    BoardItem,
    DecisionPosition,
    board_digest,
)

log = logging.getLogger("coalition.board.watch")

__all__ = [
    "ATTACK_STATUSES", "BOARD_FIELDS", "DECISION_FIELDS", "TIMELINE_FIELDS", "board_csv", "decisions_csv", "GROUP_OF", "INDUSTRIAL_KINDS", "AsOfError", "Board", "BoardDecision", "BoardItem",
    "BoardWatch", "DecisionPosition", "TimelineEntry", "board_as_of", "board_digest", "find_decision",
    "board_position", "find_item", "item_timeline", "list_decisions", "open_tasks", "position_at_time", "read_board",
    "rejected_count", "subject_timeline", "timeline_csv",
    "Heading", "heading", "titles", "whole_board",
    "RegionCount", "RegionCounts", "Tally", "region_counts",
]


async def board_position(conn: AsyncConnection) -> int:
    """The last stream sequence the board applied."""
    row = await (await conn.execute(POSITION)).fetchone()
    return int(row[0]) if row else 0


async def open_tasks(conn: AsyncConnection, viewer: str | None) -> dict[str, list[dict[str, Any]]]:
    """The open tasks ``viewer`` may see, per item, due first: what the board's page offers
    to mark done."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT id, item, assignee, task, due, org, tlp, audience FROM board.tasks"
                          " WHERE NOT done AND item IS NOT NULL ORDER BY due NULLS LAST, seq")
        rows = await cur.fetchall()
    tasks: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if can_see(viewer, row["org"], row["tlp"], row["audience"]):
            tasks.setdefault(row["item"], []).append(row)
    return tasks


async def find_item(conn: AsyncConnection, item_id: str) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT id, kind, org, tlp, audience, region, status, priority, refs, detail"
                          " FROM board.items WHERE id = %s", [item_id])
        return await cur.fetchone()


#: the projection's batches whose stage times a watch keeps (a feed looks back a few)
STAGES_KEPT = 1024


class BoardWatch:
    """Wakes readers when the board moves: LISTEN on the projection's ``board``
    notifications, sent in the transaction that applies a batch, so a notification
    arrives only once the rows are committed and readable.

    It keeps the stage times of the last batches (``events.trace``: arrived, taken and
    written by the projection, and when the notification woke this watch), for the live
    feed to tell its readers how long each change took."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.position = 0
        self._moved = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stages: deque[tuple[int, ...]] = deque(maxlen=STAGES_KEPT)

    def stages(self, after: int, upto: int) -> list[tuple[int, ...]]:
        """``(position, arrived, taken, written, woken)`` of each batch the projection
        applied after ``after`` up to ``upto`` that this watch still keeps."""
        return [s for s in self._stages if after < s[0] <= upto]

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="board-watch")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def wait_beyond(self, position: int, timeout: float) -> bool:
        """Wait until the board is past ``position`` (or ``timeout``); True if it is."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.position <= position:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return False
            moved = self._moved
            try:
                await asyncio.wait_for(moved.wait(), left)
            except asyncio.TimeoutError:
                return self.position > position
        return True

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.database_url, autocommit=True) as conn:
                    await conn.execute("LISTEN board")
                    row = await (await conn.execute(
                        POSITION)).fetchone()
                    self._advance(int(row[0]) if row else 0)
                    async for note in conn.notifies():
                        woken = trace.now()
                        position, times = trace.parse_note(note.payload)
                        if len(times) == 3:
                            self._stages.append((position, *times, woken))
                        self._advance(position)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the database may restart; listen again
                log.exception("board watch lost its connection; reconnecting")
                await asyncio.sleep(1.0)

    def _advance(self, position: int) -> None:
        if position > self.position:
            self.position = position
            moved, self._moved = self._moved, asyncio.Event()
            moved.set()


async def rejected_count(conn: AsyncConnection) -> int:
    """How many events of the shared log the board quarantined (it could not apply them)."""
    row = await (await conn.execute("SELECT count(*) FROM board.rejected")).fetchone()
    return int(row[0]) if row else 0


async def overdue_attacks(conn: AsyncConnection, created_before: datetime) -> list[dict[str, Any]]:
    """The forum's escalation candidates, whoever may see them: attacks of priority high or
    urgent, still new, created at or before ``created_before``, not escalated yet."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """SELECT id, org, tlp, audience, region, priority FROM board.items
               WHERE kind = 'attack' AND status = 'new' AND priority IN ('high', 'urgent')
                 AND created_at <= %s AND NOT (detail ? 'escalated_at')
               ORDER BY created_at""", [created_before])
        return await cur.fetchall()
