"""``python -m projections.sharing``: run the distributor (``COALITION`` → ``SHARE``)."""

from __future__ import annotations

import asyncio
import signal

from events.logs import setup_logging
from events.settings import data_dir, nats_url
from events.sharing import all_people, load_partners
from events.stream import connect
from projections.sharing.distributor import Distributor


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Set-up made the streams; the distributor's NATS user may only consume COALITION
    # through its own consumer and publish onto SHARE.
    people = all_people(load_partners(data_dir()))
    nc = await connect(nats_url(), "coalition-distributor")
    try:
        await Distributor(nc, people).run(stop)
    finally:
        await nc.close()


def run() -> None:
    setup_logging("distributor")
    asyncio.run(main())


if __name__ == "__main__":
    run()
