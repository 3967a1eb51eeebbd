"""Start ``coalition up`` as a child process and know where everything is: for the tests
and the benchmarks, which run the platform exactly as a newcomer would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import psutil

from coalition import natsconf
from coalition.roles import admin_url


@dataclass
class Running:
    """A running platform: its endpoints, keys, data folder and supervisor process.
    ``database_url`` is the admin's, which reads every schema."""

    data_dir: Path
    proc: subprocess.Popen
    endpoints: dict[str, str]
    keys: dict[str, str]
    nats_url: str
    database_url: str
    output: Path
    ready_seconds: float

    def url(self, service: str, path: str) -> str:
        return self.endpoints[service] + path

    def headers(self, org: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[org]}"}

    def family(self) -> list[psutil.Process]:
        """The supervisor and every process under it."""
        root = psutil.Process(self.proc.pid)
        return [root, *root.children(recursive=True)]

    def child(self, name: str) -> psutil.Process:
        """The supervised process running ``name`` (a service or ``board``)."""
        pids = json.loads((self.data_dir / "pids.json").read_text())
        if name not in pids:
            raise LookupError(f"no running {name} process")
        return psutil.Process(pids[name])


R = TypeVar("R", bound=Running)


def launch(data_dir: Path, *extra: str, timeout: float = 120.0, cls: type[R] = Running) -> R:  # type: ignore[assignment]
    """``coalition up --data-dir DIR --port-base 0 …``; returns once it printed ``ready``."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    output = data_dir.parent / f"{data_dir.name}.out"
    seen = output.stat().st_size if output.exists() else 0
    began = time.perf_counter()
    with open(output, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "coalition.cli", "up", "--data-dir", str(data_dir), "--port-base", "0", *extra],
            stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
    deadline = time.monotonic() + timeout
    while not any(line.startswith("ready in") for line in output.read_bytes()[seen:].decode(errors="replace").splitlines()):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"coalition up did not get ready:\n{output.read_text(errors='replace')}")
        time.sleep(0.02)
    ready = time.perf_counter() - began
    endpoints = json.loads((data_dir / "endpoints.json").read_text())
    secrets = json.loads((data_dir / "secrets.json").read_text())
    nats_url = os.environ.get("COALITION_NATS_URL") or natsconf.admin_url(endpoints["nats"], secrets["nats"])
    database_url = os.environ.get("COALITION_DATABASE_URL") or admin_url(endpoints["database"],
                                                                         secrets.get("postgres", {}))
    return cls(data_dir, proc, endpoints, secrets["api_keys"], nats_url, database_url, output, ready)


def stop(running: Running, timeout: float = 60.0) -> int:
    running.proc.send_signal(signal.SIGTERM)
    return running.proc.wait(timeout)
