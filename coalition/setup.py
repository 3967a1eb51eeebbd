"""Set-up, done once before any service starts, by ``coalition up`` and ``coalition
setup`` (compose's one-shot ``setup`` container): the shared stream, the board's
tables, the organisations' API keys (hashes only), the PostgreSQL roles, and the
sharing stream with a durable consumer of it per configured partner (``events.partners``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import psycopg

from coalition.roles import create_roles, grant_keys
from events import endpoints as webhook_endpoints
from events.migrate import ensure_stream
from events.organisations import Coordinator, Organisation
from events.partners import ensure_partners
from events.sharing import Partner, load_partners
from events.stream import connect, replicas
from projections.board import schema as board_schema
from services.accounts import sync_accounts
from services.auth import store_keys

log = logging.getLogger("coalition.setup")


def prepare(database_url: str, nats_url: str, organisations: tuple[Organisation, ...],
            keys: dict[str, str], roles: Mapping[str, str] | None = None,
            coordinators: tuple[Coordinator, ...] = (), first_passwords: Mapping[str, str] | None = None,
            partners: tuple[Partner, ...] | None = None) -> None:
    """Create what the processes share; idempotent, so every start may run it.

    ``database_url`` is the admin's. ``roles`` ({role: password}) are the PostgreSQL login
    roles of the services and the board projection (``coalition.roles``); without them
    every process would have to connect as the admin. ``coordinators`` are the accounts of
    the configuration; ``first_passwords`` (the embedded demo's) are hashed into accounts
    that have no password yet."""
    store_keys(database_url, organisations, keys)
    with psycopg.connect(database_url, autocommit=True) as conn:
        sync_accounts(conn, coordinators, first_passwords)
        if roles:
            create_roles(conn, roles)
            grant_keys(conn)
        else:
            log.warning("no PostgreSQL roles given: the processes must connect as the admin")
            board_schema.create(conn)
            conn.execute("CREATE SCHEMA IF NOT EXISTS webhooks")
            conn.execute(webhook_endpoints.DDL)
    asyncio.run(_ensure_stream(nats_url, load_partners() if partners is None else partners))


async def _ensure_stream(url: str, partners: tuple[Partner, ...]) -> None:
    nc = await connect(url, "coalition-setup", persistent=False)
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        await ensure_partners(js, partners, replicas())
    finally:
        await nc.close()
