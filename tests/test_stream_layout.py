"""A data folder of the sourced layout is migrated by set-up, losing nothing.

Between the first trust round and now, each relay published into a stream of its own
(``LOG_<SERVICE>``) that ``COALITION`` sourced. Set-up moves such a log back to one stream
written directly (events/migrate.py): every message keeps its sequence, each relay resumes
after its last message instead of publishing its store again, and the old streams go.
A log from before either layout (``COALITION`` with subjects, no atomic batches) is
brought up to date too. On a real NATS server, embedded as ``coalition up`` runs it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from nats.js.api import StreamConfig, StreamSource
from nats.js.errors import NotFoundError

from coalition.engines import EmbeddedNats
from events.migrate import ensure_stream, old_log_stream
from events.publish import Message, OrderedPublisher, Position, event_id
from events.settings import STREAM
from events.stream import connect, stream_config

SERVICES = ("momentum", "scg", "unions")


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    server = EmbeddedNats(tmp_path)
    url = server.start()
    yield url
    server.stop()


def event(service: str, nid: int, header: str = "Nats-Msg-Id") -> Message:
    """A stand-in for a relayed event: set-up and the relay read only subjects and headers
    (events relayed before ``Coalition-Id`` carry their id in ``Nats-Msg-Id``)."""
    return Message(nid, f"coalition.{service}.attack.reported", b"{}", {header: f"{service}:{nid}"})


async def sourced_layout(js: JetStreamContext) -> None:
    """What set-up made before: a stream per service, ``COALITION`` sourcing them."""
    for service in SERVICES:
        await js.add_stream(StreamConfig(name=old_log_stream(service), subjects=[f"coalition.{service}.>"],
                                         allow_atomic=True))
    config = stream_config()
    config.subjects, config.allow_atomic = [], False
    config.sources = [StreamSource(name=old_log_stream(s)) for s in SERVICES]
    await js.add_stream(config)


async def contents(js: JetStreamContext) -> list[tuple[int, str]]:
    info = await js.stream_info(STREAM)
    return [(seq, event_id((await js.get_msg(STREAM, seq)).headers))
            for seq in range(1, info.state.last_seq + 1)]


def test_a_sourced_log_is_migrated_and_the_relays_resume(nats_url: str) -> None:
    """The movement published three events and the caucus two into their own streams;
    set-up migrates (at once, before the server has even finished copying them across);
    both relays resume after their last event, the next event lands on the shared log
    once, after the old ones, and the old streams are gone."""
    async def scenario() -> None:
        nc = await connect(nats_url, "test-migrate", persistent=False)
        js = nc.jetstream()
        await sourced_layout(js)
        for service, nid in [("momentum", 1), ("scg", 1), ("momentum", 2), ("scg", 2), ("momentum", 3)]:
            msg = event(service, nid)
            await js.publish(msg.subject, msg.payload, headers=msg.headers)

        await ensure_stream(js, SERVICES)
        await ensure_stream(js, SERVICES)  # idempotent

        config = (await js.stream_info(STREAM)).config
        assert config.subjects == ["coalition.>"] and not config.sources and config.allow_atomic
        shared = await contents(js)
        assert sorted(mid for _, mid in shared) == ["momentum:1", "momentum:2", "momentum:3", "scg:1", "scg:2"]
        for service in SERVICES:
            with pytest.raises(NotFoundError):
                await js.stream_info(old_log_stream(service))
        positions = {s: await OrderedPublisher(nc, s).read_position() for s in SERVICES}
        last = {mid: seq for seq, mid in shared}
        assert positions["momentum"] == Position(stream_seq=last["momentum:3"], notification_id=3)
        assert positions["scg"] == Position(stream_seq=last["scg:2"], notification_id=2)
        assert positions["unions"] == Position()

        published = await OrderedPublisher(nc, "momentum").publish(
            positions["momentum"], [event("momentum", 4, "Coalition-Id")])
        assert published == Position(stream_seq=6, notification_id=4)
        assert await contents(js) == [*shared, (6, "momentum:4")]
        await nc.close()

    asyncio.run(scenario())


def test_a_log_from_before_either_layout_is_brought_up_to_date(nats_url: str) -> None:
    """The first layout: ``COALITION`` with subjects, no atomic batches. Set-up allows
    them; the movement's relay resumes after its last event."""
    async def scenario() -> None:
        nc = await connect(nats_url, "test-migrate", persistent=False)
        js = nc.jetstream()
        config = stream_config()
        config.allow_atomic = False
        await js.add_stream(config)
        for nid in (1, 2):
            msg = event("momentum", nid)
            await js.publish(msg.subject, msg.payload, headers=msg.headers)

        await ensure_stream(js, SERVICES)
        assert (await js.stream_info(STREAM)).config.allow_atomic
        position = await OrderedPublisher(nc, "momentum").read_position()
        assert position == Position(2, 2)
        assert await OrderedPublisher(nc, "momentum").publish(position, [event("momentum", 3, "Coalition-Id")]) \
            == Position(3, 3)
        await nc.close()

    asyncio.run(scenario())


def test_a_relay_that_is_behind_is_refused_rather_than_publishing_twice(nats_url: str) -> None:
    """Two relays of the movement (a restart racing the old one): the second, still
    believing the log ends where it did, is refused by the server's order guard on
    ``COALITION`` itself; re-reading the position, it finds the first one's event."""
    async def scenario() -> None:
        nc = await connect(nats_url, "test-migrate", persistent=False)
        js = nc.jetstream()
        await ensure_stream(js, SERVICES)
        first, second = OrderedPublisher(nc, "momentum"), OrderedPublisher(nc, "momentum")
        start = await first.read_position()
        await first.publish(start, [event("momentum", 1, "Coalition-Id")])
        with pytest.raises(Exception, match="wrong last sequence"):
            await second.publish(start, [event("momentum", 1, "Coalition-Id")])
        assert await second.read_position() == Position(1, 1)
        assert [mid for _, mid in await contents(js)] == ["momentum:1"]
        await nc.close()

    asyncio.run(scenario())
