"""NATS rights, tried as a hostile partner would with its own service's credentials.

Each organisation's service has its own NATS user (coalition/natsconf.py): it may publish
only on its own subjects, into the shared log, and read only the last message on them;
the board projection may only consume through its own consumer; only the admin creates
and removes streams. Every denial here is the server's, on the running platform.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from coalition import natsconf
from events.publish import event_id
from events.stream import connect, last_message_subject, with_credentials
from tests.bodies import ATTACK
from tests.conftest import Running

pytestmark = pytest.mark.usefixtures("platform")


class As:
    """A connection as one NATS user, keeping the server's permission errors."""

    def __init__(self, nc: NATS, errors: list[str]) -> None:
        self.nc = nc
        self.js = nc.jetstream(timeout=1)
        self.errors = errors

    async def refused(self, action: Awaitable[object], subject: str) -> None:
        """``action`` gets no answer, and the server says why: a permissions violation on ``subject``."""
        self.errors.clear()
        with pytest.raises((nats.errors.TimeoutError, asyncio.TimeoutError)):
            await action
        await self.violation(subject)

    async def violation(self, subject: str) -> None:
        for _ in range(50):
            if any("permissions violation" in e and subject.lower() in e.lower() for e in self.errors):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"no permissions violation for {subject}: {self.errors}")


@asynccontextmanager
async def as_user(platform: Running, user: str) -> AsyncIterator[As]:
    secrets = json.loads((platform.data_dir / "secrets.json").read_text())
    url = with_credentials(platform.endpoints["nats"], user, secrets["nats"][user])
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await connect(url, f"test-{user}", persistent=False)
    nc._error_cb = on_error  # noqa: SLF001 - connect() takes no callback; the tests want the server's word
    try:
        yield As(nc, errors)
    finally:
        await nc.close()


async def last_seq(platform: Running, stream: str) -> int:
    nc = await nats.connect(platform.nats_url)
    try:
        return (await nc.jetstream().stream_info(stream)).state.last_seq
    finally:
        await nc.close()


def run(coro: Awaitable[None]) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def test_a_service_cannot_publish_as_another(platform: Running) -> None:
    """The movement's user publishes a forged caucus event: the server refuses it, and
    the shared log does not grow."""
    async def scenario() -> None:
        before = await last_seq(platform, "COALITION")
        async with as_user(platform, "momentum") as momentum:
            await momentum.refused(momentum.js.publish("coalition.scg.attack.reported", b"{}",
                                                       headers={"Nats-Msg-Id": "scg:999999"}),
                                   "coalition.scg.attack.reported")
            await momentum.nc.publish("coalition.scg.attack.reported", b"{}")
            await momentum.violation("coalition.scg.attack.reported")
        await asyncio.sleep(0.2)
        assert await last_seq(platform, "COALITION") == before

    run(scenario())


def test_a_service_cannot_read_another_services_events(platform: Running) -> None:
    """The movement's user reads the last message on its own subjects (its relay's
    checkpoint), but nothing of the caucus's: not its last message (whatever the request
    asks for on the one direct-get subject it may use), no message by sequence, no
    consumer, no subscription to the subjects."""
    for org, service in (("momentum", "momentum"), ("scg", "scg")):
        platform.wait_on_board(platform.post(org, service, "/v1/attacks", ATTACK).json()["id"])

    async def scenario() -> None:
        async with as_user(platform, "momentum") as momentum:
            own = await momentum.nc.request(last_message_subject("momentum"), b"", timeout=1)
            assert event_id(own.headers).startswith("momentum:")
            for asked in (b'{"seq": 1}', b'{"last_by_subj": "coalition.scg.attack.reported"}',
                          b'{"next_by_subj": "coalition.scg.>", "seq": 1}', b'{"multi_last": ["coalition.>"]}'):
                answer = await momentum.nc.request(last_message_subject("momentum"), asked, timeout=1)
                assert not answer.data and (answer.headers or {}).get("Status") == "408", asked  # Bad Request
            await momentum.refused(momentum.nc.request(last_message_subject("scg"), b"", timeout=1),
                                   last_message_subject("scg"))
            await momentum.refused(momentum.js.get_last_msg("COALITION", "coalition.scg.>", direct=True),
                                   "$JS.API.DIRECT.GET.COALITION")
            await momentum.refused(momentum.js.get_last_msg("COALITION", "coalition.scg.>"),
                                   "$JS.API.STREAM.MSG.GET.COALITION")
            await momentum.refused(momentum.js.add_consumer("COALITION", ConsumerConfig(
                name="spy", durable_name="spy", ack_policy=AckPolicy.NONE, filter_subject="coalition.scg.>")),
                "$JS.API.CONSUMER.CREATE.COALITION.spy.coalition.scg.>")
            await momentum.refused(momentum.js.add_consumer("COALITION", ConsumerConfig(
                durable_name="spy", ack_policy=AckPolicy.NONE)), "$JS.API.CONSUMER.DURABLE.CREATE.COALITION.spy")
            await momentum.refused(momentum.js.stream_info("COALITION"), "$JS.API.STREAM.INFO.COALITION")
            await momentum.nc.subscribe("coalition.>")
            await momentum.violation("subscription to \"coalition.>\"")
            await momentum.nc.subscribe("_INBOX.board.>")
            await momentum.violation("subscription to \"_INBOX.board.>\"")

    run(scenario())


