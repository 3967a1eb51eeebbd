"""The domain's refusals as HTTP answers that say why: mapped once, on the app."""

from __future__ import annotations

from collections.abc import Callable

from eventsourcing.persistence import RecordConflictError
from litestar import MediaType, Request, Response
from litestar.status_codes import HTTP_403_FORBIDDEN, HTTP_404_NOT_FOUND, HTTP_409_CONFLICT

from services.domain.errors import AlreadyResolved, ItemNotFound, NotYourItem


def _answer(status: int, detail: str | None = None) -> Callable[[Request, Exception], Response]:
    def handler(_: Request, exc: Exception) -> Response:
        return Response({"status_code": status, "detail": detail or str(exc)}, status_code=status,
                        media_type=MediaType.JSON)

    return handler


EXCEPTION_HANDLERS: dict[type[Exception], Callable[[Request, Exception], Response]] = {
    ItemNotFound: _answer(HTTP_404_NOT_FOUND),
    NotYourItem: _answer(HTTP_403_FORBIDDEN),
    AlreadyResolved: _answer(HTTP_409_CONFLICT),
    # two commands raced on one aggregate: the loser may simply retry
    RecordConflictError: _answer(HTTP_409_CONFLICT, "the item changed concurrently; retry the command"),
}
