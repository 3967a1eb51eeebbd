"""The sharing stream ``SHARE`` on the NATS server, and one durable consumer of it per partner.

The distributor (``projections.sharing``) publishes each event of ``COALITION`` once per
sharing class onto ``SHARE`` (subjects ``share.<class>.<type>``, ``events.sharing``).
Each partner reads ``SHARE`` through **its own durable pull consumer**, named after it
(:func:`durable`), whose ``filter_subjects`` are the partner's filters
(``events.sharing.filters``; several filters on one consumer, NATS 2.10+). The NATS server
— not our code — evaluates those filters and delivers each event to every partner
entitled to it, in ``SHARE``'s order; the event is **stored once**, in ``SHARE``.

Why not a stream per partner. The first design gave each partner a stream
``PARTNER_<ORG>`` that *sourced* ``SHARE`` through its filters: the server copied every
event into every entitled partner's stream, and with ``sync_interval: always`` every copy
is an fsync — at 100 partners each event was stored ~103 times. Measured
(``python -m bench partners``, 100 partners, 500 events/s, 2 cores): 20 % of the
deliveries were still missing after a 180 s drain (p99 212 s), and the board's latency at
500/s went from p50 64 ms to 344 ms while the distributor ran. A consumer stores no copy:
the server keeps, per partner, only its position (delivered, acknowledged).

* **add** creates the consumer from ``SHARE``'s start: a late partner is backfilled within
  its policy.
* **revoke** deletes the consumer: nothing more to read, and nothing was ever stored for
  the partner alone, so the deletion is the purge. A marker (:data:`REVOKED_BUCKET`) says
  the partner is revoked, so that set-up does not make its consumer again on the next start.
* **replay from a position** (a ``COALITION`` sequence) recreates the consumer starting at
  the first ``SHARE`` message that carries that position or a later one
  (:func:`share_seq_for`).

The consumer acknowledges with ``AckPolicy.ALL``: a partner processes in order, and one
ack of the last message of a batch acknowledges the batch (one ack, one consumer-state
write, per batch instead of per event). The partner's NATS user may only fetch, ack and
read its consumer's info (``coalition.natsconf``): it cannot create, change or delete a
consumer, so it cannot widen its filters.

Everything here needs the admin user (set-up, the CLI).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    ConsumerInfo,
    DeliverPolicy,
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    StreamInfo,
)
from nats.js.errors import BucketNotFoundError, KeyDeletedError, KeyNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from events.sharing import SHARE_PREFIX, SHARE_STREAM, Partner, filters

log = logging.getLogger("coalition.sharing")

#: The header each message on ``SHARE`` carries: the ``COALITION`` sequence of the event.
#: The last message on ``SHARE`` is thereby the distributor's checkpoint.
POSITION = "Coalition-Seq"

#: The key-value bucket of revoked partners (key: the partner, value: when). Why a marker
#: on the NATS server rather than the latest ``partner.changed`` on the log: the change is
#: recorded on the log by the forum *after* it is made, so a revocation whose record failed
#: would be undone by the next set-up (the partner receiving again: failing open). The
#: marker is written by the same command, before the consumer is deleted: fail closed.
REVOKED_BUCKET = "partners_revoked"

#: Streams of the first design (one per partner, sourcing ``SHARE``); set-up removes them.
OLD_STREAM_PREFIX = "PARTNER_"


def durable(org: str) -> str:
    """The one consumer of ``SHARE`` through which a partner reads: named after it."""
    return org


def share_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=SHARE_STREAM,
        description="Every shared event once per sharing class (share.<class>.<type>); "
                    "each partner reads it through its own filtered durable consumer",
        subjects=[f"{SHARE_PREFIX}.>"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        num_replicas=replicas,
        allow_atomic=True,
        allow_direct=True,
        duplicate_window=120.0,
    )


def consumer_config(partner: Partner, start: int | None = None) -> ConsumerConfig:
    """``partner``'s consumer of ``SHARE``: its filters, from ``start`` (a ``SHARE``
    sequence; the beginning if None)."""
    return ConsumerConfig(
        name=durable(partner.org),
        durable_name=durable(partner.org),
        description=f"What {partner.org} may receive (up to TLP:{partner.max_tlp})",
        deliver_policy=DeliverPolicy.ALL if start is None else DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=start,
        filter_subjects=filters(partner),
        ack_policy=AckPolicy.ALL,
        ack_wait=30,
        max_ack_pending=10_000,
    )


@dataclass(frozen=True)
class PartnerState:
    org: str
    consumer: str
    active: bool
    """Whether its consumer exists (False: revoked, or not made yet)."""
    revoked: bool = False
    pending: int = 0
    """Messages of ``SHARE`` it may receive and has not been delivered yet."""
    start: int | None = None
    """The ``SHARE`` sequence its consumer started at (None: the beginning)."""
    acked: int = 0
    """``SHARE`` sequence its consumer has been acknowledged up to."""
    made: str = ""
    """When its consumer (or, revoked, its revocation) was made: what the change left."""


async def ensure_share(js: JetStreamContext, replicas: int = 1) -> None:
    try:
        await js.stream_info(SHARE_STREAM)
    except NotFoundError:
        await js.add_stream(share_config(replicas))
        log.info("created stream %s", SHARE_STREAM)


async def revoked_bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    try:
        return await js.key_value(REVOKED_BUCKET)
    except BucketNotFoundError:
        return await js.create_key_value(KeyValueConfig(
            bucket=REVOKED_BUCKET, description="partners revoked (coalition partners revoke); set-up leaves them so",
            history=1, storage=StorageType.FILE, replicas=replicas))


async def revocation(js: JetStreamContext, org: str) -> KeyValue.Entry | None:
    """The marker of ``org``'s revocation, if it is revoked."""
    try:
        return await (await revoked_bucket(js)).get(org)
    except (KeyNotFoundError, KeyDeletedError):
        return None


