"""Read the shared log by position, for the channels that read it directly (the partners'
HTTP feed, the webhook deliverer): a page of messages after a position, in one request.

Why a *direct get* and not a consumer: every feed request and every webhook endpoint
reads from its own position, and a consumer per reader is server state to create, name,
permit and clean up. A batched direct get (``$JS.API.DIRECT.GET.COALITION`` with
``{"seq": n, "batch": k}``, NATS 2.11+) answers from any position with up to ``k``
messages and an end-of-batch status, needs no state on the server, and its one subject is
the only right the reader's NATS user needs (``coalition.natsconf``). The position is the
``COALITION`` stream sequence, as everywhere else.
"""

from __future__ import annotations

import asyncio
import json

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from events.settings import STREAM

#: The most messages one request asks for.
MAX_BATCH = 1000
#: And the most bytes (events are at most 512 KiB each): the server stops the batch there.
MAX_BYTES = 4 * 1024 * 1024

Page = list[tuple[int, bytes]]


async def read_after(nc: NATS, after: int, limit: int = MAX_BATCH, *, timeout: float = 5.0,
                     stream: str = STREAM, subject: str | None = None) -> Page:
    """Up to ``limit`` messages of ``stream`` after position ``after``, as (position, bytes),
    in log order; [] when the log has nothing after it. With ``subject``, only the
    messages on that subject (the server skips the others: ``next_by_subj``)."""
    limit = max(1, min(limit, MAX_BATCH))
    inbox = nc.new_inbox()
    got: Page = []
    done = asyncio.get_running_loop().create_future()

    async def on_msg(msg: Msg) -> None:
        headers = msg.headers or {}
        status = headers.get("Status")
        if status is None:
            got.append((int(headers["Nats-Sequence"]), msg.data))
            if len(got) >= limit and not done.done():
                done.set_result(None)
        elif not done.done():  # 204 end of batch, 404 nothing there, 408 …: the batch is over
            if status not in ("204", "404"):
                done.set_exception(RuntimeError(f"direct get on {stream}: {status} "
                                                f"{headers.get('Description', '')}"))
            else:
                done.set_result(None)

    sub = await nc.subscribe(inbox, cb=on_msg)
    try:
        request: dict[str, object] = {"seq": after + 1, "batch": limit, "max_bytes": MAX_BYTES}
        if subject is not None:
            request["next_by_subj"] = subject
        await nc.publish(f"$JS.API.DIRECT.GET.{stream}", json.dumps(request).encode(), reply=inbox)
        await asyncio.wait_for(done, timeout)
    finally:
        await sub.unsubscribe()
    return got


async def log_end(nc: NATS, stream: str = STREAM, timeout: float = 5.0) -> int:
    """The last position of the log (``$JS.API.STREAM.INFO``)."""
    reply = await nc.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=timeout)
    info = json.loads(reply.data)
    if "error" in info:
        raise RuntimeError(f"stream info {stream}: {info['error']}")
    return int(info["state"]["last_seq"])
