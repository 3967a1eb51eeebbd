"""The distributor: reads ``COALITION`` once and publishes each event once per sharing
class onto ``SHARE``, which every partner reads through its own durable consumer, filtered
on the server to its policy (``events.partners``). Python decides each event's classes
once; it is stored once, and the NATS server delivers it to the N partners entitled to it.

**Exactly once, in log order, with ``SHARE`` as the checkpoint.** Every message on
``SHARE`` carries the ``COALITION`` sequence of its event (header ``Coalition-Seq``), so
the last message there says how far the distributor got; there is no second checkpoint
to drift. The messages of a stretch of events (all the classes of each event together)
go as one JetStream **atomic batch** whose first message expects ``SHARE``'s last
sequence (``Nats-Expected-Last-Sequence``): a batch is stored whole or not at all, a
crash between the publication and the consumer's ack leaves a checkpoint that already
covers the batch (the durable is recreated after it, and anything redelivered at or
below it is skipped), and a second distributor's stale batch is refused by the server
(err_code 10071) instead of being stored twice. Each message's ``Nats-Msg-Id`` is
``<cloudevent id>:<class>`` as a second guard within the stream's duplicate window.

**No event stops it.** One it cannot decode (not a valid shared event) is logged with
its stream sequence and skipped, as the board quarantines it; an event with no class
(RED naming no known person, AMBER+STRICT naming several organisations) is shared with
no one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.errors import APIError, NotFoundError

from contracts import decode_envelope
from contracts.envelope import CONTENT_TYPE
from events.partners import POSITION
from events.pull import PullConsumer, log_consumer, stream_seq
from events.settings import STREAM
from events.sharing import SHARE_PREFIX, SHARE_STREAM, classes, subject

log = logging.getLogger("coalition.distributor")

DURABLE = "distributor"
FETCH = 500
#: at most this many messages in one atomic batch (the server allows 1,000)
MAX_BATCH = 500
ERR_WRONG_LAST_SEQUENCE = 10071


@dataclass(frozen=True)
class Shared:
    """One message for ``SHARE``: an event of the log under one sharing class."""

    position: int
    subject: str
    payload: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Checkpoint:
    """How far ``SHARE`` goes: its last sequence and the log position that message carries."""

    share_seq: int = 0
    position: int = 0


def share(position: int, raw: bytes, people: Iterable[str]) -> list[Shared]:
    """The messages one event of the log becomes: one per sharing class, the CloudEvent
    unchanged (its marking travels with it, never lowered). Raises if it is not a valid
    shared event."""
    event = decode_envelope(raw)
    found = []
    for share_class in classes(event.tlp, event.data.audience, people):
        found.append(Shared(position, subject(share_class, event.type), raw, {
            "Nats-Msg-Id": f"{event.id}:{share_class}",
            POSITION: str(position),
            "Content-Type": CONTENT_TYPE,
            "Ce-Type": event.type,
            "Ce-Tlp": event.tlp,
        }))
    return found


class Distributor:
    def __init__(self, nc: NATS, people: Iterable[str] = ()) -> None:
        self.nc = nc
        self.js = nc.jetstream(timeout=10)
        self.people = frozenset(people)
        self.checkpoint = Checkpoint()
        self.rejected = 0

    async def read_checkpoint(self) -> Checkpoint:
        """The last message on ``SHARE``: its sequence and the log position it carries."""
        try:
            msg = await self.js.get_last_msg(SHARE_STREAM, f"{SHARE_PREFIX}.>")
        except NotFoundError:
            return Checkpoint()
        return Checkpoint(msg.seq or 0, int((msg.headers or {}).get(POSITION, "0")))

    async def subscribe(self) -> PullConsumer:
        """(Re)create the durable just after the checkpoint: what a killed process had
        fetched but not acknowledged comes again at once and in order, not after ack_wait."""
        self.checkpoint = await self.read_checkpoint()
        try:
            await self.js.delete_consumer(STREAM, DURABLE)
        except NotFoundError:
            pass
        await self.js.add_consumer(STREAM, log_consumer(DURABLE, self.checkpoint.position + 1))
        pump = PullConsumer(self.nc, STREAM, DURABLE, batch=FETCH)
        await pump.start()
        log.info("distributor reading %s from stream seq %d (%s at %d)", STREAM, self.checkpoint.position + 1,
                 SHARE_STREAM, self.checkpoint.share_seq)
        return pump

    def prepare(self, msgs: list[Msg]) -> list[Shared]:
        """The messages for ``SHARE`` of what is new in ``msgs``, in log order."""
        out: list[Shared] = []
        for msg in msgs:
            seq = stream_seq(msg)
            if seq <= self.checkpoint.position:
                continue  # redelivered: already on SHARE
            try:
                out += share(seq, msg.data, self.people)
            except Exception as exc:  # noqa: BLE001 - whatever a publisher sent, the distributor goes on
                self.rejected += 1
                log.error("distributor: stream seq %d is not a valid shared event, shared with no one: %s",
                          seq, exc)
        return out

    async def publish(self, shared: list[Shared]) -> None:
        """Everything in ``shared`` onto ``SHARE`` in atomic batches, never splitting an
        event's classes across two batches."""
        batch: list[Shared] = []
        for i, item in enumerate(shared):
            batch.append(item)
            last_of_event = i + 1 == len(shared) or shared[i + 1].position != item.position
            if last_of_event and len(batch) >= MAX_BATCH - 50:
                await self._publish_batch(batch)
                batch = []
        if batch:
            await self._publish_batch(batch)

    async def _publish_batch(self, batch: list[Shared]) -> None:
        batch_id = uuid.uuid4().hex
        reply = None
        for i, item in enumerate(batch, start=1):
            headers = dict(item.headers, **{"Nats-Batch-Id": batch_id, "Nats-Batch-Sequence": str(i)})
            if i == 1:
                headers["Nats-Expected-Last-Sequence"] = str(self.checkpoint.share_seq)
            if i == len(batch):
                headers["Nats-Batch-Commit"] = "1"
                reply = await self.nc.request(item.subject, item.payload, timeout=10, headers=headers)
            else:
                await self.nc.publish(item.subject, item.payload, headers=headers)
        assert reply is not None
        ack = json.loads(reply.data)
        if "error" in ack:
            raise APIError.from_error(ack["error"])
        self.checkpoint = Checkpoint(int(ack["seq"]), batch[-1].position)

    async def run(self, stop: asyncio.Event) -> None:
        pump = await self.subscribe()
        try:
            while not stop.is_set():
                msgs = await pump.next_batch(timeout=2.0)
                if not msgs:
                    continue
                try:
                    await self.publish(self.prepare(msgs))
                except (APIError, TimeoutError, asyncio.TimeoutError) as exc:
                    # another distributor moved SHARE, or no answer: whether the batch was
                    # stored is read from SHARE itself, then everything after it again
                    log.warning("distributor: publishing up to stream seq %d failed (%s); resuming from %s",
                                stream_seq(msgs[-1]), exc, SHARE_STREAM)
                    await asyncio.sleep(0.5)
                    await pump.stop()
                    pump = await self.subscribe()
                    continue
                await msgs[-1].ack()  # AckPolicy.ALL: the whole batch
        finally:
            await pump.stop()
