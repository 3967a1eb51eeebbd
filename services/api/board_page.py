"""The board as a page for people, and its live feed.

``GET /`` renders the columns on the server (filters kept in the URL, the archive, the
board as of a moment with its digest, the workflow's forms for a logged-in coordinator).
``GET /api/board/events`` is the feed the page's script listens to (Server-Sent Events):
one event per batch of changes, its ``id`` the board's position, each changed item as
JSON with its card rendered by the same template as the page; ``Last-Event-ID`` resumes
after a position without a gap, and a comment every 15 s keeps proxies from closing it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec
from jinja2 import Environment
from litestar import Controller, Request, get
from litestar.exceptions import ValidationException
from litestar.openapi import ResponseSpec
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage, Template
from litestar.static_files import create_static_files_router
from litestar.utils.scope.state import ScopeState
from psycopg import AsyncConnection

from events import trace
from events.organisations import load_organisations
from projections.board.queries import (
    INDUSTRIAL_KINDS,
    Board,
    BoardDecision,
    BoardItem,
    BoardWatch,
    board_as_of,
    board_position,
    open_tasks,
    read_board,
    rejected_count,
)
from services.api.board_reads import read_page
from services.api.context import on_board
from services.auth import KEY_OPTIONAL, optional_viewer, session_of
from services.errors import READS

#: Seconds between two ``: keep-alive`` comments of a quiet feed.
KEEP_ALIVE = 15.0
#: The page's columns, in order: (id, heading).
COLUMNS = (
    ("triage", "Attacks: new, awaiting triage"),
    ("responding", "Attacks: responding"),
    ("industrial", "Strikes, pickets and solidarity"),
    ("actions", "Actions and pledges"),
    ("decisions", "Decisions"),
    ("wins", "Wins"),
    ("branches", "Union branches and reps"),
)
KINDS = ("attack", *INDUSTRIAL_KINDS, "action", "motion", "group", "visit", "statement", "win", "branch")
TLPS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
#: Decided decisions shown beside the open ones.
RECENT_OUTCOMES = 10

STATIC = create_static_files_router(path="/static", directories=[Path(__file__).parent.parent / "static"],
                                    name="static", include_in_schema=False)


def column_of(item: BoardItem) -> str:
    """The page's column for ``item`` (``board.js`` has the same rule)."""
    if item.kind == "attack":
        return "triage" if item.status == "new" else "responding"
    return "industrial" if item.kind in INDUSTRIAL_KINDS else {
        "action": "actions", "motion": "actions", "group": "actions", "visit": "actions", "statement": "actions",
        "win": "wins", "branch": "branches",
    }.get(item.kind, "responding")


@dataclass(frozen=True)
class Filters:
    """What the reader narrowed the board to, kept in the URL (``board.js`` applies the
    same test to live changes)."""

    org: str = ""
    region: str = ""
    kind: str = ""
    tlp: str = ""
    q: str = ""

    def matches(self, item: BoardItem) -> bool:
        if self.org and item.org != self.org or self.kind and item.kind != self.kind:
            return False
        if self.tlp and item.tlp != self.tlp:
            return False
        if self.region and (item.region or "").casefold() != self.region.casefold():
            return False
        text = " ".join(filter(None, (item.title, item.summary, item.org, item.region))).casefold()
        return all(word in text for word in self.q.casefold().split())

    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


def age(at: datetime | None, now: datetime | None = None) -> str:
    """How long ago, as people say it: "just now", "5 min ago", "3 h ago", "2 d ago"."""
    if at is None:
        return ""
    seconds = ((now or datetime.now(UTC)) - at).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "just now"


def decision_seq(decision: BoardDecision) -> int:
    """The last position at which ``decision`` changed."""
    return max([decision.proposed_seq, decision.decided_seq or 0, *(p.seq for p in decision.positions)])


def environment(request: Request) -> Environment:
    env: Environment = request.app.template_engine.engine  # type: ignore[union-attr]
    env.filters.setdefault("age", age)
    return env


@dataclass(frozen=True)
class Viewer:
    """Who reads the board, and what the cards offer them."""

    org: str | None
    me: dict[str, Any] | None
    csrf: str
    orgs: tuple[str, ...]
    read_only: bool = False
    """a past view or the archive: nothing to change there"""

    @property
    def can_change(self) -> bool:
        return not self.read_only and bool(self.me) and self.me.get("role") == "coordinator"  # type: ignore[union-attr]


def viewer_of(request: Request) -> Viewer:
    return Viewer(org=optional_viewer(request), me=session_of(request),
                  csrf=str(ScopeState.from_scope(request.scope).csrf_token or ""),
                  orgs=tuple(o.id for o in load_organisations()))


def _position(value: str) -> int:
    try:
        position = int(value)
    except ValueError:
        raise ValidationException(f"Last-Event-ID is not a board position: {value[:40]!r}") from None
    if position < 0:
        raise ValidationException("Last-Event-ID must not be negative")
    return position


_encode = msgspec.json.Encoder()
#: The feed's answers as the OpenAPI document tells them: the stream, or a refusal in JSON
#: (the handler keeps the default media type so that refusals are JSON).
class FeedEvent(msgspec.Struct, kw_only=True):
    """One message of the feed: ``ready`` (``data`` the position it starts from) or ``board``
    (``data`` JSON: ``position``, the changed ``items`` and ``decisions``, each with ``html``,
    its card, and ``stages``: ``batches``, the projection's batches it shows as ``[position,
    arrived, taken, written, woken]``, and ``sent``, when the feed made it, nanoseconds of
    the wall clock, ``events.trace``); ``id`` the board's position."""

    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None


