"""A command's stage times on its way to the screen (``events.trace``), without engines:
the momentum service commits an attack reported at a known moment, the committer hands it
to the relay with when it was received and committed, and the relay puts both, with the
moment it took the batch, on the message; then how the latency benchmark reads them back
(``bench.stages``)."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import msgspec
import pytest

from bench import stages
from events import trace
from events.publish import Message, Position
from services.commands import ReportAttack
from services.committer import GroupCommitter
from services.momentum import MomentumApp
from services.relay import Relay
from services.translator import check_publishable
from tests.unit.examples import ATTACK_BODY, IN_MEMORY


class Log:
    """A stand-in for the service's stream: takes what the relay publishes, in order."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def publish(self, after: Position, messages: list[Message]) -> Position:
        self.messages += messages
        return Position(after.stream_seq + len(messages), messages[-1].notification_id)


class NoStore:
    """The relay must not read the store: everything it needs was handed over."""

    def select_notifications(self, *args: Any, **kwargs: Any) -> list[Any]:
        raise AssertionError("the relay read the store")


class NoNats:
    def jetstream(self, **kwargs: Any) -> None:
        return None


def relay_of(app: MomentumApp) -> tuple[Relay, Log]:
    relay = Relay("momentum", app, NoNats(), "postgresql://unused")  # type: ignore[arg-type]
    log = Log()
    relay.publisher = log  # type: ignore[assignment]
    return relay, log


async def report_an_attack(app: MomentumApp, committer: GroupCommitter, received: int) -> None:
    trace.RECEIVED.set(received)  # what the service's middleware does as a request arrives
    attack = app.report_attack("momentum", msgspec.json.decode(ATTACK_BODY, type=ReportAttack))
    await committer.commit(attack)


def test_an_attack_carries_when_it_was_received_committed_and_relayed_onto_the_log() -> None:
    async def scenario() -> list[Message]:
        app = MomentumApp(env=IN_MEMORY)
        relay, log = relay_of(app)
        relay._loop = asyncio.get_running_loop()
        relay.application = app
        committer = GroupCommitter(app, on_commit=relay.wake, check=partial(check_publishable, "momentum"))
        try:
            await report_an_attack(app, committer, received=trace.now())
            await asyncio.sleep(0)  # the hand-over is scheduled on this loop by the writer thread
            while not relay._handed:
                await asyncio.sleep(0.001)
            app.recorder = NoStore()  # type: ignore[assignment]
            assert await relay.step(look=False)
        finally:
            committer.close()
        return log.messages

    before = trace.now()
    (published,) = asyncio.run(scenario())
    stamped = trace.parse_header(published.headers[trace.HEADER])
    assert stamped is not None
    received, committed, relayed = stamped
    assert before <= received <= committed <= relayed <= trace.now()
    assert published.headers["Coalition-Id"] == "momentum:1"


def test_a_relay_with_nothing_handed_over_waits_rather_than_reading_its_store() -> None:
    """After publishing what it was handed, the relay goes back to waiting for the next
    commit; it reads the store only when told to look (at start, after trouble, after a
    quiet half second) or when what it was handed does not follow on."""
    relay, log = relay_of(MomentumApp(env=IN_MEMORY))
    relay.application.recorder = NoStore()  # type: ignore[assignment]
    assert asyncio.run(relay.step(look=False)) is False
    assert log.messages == []
    with pytest.raises(AssertionError, match="read the store"):
        asyncio.run(relay.step(look=True))


def test_the_projection_tells_its_listeners_the_position_first() -> None:
    note = trace.note(42, 1, 2, 3)
    assert trace.parse_note(note) == (42, (1, 2, 3))
    assert trace.parse_note("42") == (42, ())  # as a rebuild notifies: a bare position
    assert trace.parse_header("1 2") is None and trace.parse_header(None) is None


def test_the_benchmark_finds_each_commands_projection_batch_in_the_feeds_event() -> None:
    """An item at position 7 was applied in the batch that reached 8 (the feed's event
    showed batches up to 5 and up to 8); its stages follow on from one another."""
    ms = 1_000_000  # the moments are nanoseconds
    trail = stages.Trail("item", {"received": 100 * ms, "committed": 110 * ms, "relayed": 115 * ms,
                                  "coalition": 130 * ms, "position": 7, "acked": 112 * ms})
    feed = {"batches": [[8, 131 * ms, 135 * ms, 140 * ms, 150 * ms], [5, 101 * ms, 102 * ms, 103 * ms, 104 * ms]],
            "sent": 160 * ms}
    stages.from_the_feed(trail, 170 * ms, feed)
    assert (trail.at["taken"], trail.at["written"], trail.at["woken"], trail.at["sent"], trail.at["read"]) == \
        (135 * ms, 140 * ms, 150 * ms, 160 * ms, 170 * ms)
    figures = stages.table([trail])
    assert figures["request received → group commit done"]["p50_ms"] == 10
    assert figures["COALITION → taken by the projection"]["p99_ms"] == 5
    assert figures["cumulative: received → read"]["p99_ms"] == 70
    assert figures["201 → read from the SSE feed (the headline)"]["n"] == 1


def test_a_store_time_of_the_stream_is_read_to_the_nanosecond() -> None:
    assert stages.stamp_ns("2026-11-25T06:16:24.123456789Z") % 1_000_000_000 == 123_456_789
    assert stages.stamp_ns("2026-11-25T06:16:24Z") % 1_000_000_000 == 0
