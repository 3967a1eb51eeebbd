"""Setting the streams up (:func:`ensure_stream`, run by set-up with the admin user), and
moving an old single shared stream to a stream per service, keeping every event and
every position.

Data folders made before per-service streams have a ``COALITION`` stream with the subjects
``coalition.>``, into which every relay published. Set-up **migrates** such a stream
rather than refusing it, and loses nothing:

1. For each service, the last message it put on ``COALITION`` is read: it is that
   service's relay checkpoint (its ``Nats-Msg-Id`` names the last notification published).
2. ``COALITION`` is updated in one step: no subjects any more, a source per service
   stream. A service that has published starts its source at sequence 2 of its new
   stream, since sequence 1 will be the checkpoint copied in step 3, already on
   ``COALITION``. Every message keeps its sequence: the board's position stays valid.
3. Each ``LOG_<SERVICE>`` is created and given that checkpoint as its first message, so
   the relay resumes after it instead of publishing everything again.

Step 2 is one update, and step 3 is done again by every later set-up for a service
stream still empty whose source starts at 2 (:func:`seed_pending`): a set-up killed
between the two finishes the migration the next time. The relays start only after set-up.
"""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg, StreamInfo, StreamSource
from nats.js.errors import NotFoundError

from events.settings import SERVICES, STREAM
from events.stream import log_stream, log_stream_config, replicas, stream_config, subject_filter

log = logging.getLogger("coalition.stream")

#: A migrated service's source starts here: sequence 1 is the copied checkpoint.
AFTER_SEED = 2


async def migrate_single_stream(js: JetStreamContext, services: tuple[str, ...], replicas: int) -> None:
    info = await js.stream_info(STREAM)
    log.warning("%s has the old layout (subjects %s): migrating to a stream per service, sourced into %s",
                STREAM, info.config.subjects, STREAM)
    published = {s for s in services if await _last(js, s) is not None}
    config = stream_config(info.config.num_replicas or replicas, services,
                           start={s: AFTER_SEED for s in published})
    info.config.subjects = []
    info.config.sources = config.sources
    await js.update_stream(info.config)
    for service in services:
        try:
            await js.stream_info(log_stream(service))
        except NotFoundError:
            await js.add_stream(log_stream_config(service, info.config.num_replicas or replicas))
    await seed_pending(js, await js.stream_info(STREAM))
    log.warning("%s migrated: %d messages kept, relays resume from their streams", STREAM, info.state.messages)


async def seed_pending(js: JetStreamContext, info: StreamInfo) -> None:
    """Copy the checkpoint into each migrated service stream that does not have it yet."""
    for source in info.config.sources or []:
        if source.opt_start_seq != AFTER_SEED:
            continue
        service = next((s for s in _services(info) if log_stream(s) == source.name), None)
        if service is None or (await js.stream_info(source.name)).state.last_seq:
            continue
        last = await _last(js, service)
        if last is None:
            raise RuntimeError(f"{STREAM} holds no message of {service} to seed {source.name} with")
        headers = {k: v for k, v in (last.headers or {}).items()
                   if not k.startswith("Nats-") or k == "Nats-Msg-Id"}
        headers["Nats-Expected-Last-Sequence"] = "0"  # only ever the first message
        ack = await js.publish(last.subject or "", last.data or b"", stream=source.name, headers=headers)
        assert ack.seq == AFTER_SEED - 1, ack
        log.warning("%s starts from %s's last message on %s (%s)", source.name, service, STREAM,
                    headers.get("Nats-Msg-Id"))


def _services(info: StreamInfo) -> list[str]:
    return [(source.name or "").removeprefix("LOG_").lower() for source in info.config.sources or []]


async def _last(js: JetStreamContext, service: str) -> RawStreamMsg | None:
    try:
        return await js.get_last_msg(STREAM, subject_filter(service))
    except NotFoundError:
        return None


async def ensure_stream(js: JetStreamContext, services: tuple[str, ...] = SERVICES) -> None:
    """Create what is missing: each service's stream, ``COALITION``, a source for a new
    service. Existing streams' settings (replicas set by operators, say) are left as they
    are. A ``COALITION`` of the old layout (subjects ``coalition.>``) is migrated first
    (:mod:`events.migrate`). Needs the admin user."""
    try:
        info = await js.stream_info(STREAM)
    except NotFoundError:
        info = None
    if info is not None and info.config.subjects and not info.config.sources:
        await migrate_single_stream(js, services, replicas())
        return
    for service in services:
        try:
            await js.stream_info(log_stream(service))
        except NotFoundError:
            await js.add_stream(log_stream_config(service, replicas()))
            log.info("created stream %s", log_stream(service))
    if info is None:
        await js.add_stream(stream_config(replicas(), services))
        log.info("created stream %s sourcing %s with %d replica(s)", STREAM, ", ".join(services), replicas())
        return
    config = info.config
    sourced = {source.name for source in config.sources or []}
    missing = [StreamSource(name=log_stream(s)) for s in services if log_stream(s) not in sourced]
    if missing:
        config.sources = [*(config.sources or []), *missing]
        await js.update_stream(config)
        log.info("%s now also sources %s", STREAM, ", ".join(m.name for m in missing))
    if any(source.opt_start_seq == AFTER_SEED for source in config.sources or []):
        await seed_pending(js, info)  # a migration interrupted last time
