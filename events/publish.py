"""Publishing one service's events onto the shared log: in order, exactly once.

The mechanics every relay needs, knowing no service:

* **The stream is the checkpoint.** Each service publishes into its own stream
  ``LOG_<SERVICE>``, which ``COALITION`` sources (``events.stream``).
  :meth:`OrderedPublisher.read_position` reads the last message there and takes the
  notification id from its ``Nats-Msg-Id`` (``<service>:<id>``). There is no second
  checkpoint to drift out of step, and the look-up reads no other service's events.
* **In order, no duplicates.** :meth:`OrderedPublisher.publish` sends a JetStream atomic
  batch whose first message expects the sequence of the service's last message in its
  stream (``Nats-Expected-Last-Subject-Sequence`` with the subject ``coalition.<service>.>``).
  A stale expectation (a second relay, a retry after a lost ack) is refused by the
  server (err_code 10071) and the caller re-reads the position instead of publishing twice.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.js.errors import APIError, NotFoundError

from contracts.envelope import CONTENT_TYPE, CloudEvent, encode_envelope
from events.stream import log_stream, subject_filter
from events.trace import HEADER as TRACE

ERR_WRONG_LAST_SEQUENCE = 10071


@dataclass(frozen=True)
class Position:
    """Where one service's part of the shared log ends: the sequence in its own stream
    ``LOG_<SERVICE>`` (not ``COALITION``'s) and the notification id."""

    stream_seq: int = 0
    notification_id: int = 0


@dataclass(frozen=True)
class Message:
    """One stored event as it goes on the shared log (batch headers are added on publishing)."""

    notification_id: int
    subject: str
    payload: bytes
    headers: dict[str, str]


def message(service: str, notification_id: int, subject: str, envelope: CloudEvent,
            payload: bytes | None = None, trace: str | None = None) -> Message:
    """The message for a service's stored event ``notification_id``, already translated
    (and already encoded, if ``payload`` is given); ``trace``: its stage times so far
    (``events.trace``), in the ``Coalition-Trace`` header."""
    headers = {
        "Nats-Msg-Id": f"{service}:{notification_id}",
        "Content-Type": CONTENT_TYPE,
        "Ce-Type": envelope.type,
        "Ce-Tlp": envelope.tlp,
    }
    if trace:
        headers[TRACE] = trace
    return Message(notification_id, subject, encode_envelope(envelope) if payload is None else payload, headers)


class OrderedPublisher:
    """Publishes one service's messages as atomic batches guarded by the stream's order."""

    def __init__(self, nc: NATS, service: str) -> None:
        self.nc = nc
        self.js = nc.jetstream(timeout=10)
        self.service = service
        self.subjects = subject_filter(service)
        self.stream = log_stream(service)

    async def read_position(self) -> Position:
        """The last message in this service's stream (the relay's checkpoint)."""
        try:
            msg = await self.js.get_last_msg(self.stream, self.subjects)
        except NotFoundError:
            return Position()
        msg_id = (msg.headers or {}).get("Nats-Msg-Id", "")
        service, _, nid = msg_id.partition(":")
        if service != self.service or not nid.isdigit():
            raise RuntimeError(f"last message on {self.subjects} has Nats-Msg-Id {msg_id!r}")
        return Position(stream_seq=msg.seq or 0, notification_id=int(nid))

    async def publish(self, after: Position, messages: list[Message]) -> Position:
        """Publish ``messages`` (which must follow on from ``after``) as one atomic batch;
        returns the new position. Raises ``APIError`` if the stream moved meanwhile."""
        batch_id = uuid.uuid4().hex
        last = len(messages)
        reply = None
        for i, msg in enumerate(messages, start=1):
            headers = dict(msg.headers, **{"Nats-Batch-Id": batch_id, "Nats-Batch-Sequence": str(i)})
            if i == 1:
                headers["Nats-Expected-Last-Subject-Sequence"] = str(after.stream_seq)
                headers["Nats-Expected-Last-Subject-Sequence-Subject"] = self.subjects
            if i == last:
                headers["Nats-Batch-Commit"] = "1"
                reply = await self.nc.request(msg.subject, msg.payload, timeout=10, headers=headers)
            else:
                await self.nc.publish(msg.subject, msg.payload, headers=headers)
        if reply is None:
            return after
        ack = json.loads(reply.data)
        if "error" in ack:
            raise APIError.from_error(ack["error"])
        return Position(stream_seq=int(ack["seq"]), notification_id=messages[-1].notification_id)
