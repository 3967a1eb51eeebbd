"""The benchmarks' log generator makes what the relays would publish, and says truly what
the board will hold: the rebuild benchmark checks the rebuilt board against its counts.

No engines: the generated events go through the relay's own ``relay_message``, are
decoded as the board decodes them, and folded in memory."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.logdata import LogGenerator
from events.replay import decode
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
        assert msg.headers["Nats-Msg-Id"] == f"{service}:{nids[service]}"
        envelope = decode(seq, msg.payload)
        assert envelope is not None, msg.subject
        batch.append((seq, envelope))
    changes = fold(batch)
    assert sum(gen.counts.values()) == 5000
    assert len(changes.inserts) == gen.board_items
    assert len(changes.pledges) == gen.counts["Pledge.Made"]
    assert not changes.updates.keys() - changes.inserts.keys(), "a change to an item the log never made"


def test_the_same_seed_makes_the_same_log() -> None:
    def kinds(gen: LogGenerator) -> list[tuple[str, str, str]]:
        return [(service, type(e).__qualname__, e.sharing.tlp) for service, e in gen.entries(2000)]

    assert kinds(LogGenerator(7, start=START)) == kinds(LogGenerator(7, start=START))
