"""Asking for an MP's visit: open to every service (a publisher or the forum)."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.di import Provide

from events.organisations import Organisation
from services.api.context import application, commit, visible_item
from services.auth import KEY_REQUIRED, authenticate
from services.commands import Created, RequestVisit
from services.domain.errors import ItemNotFound, UnknownReference
from services.errors import CREATES
from services.idempotency import PARAMETERS as IDEMPOTENCY
from services.idempotency import RESPONSE_HEADERS as REPLAYED


class VisitController(Controller):
    path = "/v1/visits"
    tags = ["visits"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}
    parameters = IDEMPOTENCY
    response_headers = REPLAYED
    security = KEY_REQUIRED

    @post("", operation_id="requestVisit", status_code=201, responses=CREATES)
    async def request_visit(self, request: Request, caller: Organisation, data: RequestVisit) -> Created:
        """Ask the caucus liaison for an MP's visit to an item this organisation can see
        (``serves``: a picket, a rally, a local group's action); shared as that item is. An
        item the caller cannot see is a 400 naming ``serves``, as a bad field is."""
        try:
            served = await visible_item(request, data.serves, caller.id)
        except ItemNotFound:
            raise UnknownReference("serves", f"`serves`: no item with id {data.serves} on the board") from None
        visit = application(request).request_visit(caller.id, served, data)
        return await commit(request, Created(id=str(visit.id)), visit)
