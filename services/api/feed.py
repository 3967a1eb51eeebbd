"""The partners' HTTP feed, for a partner without NATS: the shared log as the sharing
policy grants it to the caller (``events.sharing.entitled``), by position.

* ``GET /v1/feed?after=<position>&limit=N`` — a page: the CloudEvents (exactly as on the
  log) after ``after`` that the caller may receive, and ``next``, the position to ask
  after next time (the last one looked at, so a page of events the caller may not see
  still moves it on).
* ``GET /v1/feed/events`` — the same as Server-Sent Events: one ``cloudevent`` event per
  CloudEvent, its ``id`` the position, so a client's ``Last-Event-ID`` resumes right after
  the last one it received; a ``: keep-alive`` comment when quiet.

Both read ``COALITION`` directly by position (``events.logread``): a partner can resume
from any position, however old, with nothing kept for it on the server.

Both honour the partner's changes on the log (``events.partnership.feed_window``): a
partner revoked now is answered ``403``, naming the revocation; a page or an open stream
that reaches a revocation stops at it (the stream ends; ``next`` is the revocation's
position), and after a re-add the partner resumes from its own position with what the
revocation held back; after a replay from Q, it receives from Q on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

import msgspec
from litestar import Controller, Request, get
from litestar.di import Provide
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from nats.aio.client import Client as NATS

from contracts import decode_envelope
from events.logread import MAX_BATCH, read_after
from events.organisations import Organisation
from events.partnership import Change, feed_window
from events.partnership_log import PartnershipLog
from events.sharing import Partner, entitled
from projections.board.queries import BoardWatch
from services.api.partner_access import log_reader, partner_of, partnerships, policy
from services.auth import KEY_REQUIRED, partner_organisation
from services.errors import documented

#: Seconds between two ``: keep-alive`` comments of a quiet stream.
KEEP_ALIVE = 15.0
#: How often a stream that reached the end of the log looks again (seconds) if the board
#: does not say sooner that the log moved (it is woken by the board's notifications).
IDLE = 0.25
#: The most positions one page looks at, however few of them the caller may see.
SCAN = 10 * MAX_BATCH


class FeedPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the feed."""

    events: list[msgspec.Raw]
    """CloudEvents 1.0 (structured JSON), in log order."""
    next: int
    """The position to pass as ``after`` for the next page."""


class FeedMessage(msgspec.Struct, kw_only=True):
    """One message of the stream: ``cloudevent`` (``data`` the CloudEvent JSON, ``id`` its
    position) or ``ready`` (``data`` the position it starts after)."""

    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None


PAGE = documented(400, 401, 403, 429, 503)
STREAM = {**PAGE, 200: ResponseSpec(data_container=FeedMessage, media_type="text/event-stream",
                                    description="the caller's events, as Server-Sent Events")}


class Revoked(PermissionDeniedException):
    """The partner's subscription is revoked: a ``403`` naming the revocation."""

    def __init__(self, partner: str, revocation: Change) -> None:
        when = revocation.time.isoformat() if revocation.time else None
        super().__init__(f"{partner}'s subscription was revoked at log position {revocation.position}"
                         + (f" ({when})" if when else "") + ": the feed delivers nothing more until it is added "
                         "again", extra={"position": revocation.position, "time": when})


async def refuse_if_revoked(log: PartnershipLog, partner: Partner) -> None:
    """403 if ``partner`` is revoked now. The answer "receiving" may be a quarter second old
    (a page stops at a revocation anyway); "revoked" is checked against the log's end as it
    is, so a partner just added again is not turned away."""
    _, stop = feed_window((await log.now()).of(partner.org))
    if stop is not None:
        _, stop = feed_window((await log.now(fresh_for=0)).of(partner.org))
    if stop is not None:
        raise Revoked(partner.org, stop)