FEED = {**READS, 200: ResponseSpec(data_container=FeedEvent, media_type="text/event-stream",
                                   description="the board's changes, as Server-Sent Events")}


class BoardPageController(Controller):
    path = "/"
    tags = ["board"]

    @get("/", operation_id="boardPage", include_in_schema=False)
    async def page(
        self, request: Request, org: str = "", region: str = "", kind: str = "", tlp: str = "",
        q: Annotated[str, Parameter(max_length=200)] = "", archive: bool = False,
        as_of: Annotated[str | None, Parameter(max_length=64)] = None,
    ) -> Template:
        """The board for people: what the reader's organisation may see (the open view,
        CLEAR and GREEN, without a session), filtered, live unless it is a past view."""
        who = viewer_of(request)
        if as_of:
            who = replace(who, read_only=True)
        filters = Filters(org=org, region=region, kind=kind, tlp=tlp, q=q)
        as_of = as_of or None

        async def read(conn: AsyncConnection) -> tuple[Board, dict[str, list[dict[str, Any]]], int]:
            if as_of:
                board = await board_as_of(conn, who.org, as_of, archive=archive)
                tasks: dict[str, list[dict[str, Any]]] = {}
            else:
                board = await read_board(conn, who.org, archive=archive)
                tasks = await open_tasks(conn, who.org)
            return board, tasks, await rejected_count(conn)

        board, tasks, rejected = await read_page(request, read)
        shown = [item for item in board.items if filters.matches(item)]
        columns: dict[str, list[BoardItem]] = {name: [] for name, _ in COLUMNS}
        for item in shown:
            columns[column_of(item)].append(item)
        open_decisions = [d for d in board.decisions if d.status == "open"]
        decided = [d for d in board.decisions if d.status != "open"][:RECENT_OUTCOMES]
        environment(request)
        return Template(template_name="board.html.j2", context={
            "board": board, "columns": columns, "headings": COLUMNS, "tasks": tasks, "rejected": rejected,
            "filters": filters, "kinds": KINDS, "tlps": TLPS, "who": who, "now": datetime.now(UTC),
            "regions": sorted({i.region for i in board.items if i.region}), "archive": archive, "as_of": as_of,
            "live": not (as_of or archive), "open_decisions": open_decisions, "decided": decided,
            "here": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        })

    @get("/api/board/events", operation_id="boardEvents", responses=FEED, security=KEY_OPTIONAL)
    async def events(
        self, request: Request,
        last_event_id: Annotated[int | None, Parameter(
            query="last_event_id", ge=0, description="the first connection's position (then the "
                                                     "`Last-Event-ID` header the browser sends)")] = None,
        hold: Annotated[float | None, Parameter(ge=0, le=86400, description="close the stream after this many "
                                                                            "seconds (default: never)")] = None,
    ) -> ServerSentEvent:
        """The board's changes as Server-Sent Events: one ``board`` event per batch of changes
        the caller may see (``id`` the board's position; ``data`` the changed items and
        decisions as JSON, each with its rendered card), a ``: keep-alive`` comment every 15 s.
        ``Last-Event-ID`` (header, or ``last_event_id`` for the first connection) sends every
        visible change after that position first, so a reconnection misses nothing."""
        header = request.headers.get("last-event-id")
        since = _position(header) if header else last_event_id
        return ServerSentEvent(self.feed(request, viewer_of(request), since, hold),
                               headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def feed(self, request: Request, who: Viewer, since: int | None,
                   hold: float | None = None) -> AsyncIterator[ServerSentEventMessage]:
        watch: BoardWatch = request.app.state.watch
        loop = asyncio.get_running_loop()
        closes = None if hold is None else loop.time() + hold
        env = environment(request)
        cards = env.get_template("_cards.html.j2").module
        replay = since is not None
        if since is None:
            since = await on_board(request, board_position)
        yield ServerSentEventMessage(event="ready", id=since, retry=2000, data=_encode.encode(
            {"position": since}).decode())
        while True:
            left = KEEP_ALIVE if closes is None else min(KEEP_ALIVE, closes - loop.time())
            if left <= 0:
                return
            if not replay and not await watch.wait_beyond(since, left):
                if closes is not None and loop.time() >= closes:
                    return
                yield ServerSentEventMessage(comment="keep-alive", data=None)
                continue
            replay = False
            after = since

            async def changed(conn: AsyncConnection, after: int = after) -> tuple[Board, dict[str, Any]]:
                board = await read_board(conn, who.org, after)
                return board, (await open_tasks(conn, who.org) if board.items else {})

            board, tasks = await on_board(request, changed)
            since = max(since, board.position)
            decisions = [d for d in board.decisions if decision_seq(d) > after]
            if not (board.items or decisions):
                continue
            now = datetime.now(UTC)
            payload = {
                "position": board.position,
                "items": [{**msgspec.to_builtins(item), "column": column_of(item),
                           "html": str(cards.card(item, tasks.get(item.id, []), who, now, "/"))}
                          for item in board.items],
                "decisions": [{**msgspec.to_builtins(d), "html": str(cards.decision_card(d, who, now, "/"))}
                              for d in decisions],
                "stages": {"batches": watch.stages(after, board.position), "sent": trace.now()},
            }
            yield ServerSentEventMessage(event="board", id=board.position, data=_encode.encode(payload).decode())
