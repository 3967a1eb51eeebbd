"""The forum: triage of board items, the board as JSON, and the board page."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.di import Provide
from litestar.response import Template

from coalition.organisations import Organisation
from projections.board.queries import Board, read_board
from services.api.common import application, commit, load, visible_item
from services.auth import authenticate, hash_key
from services.commands import Accepted, TriageItem
from services.domain.common import sharing


class TriageController(Controller):
    path = "/v1/items"
    tags = ["forum"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}

    @post("/{item_id:str}/triage", operation_id="triageItem", status_code=201)
    async def triage(self, request: Request, caller: Organisation, item_id: str, data: TriageItem) -> Accepted:
        """Set a board item's status and priority (forum coordinators)."""
        item = await visible_item(request, item_id, caller.id)
        share = sharing(item["tlp"], item["audience"], item["region"], [item_id])
        app = application(request)
        record = await load(app.triage, caller.id, item_id, status=data.status,
                            priority=data.priority, note=data.note, share=share)
        await commit(request, record)
        return Accepted(id=item_id, version=record.version)


def _viewer(request: Request) -> str | None:
    """With a key, the board as that organisation may see it; without, the coordinators' open view."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and key:
        org = request.app.state.keyring.get(hash_key(key.strip()))
        return org.id if org else None
    return None


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
            return await read_board(conn, _viewer(request), since)

    @get("/", operation_id="boardPage", include_in_schema=False)
    async def page(self, request: Request) -> Template:
        """The board as a page for coordinators."""
        async with request.app.state.pool.connection() as conn:
            board = await read_board(conn, None)
        return Template(template_name="board.html.j2", context={"board": board, "groups": _grouped(board)})


def _grouped(board: Board) -> dict[str, list]:
    by_id = {item.id: item for item in board.items}
    attacks_order = ["new", "acknowledged", "responding", "monitoring", "resolved", "closed"]
    attacks = board.groups.get("attacks", {})
    return {
        "attacks": [(status, [by_id[i] for i in attacks.get(status, [])]) for status in attacks_order
                    if attacks.get(status)],
        "industrial": [by_id[i] for kind in ("strike", "picket", "solidarity")
                       for i in board.groups.get("industrial", {}).get(kind, [])],
        "actions": [by_id[i] for i in board.groups.get("actions", {}).get("action", [])],
        "wins": [by_id[i] for i in board.groups.get("wins", {}).get("win", [])],
    }
