"""Partners receive, through their own consumers of ``SHARE``, exactly what the sharing
policy grants them, and nothing is stored once per partner.

On a real NATS server (embedded, as ``coalition up`` runs it): events of every TLP and
audience are put on the shared log the way a service's relay does (``OrderedPublisher``,
on its own subjects of ``COALITION``); the distributor runs in this process;
what each partner's durable consumer of ``SHARE`` delivers (the server filtering on the
partner's subjects) must be exactly the events ``events.sharing.entitled`` names, in log
order, none twice. Then a partner added late is backfilled, a revoked one receives
nothing more and stays revoked through a set-up, a replay starts again from a position,
an upgraded data folder's per-partner streams are removed, and a distributor that dies
between publishing and acknowledging publishes nothing twice.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig, StreamSource, SubjectTransform

from contracts.campaigning import WinRecorded
from contracts.envelope import CloudEvent
from coalition.engines import EmbeddedNats
from events import partners
from events.migrate import ensure_stream
from events.publish import Message, OrderedPublisher, message
from events.settings import STREAM
from events.pull import PullConsumer
from events.sharing import SHARE_STREAM, Partner, entitled, filters
from events.stream import connect
from projections.sharing.distributor import Distributor, Shared

RMT = Partner(org="rmt", max_tlp="AMBER+STRICT", people=["rmt-jane"])
FBU = Partner(org="fbu", max_tlp="GREEN")
FORUM = Partner(org="forum", max_tlp="AMBER")
BFAWU = Partner(org="bfawu", max_tlp="CLEAR")
POLICY = (RMT, FBU, FORUM, BFAWU)
PEOPLE = {"rmt-jane"}
LATE = Partner(org="scg", max_tlp="AMBER+STRICT")

TLPS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
AUDIENCES: list[list[str] | None] = [None, ["rmt"], ["fbu"], ["rmt", "fbu"], ["scg"], ["rmt-jane"], ["forum"]]


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    server = EmbeddedNats(tmp_path)
    url = server.start()
    yield url
    server.stop()


def win(tlp: str, audience: list[str] | None) -> CloudEvent:
    data = WinRecorded(org="momentum", occurred_at=datetime.now(UTC), tlp=tlp, audience=audience,  # type: ignore[arg-type]
                       win_kind="other", summary=f"{tlp} for {audience}")
    return CloudEvent(id=str(uuid.uuid4()), source="/services/momentum", type="win.recorded.v1",
                      subject=str(uuid.uuid4()), time=datetime.now(UTC), tlp=data.tlp, data=data)


class Log:
    """The shared log as the movement's relay fills it, and what was put on it."""

    def __init__(self, publisher: OrderedPublisher) -> None:
        self.publisher = publisher
        self.events: list[CloudEvent | None] = []

    async def put(self, *events: CloudEvent | None) -> None:
        """``None`` is a message that is not a shared event at all."""
        position = await self.publisher.read_position()
        batch: list[Message] = []
        for i, event in enumerate(events, start=position.notification_id + 1):
            if event is None:
                batch.append(Message(i, "coalition.momentum.win.recorded", b"{not a cloudevent",
                                     {"Coalition-Id": f"momentum:{i}"}))
            else:
                batch.append(message("momentum", i, "coalition.momentum.win.recorded", event))
        await self.publisher.publish(position, batch)
        self.events += events

    def entitled(self, partner: Partner, after: int = 0) -> list[str]:
        """Ids of the events ``partner`` may receive, in log order (from log position ``after + 1``)."""
        return [e.id for e in self.events[after:]
                if e is not None and entitled(partner, e.tlp, e.data.audience, PEOPLE)]


async def held(js: JetStreamContext, stream: str) -> list[str]:
    """The CloudEvent ids a stream holds, in its order."""
    info = await js.stream_info(stream)
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1) if info.state.messages else ():
        out.append(msgspec.json.decode((await js.get_msg(stream, seq)).data)["id"])
    return out


