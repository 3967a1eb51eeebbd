"""What every benchmark shares: real engines, medians, and the report (a table, then JSON)."""

from __future__ import annotations

import json
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from secrets import token_urlsafe
from typing import Any

from rich.console import Console
from rich.table import Table

from coalition.engines import ADMIN, Engines

#: where the engines' passwords are kept in a data folder (as ``coalition up`` keeps them)
SECRETS = "secrets.json"

console = Console(stderr=True)


@contextmanager
def engines(data_dir: Path | None = None) -> Iterator[Engines]:
    """The platform's own engine start-up (``coalition.engines.Engines``): embedded
    PostgreSQL and NATS in a fresh folder (or ``data_dir``), unless COALITION_DATABASE_URL
    and COALITION_NATS_URL name running servers. Yields them started (``.database_url``,
    ``.nats_url``: the admin's) and stops them on the way out.

    The embedded PostgreSQL refuses a second start of its folder with another password,
    so the passwords are kept in the folder's ``secrets.json`` (mode 0600, the layout
    ``coalition up`` keeps them in: ``postgres.postgres``, ``nats.<user>``) and read from
    there when ``data_dir`` is used again."""
    with tempfile.TemporaryDirectory(prefix="coalition-bench-") as tmp:
        root = data_dir or Path(tmp)
        secrets = load_secrets(root)
        postgres, nats = secrets.setdefault("postgres", {}), secrets.setdefault("nats", {})
        postgres.setdefault(ADMIN, token_urlsafe(24))
        save_secrets(root, secrets)  # before initdb uses it: a failed first start can be retried
        with Engines(root, nats_passwords=nats, postgres_password=postgres[ADMIN]) as running:
            save_secrets(root, secrets)  # with the NATS users' passwords, filled in by the start
            yield running


def load_secrets(root: Path) -> dict[str, Any]:
    path = root / SECRETS
    return json.loads(path.read_text()) if path.exists() else {}


def save_secrets(root: Path, secrets: dict[str, Any]) -> None:
    """Write ``root/secrets.json`` readable by its owner only (created so, never widened)."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / SECRETS
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(json.dumps(secrets, indent=2) + "\n")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def report(name: str, rows: list[tuple[str, str, str]], figures: dict[str, object]) -> None:
    """A readable table on the terminal, then one JSON line with every figure (last line of stdout)."""
    table = Table(title=f"bench {name}", show_lines=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("note")
    for row in rows:
        table.add_row(*row)
    Console().print(table)
    print(json.dumps({"bench": name, **figures}), flush=True)
