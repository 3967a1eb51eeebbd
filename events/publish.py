"""Publishing one service's events onto the shared log: in order, exactly once.

The mechanics every relay needs, knowing no service:

* **The stream is the checkpoint.** Each service publishes on its own subjects straight
  into ``COALITION`` (``events.stream``). :meth:`OrderedPublisher.read_position` reads the
  last message on those subjects (a direct get with the subject in the API subject, the
  one read a service's NATS user may make) and takes the notification id from its
  ``Coalition-Id`` (``<service>:<id>``; ``Nats-Msg-Id`` on events published before).
  There is no second checkpoint to drift out of step, and the look-up reads no other
  service's events.
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
from nats.js.errors import APIError

from contracts.envelope import CONTENT_TYPE, CloudEvent, encode_envelope
from events.stream import last_message_subject, subject_filter
from events.trace import HEADER as TRACE

ERR_WRONG_LAST_SEQUENCE = 10071

#: The header naming a relayed event: ``<service>:<notification id>``. Not ``Nats-Msg-Id``:
#: on the shared stream another service could publish that id first and have the server
#: drop the real event as a duplicate (``events.stream``).
ID = "Coalition-Id"


def event_id(headers: dict[str, str] | None) -> str:
    """A message's ``<service>:<notification id>``: ``Coalition-Id``, or the
    ``Nats-Msg-Id`` of events relayed before it existed."""
    headers = headers or {}
    return headers.get(ID) or headers.get("Nats-Msg-Id", "")


@dataclass(frozen=True)
class Position:
    """Where one service's part of the shared log ends: the ``COALITION`` sequence of its
    last message and that message's notification id."""

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
        ID: f"{service}:{notification_id}",
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
        self.last_message = last_message_subject(service)

    async def read_position(self) -> Position:
        """The last message on this service's subjects (the relay's checkpoint)."""
        reply = await self.nc.request(self.last_message, b"", timeout=10)
        headers = reply.headers or {}
        status = headers.get("Status")
        if status == "404":
            return Position()
        if status:
            raise APIError(code=int(status), description=headers.get("Description", ""))
        msg_id = event_id(headers)
        service, _, nid = msg_id.partition(":")
        if service != self.service or not nid.isdigit():
            raise RuntimeError(f"last message on {self.subjects} has id {msg_id!r}")
        return Position(stream_seq=int(headers["Nats-Sequence"]), notification_id=int(nid))

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
