"""The movement's local groups: register one (then name it in pledges, actions, wins, motions)."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.di import Provide

from events.organisations import Organisation
from services.api.context import application, commit
from services.auth import KEY_REQUIRED, authenticate, check_publisher
from services.commands import Created, RegisterGroup
from services.errors import CREATES
from services.idempotency import PARAMETERS as IDEMPOTENCY
from services.idempotency import RESPONSE_HEADERS as REPLAYED


class GroupController(Controller):
    path = "/v1/groups"
    tags = ["movement"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}
    parameters = IDEMPOTENCY
    response_headers = REPLAYED
    security = KEY_REQUIRED

    @post("", operation_id="registerGroup", status_code=201, responses=CREATES)
    async def register(self, request: Request, caller: Organisation, data: RegisterGroup) -> Created:
        """Register a local group (name, region): its id is what pledges, actions, wins and
        motions name it by."""
        check_publisher(caller, data.org)
        group = application(request).register_group(caller.id, data)
        return await commit(request, Created(id=str(group.id)), group)
