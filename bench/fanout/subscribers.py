"""One partner reading the whole shared log, as a partner really would, or as the baseline.

``durable`` (ours): a durable pull consumer of its own, read with the platform's pull
client (``events.pull.PullConsumer``, ``--reader consume``) or nats-py's ``fetch`` loop
(``--reader fetch``), acked per message or, with ``--ack all``, cumulatively.
``ordered`` (the baseline): an ordered push consumer, nothing kept on the server, no acks.
Either way each message is decoded as a partner would, and only this run's events count:
on a real server the log holds others'.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from dataclasses import dataclass, field
from typing import Any

from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from bench.fanout.options import ACK_EVERY, FILTER, HEARTBEAT, RUN, SENT, Job
from contracts import decode_envelope
from events.pull import PullConsumer, stream_seq
from events.settings import STREAM
from events.stream import connect


@dataclass
class Subscriber:
    """One partner: its own connection and consumer; what it got, and how late."""

    name: str
    job: Job
    lags_ms: array = field(default_factory=lambda: array("d"))
    seqs: set[int] = field(default_factory=set)
    received: int = 0
    duplicates: int = 0
    errors: int = 0
    nc: Any = None
    sub: Any = None
    consume: PullConsumer | None = None
    task: asyncio.Task | None = None
    unacked: Any = None
    acked_at: float = 0.0

    def record(self, msg: Any, now_ns: int) -> None:
        """Note one delivery: its lag, and whether it is new (by stream sequence)."""
        headers = msg.headers or {}
        if headers.get(RUN) != self.job.run_id:
            return  # someone else's event on the shared log
        seq = stream_seq(msg)
        self.received += 1
        if seq in self.seqs:
            self.duplicates += 1
            return
        self.seqs.add(seq)
        self.lags_ms.append((now_ns - int(headers[SENT])) / 1e6)
        decode_envelope(msg.data)  # what a partner does with it

    async def start(self) -> None:
        self.nc = await connect(self.job.url, f"partner-{self.name}", persistent=True)
        js = self.nc.jetstream(timeout=30)
        description = f"bench fanout {self.job.run_id}"
        if self.job.mode == "ordered":
            config = ConsumerConfig(description=description, opt_start_seq=self.job.start_seq)
            self.sub = await js.subscribe(
                FILTER, stream=STREAM, cb=self.on_push, ordered_consumer=True,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, config=config)
            return
        config = ConsumerConfig(
            durable_name=self.name, description=description, filter_subject=FILTER,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self.job.start_seq,
            ack_policy=AckPolicy.ALL if self.job.opts.ack == "all" else AckPolicy.EXPLICIT,
            ack_wait=30, max_ack_pending=10_000,
        )
        if self.job.opts.reader == "fetch":
            self.sub = await js.pull_subscribe(FILTER, durable=self.name, stream=STREAM,
                                               config=config)
            self.task = asyncio.create_task(self.fetch_loop())
        else:
            await js.add_consumer(STREAM, config=config)
            self.consume = PullConsumer(self.nc, STREAM, self.name, batch=self.job.opts.batch,
                                        heartbeat=HEARTBEAT, on_message=self.on_pull)
            await self.consume.start()

    async def fetch_loop(self) -> None:
        """The nats-py way: ``fetch`` in a loop (each message a ``next_msg`` task)."""
        while True:
            try:
                msgs = await self.sub.fetch(self.job.opts.batch, timeout=5)
            except (NatsTimeout, TimeoutError):
                continue
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep fetching, as a partner's loop would
                self.errors += 1
                await asyncio.sleep(0.05)
                continue
            now = time.time_ns()
            for msg in msgs:
                self.record(msg, now)
            if self.job.opts.ack == "all":
                await msgs[-1].ack()  # AckPolicy.ALL: one ack covers the batch
            else:
                for msg in msgs:
                    await msg.ack()

    async def on_pull(self, msg: Any) -> None:
        self.record(msg, time.time_ns())
        if self.job.opts.ack == "explicit":
            await msg.ack()
            return
        # AckPolicy.ALL: acknowledge the last message handled, at most every ACK_EVERY
        # seconds (workers.Group.flush_acks covers a quiet tail); it covers all before it.
        self.unacked = msg
        if time.monotonic() - self.acked_at >= ACK_EVERY:
            await self.flush_ack()

    async def flush_ack(self) -> None:
        msg, self.unacked = self.unacked, None
        if msg is not None:
            self.acked_at = time.monotonic()
            await msg.ack()

    async def on_push(self, msg: Any) -> None:
        self.record(msg, time.time_ns())

    async def stop(self) -> None:
        if self.consume is not None:
            await self.consume.stop()
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001, S110 - stopping anyway
                pass
        try:
            if self.job.mode == "durable":
                try:
                    await self.nc.jetstream(timeout=30).delete_consumer(STREAM, self.name)
                except NotFoundError:
                    pass
            else:
                await self.sub.unsubscribe()
        finally:
            await self.nc.close()

