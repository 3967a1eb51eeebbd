"""What every controller shares: the sharing fields, loading off the loop, committing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio
from eventsourcing.persistence import RecordConflictError
from litestar import Request
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.status_codes import HTTP_409_CONFLICT

from events.policy import can_see
from projections.board.queries import find_item
from services.application import CoalitionApp
from services.commands import Command
from services.domain.common import Sharing, sharing
from services.domain.errors import AlreadyResolved, ItemNotFound, NotYourItem, StrikeOver

T = TypeVar("T")


def share_of(cmd: Command) -> Sharing:
    return sharing(cmd.tlp, cmd.audience, cmd.region, cmd.refs)


@contextmanager
def domain_errors() -> Iterator[None]:
    """The domain's refusals, as HTTP answers that say why."""
    try:
        yield
    except ItemNotFound as exc:
        raise NotFoundException(str(exc)) from None
    except NotYourItem as exc:
        raise PermissionDeniedException(str(exc)) from None
    except (AlreadyResolved, StrikeOver) as exc:
        raise HTTPException(status_code=HTTP_409_CONFLICT, detail=str(exc)) from None
    except RecordConflictError:
        raise HTTPException(status_code=HTTP_409_CONFLICT,
                            detail="the item changed concurrently; retry the command") from None


async def load(method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run an application method that reads the store in a worker thread (never on the loop)."""
    with domain_errors():
        return await anyio.to_thread.run_sync(lambda: method(*args, **kwargs))


async def commit(request: Request, *aggregates: Any) -> None:
    """Save with the service's group committer; returns once durable in PostgreSQL."""
    with domain_errors():
        await request.app.state.committer.commit(*aggregates)


def application(request: Request) -> CoalitionApp:
    return request.app.state.application


async def visible_item(request: Request, item_id: str, viewer: str | None, kind: str | None = None) -> dict[str, Any]:
    """An item on the shared board the caller may see, or 404 (an invisible item is not confirmed)."""
    async with request.app.state.pool.connection() as conn:
        item = await find_item(conn, item_id)
    if item is None or (kind is not None and item["kind"] != kind) or not can_see(
        viewer, item["org"], item["tlp"], item["audience"]
    ):
        what = kind or "item"
        raise NotFoundException(f"no {what} with id {item_id} on the board")
    return item
