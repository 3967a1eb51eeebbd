"""``python -m services <name>``: run one service (its HTTP API and its relay).

The HTTP server is granian's embedded server (uvicorn with ``COALITION_HTTP_SERVER=uvicorn``):
both run the app on this process's own asyncio loop, so the relay, the group committer and
the board's watch stay in the process that ``coalition up`` forked from its warm supervisor
(granian's usual worker processes would each import and open everything again)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import Any

import uvicorn
import uvloop
from litestar import Litestar

from events.logs import setup_logging
from events.settings import SERVICES, env, http_server
from services.app import create_app
from services.registry import service as service_named

#: Seconds the board's live feeds (SSE), which stay open, get to end before they are closed.
GRACEFUL_SHUTDOWN = 5


def serve(service: str, host: str, port: int) -> None:
    """Run ``service`` until SIGINT or SIGTERM."""
    setup_logging(service)
    app = create_app(service_named(service))
    if http_server() == "granian":
        serve_granian(app, host, port)
        return
    uvicorn.run(app, host=host, port=port, log_config=None, proxy_headers=False,
                access_log=logging.getLogger().isEnabledFor(logging.DEBUG), lifespan="on",
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN)


def serve_granian(app: Litestar, host: str, port: int) -> None:
    """``app`` on granian's embedded server (HTTP/1.1, the ASGI lifespan), on uvloop as uvicorn's.

    Stopped, granian waits for every open connection to end, and the board's live feeds
    (SSE) never do: as uvicorn does after ``timeout_graceful_shutdown``, the requests still
    running :data:`GRACEFUL_SHUTDOWN` seconds after the signal are cancelled."""
    from granian.constants import HTTPModes, Interfaces
    from granian.server.embed import Server

    running: set[asyncio.Task[Any]] = set()

    async def tracked(scope: Any, receive: Any, send: Any) -> None:
        task = asyncio.current_task() if scope["type"] == "http" else None
        if task is not None:
            running.add(task)
        try:
            await app(scope, receive, send)
        finally:
            running.discard(task)  # type: ignore[arg-type]

    async def run() -> None:
        server = Server(tracked, address=host, port=port, interface=Interfaces.ASGI, http=HTTPModes.http1,
                        websockets=False, log_enabled=False, backlog=1024,
                        log_access=logging.getLogger().isEnabledFor(logging.DEBUG))
        loop = asyncio.get_running_loop()

        def cancel_the_rest() -> None:
            for task in list(running):
                task.cancel()

        def stop() -> None:
            server.stop()
            loop.call_later(GRACEFUL_SHUTDOWN, cancel_the_rest)

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        await server.serve()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services", description=__doc__)
    parser.add_argument("service", choices=SERVICES, nargs="?", default=env("COALITION_SERVICE"))
    parser.add_argument("--host", default=env("COALITION_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("COALITION_PORT", "8000") or 8000))
    args = parser.parse_args()
    if not args.service:
        parser.error("name a service (or set COALITION_SERVICE)")
    serve(args.service, args.host, args.port)


if __name__ == "__main__":
    main()