async def entitled_after(nc: NATS, log: PartnershipLog, partner: Partner, people: frozenset[str], after: int,
                         limit: int) -> tuple[list[tuple[int, bytes]], int, bool]:
    """Up to ``limit`` events after ``after`` that ``partner`` receives, the last position
    looked at (at most :data:`SCAN` positions), and whether a revocation stopped it (then
    the position is the revocation's)."""
    found: list[tuple[int, bytes]] = []
    position = after
    while len(found) < limit and position - after < SCAN:
        page = await read_after(nc, position, MAX_BATCH)
        if not page:
            break
        changes = (await log.complete_to(page[-1][0])).of(partner.org)
        first, stop = feed_window(changes)
        revocations = {c.position for c in changes if c.change == "revoked"}
        for seq, raw in page:
            if stop is not None and seq >= stop.position:
                return found, max(after, stop.position), True
            position = seq
            if seq < first or seq in revocations:
                continue  # before a replay's start; a revocation is never sent (as over NATS)
            try:
                event = decode_envelope(raw)
            except (msgspec.ValidationError, msgspec.DecodeError):
                continue  # not a valid shared event: never delivered to anyone
            if entitled(partner, event.tlp, event.data.audience, people):
                found.append((seq, raw))
                if len(found) >= limit:
                    break
    return found, position, False


def _position(value: str) -> int:
    try:
        position = int(value)
    except ValueError:
        raise ValidationException(f"Last-Event-ID is not a position: {value[:40]!r}", extra=[
            {"key": "Last-Event-ID", "message": "not a position", "source": "header"}]) from None
    if position < 0:
        raise ValidationException("Last-Event-ID must not be negative", extra=[
            {"key": "Last-Event-ID", "message": "must not be negative", "source": "header"}])
    return position


class FeedController(Controller):
    path = "/v1/feed"
    tags = ["partners"]
    dependencies = {"caller": Provide(partner_organisation, sync_to_thread=False)}
    security = KEY_REQUIRED

    @get("/", operation_id="readFeed", responses=PAGE)
    async def page(
        self, request: Request, caller: Organisation,
        after: Annotated[int, Parameter(ge=0, le=2**63 - 1, description="the position to read after")] = 0,
        limit: Annotated[int, Parameter(ge=1, le=MAX_BATCH, description="most events in the page")] = 100,
    ) -> FeedPage:
        """The CloudEvents after a position that the caller's organisation may receive."""
        partner = partner_of(caller.id)
        log = partnerships(request)
        await refuse_if_revoked(log, partner)
        found, position, _ = await entitled_after(log_reader(request), log, partner, policy()[1], after, limit)
        return FeedPage(events=[msgspec.Raw(raw) for _, raw in found], next=position)

    @get("/events", operation_id="feedEvents", responses=STREAM)
    async def events(
        self, request: Request, caller: Organisation,
        after: Annotated[int | None, Parameter(ge=0, le=2**63 - 1, description="the first connection's position "
                                                 "(then the `Last-Event-ID` header the client sends)")] = None,
        hold: Annotated[float | None, Parameter(ge=0, le=86400, description="close the stream after this many "
                                                                            "seconds (default: never)")] = None,
    ) -> ServerSentEvent:
        """The caller's events as Server-Sent Events, from ``Last-Event-ID`` (or ``after``;
        without either, from the start of the log); the stream ends at a revocation."""
        partner = partner_of(caller.id)
        await refuse_if_revoked(partnerships(request), partner)
        header = request.headers.get("last-event-id")
        since = _position(header) if header else (after or 0)
        return ServerSentEvent(self.stream(request, partner, since, hold),
                               headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def stream(self, request: Request, partner: Partner, since: int,
                     hold: float | None) -> AsyncIterator[ServerSentEventMessage]:
        nc, log, people = log_reader(request), partnerships(request), policy()[1]
        watch: BoardWatch = request.app.state.watch
        loop = asyncio.get_running_loop()
        closes = None if hold is None else loop.time() + hold
        quiet_since = loop.time()
        yield ServerSentEventMessage(event="ready", id=since, retry=2000, data=f'{{"position": {since}}}')
        while closes is None or loop.time() < closes:
            found, position, revoked = await entitled_after(nc, log, partner, people, since, MAX_BATCH)
            for seq, raw in found:
                yield ServerSentEventMessage(event="cloudevent", id=seq, data=raw.decode())
            if revoked:
                return  # nothing past a revocation; reconnecting is answered 403 until a re-add
            if found:
                quiet_since = loop.time()
            elif loop.time() - quiet_since >= KEEP_ALIVE:
                quiet_since = loop.time()
                yield ServerSentEventMessage(comment="keep-alive", data=None)
            if position == since:
                await watch.wait_beyond(since, IDLE)
            since = position
