"""A group commit that fails for one command's sake fails only that command.

Eight retries of one Idempotency-Key arriving together may land in one group commit; the
second answer row violates the key's uniqueness, which aborts the psycopg pipeline the
save runs in, and eventsourcing reports the abort as an ``OperationalError`` — the same
type as "PostgreSQL is away". The committer must tell them apart: the first is isolated
command by command (the guilty one gets its error), the second fails everyone at once."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import OperationalError
from psycopg.errors import PipelineAborted

from services.committer import GroupCommitter


class Store:
    """Saves alone fine, but a shared save holding the guilty event aborts."""

    def __init__(self, guilty: str, away: bool = False) -> None:
        self.guilty, self.away, self.saved = guilty, away, []

    def save(self, *events: str, answers: Any = None) -> list[str]:
        if self.away:
            raise OperationalError("connection refused")
        if self.guilty in events:
            if len(events) > 1:
                raise OperationalError("pipeline aborted") from PipelineAborted("pipeline aborted")
            raise ValueError("duplicate key value violates unique constraint")
        self.saved += events
        return list(events)


def outcomes(store: Store, commands: list[str]) -> dict[str, str]:
    committer = GroupCommitter(store)  # type: ignore[arg-type]
    got: dict[str, str] = {}
    try:
        batch = [((c,), (), (), lambda exc, c=c: got.__setitem__(c, type(exc).__name__ if exc else "ok"), 0)
                 for c in commands]
        committer._commit(batch)  # noqa: SLF001 - the writer thread's step, run here on its own
    finally:
        committer.close()
    return got


def test_an_aborted_pipeline_fails_only_the_command_that_aborted_it() -> None:
    store = Store(guilty="b")
    assert outcomes(store, ["a", "b", "c"]) == {"a": "ok", "b": "ValueError", "c": "ok"}
    assert store.saved == ["a", "c"]


def test_postgresql_away_fails_every_command_at_once() -> None:
    store = Store(guilty="none", away=True)
    assert outcomes(store, ["a", "b"]) == {"a": "OperationalError", "b": "OperationalError"}
