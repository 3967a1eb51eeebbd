"""Reading what is really on the shared log and in the stores, for the tests' assertions."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

import nats
import psycopg
from nats.js.api import DeliverPolicy

from contracts import decode_envelope
from events.publish import event_id
from events.settings import SERVICES

if TYPE_CHECKING:
    from coalition.launcher import Running


@dataclass
class Published:
    seq: int
    subject: str
    msg_id: str
    event_id: str
    item: str
    kind: str

    @property
    def service(self) -> str:
        return self.msg_id.split(":")[0]

    @property
    def notification(self) -> int:
        return int(self.msg_id.split(":")[1])


def read_stream(nats_url: str) -> list[Published]:
    async def read() -> list[Published]:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            last = (await js.stream_info("COALITION")).state.last_seq
            out: list[Published] = []
            if last == 0:
                return out
            sub = await js.subscribe("coalition.>", stream="COALITION", ordered_consumer=True,
                                     deliver_policy=DeliverPolicy.ALL)
            while True:
                msg = await sub.next_msg(timeout=10)
                ce = decode_envelope(msg.data)
                out.append(Published(msg.metadata.sequence.stream, msg.subject, event_id(msg.headers),
                                     ce.id, ce.subject, ce.type))
                if msg.metadata.sequence.stream >= last:
                    break
            await sub.unsubscribe()
            return out
        finally:
            await nc.close()

    return asyncio.run(read())


def stored_notifications(database_url: str, service: str) -> list[int]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            f"SELECT notification_id FROM {service}.{service}_events ORDER BY notification_id"  # noqa: S608
        ).fetchall()
    return [r[0] for r in rows]


def board_rows(database_url: str) -> list[tuple]:
    """The whole board read model, rows in a stable order, for equality checks."""
    with psycopg.connect(database_url) as conn:
        items = conn.execute("SELECT * FROM board.items ORDER BY id").fetchall()
        pledges = conn.execute("SELECT * FROM board.pledges ORDER BY id").fetchall()
        position = conn.execute("SELECT seq FROM board.position").fetchall()
    return [*items, *pledges, *position]


def assert_exactly_once_in_order(database_url: str, published: list[Published], service: str) -> None:
    """Every stored event of ``service`` is on the log once, in the store's order."""
    mine = [p for p in published if p.service == service]
    ids = [p.notification for p in mine]
    assert len(ids) == len(set(ids)), f"{service}: duplicates on the shared log"
    assert ids == sorted(ids), f"{service}: published out of order"
    assert ids == stored_notifications(database_url, service), f"{service}: log and store differ"


def stored_and_published(p: Running) -> tuple[int, int]:
    """How many events all services have stored, and how many the shared log holds."""
    with psycopg.connect(p.database_url) as conn:
        stored = sum(
            conn.execute(f"SELECT count(*) FROM {s}.{s}_events").fetchone()[0]  # noqa: S608
            for s in SERVICES
        )

    async def count() -> int:
        nc = await nats.connect(p.nats_url)
        try:
            return (await nc.jetstream().stream_info("COALITION")).state.messages
        finally:
            await nc.close()

    return stored, asyncio.run(count())
