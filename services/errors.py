"""The domain's refusals and the engines' failures as HTTP answers: mapped once, on the app.

* An item the caller may not see or act on is answered exactly as one that does not
  exist: the same ``404`` and the same body, built from the request alone.
* PostgreSQL unreachable (down, restarting, or no connection free within the pool's short
  timeout) is ``503`` with ``Retry-After``: the command was not stored, and may be sent again.
* Every 5xx is logged with its traceback; an unexpected error is a ``500`` that says no more.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, RecordConflictError
from litestar import MediaType, Request, Response
from litestar.status_codes import (
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from services.domain.errors import (
    AlreadyResolved,
    Conflict,
    ItemNotFound,
    NotAnOption,
    NotYourItem,
    ReadOnly,
)

log = logging.getLogger("coalition.service.errors")

#: Seconds a client is told to wait before retrying while PostgreSQL is away (the
#: supervisor brings an embedded server back within about a second).
RETRY_AFTER = 2

Handler = Callable[[Request, Exception], Response]


def _json(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    return Response({"status_code": status, "detail": detail}, status_code=status, media_type=MediaType.JSON,
                    headers=headers)


def _answer(status: int, detail: str | None = None) -> Handler:
    def handler(_: Request, exc: Exception) -> Response:
        return _json(status, detail or str(exc))

    return handler


def unknown_item(request: Request, _: Exception) -> Response:
    """``404 no <kind> with id <id>``, the kind and id taken from the route (``attack_id``…),
    whether the item does not exist, is not shared with the caller or is not the caller's."""
    name, item_id = next(((k, v) for k, v in request.path_params.items() if k.endswith("_id")), ("item_id", "?"))
    return _json(HTTP_404_NOT_FOUND, f"no {name.removesuffix('_id')} with id {item_id}")


def unavailable(request: Request, exc: Exception) -> Response:
    """PostgreSQL cannot be reached: ``503`` with ``Retry-After``, logged with the traceback."""
    log.error("%s %s: PostgreSQL unavailable, answered 503", request.method, request.url.path, exc_info=exc)
    return _json(HTTP_503_SERVICE_UNAVAILABLE, "the database is unavailable; retry shortly",
                 headers={"Retry-After": str(RETRY_AFTER)})


def unexpected(request: Request, exc: Exception) -> Response:
    """Anything not mapped above: ``500``, logged with the traceback (the body tells no more)."""
    log.error("%s %s: unexpected error, answered 500", request.method, request.url.path, exc_info=exc)
    return _json(HTTP_500_INTERNAL_SERVER_ERROR, "internal error (logged)")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Handler] = {
    ItemNotFound: unknown_item,
    NotYourItem: unknown_item,
    AlreadyResolved: _answer(HTTP_409_CONFLICT),
    Conflict: _answer(HTTP_409_CONFLICT),
    NotAnOption: _answer(HTTP_422_UNPROCESSABLE_ENTITY),
    ReadOnly: _answer(HTTP_403_FORBIDDEN),
    # two commands raced on one aggregate: the loser may simply retry
    RecordConflictError: _answer(HTTP_409_CONFLICT, "the item changed concurrently; retry the command"),
    # psycopg's (PoolTimeout included) and eventsourcing's wrappers of them. Not eventsourcing's
    # PersistenceError as a whole: its IntegrityError is a RecordConflictError, a 409.
    psycopg.OperationalError: unavailable,
    OperationalError: unavailable,
    InterfaceError: unavailable,
    # Litestar hands this every exception no other entry matches (and its own 500s)
    HTTP_500_INTERNAL_SERVER_ERROR: unexpected,
}
