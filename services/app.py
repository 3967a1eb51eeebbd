"""One place wires a service: its controllers, its event store, its relay, its engines."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import AsyncIterator

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template import TemplateConfig
from litestar.types import ASGIApp, Receive, Scope, Send
from psycopg_pool import AsyncConnectionPool

from events import trace
from events.recorder import RECONNECT_WITHIN
from events.settings import auth_failures_per_minute, database_url, nats_url
from events.stream import connect
from projections.board.queries import BoardWatch
from services.api.batch import batch_routes
from services.application import open_application
from services.auth import FailedAuthentications, load_keyring
from services.committer import GroupCommitter
from services.errors import EXCEPTION_HANDLERS
from services.idempotency import AlreadyAnswered, replay_or_claim, replayed
from services.limits import EXCEPTION_HANDLERS as LIMIT_HANDLERS
from services.limits import MAX_BODY, CommandRequest
from services.openapi import PLUGINS, openapi_config
from services.registry import Service
from services.relay import Relay
from services.translator import check_publishable

log = logging.getLogger("coalition.service")

#: Seconds a read waits for a pooled connection before it is answered 503.
POOL_TIMEOUT = 1.0


@get("/health", include_in_schema=False, sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


def stamp_received(app: ASGIApp) -> ASGIApp:
    """Notes when each request reached the service (``events.trace.RECEIVED``), the first
    of a command's stage times; the group committer hands it on with the events."""

    async def received(scope: Scope, receive: Receive, send: Send) -> None:
        trace.RECEIVED.set(trace.now())
        await app(scope, receive, send)

    return received


def create_app(service: Service, db_url: str | None = None, nats: str | None = None) -> Litestar:
    """The Litestar app of ``service``, with its store, relay and engines opened on start-up.

    The stream, the API keys and the board's tables are set up before any service starts
    (``coalition.setup``); a service only opens what it uses."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        url = db_url or database_url()
        application = await asyncio.to_thread(open_application, service.application, url)
        app.state.keyring = await asyncio.to_thread(load_keyring, url)
        nc = await connect(nats or nats_url(), f"coalition-{service.name}")
        relay = Relay(service.name, application, nc, url)
        # An event the shared log could not carry is refused before it is stored.
        committer = GroupCommitter(application, on_commit=relay.wake, check=partial(check_publishable, service.name))
        # A read waits at most a second for a connection: with PostgreSQL away it is a 503 at
        # once. After a restart, the first read to meet a broken connection has the pool
        # replace them all (``services.pooled``).
        pool = AsyncConnectionPool(url, min_size=1, max_size=8, open=False, kwargs={"autocommit": True},
                                   timeout=POOL_TIMEOUT, reconnect_timeout=RECONNECT_WITHIN)
        await pool.open()
        stop = asyncio.Event()
        relay_task = asyncio.create_task(relay.run(stop), name=f"relay-{service.name}")
        # Every service watches the board: the forum to serve it, and each to wait for an
        # item just created elsewhere before a pledge or a triage says 404.
        watch = BoardWatch(url)
        await watch.start()
        app.state.update(application=application, committer=committer, pool=pool, watch=watch,
                         service=service.name, nats=nc)
        background = [asyncio.create_task(task(app, stop), name=f"{service.name}-{task.__name__}")
                      for task in service.background]
        log.info("%s service ready", service.name)
        try:
            yield
        finally:
            stop.set()
            if background:
                await asyncio.wait(background, timeout=10)
            await watch.stop()
            await asyncio.to_thread(committer.close)
            try:
                await asyncio.wait_for(relay_task, timeout=10)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001
                relay_task.cancel()
                log.exception("relay %s did not stop cleanly", service.name)
            await pool.close()
            await nc.drain()
            application.close()

    options = service.app_options() if service.app_options else {}
    return Litestar(
        middleware=[stamp_received, *options.pop("middleware", [])],
        route_handlers=[*service.controllers, *batch_routes(service), health],
        lifespan=[lifespan],
        state=State({"failed_authentications": FailedAuthentications(auth_failures_per_minute())}),
        exception_handlers={**EXCEPTION_HANDLERS, **LIMIT_HANDLERS,  # type: ignore[arg-type]
                            AlreadyAnswered: replayed},
        before_request=replay_or_claim,
        request_class=CommandRequest,
        request_max_body_size=MAX_BODY,
        openapi_config=openapi_config(service),
        plugins=PLUGINS,
        template_config=TemplateConfig(directory=Path(__file__).parent / "templates", engine=JinjaTemplateEngine),
        logging_config=None,  # events.logs configures the process
        debug=False,
        **options,
    )
