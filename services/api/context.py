"""What a controller reaches through the request: its service's application, the group
committer, a worker thread for reads of the store, and items on the shared board."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
from litestar import Request
from litestar.exceptions import NotFoundException

from events.policy import can_see
from projections.board.queries import find_item
from services.domain.sharing import Sharing

T = TypeVar("T")


def application(request: Request) -> Any:
    """The service's eventsourcing application (its own subclass, with its own commands)."""
    return request.app.state.application


async def in_thread(method: Callable[..., T], *args: Any) -> T:
    """Run a command that reads the store in a worker thread, never on the event loop."""
    return await anyio.to_thread.run_sync(method, *args)


async def commit(request: Request, *aggregates: Any) -> None:
    """Save with the service's group committer; returns once durable in PostgreSQL."""
    await request.app.state.committer.commit(*aggregates)


async def visible_item(request: Request, item_id: str, viewer: str, kind: str | None = None) -> Sharing:
    """How an item on the shared board that ``viewer`` may see is shared, or 404 (an item
    the caller may not see is not confirmed)."""
    async with request.app.state.pool.connection() as conn:
        item = await find_item(conn, item_id)
    if item is None or (kind is not None and item["kind"] != kind) or not can_see(
        viewer, item["org"], item["tlp"], item["audience"]
    ):
        raise NotFoundException(f"no {kind or 'item'} with id {item_id} on the board")
    return Sharing(tlp=item["tlp"], audience=item["audience"], region=item["region"])
