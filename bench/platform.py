"""A platform for a benchmark: ``coalition up`` in a temporary folder, and a fast client.

Every platform a benchmark launches runs with :data:`ENVIRONMENT` on top of the caller's
environment: failed authentications are not throttled (``COALITION_AUTH_FAILURES_PER_MINUTE=0``),
since a benchmark sends everything from one address and measures the platform, not the
throttle.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from coalition.launcher import Running, launch, stop

#: set for every platform a benchmark launches (``coalition up`` passes its environment on)
ENVIRONMENT = {"COALITION_AUTH_FAILURES_PER_MINUTE": "0"}

ATTACK: dict[str, Any] = {
    "kind": "suspension", "targets": [{"kind": "member", "name": "A. Member"}],
    "summary": "Suspended for sharing a picket-line photo", "severity": "high", "tlp": "GREEN",
    "region": "London",
}
STRIKE: dict[str, Any] = {
    "employer": "Example Rail Ltd", "sector": "rail", "workplaces": ["Euston depot"],
    "starts_on": "2026-12-01", "ends_on": "2026-12-03", "members_involved": 4000, "tlp": "CLEAR",
}
#: (organisation, service, path, body): the three publishers, round robin. Only CLEAR and
#: GREEN, which the anonymous board shows (``watch_board`` reads it without a key, as it
#: always has): an AMBER item would never be seen there.
COMMANDS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("momentum", "momentum", "/v1/attacks", ATTACK),
    ("scg", "scg", "/v1/attacks", {**ATTACK, "kind": "whip_removed", "targets": [{"kind": "mp", "name": "An MP"}]}),
    ("rmt", "unions", "/v1/strikes", STRIKE),
]


def launch_platform(data_dir: Path, *extra: str) -> Running:
    """``coalition.launcher.launch`` with :data:`ENVIRONMENT` in the environment it
    passes on (this process's own is restored afterwards)."""
    saved = {name: os.environ.get(name) for name in ENVIRONMENT}
    os.environ.update(ENVIRONMENT)
    try:
        return launch(data_dir, *extra)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def platform() -> Iterator[Running]:
    """``coalition up`` on embedded engines (or COALITION_DATABASE_URL / COALITION_NATS_URL)."""
    with tempfile.TemporaryDirectory(prefix="coalition-bench-") as tmp:
        running = launch_platform(Path(tmp) / "data")
        try:
            yield running
        finally:
            stop(running)


def session(concurrency: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency),
                                 timeout=aiohttp.ClientTimeout(total=60))


async def send(s: aiohttp.ClientSession, p: Running, i: int) -> str:
    """Command number ``i`` of the round robin; returns the created id once acknowledged.
    Sent as a careful client sends it, with an ``Idempotency-Key`` (so the figure includes
    recording the first answer with the events)."""
    org, service, path, body = COMMANDS[i % len(COMMANDS)]
    headers = {**p.headers(org), "Idempotency-Key": str(uuid.uuid4())}  # one per command, never reused
    async with s.post(p.url(service, path), json=body, headers=headers) as resp:
        if resp.status != 201:
            raise RuntimeError(f"{service}{path} → {resp.status}: {await resp.text()}")
        return str((await resp.json())["id"])


async def watch_board(s: aiohttp.ClientSession, p: Running, seen: dict[str, float],
                      stop_when: asyncio.Event, since: int = 0) -> int:
    """Long-poll ``GET /api/board?since=…&wait=…``, noting when each item is first visible."""
    position = since
    while not stop_when.is_set():
        # the largest page: one the watcher did not read to the end would move it past items
        # it never saw (a projection batch after a stall can hold more than the default 500)
        async with s.get(p.url("forum", "/api/board"), params={"since": position or 0, "wait": 2,
                                                                "limit": 5000}) as resp:
            board = await resp.json()
        now = time.perf_counter()
        for item in board["items"]:
            seen.setdefault(item["id"], now)
        position = max(position, board["position"])
    return position


async def until_all_seen(acked: dict[str, float], seen: dict[str, float], timeout: float) -> None:
    """Wait until every acknowledged item has been seen on the board (or ``timeout``)."""
    deadline = time.perf_counter() + timeout
    while not acked.keys() <= seen.keys() and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)


async def board_position(s: aiohttp.ClientSession, p: Running) -> int:
    async with s.get(p.url("forum", "/api/board"), params={"since": 10**12}) as resp:
        return int((await resp.json())["position"])
