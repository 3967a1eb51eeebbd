"""The sharing streams on the NATS server: ``SHARE`` and one ``PARTNER_<ORG>`` per partner.

The distributor (``projections.sharing``) publishes each event of ``COALITION`` once per
sharing class onto ``SHARE`` (subjects ``share.<class>.<type>``, ``events.sharing``).
Each partner's stream has no subjects of its own: it **sources** ``SHARE`` through one
source whose subject transforms are the partner's filters (``events.sharing.filters``),
so the NATS server — not our code — copies every event to every partner entitled to it,
in ``SHARE``'s order (one source, so one consumer with several filters: order kept), and
resumes after a restart from the last message it copied. A partner stream made later
sources from the start of ``SHARE``: a late partner is backfilled within its policy.

Each partner reads its stream through one durable pull consumer (:func:`durable`),
created here by the admin, never by the partner (whose NATS user may only fetch and
ack through it: ``coalition.natsconf``).

* **revoke** removes the source and purges the stream: nothing more is copied, nothing
  is left to read.
* **replay from a position** (a ``COALITION`` sequence) recreates the stream sourcing
  ``SHARE`` from the first message that carries that position or a later one
  (:func:`share_seq_for`); the partner's consumer starts again at its beginning.
* **add** makes the stream (again, if it was revoked) sourcing from the start.

Everything here needs the admin user (set-up, the CLI).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    StreamSource,
    SubjectTransform,
)
from nats.js.errors import NotFoundError

from events.sharing import SHARE_PREFIX, SHARE_STREAM, Partner, filters

log = logging.getLogger("coalition.sharing")

#: The header each message on ``SHARE`` carries: the ``COALITION`` sequence of the event.
#: The last message on ``SHARE`` is thereby the distributor's checkpoint.
POSITION = "Coalition-Seq"


def durable(org: str) -> str:
    """The one consumer through which a partner reads its stream: named after it."""
    return org


def share_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=SHARE_STREAM,
        description="Every shared event once per sharing class (share.<class>.<type>); partners' streams source it",
        subjects=[f"{SHARE_PREFIX}.>"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        num_replicas=replicas,
        allow_atomic=True,
        allow_direct=True,
        duplicate_window=120.0,
    )


def share_source(partner: Partner, start: int | None = None) -> StreamSource:
    """One source of ``SHARE`` with the partner's filters as subject transforms (each to
    itself): one server-side consumer with several filters, so ``SHARE``'s order is kept."""
    return StreamSource(name=SHARE_STREAM, opt_start_seq=start,
                        subject_transforms=[SubjectTransform(src=f, dest=f) for f in filters(partner)])


def partner_config(partner: Partner, start: int | None = None, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=partner.stream,
        description=f"What {partner.org} may receive (up to TLP:{partner.max_tlp}), sourced from {SHARE_STREAM}",
        subjects=[],
        sources=[share_source(partner, start)],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        num_replicas=replicas,
    )


def consumer_config(org: str) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=durable(org),
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=30,
        max_ack_pending=10_000,
    )


@dataclass(frozen=True)
class PartnerState:
    org: str
    stream: str
    active: bool
    """Whether its stream sources ``SHARE`` (False: revoked, or never made)."""
    messages: int = 0
    start: int | None = None
    """The ``SHARE`` sequence its source started at (None: the beginning)."""
    delivered: int = 0
    """Stream sequence its consumer has been acknowledged up to."""


async def ensure_share(js: JetStreamContext, replicas: int = 1) -> None:
    try:
        await js.stream_info(SHARE_STREAM)
    except NotFoundError:
        await js.add_stream(share_config(replicas))
        log.info("created stream %s", SHARE_STREAM)


async def ensure_partners(js: JetStreamContext, partners: tuple[Partner, ...], replicas: int = 1) -> None:
    """Set-up: ``SHARE``, and a stream and consumer for each configured partner that has
    none yet. A stream that exists is left as it is: a revoked partner stays revoked
    until ``coalition partners add``."""
    await ensure_share(js, replicas)
    for partner in partners:
        try:
            await js.stream_info(partner.stream)
        except NotFoundError:
            await add(js, partner, replicas=replicas)


async def add(js: JetStreamContext, partner: Partner, start: int | None = None, replicas: int = 1) -> None:
    """(Re)make ``partner``'s stream sourcing ``SHARE`` from ``start`` (the beginning if
    None), and its consumer from the stream's beginning."""
    try:
        await js.delete_stream(partner.stream)
    except NotFoundError:
        pass
    await js.add_stream(partner_config(partner, start, replicas))
    await js.add_consumer(partner.stream, consumer_config(partner.org))
    log.info("stream %s sources %s from %s", partner.stream, SHARE_STREAM, start or "the beginning")


async def revoke(js: JetStreamContext, partner: Partner) -> None:
    """Stop the copying and purge what the partner's stream holds."""
    info = await js.stream_info(partner.stream)
    info.config.sources = []
    await js.update_stream(info.config)
    await js.purge_stream(partner.stream)
    log.info("stream %s revoked: no source, purged", partner.stream)


async def replay(js: JetStreamContext, partner: Partner, position: int, replicas: int = 1) -> int:
    """Re-source ``partner``'s stream from log position ``position``; returns the ``SHARE``
    sequence it starts at."""
    start = await share_seq_for(js, position)
    await add(js, partner, start=start, replicas=replicas)
    return start


async def share_seq_for(js: JetStreamContext, position: int) -> int:
    """The first ``SHARE`` sequence whose event is at ``COALITION`` sequence ``position``
    or later (one past the end if none yet): ``SHARE`` follows the log's order, so a
    binary search on the :data:`POSITION` header finds it."""
    state = (await js.stream_info(SHARE_STREAM)).state
    low, high = state.first_seq or 1, state.last_seq + 1
    while low < high:
        mid = (low + high) // 2
        msg = await js.get_msg(SHARE_STREAM, mid)
        if int((msg.headers or {}).get(POSITION, "0")) < position:
            low = mid + 1
        else:
            high = mid
    return low


async def states(js: JetStreamContext, partners: tuple[Partner, ...]) -> list[PartnerState]:
    found = []
    for partner in partners:
        try:
            info = await js.stream_info(partner.stream)
        except NotFoundError:
            found.append(PartnerState(partner.org, partner.stream, active=False))
            continue
        sources = info.config.sources or []
        try:
            floor = (await js.consumer_info(partner.stream, durable(partner.org))).ack_floor
            delivered = floor.stream_seq if floor is not None else 0
        except NotFoundError:
            delivered = 0
        found.append(PartnerState(partner.org, partner.stream, active=bool(sources), messages=info.state.messages,
                                  start=sources[0].opt_start_seq if sources else None, delivered=delivered))
    return found
