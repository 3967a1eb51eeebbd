"""A steady pull from a durable JetStream consumer: messages as soon as they are stored,
in batches of whatever has arrived.

nats-py's ``fetch(n)`` waits for ``n`` messages (or its timeout) once a first one has
come; a projection wants the opposite: keep one pull request open and take what is
there. One request for up to ``batch`` messages stays outstanding; when it is used up
or expires, the next is sent at once.
"""

from __future__ import annotations

import asyncio
import json

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription


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


class PullPump:
    def __init__(self, nc: NATS, stream: str, durable: str, batch: int = 1000, expires: float = 5.0) -> None:
        self.nc = nc
        self.subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self.batch = batch
        self.expires = expires
        self.inbox = nc.new_inbox()
        self.sub: Subscription | None = None
        self.left = 0

    async def start(self) -> None:
        self.sub = await self.nc.subscribe(self.inbox, pending_msgs_limit=4 * self.batch,
                                           pending_bytes_limit=256 * 1024 * 1024)
        await self._request()

    async def stop(self) -> None:
        if self.sub is not None:
            await self.sub.unsubscribe()

    async def _request(self) -> None:
        body = {"batch": self.batch, "expires": int(self.expires * 1e9), "idle_heartbeat": int(1e9)}
        await self.nc.publish(self.subject, json.dumps(body).encode(), reply=self.inbox)
        self.left = self.batch

    async def next_batch(self, timeout: float = 1.0) -> list[Msg]:
        """Whatever messages have arrived (at least one), or [] after ``timeout``."""
        assert self.sub is not None
        out: list[Msg] = []
        try:
            msg = await self.sub.next_msg(timeout=timeout)
        except asyncio.TimeoutError:
            # heartbeats come every second while a request is open: silence means it is gone
            await self._request()
            return out
        pending = [msg]
        while True:
            try:
                pending.append(self.sub._pending_queue.get_nowait())  # noqa: SLF001 - drain what arrived
                self.sub._pending_size -= len(pending[-1].data)  # noqa: SLF001
            except asyncio.QueueEmpty:
                break
        renew = False
        for m in pending:
            status = (m.headers or {}).get("Status")
            if status is None:
                out.append(m)
                self.left -= 1
            elif status != "100":  # 404 no messages, 408 expired, 409 closed: the request is over
                renew = True
        if renew or self.left <= 0:
            await self._request()
        return out
