"""A data folder from the one-stream days is migrated by set-up, losing nothing.

Before per-service streams, every relay published into ``COALITION`` (subjects
``coalition.>``). Set-up turns it into the sourcing stream (events/migrate.py): every
message keeps its sequence, and each relay resumes after its last message instead of
publishing its store again. On a real NATS server, embedded as ``coalition up`` runs it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from nats.js.api import StreamConfig

from coalition.engines import EmbeddedNats
from events.migrate import ensure_stream
from events.publish import Message, OrderedPublisher, Position
from events.settings import STREAM
from events.stream import connect, log_stream, stream_config

SERVICES = ("momentum", "scg", "unions")


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    server = EmbeddedNats(tmp_path)
    url = server.start()
    yield url
    server.stop()


def old_layout() -> StreamConfig:
    config = stream_config(services=())
    config.subjects, config.sources = ["coalition.>"], None
    return config


def event(service: str, nid: int) -> Message:
    """A stand-in for a relayed event: set-up and the relay read only subjects and headers."""
    return Message(nid, f"coalition.{service}.attack.reported", b"{}", {"Nats-Msg-Id": f"{service}:{nid}"})


async def publish_old_way(js: JetStreamContext, service: str, nid: int) -> None:
    """What a relay did before: straight onto ``COALITION``."""
    msg = event(service, nid)
    await js.publish(msg.subject, msg.payload, headers=msg.headers)


async def contents(js: JetStreamContext) -> list[tuple[int, str]]:
    info = await js.stream_info(STREAM)
    return [(seq, (await js.get_msg(STREAM, seq)).headers["Nats-Msg-Id"])
            for seq in range(1, info.state.last_seq + 1)]


def test_an_old_shared_stream_is_migrated_and_the_relays_resume(nats_url: str) -> None:
    """The movement published three events and the caucus two, the old way; set-up
    migrates; both relays resume after their last event, and the next events land on the
    shared log once, after the old ones, with their sequences unchanged."""
    async def scenario() -> None:
        nc = await connect(nats_url, "test-migrate", persistent=False)
        js = nc.jetstream()
        await js.add_stream(old_layout())
        for service, nid in [("momentum", 1), ("scg", 1), ("momentum", 2), ("scg", 2), ("momentum", 3)]:
            await publish_old_way(js, service, nid)
        before = await contents(js)

        await ensure_stream(js, SERVICES)
        await ensure_stream(js, SERVICES)  # idempotent

        config = (await js.stream_info(STREAM)).config
        assert not config.subjects
        assert {s.name for s in config.sources or []} == {log_stream(s) for s in SERVICES}
        assert await contents(js) == before
        positions = {s: await OrderedPublisher(nc, s).read_position() for s in SERVICES}
        assert positions["momentum"] == Position(stream_seq=1, notification_id=3)
        assert positions["scg"] == Position(stream_seq=1, notification_id=2)
        assert positions["unions"] == Position()

        published = await OrderedPublisher(nc, "momentum").publish(positions["momentum"], [event("momentum", 4)])
        assert published == Position(stream_seq=2, notification_id=4)
        for _ in range(100):
            if len(await contents(js)) == len(before) + 1:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        assert await contents(js) == [*before, (len(before) + 1, "momentum:4")]
        await nc.close()

    asyncio.run(scenario())


def test_a_migration_cut_short_is_finished_by_the_next_set_up(nats_url: str) -> None:
    """Set-up died after turning ``COALITION`` into the sourcing stream, before copying the
    checkpoint into the movement's new stream: the next set-up copies it."""
    async def scenario() -> None:
        nc = await connect(nats_url, "test-migrate", persistent=False)
        js = nc.jetstream()
        await js.add_stream(old_layout())
        await publish_old_way(js, "momentum", 1)
        await publish_old_way(js, "momentum", 2)
        info = await js.stream_info(STREAM)
        info.config.subjects = []
        info.config.sources = stream_config(services=SERVICES, start={"momentum": 2}).sources
        await js.update_stream(info.config)  # step 2 of the migration, and no step 3

        await ensure_stream(js, SERVICES)
        assert await OrderedPublisher(nc, "momentum").read_position() == Position(1, 2)
        await asyncio.sleep(0.2)
        assert [mid for _, mid in await contents(js)] == ["momentum:1", "momentum:2"]
        await nc.close()

    asyncio.run(scenario())