async def receive(url: str, partner: Partner, expected: int, rounds: int = 300) -> list[str]:
    """The CloudEvent ids ``partner``'s consumer delivers next, as a partner's client reads
    them (its own connection, acknowledging the last of what it got: ``AckPolicy.ALL``):
    once ``expected`` have come (the distributor works asynchronously), a little longer,
    so that a surplus would show."""
    nc = await connect(url, f"test-reader-{partner.org}", persistent=False)
    pump = PullConsumer(nc, SHARE_STREAM, partners.durable(partner.org), batch=1000)
    await pump.start()
    got = []
    try:
        for _ in range(rounds):
            if len(got) >= expected:
                break
            got += await pump.next_batch(timeout=0.1)
        got += await pump.next_batch(timeout=0.3)
        if got:
            await got[-1].ack_sync()
    finally:
        await pump.stop()
        await nc.close()
    return [msgspec.json.decode(m.data)["id"] for m in got]


@asynccontextmanager
async def running(js_url: str, distributor: Distributor | None = None) -> AsyncIterator[Distributor]:
    nc = await connect(js_url, "test-distributor", persistent=False)
    dist = distributor or Distributor(nc, PEOPLE)
    dist.nc, dist.js = nc, nc.jetstream(timeout=10)
    stop = asyncio.Event()
    task = asyncio.create_task(dist.run(stop))
    try:
        yield dist
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await nc.close()


async def platform_streams(url: str) -> tuple[JetStreamContext, Log]:
    nc = await connect(url, "test-admin", persistent=False)
    js = nc.jetstream()
    await ensure_stream(js, ("momentum",))
    await partners.ensure_partners(js, POLICY)
    return js, Log(OrderedPublisher(nc, "momentum"))


def every_combination() -> list[CloudEvent | None]:
    events: list[CloudEvent | None] = [win(tlp, audience) for tlp, audience in itertools.product(TLPS, AUDIENCES)]
    events.insert(7, None)  # one that is not a shared event: shared with no one, and the rest goes on
    return events


def test_each_partner_receives_exactly_what_the_policy_grants_from_one_stored_copy(nats_url: str) -> None:
    async def scenario() -> None:
        js, log = await platform_streams(nats_url)
        await log.put(*every_combination())
        async with running(nats_url) as dist:
            for partner in POLICY:
                assert await receive(nats_url, partner, len(log.entitled(partner))) == log.entitled(partner), \
                    partner.org
            assert dist.rejected == 1
            # AMBER to two organisations is one event on two subjects, not one per partner;
            # and SHARE is the only copy: no stream per partner
            assert len(await held(js, SHARE_STREAM)) < sum(len(log.entitled(p)) for p in POLICY)
            names = {i.config.name for i in await js.streams_info()}
            assert not {n for n in names if n.startswith("PARTNER_")}, names

            # a partner added late is backfilled from the start of the log, within its policy
            await partners.add(js, LATE)
            assert log.entitled(LATE), "the late partner is entitled to something"
            assert await receive(nats_url, LATE, len(log.entitled(LATE))) == log.entitled(LATE)

            # a revoked partner's consumer is gone: nothing more for it; the others go on
            await partners.revoke(js, FBU)
            more = [win("GREEN", None), win("AMBER", ["rmt"])]
            before = len(log.events)
            await log.put(*more)
            assert await receive(nats_url, RMT, 2) == log.entitled(RMT, after=before)
            assert await partners.consumer(js, FBU) is None
            # ... and it stays revoked through the next start's set-up
            await partners.ensure_partners(js, POLICY)
            assert await partners.consumer(js, FBU) is None

            # replay from a log position: the consumer starts again at the first event there
            position = 20
            await partners.replay(js, RMT, position)
            again = log.entitled(RMT, after=position - 1)
            assert await receive(nats_url, RMT, len(again)) == again
            states = {s.org: s for s in await partners.states(js, POLICY)}
            assert not states["fbu"].active and states["fbu"].revoked
            assert states["rmt"].active and states["rmt"].pending == 0 and states["rmt"].acked > 0

            # added again, the revoked partner is backfilled from the start
            await partners.add(js, FBU)
            assert await receive(nats_url, FBU, len(log.entitled(FBU))) == log.entitled(FBU)

    asyncio.run(scenario())


def old_partner_stream(partner: Partner, sources: bool) -> StreamConfig:
    """A stream of the first design: ``PARTNER_<ORG>`` sourcing SHARE through the partner's
    filters (revoked: sourcing nothing)."""
    return StreamConfig(
        name="PARTNER_" + partner.org.upper().replace("-", "_"), subjects=[],
        description=f"What {partner.org} may receive (up to TLP:{partner.max_tlp}), sourced from {SHARE_STREAM}",
        sources=[StreamSource(name=SHARE_STREAM, subject_transforms=[
            SubjectTransform(src=f, dest=f) for f in filters(partner)])] if sources else [])


