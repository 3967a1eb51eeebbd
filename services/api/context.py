"""What a controller reaches through the request: its service's application, the group
committer, a worker thread for reads of the store, and items on the shared board."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import msgspec
import psycopg
from litestar import Request
from litestar.status_codes import HTTP_201_CREATED

from events.policy import can_see
from projections.board.queries import BoardWatch, find_item
from services.domain.errors import ItemNotFound
from services.domain.sharing import Sharing
from services.domain.triage import OnBoard
from services.idempotency import AlreadyAnswered, claim_of, first_answer
from services.pooled import pooled

T = TypeVar("T")

#: How long (seconds) a command on a board item waits for the item to reach the board:
#: created on another service, it is on the board a few milliseconds after its ``201``.
APPEARS_WITHIN = 3.0


def application(request: Request) -> Any:
    """The service's eventsourcing application (its own subclass, with its own commands)."""
    return request.app.state.application


async def in_thread(method: Callable[..., T], *args: Any) -> T:
    """Run a command that reads the store in a worker thread, never on the event loop."""
    return await anyio.to_thread.run_sync(method, *args)


async def commit(request: Request, answer: T, *aggregates: Any) -> T:
    """Save with the service's group committer and return ``answer`` once durable in
    PostgreSQL. A command sent with an ``Idempotency-Key`` has its answer recorded in the
    same transaction; if the transaction failed because the key was answered meanwhile (a
    concurrent retry), that first answer is given instead."""
    claim = claim_of(request)
    if claim is None:
        await request.app.state.committer.commit(*aggregates)
        return answer
    try:
        await request.app.state.committer.commit(
            *aggregates, answers=(claim.answer(HTTP_201_CREATED, msgspec.json.encode(answer)),))
    except Exception:
        first = await first_answer(request, claim)
        if first is None:
            raise
        raise AlreadyAnswered(first) from None
    return answer


async def on_board(request: Request, query: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
    """``query`` run on one of the service's pooled connections to the board (``services.pooled``)."""
    return await pooled(request, query)


async def visible_item(request: Request, item_id: str, viewer: str, kind: str | None = None) -> Sharing:
    """How an item on the shared board that ``viewer`` may see is shared (see :func:`item_on_board`)."""
    return (await item_on_board(request, item_id, viewer, kind)).sharing


async def item_on_board(request: Request, item_id: str, viewer: str, kind: str | None = None) -> OnBoard:
    """An item on the shared board that ``viewer`` may see: how it is shared, its status
    and its priority.

    An item created on another service a moment ago may not be on the board yet: wait for
    it, woken by the board's notifications, up to ``APPEARS_WITHIN`` seconds. An item the
    caller may not see is waited for just the same (it is, to the caller, not there), and
    then answered ``404`` exactly as an unknown one (``ItemNotFound``)."""
    watch: BoardWatch = request.app.state.watch
    deadline = anyio.current_time() + APPEARS_WITHIN
    if not _could_be_an_id(item_id):
        raise ItemNotFound(f"no {kind or 'item'} with id {item_id}")
    while True:
        seen = watch.position  # before the look-up: any later batch wakes the wait below
        item = await on_board(request, lambda conn: find_item(conn, item_id))
        if item is not None and (kind is None or item["kind"] == kind) and can_see(
            viewer, item["org"], item["tlp"], item["audience"]
        ):
            return OnBoard(sharing=Sharing(tlp=item["tlp"], audience=item["audience"], region=item["region"]),
                           status=item.get("status", "new"), priority=item.get("priority", "normal"))
        left = deadline - anyio.current_time()
        if left <= 0:
            raise ItemNotFound(f"no {kind or 'item'} with id {item_id}")
        # looked up again at least twice a second: a notification missed while the
        # watch reconnects delays the answer, never turns it into a 404
        await watch.wait_beyond(seen, min(left, 0.5))


def _could_be_an_id(item_id: str) -> bool:
    """Every item's id is a UUID: anything else will never appear, so is not waited for."""
    try:
        uuid.UUID(item_id)
    except ValueError:
        return False
    return True


# --- issue 11: what a command on another organisation's item needs to know of it --------


async def board_row(request: Request, item_id: str, viewer: str, kind: str) -> dict[str, Any]:
    """The board's row of an item ``viewer`` may see (waited for as :func:`item_on_board`
    does, ``404`` alike): who published it, how it is shared, its refs and detail."""
    await item_on_board(request, item_id, viewer, kind)
    row = await on_board(request, lambda conn: find_item(conn, item_id))
    if row is None:  # pragma: no cover - seen a moment ago, and items are never deleted
        raise ItemNotFound(f"no {kind} with id {item_id}")
    return row


def sharing_of(row: dict[str, Any]) -> Sharing:
    """How a board item is shared (what follows it inherits it)."""
    return Sharing(tlp=row["tlp"], audience=row["audience"], region=row["region"])
