"""The board as it stands now, read in one consistent snapshot of its tables: what the
page, the JSON API and the exports start from (the board as of a past position is
replayed from the log instead: ``history`` and ``audit``)."""

from __future__ import annotations

from datetime import timedelta

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from events.settings import archive_after_days
from projections.board.schema import POSITION
from projections.board.views import Board, assemble


async def read_board(conn: AsyncConnection, viewer: str | None = None, since: int = 0, *,
                     archive: bool | None = None, archive_after: timedelta | None = None,
                     limit: int | None = None, cursor: str | None = None, offset: int = 0) -> Board:
    """The board as ``viewer`` may see it now; with ``since``, only items changed after that
    position. By default every item, archive included, unpaged; see ``views.assemble``
    for ``archive``, ``limit``, ``cursor`` and ``offset``."""
    # One snapshot for items and position: the board never shows a torn state. The
    # statements go in one pipeline, so the read waits for PostgreSQL once, not once per
    # statement (the live feed reads the board after every batch the projection applies).
    async with conn.pipeline(), conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        reads = [conn.cursor(row_factory=dict_row) for _ in range(5)]
        await reads[0].execute(POSITION)
        await reads[1].execute("SELECT * FROM board.items WHERE updated_seq > %s", [since])
        await reads[2].execute("SELECT item, done, due FROM board.tasks WHERE NOT done")
        await reads[3].execute("SELECT * FROM board.decisions")
        await reads[4].execute("SELECT * FROM board.decision_positions")
        clock = await conn.execute("SELECT now()")
        row = await reads[0].fetchone()
        items, tasks, decisions, positions = [await cur.fetchall() for cur in reads[1:]]
        now = (await clock.fetchone())[0]  # type: ignore[index]
        for cur in reads:
            await cur.close()
    return assemble(int(row["seq"]) if row else 0, items, tasks, decisions, positions, viewer, now=now,
                    archive=archive, archive_after=archive_after or archive_after_days(), since=since,
                    limit=limit, cursor=cursor, offset=offset)
