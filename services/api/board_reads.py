"""The forum's audit reads: an item's timeline, the decisions, and reading a page of the
board (now or as of a moment) with its faults answered as the caller's (``400``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Literal, TypeVar

from litestar import Controller, MediaType, Request, Response, get
from litestar.exceptions import ValidationException
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import Parameter
from psycopg import AsyncConnection

from projections.board.queries import (
    AsOfError,
    BoardDecision,
    TimelineEntry,
    find_decision,
    item_timeline,
    list_decisions,
    timeline_csv,
)
from services.api.context import on_board
from services.auth import KEY_OPTIONAL, optional_viewer
from services.domain.errors import ItemNotFound
from services.errors import READ, READS_ITEM, documented

T = TypeVar("T")

#: Items in a page of ``GET /api/board`` unless the caller asks for another ``limit``.
PAGE = 500


async def read_page(request: Request, query: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """``query`` on the board; an ``as_of`` or ``cursor`` it cannot answer is a ``400``."""
    try:
        return await on_board(request, query)
    except (AsOfError, ValueError) as exc:
        raise ValidationException(str(exc)) from None


@dataclass
class TimelineOperation(Operation):
    """The timeline's OpenAPI operation: ``format=csv`` answers ``text/csv``, besides the JSON."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse):
            ok.content = {**(ok.content or {}), "text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))}


class HistoryController(Controller):
    path = "/api"
    tags = ["board"]
    security = KEY_OPTIONAL

    @get("/items/{item_id:str}/timeline", operation_id="getItemTimeline", responses=READS_ITEM,
         operation_class=TimelineOperation)
    async def timeline(
        self, request: Request, item_id: str,
        format: Annotated[Literal["json", "csv"], Parameter(description="json or csv")] = "json",  # noqa: A002
    ) -> Response[list[TimelineEntry] | str]:
        """Every event that concerns the item — its own and those that refer to it — with
        organisation, person (``actor``), kind, time and a one-line summary, in log order;
        what the caller may see (``404`` as for an unknown id if not the item itself)."""
        viewer = optional_viewer(request)
        entries = await on_board(request, lambda conn: item_timeline(conn, item_id, viewer))
        if entries is None:
            raise ItemNotFound(f"no item with id {item_id}")
        if format == "csv":
            # Litestar adds "; charset=utf-8" to a text/ media type itself
            return Response(timeline_csv(entries), media_type="text/csv", headers={
                "Content-Disposition": f'attachment; filename="timeline-{item_id}.csv"'})
        return Response(entries, media_type=MediaType.JSON)

    @get("/decisions", operation_id="listDecisions", responses=documented(*READ))
    async def decisions(self, request: Request) -> list[BoardDecision]:
        """The forum's decisions the caller may see, newest first: question, method, evidence,
        the board position and digest they were proposed and made on (with a link to the board
        as it stood then), each organisation's positions, the outcome and who decided."""
        viewer = optional_viewer(request)
        return await on_board(request, lambda conn: list_decisions(conn, viewer))

    @get("/decisions/{decision_id:str}", operation_id="getDecision", responses=READS_ITEM)
    async def decision(self, request: Request, decision_id: str) -> BoardDecision:
        """One decision, as in the list (``404`` if unknown or not the caller's to see)."""
        viewer = optional_viewer(request)
        found = await on_board(request, lambda conn: find_decision(conn, decision_id, viewer))
        if found is None:
            raise ItemNotFound(f"no decision with id {decision_id}")
        return found