async def consumer(js: JetStreamContext, partner: Partner) -> ConsumerInfo | None:
    try:
        return await js.consumer_info(SHARE_STREAM, durable(partner.org))
    except NotFoundError:
        return None


async def ensure_partners(js: JetStreamContext, partners: tuple[Partner, ...], replicas: int = 1) -> None:
    """Set-up: ``SHARE``, the revocation bucket, and a consumer for each configured partner
    that has none and is not revoked (a revoked partner stays revoked until
    ``coalition partners add``). Streams ``PARTNER_*`` of the first design are deleted: a
    revoked one (sourcing nothing) leaves its partner marked revoked, an active one's
    partner resumes after the last event it acknowledged there."""
    await ensure_share(js, replicas)
    bucket = await revoked_bucket(js, replicas)
    resume = await _drop_old_streams(js, bucket)
    for partner in partners:
        if await revocation(js, partner.org) is not None:
            if await consumer(js, partner) is not None:  # a revocation interrupted before the deletion
                await js.delete_consumer(SHARE_STREAM, durable(partner.org))
            continue
        if await consumer(js, partner) is None:
            start = resume.get(partner.org)
            await js.add_consumer(SHARE_STREAM, consumer_config(partner, start))
            log.info("consumer %s of %s made for partner %s, from %s", durable(partner.org), SHARE_STREAM,
                     partner.org, f"SHARE seq {start}" if start else "the beginning")


