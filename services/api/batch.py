"""``POST /v1/batch``: a publisher that sends in bursts sends up to
``COALITION_BATCH_MAX_COMMANDS`` commands in one request, and gets one answer per command.

Each command is named as its own route's operation (``reportAttack``, ``callAction``…) and
is exactly what that route takes alone: the same body, checked the same way, answered with
the status it would get alone (``201`` and its id; a ``400`` naming the field, a ``403``,
``413``, ``422``…), and an ``idempotency_key`` that is the same thing as the route's
``Idempotency-Key`` header — one key space per organisation, so a command first sent alone
and retried in a batch (or the other way round) is given its first answer, and nothing is
stored twice. A command that is refused stores and publishes nothing; the others are
unaffected by it.

Only the commands that create an item are offered: they do no I/O before their commit, so
a whole batch is checked on the event loop and handed to the group committer at once
(``services.committer``, ``commit_each``), where it commits with whatever else is
queued, in one transaction or a few; a command that fails there (a key answered meanwhile
by a concurrent request) fails alone, exactly as it would alone. The batch is answered when every command is durable (or refused).
A command on an existing item (a resolution, a pledge, a picket) is sent alone.

A batch that is not what the document says — not an object with ``commands``, a command
without a known name, a key that is not a valid key, more commands than the limit — is
refused whole with a ``400`` that names the problem, and nothing in it is done.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_type_hints

import msgspec
from eventsourcing.persistence import InterfaceError, OperationalError
from litestar import Controller, Request, post
from litestar.di import Provide
from litestar.exceptions import ClientException, HTTPException
from litestar.handlers import HTTPRouteHandler
from psycopg.sql import SQL, Composed, Identifier
from psycopg.sql import Literal as SqlLiteral

from events.organisations import Organisation
from events.recorder import ANSWERS_KEPT
from events.settings import batch_max_commands
from services.application import PublisherApp
from services.auth import KEY_REQUIRED, authenticate, check_publisher
from services.commands import Created
from services.errors import EXCEPTION_HANDLERS as ERROR_HANDLERS
from services.errors import RETRY_AFTER, documented
from services.idempotency import HEADER, VALID_KEY, Claim, claim_of, digest
from services.limits import EXCEPTION_HANDLERS as LIMIT_HANDLERS
from services.limits import MAX_BODY

if TYPE_CHECKING:
    from services.registry import Service

log = logging.getLogger("coalition.service.batch")

PATH = "/v1/batch"
#: The largest batch body a service reads (413 beyond): sixteen times a command's own limit.
MAX_BATCH_BODY = 16 * MAX_BODY

#: How each command offered in a batch makes its aggregate, by its route's operation id:
#: ``make(application, org, body)``. The body's type and the route's path are the route's own.
MAKERS: dict[str, Callable[[Any, str, Any], Any]] = {
    "reportAttack": lambda app, org, cmd: app.report_attack(org, cmd),
    "callStrike": lambda app, org, cmd: app.call_strike(org, cmd),
    "requestSolidarity": lambda app, org, cmd: app.request_solidarity(org, cmd),
    "callAction": lambda app, org, cmd: app.call_action(org, cmd),
    "recordWin": lambda app, org, cmd: app.record_win(org, cmd),
}

Key = Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=VALID_KEY.pattern)]


class ItemAnswer(msgspec.Struct, frozen=True, omit_defaults=True):
    """One command's answer, in the order the batch sent them: the status it would have got
    alone, with the id it created (``201``) or what was wrong (``detail``, and ``extra``
    naming the fields at fault); ``replayed`` when it is the first answer to its key."""

    status: int
    id: str | None = None
    detail: str | None = None
    extra: list[dict[str, Any]] | None = None
    replayed: bool = False


class BatchAnswer(msgspec.Struct, frozen=True):
    """The answers to a batch's commands, one each, in the batch's order."""

    results: list[ItemAnswer]


@dataclass(frozen=True)
class Offered:
    """A command a service offers in a batch: its body's type, the path it has alone (for
    its key's digest) and how its aggregate is made."""

    body: type[msgspec.Struct]
    path: str
    make: Callable[[Any, str, Any], Any]


def offered(controllers: tuple[Any, ...]) -> dict[str, Offered]:
    """The service's own routes that create an item, by operation id: what its batch takes."""
    found: dict[str, Offered] = {}
    for controller in controllers:
        if not (isinstance(controller, type) and issubclass(controller, Controller)):
            continue  # a router (the forum's static files)
        for handler in vars(controller).values():
            if isinstance(handler, HTTPRouteHandler) and handler.operation_id in MAKERS:
                (path,) = handler.paths
                body = get_type_hints(handler.fn)["data"]
                found[str(handler.operation_id)] = Offered(body, controller.path.rstrip("/") + path.rstrip("/"),
                                                           MAKERS[str(handler.operation_id)])
    return found


