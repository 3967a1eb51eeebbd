"""``coalition up``: engines, then every service and projection as supervised processes.

Children are forked from the supervisor once it has imported everything they need, so
they start in milliseconds and share those pages. They run in their own process groups
with a parent-death signal: Ctrl-C reaches
only the supervisor, which stops children first and the engines last, and even a
killed supervisor leaves no orphan. A child that exits unexpectedly is logged and
restarted with a growing back-off.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import threading
import time
import urllib.request
from secrets import token_urlsafe
from dataclasses import dataclass, field
from pathlib import Path

from coalition import natsconf
from coalition.children import Child
from coalition.engines import ADMIN, Engines, free_port
from coalition.roles import BOARD, ROLES, role_url
from coalition.setup import prepare
from events.organisations import load_organisations
from events.settings import SERVICES, api_keys, default_port
from events.stream import without_password
from projections.board.__main__ import run as run_board
from services.__main__ import serve  # imported here so that forked children start warm
from services.auth import new_key

log = logging.getLogger("coalition.up")



@dataclass
class Platform:
    data_dir: Path
    port_base: int | None = None
    spawn: bool = False
    engines: Engines | None = None
    children: list[Child] = field(default_factory=list)
    endpoints: dict[str, str] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)

    def start(self) -> dict[str, str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "logs").mkdir(exist_ok=True)
        began = time.perf_counter()
        secrets = self._secrets()
        pg = secrets["postgres"]
        self.engines = Engines(self.data_dir, nats_passwords=secrets["nats"],
                               postgres_password=pg[ADMIN]).start()
        db_url, nats_url = self.engines.database_url, self.engines.nats_url
        prepare(db_url, nats_url, load_organisations(self.data_dir), secrets["api_keys"],
                roles={role: pg[role] for role in ROLES})
        log.info("engines ready in %.2fs", time.perf_counter() - began)
        base = dict(os.environ, COALITION_DATABASE_URL=db_url, COALITION_NATS_URL=nats_url,
                    COALITION_DATA_DIR=str(self.data_dir), PYTHONUNBUFFERED="1")
        for service in SERVICES:
            port = self._port(service)
            self.endpoints[service] = f"http://127.0.0.1:{port}"
            self.children.append(Child(
                service, functools.partial(serve, service, "127.0.0.1", port),
                [sys.executable, "-m", "services", service, "--port", str(port)],
                dict(base, COALITION_SERVICE=service, COALITION_PORT=str(port),
                     COALITION_NATS_URL=self.engines.nats_url_for(service),
                     COALITION_DATABASE_URL=role_url(db_url, service, pg[service])),
                self.data_dir / "logs" / f"{service}.log", spawn=self.spawn))
        board_env = dict(base, COALITION_DATABASE_URL=role_url(db_url, BOARD, pg[BOARD]),
                         COALITION_NATS_URL=self.engines.nats_url_for(natsconf.BOARD))
        self.children.append(Child("board", run_board, [sys.executable, "-m", "projections.board"], board_env,
                                   self.data_dir / "logs" / "board.log", spawn=self.spawn))
        for child in self.children:
            child.start()
        self._write_pids()
        for child in self.children:
            if child.name in SERVICES:
                self._wait_healthy(child, self.endpoints[child.name])
        log.info("services healthy in %.2fs", time.perf_counter() - began)
        self.endpoints.update(nats=without_password(nats_url), database=without_password(db_url))
        path = self.data_dir / "endpoints.json"
        path.write_text(json.dumps(self.endpoints, indent=2) + "\n")
        return self.endpoints

    def _port(self, service: str) -> int:
        if self.port_base == 0:
            return free_port()
        wanted = default_port(service, self.port_base)
        import socket

        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", wanted))
            except OSError:
                log.warning("port %d is busy; %s takes a free one", wanted, service)
                return free_port()
        return wanted

    def _secrets(self) -> dict:
        """API keys, NATS credentials and PostgreSQL passwords (the admin's and one per
        role): generated once, kept (mode 0600) in the data folder; keys given in
        COALITION_API_KEYS take the place of generated ones."""
        path = self.data_dir / "secrets.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        keys = data.setdefault("api_keys", {})
        keys.update(api_keys())
        for org in load_organisations(self.data_dir):
            keys.setdefault(org.id, new_key(org.id))
        nats = data.setdefault("nats", {})
        if "password" in nats:  # one user for everything, before per-user rights
            nats.clear()
        for user in natsconf.user_names():
            nats.setdefault(user, token_urlsafe(24))
        postgres = data.setdefault("postgres", {})
        for role in (ADMIN, *ROLES):
            postgres.setdefault(role, token_urlsafe(24))
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(json.dumps(data, indent=2) + "\n")
        return data

    def _wait_healthy(self, child: Child, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child.proc and child.proc.poll() is not None:
                raise RuntimeError(f"{child.name} exited during start-up; see {child.logfile}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=1) as resp:  # noqa: S310 - loopback
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"{child.name} not healthy after {timeout}s; see {child.logfile}")

    def supervise(self) -> None:
        """Restart crashed engines and children until asked to stop."""
        while not self.stopping.wait(0.2):
            if self.engines is not None:
                before = self.engines.pids()
                self.engines.revive()
                if self.engines.pids() != before:
                    self._write_pids()
            for child in self.children:
                if child.proc is None or child.proc.poll() is None:
                    continue
                code = child.proc.returncode
                delay = min(5.0, 0.25 * 2 ** min(child.restarts, 5))
                if time.monotonic() - child.started_at > 30:
                    child.restarts = 0
                    delay = 0.25
                log.error("%s exited with %s; restarting in %.2fs (log: %s)", child.name, code, delay, child.logfile)
                if self.stopping.wait(delay):
                    return
                child.restarts += 1
                child.start()
                self._write_pids()

    def _write_pids(self) -> None:
        """Which process runs what, for operators (and the tests that kill them)."""
        pids = {c.name: c.proc.pid for c in self.children if c.proc is not None}
        if self.engines is not None:
            pids.update(self.engines.pids())
        (self.data_dir / "pids.json").write_text(json.dumps(pids, indent=2) + "\n")

    def stop(self) -> None:
        self.stopping.set()
        for child in self.children:
            child.stop()
        for child in self.children:
            child.wait(15)
        if self.engines is not None:
            self.engines.stop()
