"""The one continuous pull client of the shared log, for the projection, the rebuild's
catch-up and the benchmarks' subscribers.

nats-py 2.16 has only ``fetch(n)``, which waits for ``n`` messages (or its timeout) once a
first one has come, and costs a task per message. :class:`PullConsumer` runs a durable
pull consumer the way the Go, JavaScript and .NET clients' ``Consume()`` do: pull
requests for ``batch`` messages that expire after ``expires`` seconds, a new request once
half of what is outstanding has arrived, idle heartbeats, and a watchdog that asks again
when the server goes quiet. Messages go to a callback as they arrive, or, without one,
wait in a buffer for :meth:`PullConsumer.next_batch`, which returns whatever has arrived.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from events import trace

Handler = Callable[[Msg], Awaitable[None]]


def log_consumer(durable: str, start: int) -> ConsumerConfig:
    """The durable consumer of the whole shared log that a reader keeping its own position
    (the board, the distributor) recreates at ``start``, the position after its checkpoint:
    its checkpoint, not the server's, says where it is."""
    return ConsumerConfig(
        durable_name=durable,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=start,
        ack_policy=AckPolicy.ALL,
        ack_wait=30,
        max_ack_pending=50_000,
        filter_subject="coalition.>",
    )


def stream_seq(msg: Msg) -> int:
    """The stream sequence from the ack subject, without building ``msg.metadata`` (a
    seventh of a subscriber's CPU): ``$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>…``, or
    with domain and account hash after ``$JS.ACK`` (12 tokens)."""
    tokens = msg.reply.split(".") if msg.reply else []
    if len(tokens) == 9:
        return int(tokens[5])
    if len(tokens) >= 12:
        return int(tokens[7])
    return int(msg.metadata.sequence.stream)


class PullConsumer:
    def __init__(self, nc: NATS, stream: str, durable: str, *, batch: int = 1000,
                 expires: float = 30.0, heartbeat: float = 1.0, on_message: Handler | None = None) -> None:
        self.nc = nc
        self.api = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self.batch = batch
        self.expires = expires
        self.heartbeat = heartbeat
        self.on_message = on_message
        self.pending = 0  # messages asked for, neither delivered nor expired yet
        self.seen = time.monotonic()
        self.sub: Subscription | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._buffer: list[Msg] = []
        self._arrived = asyncio.Event()
        self._first_arrived = 0
        self.arrived = 0
        """when the first message of the batch :meth:`next_batch` last returned arrived
        (``events.trace``): how long it waited for its reader is a stage of its latency"""

    async def start(self) -> None:
        self.sub = await self.nc.subscribe(self.nc.new_inbox(), cb=self._on_msg,
                                           pending_msgs_limit=4 * self.batch + 64,
                                           pending_bytes_limit=256 * 1024 * 1024)
        self._watchdog = asyncio.create_task(self._watch(), name=f"pull-watchdog {self.api}")
        await self._pull()

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self.sub is not None:
            await self.sub.unsubscribe()
            self.sub = None

    async def next_batch(self, timeout: float = 1.0) -> list[Msg]:
        """Whatever messages have arrived (at least one), or [] after ``timeout``."""
        if not self._buffer:
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout)
            except asyncio.TimeoutError:
                return []
        out, self._buffer = self._buffer, []
        self._arrived.clear()
        self.arrived = self._first_arrived
        return out

    async def _pull(self) -> None:
        want = self.batch - self.pending
        if want <= 0 or self.sub is None:
            return
        self.pending += want
        request = {"batch": want, "expires": int(self.expires * 1e9),
                   "idle_heartbeat": int(self.heartbeat * 1e9)}
        await self.nc.publish(self.api, json.dumps(request).encode(), reply=self.sub.subject)

    async def _on_msg(self, msg: Msg) -> None:
        self.seen = time.monotonic()
        status = msg.headers.get("Status") if msg.headers else None
        if status is None:
            self.pending -= 1
            if self.on_message is not None:
                await self.on_message(msg)
            else:
                if not self._buffer:
                    self._first_arrived = trace.now()
                self._buffer.append(msg)
                self._arrived.set()
        elif status == "100":
            return  # idle heartbeat
        else:  # 404/408 the request is over, 409 a limit: what it will not deliver
            left = msg.headers.get("Nats-Pending-Messages") if msg.headers else None
            self.pending = max(0, self.pending - int(left)) if left else 0
        if self.pending <= self.batch // 2:
            await self._pull()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            if time.monotonic() - self.seen > 3 * self.heartbeat:
                self.pending = 0  # missed heartbeats: the requests are gone; ask again
                self.seen = time.monotonic()
                await self._pull()
