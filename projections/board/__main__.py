"""``python -m projections.board``: run the live board projection."""

from __future__ import annotations

import asyncio
import signal

from events.logs import setup_logging
from events.settings import database_url, nats_url
from events.stream import connect
from projections.board.projector import BoardProjector


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Set-up made the stream; the board's NATS user may only consume it.
    nc = await connect(nats_url(), "coalition-board")
    try:
        await BoardProjector(database_url(), nc).run(stop)
    finally:
        await nc.close()


def run() -> None:
    setup_logging("board")
    asyncio.run(main())


if __name__ == "__main__":
    run()
