"""The forum's audit reads: an item's timeline, the decisions, and reading a page of the
board (now or as of a moment) with its faults answered as the caller's (``400``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from litestar import Controller, MediaType, Request, Response, get
from litestar.exceptions import ValidationException
from litestar.openapi.spec import OpenAPIHeader, OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import Parameter
from psycopg import AsyncConnection

from projections.board.queries import (
    AsOfError,
    BoardDecision,
    TimelineEntry,
    decisions_csv,
    find_decision,
    item_timeline,
    list_decisions,
    timeline_csv,
)
from services.api.context import on_board
from services.auth import KEY_OPTIONAL, optional_viewer
from services.domain.errors import ItemNotFound
from services.errors import READS, READS_ITEM

T = TypeVar("T")

#: Items in a page of ``GET /api/board`` unless the caller asks for another ``limit``.
PAGE = 500


async def read_page(request: Request, query: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """``query`` on the board; an ``as_of`` or ``cursor`` it cannot answer is a ``400``."""
    try:
        return await on_board(request, query)
    except (AsOfError, ValueError) as exc:
        raise ValidationException(str(exc)) from None


#: The ``format`` of a read that can be downloaded: the same answer as a file.
Format = Literal["json", "csv"]
FORMAT = Parameter(description="`json` or `csv`: the answer as a file to download (`Content-Disposition: "
                               "attachment` with a file name); without it, JSON to read")
#: The download's header, as the OpenAPI documents give it.
DISPOSITION = "Content-Disposition"


def download(value: object, as_csv: Callable[[], str], name: str, format: Format | None) -> Response[Any]:  # noqa: A002
    """``value`` as JSON to read (no ``format``), or as a file ``<name>.json`` or ``<name>.csv``
    (``as_csv()``, the CSV ``coalition export`` writes) with ``Content-Disposition: attachment``."""
    if format is None:
        return Response(value, media_type=MediaType.JSON)
    headers = {DISPOSITION: f'attachment; filename="{name}.{format}"'}
    if format == "csv":
        # Litestar adds "; charset=utf-8" to a text/ media type itself
        return Response(as_csv(), media_type="text/csv", headers=headers)
    return Response(value, media_type=MediaType.JSON, headers=headers)


@dataclass
class DownloadOperation(Operation):
    """The OpenAPI operation of a read with ``format``: its ``200`` is the JSON (the handler's
    ``Response[X | str]`` reads to Litestar as either), or ``text/csv``, with the download's
    ``Content-Disposition`` when ``format`` is given."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if not isinstance(ok, OpenAPIResponse):
            return
        content = dict(ok.content or {})
        json = content.get(MediaType.JSON)
        if json is not None and isinstance(json.schema, Schema) and json.schema.one_of:
            shown = [s for s in json.schema.one_of if not (isinstance(s, Schema) and s.type == OpenAPIType.STRING)]
            if len(shown) == 1:
                json.schema = shown[0]
        content["text/csv"] = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
        ok.content = content
        ok.headers = {**(ok.headers or {}), DISPOSITION: OpenAPIHeader(
            schema=Schema(type=OpenAPIType.STRING), required=False,
            description="with `format`: `attachment; filename=\"<name>.<format>\"`")}


class HistoryController(Controller):
    path = "/api"
    tags = ["board"]
    security = KEY_OPTIONAL

    @get("/items/{item_id:str}/timeline", operation_id="getItemTimeline", responses=READS_ITEM,
         operation_class=DownloadOperation)
    async def timeline(
        self, request: Request, item_id: str, format: Annotated[Format | None, FORMAT] = None,  # noqa: A002
    ) -> Response[list[TimelineEntry] | str]:
        """Every event that concerns the item — its own and those that refer to it — with
        organisation, person (``actor``), kind, time and a one-line summary, in log order;
        what the caller may see (``404`` as for an unknown id if not the item itself).
        ``format``: as a file, ``timeline-<id>.json`` or ``.csv``."""
        viewer = optional_viewer(request)
        entries = await on_board(request, lambda conn: item_timeline(conn, item_id, viewer))
        if entries is None:
            raise ItemNotFound(f"no item with id {item_id}")
        return download(entries, lambda: timeline_csv(entries), f"timeline-{item_id}", format)

    @get("/decisions", operation_id="listDecisions", responses=READS, operation_class=DownloadOperation)
    async def decisions(
        self, request: Request, format: Annotated[Format | None, FORMAT] = None,  # noqa: A002
    ) -> Response[list[BoardDecision] | str]:
        """The forum's decisions the caller may see, newest first: question, method, evidence,
        the board position and digest they were proposed and made on (with a link to the board
        as it stood then), each organisation's positions, the outcome and who decided.
        ``format``: as a file, ``decisions.json`` or ``decisions.csv``."""
        viewer = optional_viewer(request)
        found = await on_board(request, lambda conn: list_decisions(conn, viewer))
        return download(found, lambda: decisions_csv(found), "decisions", format)

    @get("/decisions/{decision_id:str}", operation_id="getDecision", responses=READS_ITEM)
    async def decision(self, request: Request, decision_id: str) -> BoardDecision:
        """One decision, as in the list (``404`` if unknown or not the caller's to see)."""
        viewer = optional_viewer(request)
        found = await on_board(request, lambda conn: find_decision(conn, decision_id, viewer))
        if found is None:
            raise ItemNotFound(f"no decision with id {decision_id}")
        return found