def test_a_service_cannot_purge_or_delete_a_stream(platform: Running) -> None:
    """The movement's user can neither purge nor delete the shared log."""
    async def scenario() -> None:
        async with as_user(platform, "momentum") as momentum:
            await momentum.refused(momentum.js.purge_stream("COALITION"), "$JS.API.STREAM.PURGE.COALITION")
            await momentum.refused(momentum.js.delete_stream("COALITION"), "$JS.API.STREAM.DELETE.COALITION")
        assert await last_seq(platform, "COALITION") > 0

    run(scenario())


def test_the_projection_only_consumes_through_its_own_consumer(platform: Running) -> None:
    """The board's user reads the shared log's info, but cannot publish an event, read a
    message but through its consumer, or make a consumer of another name."""
    async def scenario() -> None:
        async with as_user(platform, natsconf.BOARD) as board:
            await board.js.stream_info("COALITION")
            await board.nc.publish("coalition.forum.win.recorded", b"{}")
            await board.violation("coalition.forum.win.recorded")
            await board.refused(board.nc.request(last_message_subject("scg"), b"", timeout=1),
                                last_message_subject("scg"))
            await board.refused(board.js.add_consumer("COALITION", ConsumerConfig(
                name="spy", durable_name="spy", ack_policy=AckPolicy.NONE)), "$JS.API.CONSUMER.CREATE.COALITION.spy")
            await board.refused(board.js.delete_stream("COALITION"), "$JS.API.STREAM.DELETE.COALITION")

    run(scenario())


def test_the_admin_may_do_all_of_it(platform: Running) -> None:
    """The admin (set-up, the CLI) reads any stream and creates, fills, purges and deletes one."""
    async def scenario() -> None:
        async with as_user(platform, natsconf.ADMIN) as admin:
            await admin.js.stream_info("COALITION")
            await admin.js.get_last_msg("COALITION", "coalition.scg.>")
            await admin.js.add_stream(StreamConfig(name="SCRATCH", subjects=["scratch.>"]))
            assert (await admin.js.publish("scratch.one", b"x")).seq == 1
            await admin.js.purge_stream("SCRATCH")
            await admin.js.delete_stream("SCRATCH")
        assert not admin.errors

    run(scenario())


def test_the_webhook_deliverer_only_reads_the_shared_log_by_position(platform: Running) -> None:
    """The deliverer's user reads ``COALITION`` by position (batched direct gets) and its
    stream info, nothing else: no publishing, no consumer."""
    from events.logread import log_end, read_after

    platform.wait_on_board(platform.post("momentum", "momentum", "/v1/attacks", ATTACK).json()["id"])

    async def scenario() -> None:
        async with as_user(platform, natsconf.WEBHOOKS) as hooks:
            assert await log_end(hooks.nc) > 0
            assert (await read_after(hooks.nc, 0, 1))[0][0] == 1
            await hooks.nc.publish("coalition.momentum.attack.reported", b"{}")
            await hooks.violation("coalition.momentum.attack.reported")
            await hooks.refused(hooks.js.get_last_msg("COALITION", "coalition.momentum.>"),
                                "$JS.API.STREAM.MSG.GET.COALITION")
            await hooks.refused(hooks.js.add_consumer("COALITION", ConsumerConfig(
                durable_name="spy", ack_policy=AckPolicy.NONE)), "$JS.API.CONSUMER.DURABLE.CREATE.COALITION.spy")

    run(scenario())
