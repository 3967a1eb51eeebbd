"""Reading the board: what the forum's page and JSON API show, and item look-ups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from events.policy import can_see


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


class Board(msgspec.Struct, kw_only=True):
    """The board as of ``position``, the last stream sequence it applied."""

    position: int
    items: list[BoardItem]
    groups: dict[str, dict[str, list[str]]]


GROUP_OF = {"attack": "attacks", "strike": "industrial", "picket": "industrial",
            "solidarity": "industrial", "action": "actions", "win": "wins"}


async def read_board(conn: AsyncConnection, viewer: str | None = None, since: int = 0) -> Board:
    """The board as ``viewer`` may see it; with ``since``, only items changed after that position."""
    async with conn.cursor(row_factory=dict_row) as cur:
        # One snapshot for items and position: the board never shows a torn state.
        async with conn.transaction():
            await cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            await cur.execute("SELECT seq FROM board.position WHERE projection = 'board'")
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
        await cur.execute("SELECT id, kind, org, tlp, audience, region FROM board.items WHERE id = %s", [item_id])
        return await cur.fetchone()