def test_an_upgraded_folders_partner_streams_are_removed_and_a_revoked_partner_stays_revoked(nats_url: str) -> None:
    """A data folder of the first design holds a stream per partner: the RMT's, which had
    copied three events and whose consumer acknowledged two, and the FBU's, revoked
    (sourcing nothing). Set-up deletes both; the RMT's new consumer of SHARE resumes with
    the third event, the FBU gets none."""
    async def scenario() -> None:
        nc = await connect(nats_url, "test-admin", persistent=False)
        js = nc.jetstream()
        await partners.ensure_share(js)
        for position in (1, 2, 3):
            await js.publish("share.all.green.win.recorded.v1", msgspec.json.encode({"id": f"event-{position}"}),
                             headers={partners.POSITION: str(position)})
        old = old_partner_stream(RMT, sources=True)
        await js.add_stream(old)
        await js.add_stream(old_partner_stream(FBU, sources=False))
        for _ in range(500):  # the server copies into the old stream asynchronously
            if (await js.stream_info(old.name)).state.messages == 3:
                break
            await asyncio.sleep(0.02)
        await js.add_consumer(old.name, ConsumerConfig(durable_name="rmt", ack_policy=AckPolicy.EXPLICIT))
        sub = await js.pull_subscribe_bind(durable="rmt", stream=old.name)
        for msg in await sub.fetch(2, timeout=5):
            await msg.ack_sync()
        await sub.unsubscribe()

        await partners.ensure_partners(js, (RMT, FBU))
        names = {i.config.name for i in await js.streams_info()}
        assert not {n for n in names if n.startswith("PARTNER_")}, names
        states = {s.org: s for s in await partners.states(js, (RMT, FBU))}
        assert states["rmt"].active and not states["fbu"].active and states["fbu"].revoked
        await nc.close()
        assert await receive(nats_url, RMT, 1) == ["event-3"]

    asyncio.run(scenario())


class Killed(Exception):
    """The process dies here."""


class DiesAfterPublishing(Distributor):
    """Stores its first batch on SHARE, then dies before acknowledging what it read."""

    async def publish(self, shared: list[Shared]) -> None:
        await super().publish(shared)
        raise Killed


class DiesMidBatch(Distributor):
    """Sends half of an atomic batch, then dies before the commit."""

    async def _publish_batch(self, batch: list[Shared]) -> None:
        for i, item in enumerate(batch[: len(batch) // 2], start=1):
            headers = dict(item.headers, **{"Nats-Batch-Id": "dead", "Nats-Batch-Sequence": str(i)})
            if i == 1:
                headers["Nats-Expected-Last-Sequence"] = str(self.checkpoint.share_seq)
            await self.nc.publish(item.subject, item.payload, headers=headers)
        raise Killed


@pytest.mark.parametrize("dying", [DiesAfterPublishing, DiesMidBatch])
def test_a_distributor_killed_mid_run_publishes_nothing_twice(nats_url: str, dying: type[Distributor]) -> None:
    async def scenario() -> None:
        js, log = await platform_streams(nats_url)
        await log.put(*every_combination())
        nc = await connect(nats_url, "test-dying", persistent=False)
        first = dying(nc, PEOPLE)
        with pytest.raises(Killed):
            await asyncio.wait_for(first.run(asyncio.Event()), 20)
        await nc.close()
        await log.put(win("GREEN", None), win("AMBER", ["fbu", "rmt"]))
        async with running(nats_url):
            for partner in POLICY:
                assert await receive(nats_url, partner, len(log.entitled(partner))) == log.entitled(partner), \
                    partner.org
            share = [(m.headers or {})["Nats-Msg-Id"] for m in
                     [await js.get_msg(SHARE_STREAM, s) for s in
                      range(1, (await js.stream_info(SHARE_STREAM)).state.last_seq + 1)]]
            assert len(share) == len(set(share)), "an event published twice onto SHARE"
            positions = [int((await js.get_msg(SHARE_STREAM, s)).headers[partners.POSITION])
                         for s in range(1, len(share) + 1)]
            assert positions == sorted(positions), "SHARE follows the log's order"
            assert (await js.stream_info(STREAM)).state.last_seq == len(log.events)

    asyncio.run(scenario())
