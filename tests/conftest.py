"""Fixtures: the real platform, started as a newcomer would (``coalition up``), on real engines.

Embedded PostgreSQL and NATS JetStream are started by ``coalition up`` in a temporary
data folder; set COALITION_DATABASE_URL and COALITION_NATS_URL to run the same tests
against external servers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from coalition import launcher
from tests.receiver import Receiver


class Running(launcher.Running):
    """The platform, with what the tests ask of it."""

    def post(self, org: str, service: str, path: str, body: object) -> httpx.Response:
        return httpx.post(self.url(service, path), json=body, headers=self.headers(org), timeout=30)

    def board(self) -> dict:
        """The whole live board (every page of it) as the open view sees it."""
        resp = httpx.get(self.url("forum", "/api/board"), params={"limit": 5000}, timeout=30)
        assert resp.status_code == 200, resp.text
        board = resp.json()
        page = board
        while page.get("next_cursor"):
            resp = httpx.get(self.url("forum", "/api/board"), timeout=30,
                             params={"limit": 5000, "cursor": page["next_cursor"]})
            assert resp.status_code == 200, resp.text
            page = resp.json()
            board["items"] += page["items"]
        return board

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


    def wait_for_item(self, item_id: str, until: Callable[[dict], bool], timeout: float = 20.0) -> dict:
        """The board item once ``until(item)`` holds; fails after ``timeout`` with what it was."""
        deadline = time.monotonic() + timeout
        while True:
            item = next((i for i in self.board()["items"] if i["id"] == item_id), {})
            if (item and until(item)) or time.monotonic() > deadline:
                return item
            time.sleep(0.05)


def start_platform(data_dir: Path, *extra: str) -> Running:
    return launcher.launch(data_dir, *extra, cls=Running)


def stop_platform(running: Running, timeout: float = 60.0) -> int:
    return launcher.stop(running, timeout)


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One platform for the session's tests: each test makes its own items."""
    running = start_platform(tmp_path_factory.mktemp("platform") / "data")
    yield running
    stop_platform(running)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """A partner's webhook receiver on loopback (``tests.receiver``), one per test module;
    it must never have refused a delivery's signature."""
    r = Receiver().start()
    yield r
    r.stop()
    assert not r.refused, r.refused
