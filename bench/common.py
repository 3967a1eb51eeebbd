"""What every benchmark shares: real engines, medians, and the report (a table, then JSON)."""

from __future__ import annotations

import json
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

from coalition.engines import Engines

console = Console(stderr=True)


@contextmanager
def engines(data_dir: Path | None = None) -> Iterator[Engines]:
    """The platform's own engine start-up (``coalition.engines.Engines``): embedded
    PostgreSQL and NATS in a fresh folder (or ``data_dir``), unless COALITION_DATABASE_URL
    and COALITION_NATS_URL name running servers. Yields them started (``.database_url``,
    ``.nats_url``) and stops them on the way out."""
    with tempfile.TemporaryDirectory(prefix="coalition-bench-") as tmp:
        running = Engines(data_dir or Path(tmp))
        try:  # not ``with Engines(...)``: that would leave PostgreSQL running if NATS fails to start
            yield running.start()
        finally:
            running.stop()


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
