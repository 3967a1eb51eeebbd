"""Motions: a local group's in its constituency party (the movement), or the caucus's in
Parliament (scg): one command, offered by both services."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.di import Provide

from events.organisations import Organisation
from services.api.context import application, commit, in_thread
from services.auth import KEY_REQUIRED, authenticate, check_publisher
from services.commands import Created, TableMotion
from services.errors import CREATES
from services.idempotency import PARAMETERS as IDEMPOTENCY
from services.idempotency import RESPONSE_HEADERS as REPLAYED


class MotionController(Controller):
    path = "/v1/motions"
    tags = ["campaigning"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}
    parameters = IDEMPOTENCY
    response_headers = REPLAYED
    security = KEY_REQUIRED

    @post("", operation_id="tableMotion", status_code=201, responses=CREATES)
    async def table(self, request: Request, caller: Organisation, data: TableMotion) -> Created:
        """Record a motion tabled, with its outcome, answering the action or attack in ``refs``."""
        check_publisher(caller, data.org)
        app = application(request)
        motion = await in_thread(app.table_motion, caller.id, data) if data.group else app.table_motion(caller.id, data)
        return await commit(request, Created(id=str(motion.id)), motion)
