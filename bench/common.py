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


def cpu_verdict(cpu: dict[str, float], wall_s: float, commands: int, cores: int, machine_share: float | None,
                rate: float, target_rate: float) -> dict[str, Any]:
    """Whether a throughput target was met and, from the CPU every process group used in
    the run (``cpu``: seconds by group), what holds it: whether the cores were saturated
    (the share of the machine's cores busy, ``machine_share``, if known, else the
    platform's own share of ``cores`` × ``wall_s``), the largest consumer, and the rate the
    CPU a command costs allows at most on these cores. On a shared machine the gap between
    the machine's busy share and the platform's is other work's."""
    total = sum(cpu.values())
    per_command = {group: round(s / commands * 1e6, 1) for group, s in cpu.items()} if commands else {}
    per_command["total"] = round(total / commands * 1e6, 1) if commands else 0.0
    capacity = cores * wall_s
    platform_busy = round(total / capacity, 2) if capacity else 0.0
    machine_busy = round(machine_share, 2) if machine_share is not None else None
    saturated = (machine_busy if machine_busy is not None else platform_busy) >= 0.9
    largest = max(cpu, key=lambda group: cpu[group]) if cpu else None
    ceiling = round(cores * 1e6 / per_command["total"]) if per_command["total"] else None
    verdict: dict[str, Any] = {
        "target_commands_per_second": target_rate, "commands_per_second": round(rate, 1), "met": rate >= target_rate,
        "cpu_seconds": {group: round(s, 3) for group, s in cpu.items()}, "cpu_us_per_command": per_command,
        "wall_seconds": round(wall_s, 3), "cores": cores, "platform_cores_busy": platform_busy,
        "machine_cores_busy": machine_busy, "saturated": saturated, "ceiling_commands_per_second": ceiling,
        "largest": {"group": largest, "share": round(cpu[largest] / total, 2) if total else 0.0,
                    "cpu_us_per_command": per_command[largest]} if largest else None,
    }
    if machine_busy is not None:
        others = max(0.0, machine_busy - platform_busy)
        busy = f"the machine {machine_busy:.0%} busy: the platform and client {platform_busy:.0%}, other work {others:.0%}"
    else:
        busy = f"the platform and client {platform_busy:.0%} busy"
    text = (f"{'met' if verdict['met'] else 'missed'}: {rate:,.0f} commands/s, target {target_rate:,.0f}/s; "
            f"the {cores} cores were {'saturated' if saturated else 'not saturated'} ({busy})")
    if not saturated:
        text += ", so the wait is not (only) CPU"
    if ceiling is not None:
        text += (f"; {per_command['total']:,.0f} µs of CPU a command, which {cores} cores allow at most "
                 f"{ceiling:,} commands/s")
    if verdict["largest"]:
        text += (f"; the largest consumer: {largest} {verdict['largest']['share']:.0%} "
                 f"({per_command[largest]:,.0f} µs a command)")
    verdict["text"] = text
    return verdict
