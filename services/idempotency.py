"""Idempotent commands: a client that retries (after a timeout, say) with the same
``Idempotency-Key`` gets the first answer again, and nothing new is stored.

As the IETF httpapi draft and Stripe have it: the same key with the same request (route
and body) within 24 hours answers what the first request answered (same id, header
``Idempotent-Replayed``); the same key with another body, or on another route (a pledge
to another action), is refused with ``422``. The first answer is written by
the recorder in the very transaction that stores the command's events
(``events.recorder.ServiceRecorder``), so it survives restarts and can never disagree
with the store. Keys are per organisation.

A command that creates an item is not looked up first: its answer is simply recorded with
its events, and a retry — which would create another item — fails on the key's primary key
in that same transaction, stores nothing, and is given the first answer then. Only a
command on an existing item (a route with a path parameter: a resolution, a triage, a
task done), which the domain may refuse when repeated, looks its key up before it runs.
The common path thus costs one more row in the command's transaction, not a query more.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from litestar import MediaType, Request, Response
from litestar.datastructures import ResponseHeader
from litestar.exceptions import ClientException, HTTPException
from litestar.params import HeaderParameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY
from psycopg import AsyncConnection

from events.recorder import Answer, first_answer_query
from services.auth import claimant
from services.pooled import pooled

HEADER = "Idempotency-Key"
#: Set in a route's ``opt`` that records no answer (the partners' webhook routes, on the
#: forum for every partner's key): there the header is not looked at.
NOT_IDEMPOTENT = "not_idempotent"
VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

#: Declared on every command controller, so that the OpenAPI documents say it.
PARAMETERS = {"idempotency_key": HeaderParameter(
    name=HEADER, annotation=str, required=False, min_length=1, max_length=255, pattern=VALID_KEY.pattern,
    description="Send the same key to retry a command safely: within 24 hours the first answer "
                "is given again and nothing new is stored; the same key with another body or on "
                "another route is a 422.",
)}

#: Declared on every command controller too: the header of an answer given again.
RESPONSE_HEADERS = [ResponseHeader(
    name="Idempotent-Replayed", value="true", documentation_only=True, required=False,
    description="`true` on an answer given again: the first one to this Idempotency-Key",
)]


@dataclass(frozen=True)
class Claim:
    """A command sent with a key: whose, which key, and a digest of what it asked (its
    method, path and body: :func:`digest`)."""

    org: str
    key: str
    request_sha256: str

    def answer(self, status: int, body: bytes) -> Answer:
        return Answer(self.org, self.key, self.request_sha256, status, body)


def digest(method: str, path: str, body: bytes) -> str:
    """What a retry must repeat to be given the first answer: the route as well as the
    body (the same body sent to another action is another pledge)."""
    return hashlib.sha256(b"%s %s\n%s" % (method.encode(), path.encode(), body)).hexdigest()


class AlreadyAnswered(Exception):
    """A command with this key was answered before (found after this one failed to commit)."""

    def __init__(self, response: Response) -> None:
        super().__init__("already answered")
        self.response = response


async def replay_or_claim(request: Request) -> Response | None:
    """Before a POST with an ``Idempotency-Key``: the first answer if there was one (the
    handler does not run), else the claim the handler's commit records with its answer."""
    key = request.headers.get(HEADER)
    if key is None or request.method != "POST" or request.route_handler.opt.get(NOT_IDEMPOTENT):
        return None
    if not VALID_KEY.match(key):
        raise ClientException(f"{HEADER} must be 1 to 255 visible ASCII characters")
    claim = Claim(claimant(request), key, digest(request.method, request.url.path, await _content(request)))
    if request.path_params:  # on an existing item: a repeat might be refused before it commits
        first = await first_answer(request, claim)
        if first is not None:
            return first
    request.state.idempotency = claim
    return None


async def first_answer(request: Request, claim: Claim) -> Response | None:
    """The response first given to ``claim``'s key, or None; 422 if it was given to
    another body or route."""
    # on the event loop, through the service's pool: no thread hop on every command
    async def query(conn: AsyncConnection[Any]) -> Any:
        return await (await conn.execute(first_answer_query(request.app.state.service),
                                         (claim.org, claim.key))).fetchone()

    row = await pooled(request, query)
    stored = None if row is None else Answer(row[0], row[1], row[2], row[3], bytes(row[4]))
    if stored is None:
        return None
    if stored.body_sha256 != claim.request_sha256:
        raise HTTPException(status_code=HTTP_422_UNPROCESSABLE_ENTITY,
                            detail=f"{HEADER} {claim.key!r} was used with another body or route; use a new key")
    if request.route_handler.status_code == HTTP_303_SEE_OTHER and "application/json" not in request.headers.get(
            "accept", ""):
        # a person's form, answered as it was the first time: back to the board
        return Redirect("/", status_code=HTTP_303_SEE_OTHER, headers={"Idempotent-Replayed": "true"})
    return Response(stored.body, status_code=stored.status, media_type=MediaType.JSON,
                    headers={"Idempotent-Replayed": "true"})


async def _content(request: Request) -> bytes:
    """What a retry must repeat: the raw body, or for a multipart form (whose stream the
    CSRF check has already read) its fields, in order."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        return repr(sorted((name, str(value)) for name, value in form.multi_items())).encode()
    return await request.body()


def claim_of(request: Request) -> Claim | None:
    claim: Claim | None = request.state.get("idempotency")
    return claim


def replayed(_: Request, exc: AlreadyAnswered) -> Response:
    return exc.response
