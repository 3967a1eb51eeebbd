"""``python -m services <name>``: run one service (its HTTP API and its relay)."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from events.logs import setup_logging
from events.settings import SERVICES, env
from services.app import create_app
from services.registry import service as service_named


def serve(service: str, host: str, port: int) -> None:
    """Run ``service`` until SIGINT or SIGTERM."""
    setup_logging(service)
    uvicorn.run(create_app(service_named(service)), host=host, port=port, log_config=None, proxy_headers=False,
                access_log=logging.getLogger().isEnabledFor(logging.DEBUG), lifespan="on",
                # the board's live feeds (SSE) stay open: give them 5 s, then close them
                timeout_graceful_shutdown=5)


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
