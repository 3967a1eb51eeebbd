"""The caucus liaison's own commands (the scg service): statements, and answering
requests for MP visits."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.di import Provide

from events.organisations import Organisation
from services.api.context import application, board_row, commit, in_thread, sharing_of
from services.auth import KEY_REQUIRED, authenticate, check_publisher
from services.commands import Accepted, ConfirmVisit, Created, DeclineVisit, MarkVisitDone, PublishStatement
from services.errors import CHANGES_ITEM, CREATES
from services.idempotency import PARAMETERS as IDEMPOTENCY
from services.idempotency import RESPONSE_HEADERS as REPLAYED


class StatementController(Controller):
    path = "/v1/statements"
    tags = ["caucus"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}
    parameters = IDEMPOTENCY
    response_headers = REPLAYED
    security = KEY_REQUIRED

    @post("", operation_id="publishStatement", status_code=201, responses=CREATES)
    async def publish(self, request: Request, caller: Organisation, data: PublishStatement) -> Created:
        """Publish a statement (in Parliament or to the press), with its signatories."""
        check_publisher(caller, data.org)
        statement = application(request).publish_statement(caller.id, data)
        return await commit(request, Created(id=str(statement.id)), statement)


class VisitAnswerController(Controller):
    """The liaison's answers to a visit requested by any organisation (found on the board)."""

    path = "/v1/visits/{visit_id:str}"
    tags = ["visits"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}
    parameters = IDEMPOTENCY
    response_headers = REPLAYED
    security = KEY_REQUIRED

    @post("/confirmation", operation_id="confirmVisit", status_code=201, responses=CHANGES_ITEM)
    async def confirm(self, request: Request, caller: Organisation, visit_id: str, data: ConfirmVisit) -> Accepted:
        """Confirm a requested visit, naming the MP who goes (a visit is answered once)."""
        row = await board_row(request, visit_id, caller.id, kind="visit")
        answer = await in_thread(application(request).confirm_visit, caller.id, visit_id,
                                 row["detail"]["serves"], sharing_of(row), data)
        return await commit(request, Accepted(id=visit_id, version=answer.version), answer)

    @post("/refusal", operation_id="declineVisit", status_code=201, responses=CHANGES_ITEM)
    async def decline(self, request: Request, caller: Organisation, visit_id: str, data: DeclineVisit) -> Accepted:
        """Decline a requested visit, saying why."""
        row = await board_row(request, visit_id, caller.id, kind="visit")
        answer = await in_thread(application(request).decline_visit, caller.id, visit_id,
                                 row["detail"]["serves"], sharing_of(row), data)
        return await commit(request, Accepted(id=visit_id, version=answer.version), answer)

    @post("/done", operation_id="visitDone", status_code=201, responses=CHANGES_ITEM)
    async def done(self, request: Request, caller: Organisation, visit_id: str, data: MarkVisitDone) -> Accepted:
        """A visit the liaison confirmed took place."""
        await board_row(request, visit_id, caller.id, kind="visit")
        answer = await in_thread(application(request).visit_done, visit_id, data)
        return await commit(request, Accepted(id=visit_id, version=answer.version), answer)
