"""The supervised processes of ``coalition up``: forked from the warm supervisor (or, for
comparison, spawned as fresh interpreters), each in its own process group with a
parent-death signal, so that Ctrl-C reaches only the supervisor and even a killed
supervisor leaves no orphan."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from coalition.process import child_preexec

log = logging.getLogger("coalition.up")


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
