"""The relay: one service's event store → the shared log, in order, exactly once.

* **Single**: a PostgreSQL advisory lock keeps one relay per service log.
* **The stream is the checkpoint**: on start (and after any doubt, such as a lost
  acknowledgement) the relay reads the last message this service put on the stream,
  takes the notification id from its ``Nats-Msg-Id`` (``<service>:<id>``) and
  resumes after it. There is no second checkpoint to drift out of step.
* **In order, no duplicates**: each publish is a JetStream atomic batch whose first
  message expects the stream sequence of this service's last message
  (``Nats-Expected-Last-Subject-Sequence`` with the subject ``coalition.<service>.>``).
  A stale expectation (a second relay, a retry after a lost ack) is refused by the
  server and the relay re-reads the stream instead of publishing twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
import zlib
from collections import deque
from dataclasses import dataclass
from typing import Any

import psycopg
from nats.aio.client import Client as NATS
from nats.errors import TimeoutError as NatsTimeout
from eventsourcing.persistence import Recording
from nats.js.errors import APIError, NotFoundError

from coalition.settings import STREAM
from contracts.envelope import CONTENT_TYPE, encode_envelope
from events.stream import subject_filter
from services.application import CoalitionApp
from services.translator import translate

log = logging.getLogger("coalition.relay")

BATCH = 500
HANDED_LIMIT = 100_000
ERR_WRONG_LAST_SEQUENCE = 10071


@dataclass
class Position:
    """Where this service's part of the shared log ends."""

    stream_seq: int = 0
    notification_id: int = 0


