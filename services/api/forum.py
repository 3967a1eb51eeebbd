"""The forum: triage of board items and the board as JSON (the page: ``board_page``)."""

from __future__ import annotations

from typing import Annotated

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import Parameter

from events.organisations import Organisation
from projections.board.queries import Board, BoardWatch, board_as_of, board_csv, read_board, whole_board
from services.api.board_reads import FORMAT, PAGE, DownloadOperation, Format, download, read_page
from services.api.context import application, commit, in_thread, visible_item
from services.auth import KEY_OPTIONAL, KEY_REQUIRED, authenticate, optional_viewer
from services.commands import Accepted, TriageItem
from services.errors import CHANGES_ITEM, READS
from services.idempotency import PARAMETERS as IDEMPOTENCY
from services.idempotency import RESPONSE_HEADERS as REPLAYED


class TriageController(Controller):
    path = "/v1/items"
    tags = ["forum"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}
    parameters = IDEMPOTENCY
    response_headers = REPLAYED
    security = KEY_REQUIRED

    @post("/{item_id:str}/triage", operation_id="triageItem", status_code=201,
          responses=CHANGES_ITEM)
    async def triage(self, request: Request, caller: Organisation, item_id: str, data: TriageItem) -> Accepted:
        """Set a board item's status and priority (forum coordinators)."""
        shared_as = await visible_item(request, item_id, caller.id)
        record = await in_thread(application(request).triage, caller.id, item_id, shared_as, data)
        return await commit(request, Accepted(id=item_id, version=record.version), record)


class BoardController(Controller):
    path = "/"
    tags = ["board"]

    @get("/api/board", operation_id="getBoard", responses=READS, security=KEY_OPTIONAL,
         operation_class=DownloadOperation)
    async def board(
        self,
        request: Request,
        since: Annotated[int, Parameter(ge=0, description="only items changed after this position")] = 0,
        wait: Annotated[float, Parameter(ge=0, le=30, description="seconds to wait for a change past `since`")] = 0,
        limit: Annotated[int, Parameter(ge=1, le=5000, description="items per page")] = PAGE,
        cursor: Annotated[str | None, Parameter(max_length=100, description="`next_cursor` of the page before")] = None,
        offset: Annotated[int, Parameter(ge=0, le=1_000_000, description="items to skip (instead of a cursor)")] = 0,
        archive: Annotated[bool, Parameter(description="the archive: items resolved or closed more than "
                                                       "COALITION_ARCHIVE_AFTER_DAYS ago")] = False,
        as_of: Annotated[str | None, Parameter(max_length=64, description="the board as it stood at this "
                                                                         "position or ISO 8601 time, with its digest")] = None,
        format: Annotated[Format | None, FORMAT] = None,  # noqa: A002
    ) -> Response[Board | str]:
        """The rapid-response board as JSON, with the stream position it reflects: what the
        caller's key may see (without a key, CLEAR and GREEN items only; a wrong key is 401).

        ``since`` returns only what changed after a position (a client keeps the last
        ``position`` it saw); with ``wait`` the call holds until an item the caller may see
        changed past it, or the wait is over (then with no items, and the board's position).

        Pages of ``limit`` items, newest change first: ``next_cursor`` continues. Resolved and
        closed items leave the live columns after COALITION_ARCHIVE_AFTER_DAYS; ``archive=true``
        lists them. ``as_of`` is the board exactly as it stood then, replayed from the log, with
        ``digest`` (``board_digest``) of everything the caller could see then.

        ``format`` (``json`` or ``csv``) gives the whole board as a file to download, now or as
        of ``as_of``: every item the caller may see, archive included, unpaged, with the
        board's position and digest — what ``coalition export board`` writes (the paging,
        ``archive``, ``since`` and ``wait`` do not apply)."""
        viewer = optional_viewer(request)
        if format is not None:
            whole = await read_page(request, lambda conn: whole_board(conn, viewer, as_of))
            name = f"board-{'as-of-' if as_of is not None else ''}{whole.position}"
            return download(whole, lambda: board_csv(whole), name, format)
        page = {"archive": archive, "limit": limit, "cursor": cursor, "offset": offset}
        if as_of is not None:
            return Response(await read_page(request, lambda conn: board_as_of(conn, viewer, as_of, **page)))
        board = await read_page(request, lambda conn: read_board(conn, viewer, since, **page))
        if not (wait and since):
            return Response(board)
        watch: BoardWatch = request.app.state.watch
        deadline = anyio.current_time() + wait
        position = board.position
        # changes the caller may not see move the board, but do not answer the call
        while not board.items and (left := deadline - anyio.current_time()) > 0:
            if not await watch.wait_beyond(position, left):
                break
            position = max(position, watch.position)
            board = await read_page(request, lambda conn: read_board(conn, viewer, since, **page))
        return Response(board)