def batch_routes(service: "Service") -> list[HTTPRouteHandler]:
    """``POST /v1/batch`` for a publishing service (momentum, scg, unions): the forum's
    coordinators act on items one at a time."""
    commands = offered(service.controllers)
    if not commands or not issubclass(service.application, PublisherApp):
        return []
    names = tuple(sorted(commands))
    item = msgspec.defstruct(
        "BatchCommand",
        [("command", Literal[names]),  # type: ignore[valid-type]
         ("body", dict[str, Any]),
         ("idempotency_key", Key | None, None)],
        kw_only=True, frozen=True, forbid_unknown_fields=True, module=__name__)
    item.__doc__ = ("One command: its name (its own route's operation id), its body (what that route "
                    "takes), and optionally the key to retry it safely (its route's Idempotency-Key).")
    limit = batch_max_commands()
    batch = msgspec.defstruct(
        "Batch", [("commands", Annotated[list[item], msgspec.Meta(min_length=1, max_length=limit)])],  # type: ignore[valid-type]
        kw_only=True, frozen=True, forbid_unknown_fields=True, module=__name__)
    batch.__doc__ = f"Up to {limit} commands, each answered on its own."

    async def submit(request: Request, caller: Organisation, data: Any) -> BatchAnswer:
        return await answer_batch(request, caller, commands, data.commands)

    submit.__doc__ = (
        f"Send up to {limit} commands at once ({', '.join(names)}), each answered with its own status: "
        "`201` and the id it created, the refusal it would get alone, or for a repeated `idempotency_key` "
        "its first answer. All are durable before the answer; what is refused is neither stored nor "
        "published. A malformed batch is refused whole (400).")
    submit.__annotations__ = {"request": Request, "caller": Organisation, "data": batch, "return": BatchAnswer}
    return [post(PATH, operation_id="submitBatch", status_code=200, tags=["batch"], security=KEY_REQUIRED,
                 dependencies={"caller": Provide(authenticate, sync_to_thread=False)},
                 request_max_body_size=MAX_BATCH_BODY,
                 responses=documented(400, 401, 403, 413, 429, 503))(submit)]


async def answer_batch(request: Request, caller: Organisation, commands: dict[str, Offered],
                       items: list[Any]) -> BatchAnswer:
    """Check every command, commit the accepted ones together, answer each."""
    if claim_of(request) is not None:
        raise ClientException(f"a batch takes no {HEADER} header: give each command its own idempotency_key")
    app = request.app.state.application
    committer = request.app.state.committer
    earlier = await first_answers(request, caller.id, [i.idempotency_key for i in items if i.idempotency_key])
    results: list[ItemAnswer | None] = [None] * len(items)
    keyed: dict[str, tuple[int, str]] = {}  # key → (the first item with it, its digest)
    again: list[tuple[int, int]] = []  # (item, earlier item of this batch with its key and body)
    pending: list[int] = []
    commits: list[tuple[tuple[Any, ...], tuple[Any, ...]]] = []
    for index, item in enumerate(items):
        command = commands[item.command]
        encoded = msgspec.json.encode(item.body)
        claim = None
        if item.idempotency_key is not None:
            claim = Claim(caller.id, item.idempotency_key, digest("POST", command.path, encoded))
            stored = earlier.get(claim.key)
            if stored is not None:
                results[index] = replay(claim, *stored)
                continue
            if claim.key in keyed:
                first, first_digest = keyed[claim.key]
                if first_digest == claim.request_sha256:
                    again.append((index, first))
                else:
                    results[index] = reused(claim.key)
                continue
            keyed[claim.key] = (index, claim.request_sha256)
        try:
            results[index], aggregate = accept(app, caller, command, item.body, len(encoded))
        except Exception as exc:  # noqa: BLE001 - this command's refusal, not the batch's
            results[index] = refusal(request, exc)
            continue
        if aggregate is not None:
            answers = () if claim is None else (claim.answer(201, msgspec.json.encode(Created(id=results[index].id))),)
            pending.append(index)
            commits.append(((aggregate,), answers))
    # every accepted command is queued at once: they commit together, each failing alone
    outcomes = await committer.commit_each(commits) if commits else []
    for index, outcome in zip(pending, outcomes):
        if outcome is None:
            continue
        item = items[index]
        if item.idempotency_key is not None and not isinstance(outcome, (OperationalError, InterfaceError)):
            # a concurrent command with its key may have won (with PostgreSQL away, none could)
            found = (await first_answers(request, caller.id, [item.idempotency_key])).get(item.idempotency_key)
            if found is not None:
                results[index] = replay(Claim(caller.id, item.idempotency_key, keyed[item.idempotency_key][1]),
                                        *found)
                continue
        results[index] = refusal(request, outcome)
    for index, first in again:
        done = results[first]
        assert done is not None
        results[index] = msgspec.structs.replace(done, replayed=True) if done.status == 201 else done
    answered = [r for r in results if r is not None]
    unavailable = [o for o in outcomes if isinstance(o, (OperationalError, InterfaceError))]
    if unavailable:
        log.error("%s %s: PostgreSQL unavailable for %d of %d commands", request.method, request.url.path,
                  len(unavailable), len(items), exc_info=unavailable[0])
        if all(r.status == 503 for r in answered):
            raise unavailable[0]  # nothing was stored: the whole batch is a 503 with Retry-After
    return BatchAnswer(results=answered)


