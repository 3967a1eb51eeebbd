"""Reads on a service's own pool of PostgreSQL connections, surviving a restart of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from litestar import Request
from psycopg_pool import AsyncConnectionPool, PoolTimeout

T = TypeVar("T")


async def pooled(request: Request, query: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
    """``query`` run on one of the service's pooled connections.

    A connection that broke under it means PostgreSQL restarted, and every idle connection
    of the pool broke with it: the pool is checked (each broken one replaced at once, where a
    check on loan would find them one by one, a second apart, and cost every read a round
    trip) and ``query`` tried once more. No connection within the pool's timeout is a
    ``PoolTimeout`` (a 503), not tried again."""
    pool: AsyncConnectionPool = request.app.state.pool
    try:
        async with pool.connection() as conn:
            return await query(conn)
    except PoolTimeout:
        raise
    except psycopg.OperationalError:
        await pool.check()
        async with pool.connection() as conn:
            return await query(conn)