async def _drop_old_streams(js: JetStreamContext, bucket: KeyValue) -> dict[str, int]:
    """Delete the first design's streams; where each active partner is to resume on ``SHARE``."""
    resume: dict[str, int] = {}
    found: list[StreamInfo] = []
    while batch := await js.streams_info(offset=len(found)):
        found += batch
    for info in found:
        name = info.config.name or ""
        if not name.startswith(OLD_STREAM_PREFIX):
            continue
        org, revoked = _old_org(info), not info.config.sources
        if revoked:  # revoked under the first design (sourcing nothing): stays revoked
            await bucket.put(org, _marker())
        else:
            position = await _acknowledged(js, name, org)
            if position:
                resume[org] = await share_seq_for(js, position + 1)
        await js.delete_stream(name)
        log.warning("deleted stream %s of the first sharing design (a stored copy per partner): partner %s now "
                    "reads %s through its own consumer%s", name, org, SHARE_STREAM,
                    " (it was revoked, and stays revoked)" if revoked else
                    f", resuming at {SHARE_STREAM} seq {resume[org]}" if org in resume else "")
    return resume


async def _acknowledged(js: JetStreamContext, stream: str, org: str) -> int:
    """The log position of the last event ``org`` acknowledged on its old stream (0: none)."""
    try:
        floor = (await js.consumer_info(stream, durable(org))).ack_floor
        if floor is None or not floor.stream_seq:
            return 0
        msg = await js.get_msg(stream, floor.stream_seq)
    except NotFoundError:
        return 0
    return int((msg.headers or {}).get(POSITION, "0"))


def _old_org(info: StreamInfo) -> str:
    """The partner of an old ``PARTNER_<ORG>`` stream, from the description the first
    design gave it ("What <org> may receive ..."; the stream's name lost the id's lower case
    and dashes), else from the name."""
    description = info.config.description or ""
    if description.startswith("What ") and " may receive" in description:
        return description.removeprefix("What ").split(" may receive", 1)[0]
    return (info.config.name or "").removeprefix(OLD_STREAM_PREFIX).lower().replace("_", "-")


def _marker() -> bytes:
    return json.dumps({"revoked_at": datetime.now(UTC).isoformat()}).encode()


async def add(js: JetStreamContext, partner: Partner, start: int | None = None) -> ConsumerInfo:
    """(Re)make ``partner``'s consumer of ``SHARE`` from ``start`` (the beginning if None),
    clearing its revocation."""
    bucket = await revoked_bucket(js)
    if await revocation(js, partner.org) is not None:
        await bucket.delete(partner.org)
    try:
        await js.delete_consumer(SHARE_STREAM, durable(partner.org))
    except NotFoundError:
        pass
    info = await js.add_consumer(SHARE_STREAM, consumer_config(partner, start))
    log.info("consumer %s of %s for partner %s from %s", durable(partner.org), SHARE_STREAM, partner.org,
             f"SHARE seq {start}" if start else "the beginning")
    return info


async def revoke(js: JetStreamContext, partner: Partner) -> None:
    """Mark ``partner`` revoked, then delete its consumer: nothing more is delivered, and
    there is nothing of its own to purge. Revoking again changes nothing."""
    if await revocation(js, partner.org) is None:
        await (await revoked_bucket(js)).put(partner.org, _marker())
    try:
        await js.delete_consumer(SHARE_STREAM, durable(partner.org))
    except NotFoundError:
        pass
    log.info("partner %s revoked: its consumer of %s deleted", partner.org, SHARE_STREAM)


async def replay(js: JetStreamContext, partner: Partner, position: int) -> int:
    """Recreate ``partner``'s consumer from log position ``position``; returns the ``SHARE``
    sequence it starts at."""
    start = await share_seq_for(js, position)
    await add(js, partner, start=start)
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
    """Each partner's consumer as the server reports it."""
    found = []
    for partner in partners:
        info = await consumer(js, partner)
        if info is None:
            marker = await revocation(js, partner.org)
            found.append(PartnerState(partner.org, durable(partner.org), active=False, revoked=marker is not None,
                                      made=f"revoked@{marker.revision}" if marker is not None else ""))
            continue
        floor = info.ack_floor.stream_seq if info.ack_floor is not None else 0
        found.append(PartnerState(partner.org, durable(partner.org), active=True, pending=info.num_pending or 0,
                                  start=info.config.opt_start_seq, acked=floor,
                                  made=info.created.isoformat() if info.created else ""))
    return found
