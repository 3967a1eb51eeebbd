"""One place wires a service: its controllers, its event store, its relay, its engines."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from litestar import Litestar, get
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.openapi import OpenAPIConfig
from litestar.template import TemplateConfig
from psycopg_pool import AsyncConnectionPool

from coalition.organisations import load_organisations
from coalition.settings import database_url, env, nats_url
from events.relay import Relay
from events.stream import connect, ensure_stream
from projections.board import schema as board_schema
from projections.board.watch import BoardWatch
from services.api.attacks import AttackController
from services.api.campaigns import ActionController, WinController
from services.api.forum import BoardController, TriageController
from services.api.industrial import SolidarityController, StrikeController
from services.application import application_for
from services.auth import keys_from_env, load_keyring, store_keys
from services.committer import GroupCommitter

log = logging.getLogger("coalition.service")

CONTROLLERS = {
    "momentum": [AttackController, ActionController, WinController],
    "scg": [AttackController, ActionController, WinController],
    "unions": [AttackController, StrikeController, SolidarityController, ActionController, WinController],
    "forum": [TriageController, ActionController, WinController, BoardController],
}

TITLES = {
    "momentum": "Momentum: the movement's publishing service",
    "scg": "Socialist Campaign Group liaison: the caucus's publishing service",
    "unions": "Union partners' publishing service (one tenant per union)",
    "forum": "Forum: the coordinators' board, triage and read API",
}


@get("/health", include_in_schema=False, sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app(service: str, db_url: str | None = None, nats: str | None = None) -> Litestar:
    """The Litestar app of ``service``, with its store, relay and engines opened on start-up."""
    if service not in CONTROLLERS:
        raise ValueError(f"unknown service {service!r}; choose one of {', '.join(CONTROLLERS)}")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        url = db_url or database_url()
        store = await asyncio.to_thread(application_for, service, url)
        await asyncio.to_thread(_ensure_board, url)
        seeded = keys_from_env(env("COALITION_API_KEYS"))
        if seeded:
            await asyncio.to_thread(store_keys, url, load_organisations(), seeded)
        app.state.keyring = await asyncio.to_thread(load_keyring, url)
        nc = await connect(nats or nats_url(), f"coalition-{service}")
        await ensure_stream(nc.jetstream())
        relay = Relay(service, store, nc, url)
        committer = GroupCommitter(store, on_commit=relay.wake)
        # Checked on loan: after a PostgreSQL restart a stale connection is replaced, not served.
        pool = AsyncConnectionPool(url, min_size=1, max_size=8, open=False, kwargs={"autocommit": True},
                                   check=AsyncConnectionPool.check_connection)
        await pool.open()
        stop = asyncio.Event()
        relay_task = asyncio.create_task(relay.run(stop), name=f"relay-{service}")
        watch = BoardWatch(url)
        if service == "forum":
            await watch.start()
        app.state.watch = watch
        app.state.update(application=store, relay=relay, committer=committer, pool=pool, service=service)
        log.info("%s service ready", service)
        try:
            yield
        finally:
            stop.set()
            await watch.stop()
            await asyncio.to_thread(committer.close)
            try:
                await asyncio.wait_for(relay_task, timeout=10)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001
                relay_task.cancel()
                log.exception("relay %s did not stop cleanly", service)
            await pool.close()
            await nc.drain()
            store.close()

    return Litestar(
        route_handlers=[*CONTROLLERS[service], health],
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(title=f"coalition {service}", version="1.0.0", description=TITLES[service]),
        template_config=TemplateConfig(directory=Path(__file__).parent / "templates", engine=JinjaTemplateEngine),
        logging_config=None,  # coalition.logs configures the process
        debug=False,
    )


def _ensure_board(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        board_schema.create(conn)
