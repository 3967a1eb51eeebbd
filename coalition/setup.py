"""Set-up, done once before any service starts, by ``coalition up`` and ``coalition
setup`` (compose's one-shot ``setup`` container): the shared stream, the board's
tables and the organisations' API keys (hashes only)."""

from __future__ import annotations

import asyncio
import logging

import psycopg

from events.organisations import Organisation
from events.stream import connect, ensure_stream
from projections.board import schema as board_schema
from services.auth import store_keys

log = logging.getLogger("coalition.setup")


def prepare(database_url: str, nats_url: str, organisations: tuple[Organisation, ...],
            keys: dict[str, str]) -> None:
    """Create what the processes share; idempotent, so every start may run it."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        board_schema.create(conn)
    store_keys(database_url, organisations, keys)
    asyncio.run(_ensure_stream(nats_url))


async def _ensure_stream(url: str) -> None:
    nc = await connect(url, "coalition-setup", persistent=False)
    try:
        await ensure_stream(nc.jetstream())
    finally:
        await nc.close()