def accept(app: Any, caller: Organisation, command: Offered, body: dict[str, Any],
           size: int) -> tuple[ItemAnswer, Any]:
    """One command (``size`` bytes of JSON) checked as its route checks it alone, and its
    aggregate made: its answer and the aggregate to commit, or a refusal and None; raises
    what its route would be answered with otherwise."""
    if size > MAX_BODY:
        return ItemAnswer(413, detail=f"the command's body is larger than {MAX_BODY:,} bytes"), None
    try:
        data = msgspec.convert(body, command.body, strict=True)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(" - at `$")
        return ItemAnswer(400, detail=f"Validation failed for POST {command.path}", extra=[
            {"message": message, "key": where.rstrip("`").lstrip(".") or "data", "source": "body"}]), None
    check_publisher(caller, getattr(data, "org", None))
    aggregate = command.make(app, caller.id, data)
    return ItemAnswer(201, id=str(aggregate.id)), aggregate


_HANDLERS: dict[type, Callable[..., Any]] = {
    kind: handler for kind, handler in {**ERROR_HANDLERS, **LIMIT_HANDLERS}.items() if isinstance(kind, type)}


def refusal(request: Request, exc: BaseException) -> ItemAnswer:
    """What the service answers ``exc`` with, as one command's answer."""
    if isinstance(exc, HTTPException):
        extra = exc.extra if isinstance(exc.extra, list) else None
        return ItemAnswer(exc.status_code, detail=exc.detail, extra=extra)
    if isinstance(exc, (OperationalError, InterfaceError)):
        return ItemAnswer(503, detail=f"the database is unavailable; retry after {RETRY_AFTER} seconds")
    handler = next((_HANDLERS[kind] for kind in type(exc).__mro__ if kind in _HANDLERS), None)
    if handler is None:
        log.error("%s %s: unexpected error in one command, answered 500", request.method, request.url.path,
                  exc_info=exc)
        return ItemAnswer(500, detail="internal error (logged)")
    response = handler(request, exc)
    return ItemAnswer(response.status_code, detail=str(response.content["detail"]))


def replay(claim: Claim, body_sha256: str, status: int, body: bytes) -> ItemAnswer:
    """The first answer to ``claim``'s key, or the 422 of a key reused for another command."""
    if body_sha256 != claim.request_sha256:
        return reused(claim.key)
    return ItemAnswer(status, id=msgspec.json.decode(body).get("id"), replayed=True)


def reused(key: str) -> ItemAnswer:
    return ItemAnswer(422, detail=f"idempotency_key {key!r} was used with another body or route; use a new key")


async def first_answers(request: Request, org: str, keys: list[str]) -> dict[str, tuple[str, int, bytes]]:
    """The first answers given to ``org``'s commands with ``keys`` (one query): by key, the
    digest of what was asked, the status and the body."""
    if not keys:
        return {}
    async with request.app.state.pool.connection() as conn:
        rows = await (await conn.execute(answers_query(request.app.state.service), (org, keys))).fetchall()
    return {key: (sha, status, bytes(body)) for key, sha, status, body in rows}


def answers_query(schema: str) -> Composed:
    """``events.recorder.first_answer_query`` for many keys at once."""
    return SQL("SELECT key, body_sha256, status, body FROM {}.{} WHERE org = %s AND key = ANY(%s) "
               "AND created_at >= now() - {}::interval").format(
        Identifier(schema), Identifier("idempotency"), SqlLiteral(ANSWERS_KEPT))
