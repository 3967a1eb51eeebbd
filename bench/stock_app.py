"""The stock way to put the same commands behind HTTP, for ``bench ingest``'s second stock figure.

What a team would write with the same libraries and nothing of ours on the hot path: a
Litestar app whose handlers decode the command (a ``data: Struct`` parameter, as Litestar
documents it), make the aggregate with the same application's method, and call
eventsourcing's ``Application.save()`` — one transaction per request, durable before the
``201``. The handlers are synchronous and Litestar runs them in its thread pool
(``sync_to_thread=True``), which is how a plain app calls a blocking library. No group
commit, no relay, no Idempotency-Key record (the key the client sends is ignored): each of
these would cost the stock app time, so leaving them out can only flatter it. The API key is
checked (a SHA-256 and a dictionary look-up) as any app open to partners would.

Served like the platform's services: one process per publishing service on the same HTTP
server (``COALITION_HTTP_SERVER``, ``services.__main__``'s settings), each in a schema of its
own (``stock<service>``), so the same client load meets the same number of server processes
and write locks.

``python -m bench.stock_app SERVICE --port PORT --database-url URL``; ``GET /health`` once ready.
"""

from __future__ import annotations

import argparse
import hashlib
from typing import Any

import psycopg
import uvicorn
from litestar import Litestar, Request, get, post
from litestar.exceptions import NotAuthorizedException

from events.settings import http_server
from services.__main__ import serve_granian
from services.application import PublisherApp, open_application
from services.commands import CallStrike, Created, ReportAttack
from services.momentum import MomentumApp
from services.scg import ScgApp
from services.unions import UnionsApp

APPS: dict[str, type[PublisherApp]] = {"momentum": MomentumApp, "scg": ScgApp, "unions": UnionsApp}


def stock_application(service: str, database_url: str) -> PublisherApp:
    """``service``'s application in a schema of its own: the same code, another store."""
    cls = type(f"Stock{service.title()}App", (APPS[service],), {"name": f"stock{service}"})
    return open_application(cls, database_url)


def keyring(database_url: str) -> dict[str, str]:
    """The partners' key hashes (set up by the platform): hash → organisation."""
    with psycopg.connect(database_url) as conn:
        return {h: org for org, h in conn.execute("SELECT org, key_sha256 FROM coalition.api_keys").fetchall()}


def create_stock_app(service: str, database_url: str) -> Litestar:
    app = stock_application(service, database_url)
    keys = keyring(database_url)

    def caller(request: Request[Any, Any, Any]) -> str:
        _, _, key = request.headers.get("authorization", "").partition(" ")
        org = keys.get(hashlib.sha256(key.strip().encode()).hexdigest())
        if org is None:
            raise NotAuthorizedException("unknown API key")
        return org

    @post("/v1/attacks", sync_to_thread=True)
    def report_attack(request: Request[Any, Any, Any], data: ReportAttack) -> Created:
        attack = app.report_attack(caller(request), data)
        app.save(attack)
        return Created(id=str(attack.id))

    @post("/v1/strikes", sync_to_thread=True)
    def call_strike(request: Request[Any, Any, Any], data: CallStrike) -> Created:
        strike = app.call_strike(caller(request), data)  # type: ignore[attr-defined]
        app.save(strike)
        return Created(id=str(strike.id))

    @get("/health", sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    handlers = [report_attack, health, *([call_strike] if hasattr(app, "call_strike") else [])]
    return Litestar(route_handlers=handlers, on_shutdown=[app.close], logging_config=None, debug=False)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stock_app", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("service", choices=sorted(APPS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True, help="the admin's (creates the stock schema)")
    args = parser.parse_args()
    app = create_stock_app(args.service, args.database_url)
    if http_server() == "granian":  # the same server as ours (COALITION_HTTP_SERVER)
        serve_granian(app, "127.0.0.1", args.port)
        return
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None, proxy_headers=False, access_log=False,
                lifespan="on")


if __name__ == "__main__":
    main()
