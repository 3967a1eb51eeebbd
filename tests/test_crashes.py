"""Crashes: a relay or the projection killed mid-stream loses nothing and repeats nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psycopg

from projections.board.projector import apply_batch
from tests.bodies import ATTACK
from tests.conftest import Running
from tests.shared_log import (
    assert_exactly_once_in_order,
    board_rows,
    read_stream,
    stored_notifications,
)


def wait_healthy(platform: Running, service: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(platform.url(service, "/health"), timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{service} did not come back")


def push(platform: Running, org: str, service: str, stop: threading.Event, accepted: list[str]) -> None:
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            try:
                resp = client.post(platform.url(service, "/v1/attacks"), json=ATTACK, headers=platform.headers(org))
            except httpx.HTTPError:
                time.sleep(0.05)  # the service is down: the client retries later, as a partner would
                continue
            if resp.status_code == 201:
                accepted.append(resp.json()["id"])


@contextmanager
def publishing(platform: Running, publishers: list[tuple[str, str]]) -> Iterator[list[str]]:
    """Partners keep reporting attacks, one thread each, while the block runs; yields the
    ids of the acknowledged ones."""
    accepted: list[str] = []
    stop = threading.Event()
    threads = [threading.Thread(target=push, args=(platform, org, service, stop, accepted))
               for org, service in publishers]
    for t in threads:
        t.start()
    try:
        yield accepted
    finally:
        stop.set()
        for t in threads:
            t.join()


def test_a_relay_killed_mid_stream_loses_nothing_and_duplicates_nothing(platform: Running) -> None:
    """The movement's service (and its relay) is killed with SIGKILL while partners keep
    publishing; the supervisor restarts it; every acknowledged attack is on the log once."""
    with publishing(platform, [("momentum", "momentum")] * 6) as accepted:
        time.sleep(1.5)
        victim = platform.child("momentum")
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        wait_healthy(platform, "momentum")
        time.sleep(1.0)
    assert platform.child("momentum").pid != victim.pid
    assert len(accepted) > 50

    stored = stored_notifications(platform.database_url, "momentum")
    deadline = time.monotonic() + 30
    while True:
        published = read_stream(platform.nats_url)
        mine = [p for p in published if p.service == "momentum"]
        if len(mine) >= len(stored) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert_exactly_once_in_order(platform.database_url, published, "momentum")
    on_log = [p.item for p in mine if p.kind == "attack.reported.v1"]
    assert set(accepted) <= set(on_log), "an acknowledged command is missing from the log"
    assert len(on_log) == len(set(on_log))


def test_the_projection_killed_mid_stream_ends_equal_to_a_rebuild(platform: Running) -> None:
    """The board process is killed mid-batch while the unions publish; once restarted and
    caught up, the board equals one rebuilt from the whole log."""
    with publishing(platform, [(org, "unions") for org in ("rmt", "fbu", "bfawu", "rmt")]) as accepted:
        time.sleep(1.0)
        victim = platform.child("board")
        victim.send_signal(signal.SIGKILL)
        time.sleep(1.0)
    board = platform.wait_on_board(*accepted, timeout=60)
    last = read_stream(platform.nats_url)[-1].seq
    deadline = time.monotonic() + 30
    while board["position"] < last and time.monotonic() < deadline:
        time.sleep(0.1)
        board = platform.board()
    assert board["position"] == last
    assert platform.child("board").pid != victim.pid

    live = board_rows(platform.database_url)
    rebuilt = subprocess.run(
        [sys.executable, "-m", "coalition.cli", "rebuild", "board", "--data-dir", str(platform.data_dir)],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "board rebuilt" in rebuilt.stdout
    assert board_rows(platform.database_url) == live


def test_a_redelivered_batch_is_skipped(platform: Running) -> None:
    """A batch already applied (the process died after commit, before ack) changes nothing."""
    attack = platform.post("momentum", "momentum", "/v1/attacks", ATTACK).json()["id"]
    platform.wait_on_board(attack)
    import asyncio

    import nats

    async def last_messages() -> list[tuple[int, bytes]]:
        nc = await nats.connect(platform.nats_url)
        js = nc.jetstream()
        info = await js.stream_info("COALITION")
        msgs = [await js.get_msg("COALITION", seq) for seq in range(max(1, info.state.last_seq - 20),
                                                                    info.state.last_seq + 1)]
        await nc.close()
        return [(m.seq, m.data) for m in msgs]

    batch = asyncio.run(last_messages())
    before = board_rows(platform.database_url)
    with psycopg.connect(platform.database_url, autocommit=True) as conn:
        position = apply_batch(conn, batch)
    assert position >= batch[-1][0]
    assert board_rows(platform.database_url) == before


def accepted_by(platform: Running, org: str, service: str, deadline: float) -> str | None:
    """The id of an attack ``service`` accepts before ``deadline`` (a 503 while its pool
    reconnects is tried again), or None."""
    while time.monotonic() < deadline:
        try:
            resp = httpx.post(platform.url(service, "/v1/attacks"), json=ATTACK,
                              headers=platform.headers(org), timeout=10)
            if resp.status_code == 201:
                return str(resp.json()["id"])
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return None


def test_the_engines_come_back_and_nothing_is_lost(platform: Running) -> None:
    """NATS and then PostgreSQL are killed; the supervisor brings each back on the same
    port and data; every publishing service and the projection reconnect, and commands
    flow again through each."""
    before = platform.post("momentum", "momentum", "/v1/attacks", ATTACK).json()["id"]
    platform.wait_on_board(before)
    for engine in ("nats", "postgres"):
        pid = json.loads((platform.data_dir / "pids.json").read_text())[engine]
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while json.loads((platform.data_dir / "pids.json").read_text())[engine] == pid:
            assert time.monotonic() < deadline, f"{engine} was not restarted"
            time.sleep(0.2)
        for org, service in (("scg", "scg"), ("momentum", "momentum"), ("rmt", "unions")):
            accepted = accepted_by(platform, org, service, deadline)
            assert accepted, f"{service} accepted no command after {engine} came back"
            platform.wait_on_board(accepted, timeout=60)
    published = read_stream(platform.nats_url)
    for service in ("momentum", "scg"):
        assert_exactly_once_in_order(platform.database_url, published, service)
