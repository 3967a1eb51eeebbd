"""Fixtures: the real platform, started as a newcomer would (``coalition up``), on real engines.

Embedded PostgreSQL and NATS JetStream are started by ``coalition up`` in a temporary
data folder; set COALITION_DATABASE_URL and COALITION_NATS_URL to run the same tests
against external servers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest


@dataclass
class Running:
    """A running platform: its endpoints, keys, data folder and supervisor process."""

    data_dir: Path
    proc: subprocess.Popen
    endpoints: dict[str, str]
    keys: dict[str, str]
    nats_url: str
    database_url: str
    output: Path

    def url(self, service: str, path: str) -> str:
        return self.endpoints[service] + path

    def headers(self, org: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[org]}"}

    def post(self, org: str, service: str, path: str, body: object) -> httpx.Response:
        return httpx.post(self.url(service, path), json=body, headers=self.headers(org), timeout=30)

    def child(self, name: str) -> psutil.Process:
        """The supervised process running ``name`` (a service or ``board``)."""
        needle = ["-m", "projections.board"] if name == "board" else ["-m", "services", name]
        for proc in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                cmd = proc.cmdline()
            except psutil.NoSuchProcess:
                continue
            if any(cmd[i:i + len(needle)] == needle for i in range(len(cmd))):
                return proc
        raise LookupError(f"no running {name} process")

    def board(self) -> dict:
        return httpx.get(self.url("forum", "/api/board"), timeout=30).json()

    def wait_on_board(self, *ids: str, timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            board = self.board()
            seen = {i["id"] for i in board["items"]}
            if all(i in seen for i in ids):
                return board
            if time.monotonic() > deadline:
                raise AssertionError(f"not on the board after {timeout}s: {set(ids) - seen}")
            time.sleep(0.05)


def start_platform(data_dir: Path, *extra: str, timeout: float = 90.0) -> Running:
    output = data_dir.parent / f"{data_dir.name}.out"
    seen = output.stat().st_size if output.exists() else 0
    out = open(output, "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "coalition.cli", "up", "--data-dir", str(data_dir), "--port-base", "0", *extra],
        stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    deadline = time.monotonic() + timeout
    while "ready in" not in output.read_bytes()[seen:].decode(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"coalition up did not get ready:\n{output.read_text(errors='replace')}")
        time.sleep(0.1)
    endpoints = json.loads((data_dir / "endpoints.json").read_text())
    secrets = json.loads((data_dir / "secrets.json").read_text())
    creds = secrets["nats"]
    nats_url = os.environ.get("COALITION_NATS_URL") or endpoints["nats"].replace(
        "nats://coalition@", f"nats://{creds['user']}:{creds['password']}@")
    return Running(data_dir, proc, endpoints, secrets["api_keys"], nats_url,
                   os.environ.get("COALITION_DATABASE_URL") or endpoints["database"], output)


def stop_platform(running: Running, timeout: float = 60.0) -> int:
    running.proc.send_signal(signal.SIGTERM)
    return running.proc.wait(timeout)


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One platform for the session's tests: each test makes its own items."""
    running = start_platform(tmp_path_factory.mktemp("platform") / "data")
    yield running
    stop_platform(running)
