"""Read a stretch of the shared log fast: an ordered consumer, msgspec decoding."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from contracts import CloudEvent, decode_envelope

log = logging.getLogger("coalition.replay")

Batch = list[tuple[int, CloudEvent | None]]


async def replay(js: JetStreamContext, start: int, end: int, on_batch: Callable[[Batch], Awaitable[None]],
                 batch_size: int = 5000, subjects: str = "coalition.>") -> int:
    """Deliver events with stream sequence ``start..end`` to ``on_batch``, in order.

    Returns how many were delivered (sequences may have gaps after deletes)."""
    if end < start:
        return 0
    queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue(maxsize=50_000)

    async def on_msg(msg) -> None:  # noqa: ANN001 - nats Msg
        seq = msg.metadata.sequence.stream
        await queue.put((seq, msg.data))

    sub = await js.subscribe(subjects, cb=on_msg, ordered_consumer=True,
                             deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                             config=_start(start), pending_msgs_limit=200_000)
    delivered = 0
    batch: Batch = []
    try:
        while True:
            item = await asyncio.wait_for(queue.get(), timeout=30)
            assert item is not None
            seq, data = item
            if seq > end:
                break
            batch.append((seq, decode(seq, data)))
            if len(batch) >= batch_size or seq >= end:
                await on_batch(batch)
                delivered += len(batch)
                batch = []
            if seq >= end:
                break
    finally:
        await sub.unsubscribe()
    if batch:
        await on_batch(batch)
        delivered += len(batch)
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
