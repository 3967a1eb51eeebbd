"""``coalition up``: engines, then every service and projection as supervised processes.

Children are forked from the supervisor once it has imported everything they need, so
they start in milliseconds and share those pages. They run in their own process groups
with a parent-death signal: Ctrl-C reaches
only the supervisor, which stops children first and the engines last, and even a
killed supervisor leaves no orphan. A child that exits unexpectedly is logged and
restarted with a growing back-off.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from coalition.organisations import load_organisations
from coalition.process import child_preexec
from coalition.settings import SERVICES, env
from events.engines import EmbeddedNats, EmbeddedPostgres, free_port
from events.stream import connect, ensure_stream, without_password
from projections.board.__main__ import run as run_board
from services.__main__ import serve  # imported here so that forked children start warm

log = logging.getLogger("coalition.up")

DEFAULT_PORTS = {"forum": 8400, "momentum": 8401, "scg": 8402, "unions": 8403}


class Forked:
    """A child made by ``fork`` from the supervisor, after the heavy imports: it starts in
    milliseconds and shares those pages with its siblings. The ``Popen`` subset we use."""

    def __init__(self, target: Callable[[], None], env: dict[str, str], logfile: Path) -> None:
        self.returncode: int | None = None
        out = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                child_preexec()
                os.dup2(out, 1)
                os.dup2(out, 2)
                for sig in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(sig, signal.SIG_DFL)
                os.environ.clear()
                os.environ.update(env)
                target()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # noqa: BLE001 - reported in the child's log
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        os.close(out)
        self.pid = pid

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.01)
        assert self.returncode is not None
        return self.returncode


@dataclass
class Child:
    name: str
    target: Callable[[], None]
    argv: list[str]
    env: dict[str, str]
    logfile: Path
    spawn: bool = False
    proc: Forked | subprocess.Popen | None = None
    restarts: int = 0
    started_at: float = 0.0

    def start(self) -> None:
        if self.spawn:  # the stock way: a fresh interpreter that imports everything itself
            with open(self.logfile, "ab") as out:
                self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                             preexec_fn=child_preexec)
        else:
            self.proc = Forked(self.target, self.env, self.logfile)
        self.started_at = time.monotonic()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0fs; killing it", self.name, timeout)
            self.proc.kill()
            self.proc.wait()


@dataclass
class Platform:
    data_dir: Path
    port_base: int | None = None
    spawn: bool = False
    postgres: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None
    children: list[Child] = field(default_factory=list)
    endpoints: dict[str, str] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)

    def start(self) -> dict[str, str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "logs").mkdir(exist_ok=True)
        began = time.perf_counter()
        secrets = self._secrets()
        db_url = env("COALITION_DATABASE_URL")
        nats_url = env("COALITION_NATS_URL")
        if not db_url:
            self.postgres = EmbeddedPostgres(self.data_dir)
            db_url = self.postgres.start()
        if not nats_url:
            self.nats = EmbeddedNats(self.data_dir, password=secrets["nats"]["password"])
            nats_url = self.nats.start()
        from services.auth import store_keys

        store_keys(db_url, load_organisations(self.data_dir), secrets["api_keys"])
        asyncio.run(_ensure_stream(nats_url))
        log.info("engines ready in %.2fs", time.perf_counter() - began)
        base = dict(os.environ, COALITION_DATABASE_URL=db_url, COALITION_NATS_URL=nats_url,
                    COALITION_DATA_DIR=str(self.data_dir), PYTHONUNBUFFERED="1")
        for service in SERVICES:
            port = self._port(service)
            self.endpoints[service] = f"http://127.0.0.1:{port}"
            self.children.append(Child(
                service, functools.partial(serve, service, "127.0.0.1", port),
                [sys.executable, "-m", "services", service, "--port", str(port)],
                dict(base, COALITION_SERVICE=service, COALITION_PORT=str(port)),
                self.data_dir / "logs" / f"{service}.log", spawn=self.spawn))
        self.children.append(Child("board", run_board, [sys.executable, "-m", "projections.board"], base,
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
        wanted = (self.port_base or 8400) + (DEFAULT_PORTS[service] - 8400)
        import socket

        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", wanted))
            except OSError:
                log.warning("port %d is busy; %s takes a free one", wanted, service)
                return free_port()
        return wanted

    def _secrets(self) -> dict:
        """API keys and NATS credentials: generated once, kept (mode 0600) in the data folder."""
        from services.auth import new_key

        path = self.data_dir / "secrets.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        keys = data.setdefault("api_keys", {})
        for org in load_organisations(self.data_dir):
            keys.setdefault(org.id, new_key(org.id))
        data.setdefault("nats", {"user": "coalition", "password": new_key("nats")})
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
            self._revive_engines()
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

    def _revive_engines(self) -> None:
        """An embedded engine that died comes back on the same port with the same data;
        services and the projection reconnect by themselves."""
        for engine in (self.postgres, self.nats):
            if engine is None or engine.proc is None or engine.proc.poll() is None:
                continue
            name = type(engine).__name__.removeprefix("Embedded")
            log.error("%s exited with %s; restarting it", name, engine.proc.returncode)
            try:
                engine.start()
            except Exception as exc:  # noqa: BLE001 - try again on the next round
                log.error("%s did not come back: %s", name, exc)
                time.sleep(1.0)
            else:
                log.info("%s is back", name)
                self._write_pids()

    def _write_pids(self) -> None:
        """Which process runs what, for operators (and the tests that kill them)."""
        pids = {c.name: c.proc.pid for c in self.children if c.proc is not None}
        if self.postgres and self.postgres.proc:
            pids["postgres"] = self.postgres.proc.pid
        if self.nats and self.nats.proc:
            pids["nats"] = self.nats.proc.pid
        (self.data_dir / "pids.json").write_text(json.dumps(pids, indent=2) + "\n")

    def stop(self) -> None:
        self.stopping.set()
        for child in self.children:
            child.stop()
        for child in self.children:
            child.wait(15)
        if self.nats:
            self.nats.stop()
        if self.postgres:
            self.postgres.stop()


async def _ensure_stream(url: str) -> None:
    nc = await connect(url, "coalition-up", persistent=False)
    try:
        await ensure_stream(nc.jetstream())
    finally:
        await nc.close()
