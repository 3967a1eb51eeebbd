"""Reading the board — what the forum's page and JSON API show, item look-ups, and
waiting for the board to move: the only module of the board the services use."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import datetime
from typing import Any

import msgspec
import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from events.policy import can_see
from projections.board.schema import POSITION

log = logging.getLogger("coalition.board.watch")


class BoardItem(msgspec.Struct, kw_only=True):
    """One item of the rapid-response board."""

    id: str
    kind: str
    org: str
    service: str
    title: str
    summary: str | None
    status: str
    priority: str
    tlp: str
    region: str | None
    refs: list[str]
    detail: dict[str, Any]
    people_wanted: int | None
    people_pledged: int
    pledge_count: int
    created_at: datetime
    updated_at: datetime
    audience: list[str] | None = None


#: The board's groups, and the order of the keys within each that the page shows.
GROUP_OF = {"attack": "attacks", "strike": "industrial", "picket": "industrial",
            "solidarity": "industrial", "action": "actions", "win": "wins"}
ATTACK_STATUSES = ("new", "acknowledged", "responding", "monitoring", "resolved", "closed")
INDUSTRIAL_KINDS = ("strike", "picket", "solidarity")


class Board(msgspec.Struct, kw_only=True):
    """The board as of ``position``, the last stream sequence it applied."""

    position: int
    items: list[BoardItem]
    groups: dict[str, dict[str, list[str]]]

    def columns(self) -> dict[str, Any]:
        """The page's columns, from ``groups``: attacks by status, then industrial action,
        actions and wins, each a list of items."""
        by_id = {item.id: item for item in self.items}

        def items(group: str, key: str) -> list[BoardItem]:
            return [by_id[i] for i in self.groups.get(group, {}).get(key, [])]

        return {
            "attacks": [(s, items("attacks", s)) for s in ATTACK_STATUSES if items("attacks", s)],
            "industrial": [item for kind in INDUSTRIAL_KINDS for item in items("industrial", kind)],
            "actions": items("actions", "action"),
            "wins": items("wins", "win"),
        }


async def read_board(conn: AsyncConnection, viewer: str | None = None, since: int = 0) -> Board:
    """The board as ``viewer`` may see it; with ``since``, only items changed after that position."""
    async with conn.cursor(row_factory=dict_row) as cur:
        # One snapshot for items and position: the board never shows a torn state.
        async with conn.transaction():
            await cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            await cur.execute(POSITION)
            row = await cur.fetchone()
            await cur.execute("SELECT * FROM board.items WHERE updated_seq > %s ORDER BY updated_seq DESC",
                              [since])
            rows = await cur.fetchall()
    items = [
        msgspec.convert({k: v for k, v in r.items() if k not in ("created_seq", "updated_seq")}, BoardItem)
        for r in rows if can_see(viewer, r["org"], r["tlp"], r["audience"])
    ]
    groups: dict[str, dict[str, list[str]]] = {"attacks": {}, "industrial": {}, "actions": {}, "wins": {}}
    for item in items:
        group = GROUP_OF.get(item.kind, "other")
        key = item.status if group == "attacks" else item.kind
        groups.setdefault(group, {}).setdefault(key, []).append(item.id)
    return Board(position=int(row["seq"]) if row else 0, items=items, groups=groups)


async def find_item(conn: AsyncConnection, item_id: str) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT id, kind, org, tlp, audience, region, status, priority FROM board.items WHERE id = %s", [item_id])
        return await cur.fetchone()


class BoardWatch:
    """Wakes readers when the board moves: LISTEN on the projection's ``board``
    notifications, sent in the transaction that applies a batch, so a notification
    arrives only once the rows are committed and readable."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.position = 0
        self._moved = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

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
                        self._advance(int(note.payload))
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


def board_digest(board: Board) -> str:
    """SHA-256 (hex) of ``board`` as canonical JSON (keys sorted, no spaces): what a
    decision records, and what an auditor computes again from the log."""
    return hashlib.sha256(msgspec.json.encode(board, order="sorted")).hexdigest()
