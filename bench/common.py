"""What every benchmark shares: real engines, medians, and the report (a table, then JSON)."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console(stderr=True)


@dataclass(frozen=True)
class Engines:
    database_url: str
    nats_url: str


@contextmanager
def engines(data_dir: Path | None = None) -> Iterator[Engines]:
    """Embedded PostgreSQL and NATS in a fresh folder, unless COALITION_DATABASE_URL and
    COALITION_NATS_URL name external servers."""
    db, nats = os.environ.get("COALITION_DATABASE_URL"), os.environ.get("COALITION_NATS_URL")
    if db and nats:
        yield Engines(db, nats)
        return
    from coalition.engines import EmbeddedNats, EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="coalition-bench-") as tmp:
        root = data_dir or Path(tmp)
        pg, nc = EmbeddedPostgres(root), EmbeddedNats(root)
        try:
            db_url = db or pg.start()
            nats_url = nats or nc.start()
            yield Engines(db_url, nats_url)
        finally:
            nc.stop()
            pg.stop()


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
