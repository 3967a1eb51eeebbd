"""The benchmarks' log generator makes what the relays would publish, and says truly what
the board will hold: the rebuild benchmark checks the rebuilt board against its counts.

The first tests need no engines: the generated events go through the relay's own
``relay_message``, are decoded as the board decodes them, and folded in memory. The last
fills the real shared log: each service's events on its own subjects of ``COALITION``,
all of them there when ``fill_stream`` returns."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.common import engines
from bench.logdata import LogGenerator, fill_stream
from contracts.campaigning import ActionCalled
from events.publish import OrderedPublisher
from events.replay import decode
from events.settings import SERVICES, STREAM
from events.stream import connect, subject_filter
from projections.board.fold import fold
from services.relay import relay_message

START = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_generated_log_folds_into_the_board_the_generator_counts() -> None:
    gen = LogGenerator(2025, start=START)
    nids: dict[str, int] = {}
    batch = []
    for seq, (service, event) in enumerate(gen.entries(5000), start=1):
        nids[service] = nids.get(service, 0) + 1
        msg = relay_message(service, nids[service], event)
        assert msg.subject.startswith(f"coalition.{service}.")
        assert msg.headers["Coalition-Id"] == f"{service}:{nids[service]}"
        envelope = decode(seq, msg.payload)
        assert envelope is not None, msg.subject
        batch.append((seq, envelope))
        if isinstance(envelope.data, ActionCalled):
            assert envelope.data.people_wanted, "an action's head count is people_wanted, never read from asks"
    changes = fold(batch)
    assert sum(gen.counts.values()) == 5000
    assert len(changes.inserts) == gen.board_items
    assert len(changes.pledges) == gen.counts["Pledge.Made"]
    assert not changes.updates.keys() - changes.inserts.keys(), "a change to an item the log never made"


def test_the_same_seed_makes_the_same_log() -> None:
    def kinds(gen: LogGenerator) -> list[tuple[str, str, str]]:
        return [(service, type(e).__qualname__, e.sharing.tlp) for service, e in gen.entries(2000)]

    assert kinds(LogGenerator(7, start=START)) == kinds(LogGenerator(7, start=START))


def test_fill_stream_fills_each_services_subjects_and_waits_for_the_shared_log(tmp_path: Path) -> None:
    async def positions(url: str) -> tuple[dict[str, int], dict[str, int], int]:
        nc = await connect(url, "test-logdata", persistent=False)
        try:
            js = nc.jetstream()
            info = await js.stream_info(STREAM, subjects_filter=">")
            sizes = {s: sum(n for subject, n in (info.state.subjects or {}).items()
                            if subject.startswith(subject_filter(s)[:-1])) for s in SERVICES}
            nids = {s: (await OrderedPublisher(nc, s).read_position()).notification_id for s in SERVICES}
            return sizes, nids, (await js.stream_info(STREAM)).state.messages
        finally:
            await nc.close()

    first, second = LogGenerator(3, start=START), LogGenerator(4, start=START)
    with engines(tmp_path) as eng:
        if eng.nats is None:
            pytest.skip("COALITION_NATS_URL: a server with others' events")
        last = asyncio.run(fill_stream(eng.nats_url, 3000, generator=first))
        sizes, nids, shared = asyncio.run(positions(eng.nats_url))
    per_service = {s: 0 for s in SERVICES}
    for service, _ in LogGenerator(3, start=START).entries(3000):
        per_service[service] += 1
    assert last == shared == 3000, "returned before COALITION held everything"
    assert sizes == nids == per_service
    with engines(tmp_path) as eng:  # the same folder again: each service numbers on
        last = asyncio.run(fill_stream(eng.nats_url, 2000, generator=second))
        sizes, nids, shared = asyncio.run(positions(eng.nats_url))
    assert last == shared == 5000
    assert sum(sizes.values()) == 5000 and sizes == nids
