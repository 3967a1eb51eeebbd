"""Partners' webhook endpoints, on the forum: register, list, rotate a secret, remove,
list failed deliveries and redeliver from a position. A partner calls these with its own
organisation's key (whichever service it publishes through) and sees only its own
endpoints; the deliverer (``webhooks``) does the delivering.

A target must be public (``events.targets``; ``COALITION_WEBHOOK_ALLOW_NETWORKS`` widens
that), an event type filter must name known contracts, and ``after`` (where deliveries
start) defaults to the end of the log: only what comes next. ``after: 0`` asks for
everything the partner is entitled to since the start of the log.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import Provide
from litestar.exceptions import NotFoundException, ValidationException
from msgspec import Meta

from contracts.registry import CONTRACTS, kind_of
from events import endpoints as store
from events.endpoints import Endpoint, Failure, Registered
from events.logread import log_end
from events.organisations import Organisation
from events.targets import TargetRefused, check_target
from services.api.context import on_board
from services.api.partner_access import log_reader, partner_of
from services.auth import KEY_REQUIRED, partner_organisation
from services.errors import documented
from services.idempotency import NOT_IDEMPOTENT

KINDS = tuple(kind_of(c) for c in CONTRACTS)
#: How long resolving a target's host may take before the registration is refused.
RESOLVE_WITHIN = 3.0

Url = Annotated[str, Meta(min_length=8, max_length=2000)]
EventType = Annotated[str, Meta(min_length=1, max_length=100)]
Position = Annotated[int, Meta(ge=0, le=2**63 - 1)]


class NewEndpoint(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A webhook endpoint to register."""

    url: Url
    """Where to POST each event (``https://…``; a public address)."""
    types: Annotated[list[EventType], Meta(max_length=len(KINDS))] = []
    """Event types to deliver (``attack.reported``…); none = every type the policy allows."""
    after: Position | None = None
    """Deliver what comes after this position of the shared log; default: its end (only
    new events); 0: everything since the start."""


class Redelivery(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Deliver again everything after a position (the endpoint is enabled again)."""

    after: Position


class Rotated(msgspec.Struct, frozen=True, kw_only=True):
    """The endpoint's new secret; the one before stays valid beside it until ``rotating_until``."""

    id: str
    secret: str
    rotating_until: str | None


def _field(key: str, message: str) -> ValidationException:
    return ValidationException(f"{key}: {message}", extra=[{"key": key, "message": message, "source": "body"}])


async def _checked(data: NewEndpoint) -> None:
    unknown = [t for t in data.types if t not in KINDS]
    if unknown:
        raise _field("types", f"unknown event types {unknown[:5]}; known: {', '.join(KINDS)}")
    try:
        await asyncio.wait_for(check_target(data.url), RESOLVE_WITHIN)
    except TargetRefused as exc:
        raise _field("url", str(exc)) from None
    except asyncio.TimeoutError:
        raise _field("url", f"its host did not resolve within {RESOLVE_WITHIN:g}s") from None


class WebhookController(Controller):
    path = "/v1/webhooks"
    tags = ["partners"]
    dependencies = {"caller": Provide(partner_organisation, sync_to_thread=False)}
    security = KEY_REQUIRED
    # a partner's key is another service's: no Idempotency-Key claim (commands of the forum's own)
    opt = {NOT_IDEMPOTENT: True}

    @post("/", operation_id="registerWebhook", status_code=201, responses=documented(400, 401, 403, 413, 429, 503))
    async def register(self, request: Request, caller: Organisation, data: NewEndpoint) -> Registered:
        """Register an endpoint for the caller's events; the answer holds its secret
        (``whsec_…``), shown only here and on rotation."""
        partner_of(caller.id)
        await _checked(data)
        after = data.after if data.after is not None else await log_end(log_reader(request))
        types = list(dict.fromkeys(data.types))
        return await on_board(request, lambda conn: store.add(conn, caller.id, data.url, types, after))

    @get("/", operation_id="listWebhooks", responses=documented(401, 403, 429, 503))
    async def list_endpoints(self, request: Request, caller: Organisation) -> list[Endpoint]:
        """The caller's endpoints, with each one's position and delivery state."""
        partner_of(caller.id)
        return await on_board(request, lambda conn: store.endpoints(conn, caller.id))

    @post("/{endpoint_id:str}/rotation", operation_id="rotateWebhookSecret", status_code=201,
          responses=documented(400, 401, 403, 404, 429, 503))
    async def rotate(self, request: Request, caller: Organisation, endpoint_id: str) -> Rotated:
        """A new secret; deliveries carry signatures with both secrets for 24 hours."""
        partner_of(caller.id)
        secret = await on_board(request, lambda conn: store.rotate(conn, endpoint_id, caller.id))
        if secret is None:
            raise NotFoundException(f"no endpoint with id {endpoint_id}")
        found = await on_board(request, lambda conn: store.endpoint(conn, endpoint_id, caller.id))
        until = found.rotating_until.isoformat() if found and found.rotating_until else None
        return Rotated(id=endpoint_id, secret=secret, rotating_until=until)

    @delete("/{endpoint_id:str}", operation_id="removeWebhook", status_code=204,
            responses=documented(400, 401, 403, 404, 429, 503))
    async def remove(self, request: Request, caller: Organisation, endpoint_id: str) -> None:
        """Remove the endpoint: nothing more is delivered to it."""
        partner_of(caller.id)
        if not await on_board(request, lambda conn: store.remove(conn, endpoint_id, caller.id)):
            raise NotFoundException(f"no endpoint with id {endpoint_id}")

    @get("/{endpoint_id:str}/failures", operation_id="listWebhookFailures",
         responses=documented(400, 401, 403, 404, 429, 503))
    async def failures(self, request: Request, caller: Organisation, endpoint_id: str) -> list[Failure]:
        """Events whose delivery used up the retry schedule (``delivered_at`` once it got through)."""
        partner_of(caller.id)
        found = await on_board(request, lambda conn: store.failures(conn, endpoint_id, caller.id))
        if found is None:
            raise NotFoundException(f"no endpoint with id {endpoint_id}")
        return found

    @post("/{endpoint_id:str}/redelivery", operation_id="redeliverWebhook", status_code=202,
          responses=documented(400, 401, 403, 404, 413, 429, 503))
    async def redeliver(self, request: Request, caller: Organisation, endpoint_id: str,
                        data: Redelivery) -> Endpoint:
        """Deliver again, in order, everything after ``after`` (the endpoint is enabled again
        and its retries start afresh)."""
        partner_of(caller.id)
        if not await on_board(request, lambda conn: store.redeliver(conn, endpoint_id, data.after, caller.id)):
            raise NotFoundException(f"no endpoint with id {endpoint_id}")
        found = await on_board(request, lambda conn: store.endpoint(conn, endpoint_id, caller.id))
        assert found is not None
        return found