class Relay:
    def __init__(self, service: str, app: CoalitionApp, nc: NATS, database_url: str) -> None:
        self.service = service
        self.app = app
        self.nc = nc
        self.js = nc.jetstream(timeout=10)
        self.database_url = database_url
        self.subjects = subject_filter(service)
        self.position = Position()
        self.published = 0
        self._wake = asyncio.Event()
        self._handed: deque[tuple[int, Any]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self, recordings: list[Recording] | None = None) -> None:
        """Thread-safe: new events were committed (and here they are, if the caller has them).

        Handing over the committed events spares the relay reading them back from
        PostgreSQL; it still reads the store whenever what it was handed does not follow
        on exactly from where the stream ends (a gap, a restart)."""
        if self._loop is None:
            return
        handed = [(r.notification.id, r.domain_event) for r in recordings or ()]
        self._loop.call_soon_threadsafe(self._hand_over, handed)

    def _hand_over(self, handed: list[tuple[int, Any]]) -> None:
        """On the relay's loop, so that the queue is only ever touched by one thread."""
        if len(self._handed) + len(handed) > HANDED_LIMIT:
            self._handed.clear()  # the relay is far behind (NATS down?): it reads the store instead
        else:
            self._handed.extend(handed)
        self._wake.set()

    def _from_handed(self) -> list[tuple[int, Any]]:
        after = self.position.notification_id
        while self._handed and self._handed[0][0] <= after:
            self._handed.popleft()
        if not self._handed or self._handed[0][0] != after + 1:
            return []
        out: list[tuple[int, Any]] = []
        expected = after + 1
        for nid, event in self._handed:
            if nid != expected or len(out) >= BATCH:
                break
            out.append((nid, event))
            expected += 1
        return out

    @property
    def lock_key(self) -> int:
        return zlib.crc32(f"coalition-relay:{self.service}".encode())

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop``; if PostgreSQL or NATS go away, start over (lock, position)."""
        self._loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                await self._run(stop)
            except Exception:  # noqa: BLE001 - an engine restarting: the lock is gone with it
                log.exception("relay %s: lost PostgreSQL or NATS; starting over", self.service)
                await _sleep_or_stop(stop, 1.0)

    async def _run(self, stop: asyncio.Event) -> None:
        async with await psycopg.AsyncConnection.connect(self.database_url, autocommit=True) as lock:
            while not stop.is_set():
                row = await (await lock.execute("SELECT pg_try_advisory_lock(%s)", (self.lock_key,))).fetchone()
                if row and row[0]:
                    break
                log.info("relay %s: another relay holds the lock; waiting", self.service)
                await _sleep_or_stop(stop, 1.0)
            if stop.is_set():
                return
            log.info("relay %s: holding the lock", self.service)
            self.position = await self.read_position()
            log.info("relay %s: resuming after notification %d (stream seq %d)",
                     self.service, self.position.notification_id, self.position.stream_seq)
            checked = asyncio.get_running_loop().time()
            while not stop.is_set():
                # Cleared before looking, so a commit made while we look is not missed.
                self._wake.clear()
                try:
                    moved = await self.step()
                except (NatsTimeout, asyncio.TimeoutError, APIError) as exc:
                    log.warning("relay %s: %s; re-reading the stream", self.service, exc)
                    await self._recover(stop, 0.2)
                    continue
                except Exception:
                    # A bug (an event with no contract, say): never skip it, which would
                    # lose it; say so loudly and retry, so a fix deployed resumes in order.
                    log.exception("relay %s: cannot publish after notification %d; retrying",
                                  self.service, self.position.notification_id)
                    await self._recover(stop, 2.0)
                    continue
                if not moved:
                    waiter = asyncio.ensure_future(self._wake.wait())
                    stopper = asyncio.ensure_future(stop.wait())
                    await asyncio.wait({waiter, stopper}, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel()
                    stopper.cancel()
                if asyncio.get_running_loop().time() - checked > 1.0:
                    # The lock lives as long as this connection: if it is gone, so is the lock.
                    await lock.execute("SELECT 1")
                    checked = asyncio.get_running_loop().time()

    async def _recover(self, stop: asyncio.Event, pause: float) -> None:
        await _sleep_or_stop(stop, pause)
        try:
            self.position = await self.read_position()
        except Exception:  # noqa: BLE001 - NATS may be restarting; try again next round
            log.exception("relay %s: cannot read the stream's position", self.service)

    async def read_position(self) -> Position:
        try:
            msg = await self.js.get_last_msg(STREAM, self.subjects)
        except NotFoundError:
            return Position()
        msg_id = (msg.headers or {}).get("Nats-Msg-Id", "")
        service, _, nid = msg_id.partition(":")
        if service != self.service or not nid.isdigit():
            raise RuntimeError(f"last message on {self.subjects} has Nats-Msg-Id {msg_id!r}")
        return Position(stream_seq=msg.seq or 0, notification_id=int(nid))

    async def step(self) -> bool:
        """Publish the next batch of stored events; False when there was none."""
        events = self._from_handed()
        if not events:
            notifications = await asyncio.to_thread(
                self.app.recorder.select_notifications,
                self.position.notification_id, BATCH, inclusive_of_start=False,
            )
            events = [(n.id, self.app.mapper.to_domain_event(n)) for n in notifications]
        if not events:
            return False
        batch_id = uuid.uuid4().hex
        last = len(events)
        reply = None
        for i, (nid, event) in enumerate(events, start=1):
            subject, payload, headers = message(self.service, nid, event)
            headers["Nats-Batch-Id"] = batch_id
            headers["Nats-Batch-Sequence"] = str(i)
            if i == 1:
                headers["Nats-Expected-Last-Subject-Sequence"] = str(self.position.stream_seq)
                headers["Nats-Expected-Last-Subject-Sequence-Subject"] = self.subjects
            if i == last:
                headers["Nats-Batch-Commit"] = "1"
                reply = await self.nc.request(subject, payload, timeout=10, headers=headers)
            else:
                await self.nc.publish(subject, payload, headers=headers)
        assert reply is not None
        ack = _parse_ack(reply.data)
        self.position = Position(stream_seq=ack["seq"], notification_id=events[-1][0])
        self.published += last
        return True


def message(service: str, notification_id: int, event: Any) -> tuple[str, bytes, dict[str, str]]:
    """Subject, CloudEvent payload and headers of one stored domain event on the shared log
    (the atomic-batch headers and the order guard are added by the publisher)."""
    subject, envelope = translate(service, event)
    headers = {
        "Nats-Msg-Id": f"{service}:{notification_id}",
        "Content-Type": CONTENT_TYPE,
        "Ce-Type": envelope.type,
        "Ce-Tlp": envelope.tlp,
    }
    return subject, encode_envelope(envelope), headers


def _parse_ack(data: bytes) -> dict:
    resp = json.loads(data)
    if "error" in resp:
        raise APIError.from_error(resp["error"])
    return resp


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass
