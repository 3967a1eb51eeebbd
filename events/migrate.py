"""Setting the shared log up (:func:`ensure_stream`, run by set-up with the admin user), and
moving a log of the sourced layout back to one stream written directly, keeping every
event and every position.

Data folders made between the first trust round and now have a ``COALITION`` with no
subjects of its own that *sources* one stream per service (``LOG_<SERVICE>``); why that
layout was dropped is in ``events.stream``. Set-up **migrates** such a log rather than
refusing it, and loses nothing:

1. It waits until ``COALITION`` holds every service stream's last message (the server
   copies them across; the relays are not running yet, so nothing new arrives).
2. The service streams are deleted (the server refuses subjects on ``COALITION`` that
   another stream has): everything they held is on ``COALITION`` already.
3. ``COALITION`` is updated in one step: the subjects ``coalition.>``, no sources, atomic
   batches allowed. Every message keeps its sequence: the board's position stays valid,
   and each relay's checkpoint — the last message on its subjects, now read on
   ``COALITION`` — is the one it had on its own stream (the copies kept their headers).

A set-up killed between 2 and 3 finishes the next time: a source whose stream is gone
has nothing more to copy.
"""

from __future__ import annotations

import asyncio
import logging
import time

from nats.js import JetStreamContext
from nats.js.api import StreamInfo
from nats.js.errors import NotFoundError

from events.publish import event_id
from events.settings import SERVICES, STREAM
from events.stream import replicas, stream_config, subject_filter

log = logging.getLogger("coalition.stream")

#: How long set-up waits for the server to finish copying the old service streams.
CAUGHT_UP_WITHIN = 120.0


def old_log_stream(service: str) -> str:
    """A service's own stream in the sourced layout."""
    return f"LOG_{service.upper()}"


async def _last_id(js: JetStreamContext, stream: str, service: str) -> str | None:
    try:
        return event_id((await js.get_last_msg(stream, subject_filter(service))).headers)
    except NotFoundError:
        return None


async def _caught_up(js: JetStreamContext, info: StreamInfo) -> None:
    """Wait until every sourced stream's last message is on ``COALITION`` too."""
    deadline = time.monotonic() + CAUGHT_UP_WITHIN
    for source in info.config.sources or []:
        name = source.name or ""
        service = name.removeprefix("LOG_").lower()
        while True:
            wanted = await _last_id(js, name, service)  # None: empty, or gone (a migration cut short)
            if wanted is None or await _last_id(js, STREAM, service) == wanted:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{STREAM} has not copied {name} up to {wanted} within {CAUGHT_UP_WITHIN:g}s; "
                                   "is the NATS server healthy? Run set-up again to finish the migration")
            await asyncio.sleep(0.1)


async def migrate_sourced(js: JetStreamContext, info: StreamInfo) -> None:
    log.warning("%s sources %s (the sourced layout): moving to one stream written directly",
                STREAM, ", ".join(s.name or "" for s in info.config.sources or []))
    await _caught_up(js, info)
    await drop_old_streams(js, tuple((s.name or "").removeprefix("LOG_").lower() for s in info.config.sources or []))
    info.config.sources = None
    info.config.subjects = ["coalition.>"]
    info.config.allow_atomic = True
    info.config.allow_direct = True
    await js.update_stream(info.config)
    log.warning("%s migrated: %d messages kept, relays resume from it", STREAM, info.state.messages)


async def drop_old_streams(js: JetStreamContext, services: tuple[str, ...]) -> None:
    """Delete the service streams of the sourced layout, once ``COALITION`` has subjects."""
    for service in services:
        try:
            await js.delete_stream(old_log_stream(service))
        except NotFoundError:
            continue
        log.warning("deleted %s: its events are on %s", old_log_stream(service), STREAM)


async def ensure_stream(js: JetStreamContext, services: tuple[str, ...] = SERVICES) -> None:
    """Create ``COALITION`` if missing; move a log of the sourced layout to it
    (:func:`migrate_sourced`); make sure it allows atomic batches and direct gets (a log
    made before either). Other settings (replicas set by operators, say) are left as they
    are. Needs the admin user."""
    try:
        info = await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(stream_config(replicas()))
        log.info("created stream %s with %d replica(s)", STREAM, replicas())
        return
    if info.config.sources:
        await migrate_sourced(js, info)
    elif not (info.config.allow_atomic and info.config.allow_direct):
        info.config.allow_atomic = info.config.allow_direct = True
        await js.update_stream(info.config)
        log.info("%s now allows atomic batches and direct gets", STREAM)
    await drop_old_streams(js, services)
