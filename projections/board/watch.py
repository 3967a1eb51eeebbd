"""Wake readers when the board moves: LISTEN on the projection's ``board`` notifications.

The projection sends ``NOTIFY board, '<position>'`` in the transaction that applies a
batch, so a notification arrives only once the rows are committed and readable.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg

log = logging.getLogger("coalition.board.watch")


class BoardWatch:
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
                        "SELECT seq FROM board.position WHERE projection = 'board'")).fetchone()
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
