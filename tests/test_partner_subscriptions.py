"""Partners on the running platform: each holds only its own credentials, reads ``SHARE``
only through its own consumer, and receives there exactly what the policy grants it,
whatever happens to the distributor.

``coalition up`` runs the distributor like the board; set-up made ``SHARE`` and a durable
consumer of it per partner, filtered to its policy (by default every organisation, up to
AMBER+STRICT).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time

import uuid

import msgspec
import pytest
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError

from coalition import natsconf
from contracts import decode_envelope
from events.partners import POSITION, durable
from events.pull import PullConsumer
from events.settings import STREAM
from events.sharing import SHARE_STREAM, entitled, load_partners
from tests.bodies import ATTACK
from tests.conftest import Running
from tests.test_nats_rights import as_user, run

pytestmark = pytest.mark.usefixtures("platform")


def attack(tlp: str, audience: list[str] | None = None, summary: str = "Suspended for a picket-line photo") -> dict:
    body = dict(ATTACK, tlp=tlp, summary=summary)
    if audience is not None:
        body["audience"] = audience
    return body


def report(platform: Running, body: dict, org: str = "momentum") -> str:
    resp = platform.post(org, "momentum", "/v1/attacks", body)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


async def messages(js, stream: str) -> list:  # noqa: ANN001
    info = await js.stream_info(stream)
    if not info.state.messages:
        return []
    return [await js.get_msg(stream, s) for s in range(info.state.first_seq, info.state.last_seq + 1)]


async def shared_up_to_the_end(platform: Running, last: str | None = None, rounds: int = 1000) -> None:
    """Wait until the distributor has read the whole log onto SHARE (and, given ``last``,
    until the item reported last is there: the relay publishes a moment after the 201)."""
    import nats

    nc = await nats.connect(platform.nats_url)
    js = nc.jetstream()
    try:
        for _ in range(rounds):
            end = (await js.stream_info(STREAM)).state.last_seq
            consumer = await js.consumer_info(STREAM, "distributor")
            on_share = True
            if last is not None:
                try:
                    newest = await js.get_last_msg(SHARE_STREAM, "share.>")
                    on_share = msgspec.json.decode(newest.data)["subject"] == last
                except NotFoundError:
                    on_share = False  # nothing shared yet
            if on_share and consumer.ack_floor and consumer.ack_floor.stream_seq >= end:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the distributor did not catch up with the log")
    finally:
        await nc.close()


async def what_its_consumer_delivers(js, org: str) -> list[str]:  # noqa: ANN001
    """The CloudEvent ids ``org``'s consumer of SHARE delivers from the start, read (as the
    admin, leaving the partner's own position alone) through a copy of that consumer: the
    same filters, as the server has them."""
    mine = await js.consumer_info(SHARE_STREAM, durable(org))
    name = f"check-{org}-{uuid.uuid4().hex[:8]}"
    copy = await js.add_consumer(SHARE_STREAM, ConsumerConfig(
        name=name, filter_subjects=mine.config.filter_subjects, ack_policy=AckPolicy.NONE, inactive_threshold=60))
    ids: list[str] = []
    try:
        sub = await js.pull_subscribe_bind(durable=name, stream=SHARE_STREAM)
        while len(ids) < (copy.num_pending or 0):
            ids += [msgspec.json.decode(m.data)["id"] for m in await sub.fetch(1000, timeout=5)]
        await sub.unsubscribe()
    finally:
        await js.delete_consumer(SHARE_STREAM, name)
    return ids


def test_every_partner_receives_exactly_its_share_though_the_distributor_is_killed(platform: Running) -> None:
    """Organisations report attacks of every marking while the distributor is killed
    (SIGKILL) twice; the supervisor restarts it. Afterwards SHARE holds each event's class
    once, and each partner's consumer delivers exactly the events of the whole log it is
    entitled to, in log order, none twice; no stream holds a copy per partner."""
    bodies = [attack(tlp, audience) for tlp in ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
              for audience in (None, ["rmt"], ["fbu"], ["rmt", "fbu"], ["forum"])]
    bodies = [b for b in bodies if not (b["tlp"] == "AMBER+STRICT" and len(b.get("audience") or []) != 1)]
    done = threading.Event()

    def publish() -> None:
        for _ in range(4):
            for body in bodies:
                report(platform, body)
        done.set()

    writer = threading.Thread(target=publish)
    writer.start()
    def pid() -> int:
        return json.loads((platform.data_dir / "pids.json").read_text())["distributor"]

    for _ in range(2):
        time.sleep(0.5)
        killed = pid()
        platform.child("distributor").kill()
        deadline = time.monotonic() + 30
        while pid() == killed and time.monotonic() < deadline:
            time.sleep(0.05)
    writer.join()
    assert done.is_set()

    async def scenario() -> None:
        import nats

        await shared_up_to_the_end(platform)
        nc = await nats.connect(platform.nats_url)
        js = nc.jetstream()
        try:
            log = []
            for msg in await messages(js, STREAM):
                try:
                    log.append(decode_envelope(msg.data))
                except msgspec.ValidationError:
                    pass  # not a shared event: shared with no one
            share = await messages(js, SHARE_STREAM)
            ids = [m.headers["Nats-Msg-Id"] for m in share]
            assert len(ids) == len(set(ids)), "an event's class published twice onto SHARE"
            positions = [int(m.headers[POSITION]) for m in share]
            assert positions == sorted(positions)
            for partner in load_partners(platform.data_dir):
                delivered = await what_its_consumer_delivers(js, partner.org)
                assert delivered == [e.id for e in log if entitled(partner, e.tlp, e.data.audience)], partner.org
            streams = {i.config.name for i in await js.streams_info()}
            assert not {n for n in streams if n.startswith("PARTNER_")}, "nothing is stored once per partner"
        finally:
            await nc.close()

    run(scenario())


def test_a_partner_reads_through_its_own_consumer_and_nothing_else(platform: Running) -> None:
    """bfawu's user fetches and acks through its own consumer of SHARE and reads that
    consumer's info; the server refuses it the shared log, SHARE by any other way (stream
    info, message get, direct get), fetching through another partner's consumer or
    reading its info, a consumer of its own making with another filter, widening or
    deleting its own consumer, and any publication."""
    report(platform, attack("CLEAR", summary="Open to every partner"))

    async def scenario() -> None:
        await shared_up_to_the_end(platform)
        own, rmt = f"{SHARE_STREAM}.{durable('bfawu')}", f"{SHARE_STREAM}.{durable('rmt')}"
        async with as_user(platform, natsconf.partner_user_name("bfawu")) as bfawu:
            pump = PullConsumer(bfawu.nc, SHARE_STREAM, durable("bfawu"), batch=10)
            await pump.start()
            got = await pump.next_batch(timeout=10)
            assert got and all(m.subject.startswith(("share.all.", "share.org.bfawu.")) for m in got)
            await got[-1].ack_sync()
            await pump.stop()
            await bfawu.nc.request(f"$JS.API.CONSUMER.INFO.{own}", b"", timeout=2)
            assert not bfawu.errors

            await bfawu.refused(bfawu.js.get_last_msg(STREAM, "coalition.>"), f"$JS.API.STREAM.MSG.GET.{STREAM}")
            await bfawu.refused(bfawu.js.get_last_msg(SHARE_STREAM, "share.>"),
                                f"$JS.API.STREAM.MSG.GET.{SHARE_STREAM}")
            await bfawu.refused(bfawu.js.get_msg(SHARE_STREAM, 1, direct=True), f"$JS.API.DIRECT.GET.{SHARE_STREAM}")
            await bfawu.refused(bfawu.js.stream_info(SHARE_STREAM), f"$JS.API.STREAM.INFO.{SHARE_STREAM}")
            # another partner's consumer: neither fetch through it nor read its info
            await bfawu.refused(bfawu.nc.request(f"$JS.API.CONSUMER.MSG.NEXT.{rmt}", b'{"batch":1}', timeout=1),
                                f"$JS.API.CONSUMER.MSG.NEXT.{rmt}")
            await bfawu.refused(bfawu.nc.request(f"$JS.API.CONSUMER.INFO.{rmt}", b"", timeout=1),
                                f"$JS.API.CONSUMER.INFO.{rmt}")
            # a consumer with another filter, or its own consumer widened or deleted
            await bfawu.refused(bfawu.js.add_consumer(SHARE_STREAM, ConsumerConfig(
                name="wide", durable_name="wide", ack_policy=AckPolicy.NONE, filter_subject="share.>")),
                f"$JS.API.CONSUMER.CREATE.{SHARE_STREAM}.wide.share.>")
            await bfawu.refused(bfawu.js.add_consumer(SHARE_STREAM, ConsumerConfig(
                name="bfawu", durable_name="bfawu", ack_policy=AckPolicy.ALL,
                filter_subjects=["share.all.>", "share.org.rmt.>"])), f"$JS.API.CONSUMER.CREATE.{own}")
            await bfawu.refused(bfawu.js.delete_consumer(SHARE_STREAM, "bfawu"), f"$JS.API.CONSUMER.DELETE.{own}")
            await bfawu.refused(bfawu.js.add_consumer(STREAM, ConsumerConfig(
                durable_name="spy", ack_policy=AckPolicy.NONE)), f"$JS.API.CONSUMER.DURABLE.CREATE.{STREAM}.spy")
            for subject in ("coalition.forum.win.recorded", "share.all.green.attack.reported.v1"):
                await bfawu.nc.publish(subject, b"{}")
                await bfawu.violation(subject)
            await bfawu.nc.subscribe("share.>")
            await bfawu.violation('subscription to "share.>"')

    run(scenario())
    # its consumer is as set-up made it: the policy's filters, nothing wider

    async def filters_now() -> list[str]:
        import nats

        nc = await nats.connect(platform.nats_url)
        try:
            return (await nc.jetstream().consumer_info(SHARE_STREAM, "bfawu")).config.filter_subjects or []
        finally:
            await nc.close()

    assert run_value(filters_now()) == ["share.all.clear.>", "share.all.green.>", "share.org.bfawu.amber.>",
                                        "share.org.bfawu.amber-strict.>"]


def subscribe(platform: Running, org: str, limit: int) -> list[dict]:
    proc = subprocess.run([sys.executable, "-m", "coalition.cli", "subscribe", "--org", org, "--json",
                           "--limit", str(limit), "--data-dir", str(platform.data_dir)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_the_partner_client_prints_what_arrives_and_resumes_after_a_restart(platform: Running) -> None:
    """rmt's client prints everything its consumer has for it, stops; two more events
    arrive; started again, it prints those two and nothing it printed before."""
    first = report(platform, attack("AMBER", ["rmt"], summary="For the RMT and the forum"))
    run(shared_up_to_the_end(platform, last=first))

    async def count() -> int:
        import nats

        nc = await nats.connect(platform.nats_url)
        try:
            info = await nc.jetstream().consumer_info(SHARE_STREAM, durable("rmt"))
            return (info.num_pending or 0) + (info.num_ack_pending or 0)
        finally:
            await nc.close()

    before = subscribe(platform, "rmt", run_value(count()))
    assert before[-1]["subject"] == first and before[-1]["tlp"] == "AMBER"
    later = [report(platform, attack("GREEN", summary=f"Later {i}")) for i in range(2)]
    run(shared_up_to_the_end(platform, last=report(platform, attack("AMBER", ["fbu"], summary="Not for the RMT"))))
    after = subscribe(platform, "rmt", 2)
    assert [e["subject"] for e in after] == later
    assert not {e["id"] for e in after} & {e["id"] for e in before}

    lines = subprocess.run([sys.executable, "-m", "coalition.cli", "status", "--data-dir", str(platform.data_dir)],
                           capture_output=True, text=True, timeout=60, check=True).stdout
    assert "distributor position" in lines
    listed = subprocess.run([sys.executable, "-m", "coalition.cli", "partners", "list", "--data-dir",
                             str(platform.data_dir)], capture_output=True, text=True, timeout=60, check=True).stdout
    assert any(line.split()[:1] == ["rmt"] and "active" in line for line in listed.splitlines())


def run_value(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)
