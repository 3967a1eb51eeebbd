"""Read a stretch of the shared log fast: an ordered consumer, msgspec decoding."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from contracts import CloudEvent, decode_envelope
from events.pull import stream_seq
from events.settings import STREAM

log = logging.getLogger("coalition.replay")

Batch = list[tuple[int, CloudEvent | None]]
Raw = list[tuple[int, bytes]]


async def replay(js: JetStreamContext, start: int, end: int, on_batch: Callable[[Batch], Awaitable[None]],
                 batch_size: int = 5000, subjects: str = "coalition.>") -> int:
    """Deliver events with stream sequence ``start..end`` to ``on_batch``, in order.

    Returns how many were delivered (sequences may have gaps after deletes)."""
    async def decoded(raw: Raw) -> None:
        await on_batch([(seq, decode(seq, data)) for seq, data in raw])

    return await replay_raw(js, start, end, decoded, batch_size, subjects)


async def replay_raw(js: JetStreamContext, start: int, end: int, on_batch: Callable[[Raw], Awaitable[None]],
                     batch_size: int = 5000, subjects: str = "coalition.>") -> int:
    """As :func:`replay`, the messages as they are on the log (for a reader that keeps
    what it cannot decode)."""
    if end < start:
        return 0
    # The callback only collects; full batches go on the queue. A queue item and a
    # timer per message, and nats-py's Metadata object, cost more than the board's work.
    queue: asyncio.Queue[list[tuple[int, bytes]]] = asyncio.Queue(maxsize=8)
    pending: list[tuple[int, bytes]] = []

    async def on_msg(msg) -> None:  # noqa: ANN001 - nats Msg
        nonlocal pending
        seq = stream_seq(msg)
        if seq > end:
            return
        pending.append((seq, msg.data))
        if len(pending) >= batch_size or seq >= end:
            full, pending = pending, []
            await queue.put(full)

    sub = await js.subscribe(subjects, stream=STREAM, cb=on_msg, ordered_consumer=True,
                             deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                             config=_start(start), pending_msgs_limit=200_000)
    delivered = 0
    try:
        while True:
            raw = await asyncio.wait_for(queue.get(), timeout=30)
            await on_batch(raw)
            delivered += len(raw)
            if raw[-1][0] >= end:
                break
    finally:
        await sub.unsubscribe()
    return delivered


def _start(seq: int):  # noqa: ANN202
    from nats.js.api import ConsumerConfig

    return ConsumerConfig(opt_start_seq=seq, deliver_policy=DeliverPolicy.BY_START_SEQUENCE)


def decode(seq: int, data: bytes) -> CloudEvent | None:
    """A message that is not a valid contract is logged and passed over, never fatal:
    one bad publisher must not stop the board."""
    try:
        return decode_envelope(data)
    except Exception as exc:  # noqa: BLE001
        log.error("stream seq %d is not a valid shared event (%s); skipped", seq, exc)
        return None
