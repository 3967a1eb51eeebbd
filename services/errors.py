"""The domain's refusals and the engines' failures as HTTP answers: mapped once, on the app.

* An item the caller may not see or act on is answered exactly as one that does not
  exist: the same ``404`` and the same body, built from the request alone.
* PostgreSQL unreachable (down, restarting, or no connection free within the pool's short
  timeout) is ``503`` with ``Retry-After``: the command was not stored, and may be sent again.
* Every 5xx is logged with its traceback; an unexpected error is a ``500`` that says no more.

Every refusal has one body, :class:`Error`; :data:`ANSWERS` says what each status a route
can answer means, wherever it is raised (here, ``services.auth``, ``services.limits``,
``services.idempotency``), and the route kinds below (:data:`CREATES`, :data:`ON_ITEM`,
:data:`CHANGES_ITEM`, :data:`READS`, :data:`READS_ITEM`, or :func:`documented`) are what the
controllers declare, so that the OpenAPI documents list every status a route can answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import msgspec
import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, RecordConflictError
from litestar import MediaType, Request, Response
from litestar.openapi import ResponseSpec
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
    UnknownReference,
)
from services.domain.partners import UnknownPartner

log = logging.getLogger("coalition.service.errors")

#: Seconds a client is told to wait before retrying while PostgreSQL is away (the
#: supervisor brings an embedded server back within about a second).
RETRY_AFTER = 2

Handler = Callable[[Request, Exception], Response]


class Error(msgspec.Struct, frozen=True, omit_defaults=True):
    """The body of every refusal (Litestar's shape): the status again and what was wrong;
    for a 400 about fields, ``extra`` lists each field at fault (``key``, ``message``, ``source``)."""

    status_code: int
    detail: str
    extra: list[dict[str, Any]] | dict[str, Any] | None = None


#: What each refusal means, whichever module raises it.
ANSWERS: dict[int, str] = {
    400: "Bad input: a body, field, parameter or Idempotency-Key that is not valid (`extra` names "
         "the fields at fault); nothing was stored",
    401: "No API key, or an unknown one (send `Authorization: Bearer <key>`)",
    403: "The key's organisation publishes through another service, `org` names another "
         "organisation, or the person is an observer; on the partners' feed, the partner's "
         "subscription is revoked (`extra` names the revocation's `position` and `time`)",
    404: "No such item, or one the caller may not see or act on: both are answered alike",
    409: "The item's state refuses the command (resolved, acknowledged, done or decided already; "
         "blocked; no majority), or it changed concurrently (the command may be sent again)",
    413: "The body is larger than the service reads, or its event larger than the shared log carries",
    422: "The event would not be a valid shared event, an outcome is not one of the proposal's "
         "options, or this Idempotency-Key was used with another body or route",
    429: "Too many failed authentications from this address or with this key: retry after "
         "`Retry-After` seconds",
    503: "The database is unavailable: nothing was stored; retry after `Retry-After` seconds",
}


def documented(*statuses: int) -> dict[int, ResponseSpec]:
    """The OpenAPI responses of a route that can answer ``statuses``, each with :class:`Error`."""
    return {status: ResponseSpec(data_container=Error, description=ANSWERS[status], generate_examples=False)
            for status in sorted(statuses)}


#: What every command can answer besides its success: it is authenticated, has a body and
#: may carry an Idempotency-Key.
COMMAND = (400, 401, 403, 413, 422, 429, 503)
#: What every read can answer besides its success: it takes a key if given.
READ = (401, 429, 503)

#: A command that creates an item.
CREATES = documented(*COMMAND)
#: A command that refers to an item on the board or in the store (a pledge, a task): 404 besides.
ON_ITEM = documented(*COMMAND, 404)
#: A command that changes an existing item (a resolution, a picket, a triage, a decision):
#: 409 besides.
CHANGES_ITEM = documented(*ON_ITEM, 409)
#: A read with parameters that may be refused (the board): 400 besides.
READS = documented(*READ, 400)
#: A read of one item (its timeline, a decision): 400 and 404 besides.
READS_ITEM = documented(*READ, 400, 404)


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


def unknown_reference(_: Request, exc: Exception) -> Response:
    """``400`` naming the body's field that names an item the caller has not got (a local
    group it never registered, an attack it may not see), as a bad field is named."""
    field = getattr(exc, "field", "body")
    return Response({"status_code": 400, "detail": f"Validation failed: {exc}",
                     "extra": [{"key": field, "message": str(exc), "source": "body"}]},
                    status_code=400, media_type=MediaType.JSON)


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
    UnknownPartner: _answer(HTTP_404_NOT_FOUND),
    UnknownReference: unknown_reference,
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
