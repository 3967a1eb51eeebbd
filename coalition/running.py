"""What the commands that talk to a running platform share: its ``--data-dir`` option and
the admin's URLs of its engines (from the environment, or the files ``coalition up``
wrote into the data folder)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def admin_urls(folder: Path) -> tuple[str, str]:
    """Database and NATS URLs, the admin's: from the environment, or from a running `coalition up`."""
    from events.settings import env

    db, nats = env("COALITION_DATABASE_URL"), env("COALITION_NATS_URL")
    if db and nats:
        return db, nats
    endpoints = folder / "endpoints.json"
    if not endpoints.exists():
        sys.exit(f"no {endpoints}: start the platform with `coalition up` or set COALITION_DATABASE_URL and COALITION_NATS_URL")
    from coalition import natsconf
    from coalition.roles import admin_url

    ep = json.loads(endpoints.read_text())
    secrets = json.loads((folder / "secrets.json").read_text())
    return (db or admin_url(ep["database"], secrets.get("postgres", {})),
            nats or natsconf.admin_url(ep["nats"], secrets["nats"]))


def running_platform(parser: argparse.ArgumentParser, default_dir: str) -> None:
    """``--data-dir`` of a command that talks to a running platform."""
    parser.add_argument("--data-dir", default=default_dir,
                        help="data folder of a running platform (default: %(default)s)")
