"""The benchmarks' engines (``bench.common.engines``, i.e. ``coalition.engines.Engines``):
a data folder can be used again, and a start that fails half-way leaves nothing running.

On the embedded engines only: with COALITION_DATABASE_URL / COALITION_NATS_URL set there
is no data folder of ours to start twice."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from bench.common import SECRETS, engines
from coalition.engines import EmbeddedNats, EmbeddedPostgres

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("COALITION_DATABASE_URL") or os.environ.get("COALITION_NATS_URL")),
    reason="external servers: no embedded engines to start")


def test_a_data_folder_starts_again_with_the_password_it_keeps(tmp_path: Path) -> None:
    with engines(tmp_path) as first, psycopg.connect(first.database_url) as conn:
        conn.execute("CREATE TABLE kept (n int)")
    assert (tmp_path / SECRETS).stat().st_mode & 0o777 == 0o600
    with engines(tmp_path) as second, psycopg.connect(second.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)


def test_postgres_is_stopped_when_nats_does_not_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[EmbeddedPostgres] = []
    start_postgres = EmbeddedPostgres.start

    def spy(self: EmbeddedPostgres, timeout: float = 30.0) -> str:
        started.append(self)
        return start_postgres(self, timeout)

    def fail(self: EmbeddedNats, timeout: float = 15.0) -> str:
        raise RuntimeError("NATS did not start")

    monkeypatch.setattr(EmbeddedPostgres, "start", spy)
    monkeypatch.setattr(EmbeddedNats, "start", fail)
    with pytest.raises(RuntimeError, match="NATS did not start"), engines(tmp_path):
        pass
    assert started and started[0].proc is not None
    assert started[0].proc.poll() is not None, "PostgreSQL left running"
