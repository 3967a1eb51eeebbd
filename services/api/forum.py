"""The forum: triage of board items, the board as JSON, and the board page."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import Template

from events.organisations import Organisation
from projections.board.queries import Board, read_board, rejected_count
from services.api.context import application, commit, in_thread, visible_item
from services.auth import authenticate, optional_viewer
from services.commands import Accepted, TriageItem


class TriageController(Controller):
    path = "/v1/items"
    tags = ["forum"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}

    @post("/{item_id:str}/triage", operation_id="triageItem", status_code=201)
    async def triage(self, request: Request, caller: Organisation, item_id: str, data: TriageItem) -> Accepted:
        """Set a board item's status and priority (forum coordinators)."""
        shared_as = await visible_item(request, item_id, caller.id)
        record = await in_thread(application(request).triage, caller.id, item_id, shared_as, data)
        await commit(request, record)
        return Accepted(id=item_id, version=record.version)


class BoardController(Controller):
    path = "/"
    tags = ["board"]

    @get("/api/board", operation_id="getBoard")
    async def board(
        self,
        request: Request,
        since: Annotated[int, Parameter(ge=0, description="only items changed after this position")] = 0,
        wait: Annotated[float, Parameter(ge=0, le=30, description="seconds to wait for a change past `since`")] = 0,
    ) -> Board:
        """The rapid-response board as JSON, with the stream position it reflects.

        ``since`` returns only what changed after a position (a client keeps the last
        ``position`` it saw); with ``wait`` the call holds until the board moves past it."""
        if wait and since:
            await request.app.state.watch.wait_beyond(since, wait)
        async with request.app.state.pool.connection() as conn:
            return await read_board(conn, optional_viewer(request), since)

    @get("/", operation_id="boardPage", include_in_schema=False)
    async def page(self, request: Request) -> Template:
        """The board as a page for coordinators."""
        async with request.app.state.pool.connection() as conn:
            board = await read_board(conn, None)
            rejected = await rejected_count(conn)
        return Template(template_name="board.html.j2",
                        context={"board": board, "columns": board.columns(), "rejected": rejected})
