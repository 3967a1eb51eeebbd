"""``coalition up``: ready, files written, stopped cleanly, data kept across restarts."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from tests.bodies import ATTACK
from tests.conftest import start_platform, stop_platform


def test_up_demo_then_stop_then_up_again_keeps_everything(tmp_path: Path) -> None:
    """A coordinator starts the platform with the demo, stops it with SIGTERM (no process
    left behind), starts it again on the same folder, and the board is still there."""
    data = tmp_path / "data"
    first = start_platform(data, "--demo")
    try:
        endpoints = json.loads((data / "endpoints.json").read_text())
        assert set(endpoints) >= {"momentum", "scg", "unions", "forum", "nats", "database"}
        assert stat.S_IMODE((data / "secrets.json").stat().st_mode) == 0o600
        secrets = json.loads((data / "secrets.json").read_text())
        assert set(secrets["api_keys"]) >= {"momentum", "scg", "rmt", "forum"}
        assert set(secrets["nats"]) == {"admin", "board", "forum", "momentum", "scg", "unions", "distributor", "webhooks",
                                        *(f"partner-{org}" for org in ("momentum", "scg", "rmt", "fbu", "bfawu",
                                                                       "forum"))}
        assert not any(password in endpoints["nats"] for password in secrets["nats"].values())

        # the demo reports its figures once it has driven the scenario
        import time

        deadline = time.monotonic() + 90
        while "demo: {" not in first.output.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        line = next(x for x in first.output.read_text().splitlines() if x.startswith("demo: {"))
        figures = json.loads(line.removeprefix("demo: "))
        assert figures["scenario_commands"] >= 15 and figures["wave_commands_per_second"] > 0

        attack = first.post("momentum", "momentum", "/v1/attacks", ATTACK).json()["id"]
        board = first.wait_on_board(attack)
        # the caucus's AMBER attack names an MP: coordinators see it, a reader without a key does not
        assert not any("J. Example MP" in i["title"] for i in board["items"])
        as_forum = httpx.get(first.url("forum", "/api/board"), headers=first.headers("forum"), timeout=30).json()
        assert any("J. Example MP" in i["title"] for i in as_forum["items"])
        family = psutil.Process(first.proc.pid).children(recursive=True)
        assert len(family) >= 9  # postgres, nats, four services, the board, the distributor, the deliverer

        assert stop_platform(first) == 0
        gone, alive = psutil.wait_procs(family, timeout=10)
        assert not [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert "stopped" in first.output.read_text()

    finally:
        if first.proc.poll() is None:
            stop_platform(first)

    second = start_platform(data)
    try:
        again = second.wait_on_board(attack)
        assert again["position"] >= board["position"]
        assert second.keys == first.keys
    finally:
        stop_platform(second)


def test_help_explains_the_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "coalition.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in ("up", "rebuild", "demo"):
        assert command in out.stdout
    up = subprocess.run([sys.executable, "-m", "coalition.cli", "up", "--help"], capture_output=True, text=True)
    assert "--data-dir" in up.stdout and "--demo" in up.stdout


def test_readers_on_the_live_board_do_not_hold_up_a_stop(tmp_path: Path) -> None:
    """Coordinators have the board open (its live feed never ends by itself) when the platform
    is stopped: their feeds are closed after the services' grace, every process stops by
    itself (none killed by the supervisor), and each reader sees its feed end."""
    import threading

    running = start_platform(tmp_path / "data")
    opened = threading.Barrier(4)
    ended: list[str] = []

    def read() -> None:
        try:
            with httpx.stream("GET", running.url("forum", "/api/board/events"), timeout=None) as resp:
                assert resp.status_code == 200
                opened.wait(30)
                for _ in resp.iter_lines():
                    pass
            ended.append("closed")
        except httpx.HTTPError as exc:
            ended.append(type(exc).__name__)

    readers = [threading.Thread(target=read, daemon=True) for _ in range(3)]
    try:
        for reader in readers:
            reader.start()
        opened.wait(30)
    finally:
        code = stop_platform(running)
    for reader in readers:
        reader.join(30)
    assert code == 0
    assert len(ended) == 3
    said = running.output.read_text()
    assert "did not stop" not in said and "stopped" in said
