"""``python -m webhooks``: run the webhook deliverer (``coalition up`` runs it supervised)."""

from __future__ import annotations

import asyncio
import signal

from events.logs import setup_logging
from events.settings import (
    data_dir,
    database_url,
    nats_url,
    webhook_jitter,
    webhook_schedule,
    webhook_timeout,
)
from events.sharing import load_partners
from events.stream import connect
from events.targets import allowed_networks
from webhooks.deliverer import Deliverer


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    nc = await connect(nats_url(), "coalition-webhooks")
    try:
        await Deliverer(database_url(), nc, load_partners(data_dir()), schedule=webhook_schedule(),
                        jitter=webhook_jitter(), timeout=webhook_timeout(), allowed=allowed_networks()).run(stop)
    finally:
        await nc.close()


def run() -> None:
    setup_logging("webhooks")
    asyncio.run(main())


if __name__ == "__main__":
    run()
