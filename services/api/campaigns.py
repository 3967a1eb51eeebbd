"""Actions, pledges and wins: open to every service that campaigns."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.di import Provide

from events.organisations import Organisation
from services.api.context import application, commit, in_thread, visible_item
from services.auth import KEY_REQUIRED, authenticate, check_publisher
from services.commands import Accepted, CallAction, CompleteAction, Created, MakePledge, RecordWin
from services.errors import CHANGES_ITEM, CREATES, ON_ITEM
from services.idempotency import PARAMETERS as IDEMPOTENCY
from services.idempotency import RESPONSE_HEADERS as REPLAYED


class ActionController(Controller):
    path = "/v1/actions"
    tags = ["campaigning"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}
    parameters = IDEMPOTENCY
    response_headers = REPLAYED
    security = KEY_REQUIRED

    @post("", operation_id="callAction", status_code=201, responses=CREATES)
    async def call(self, request: Request, caller: Organisation, data: CallAction) -> Created:
        """Call an action for an item (``refs``): where, when, and what is asked."""
        check_publisher(caller, data.org)
        app = application(request)
        # naming local groups loads them from the store: in a worker thread
        action = await in_thread(app.call_action, caller.id, data) if data.groups else app.call_action(caller.id, data)
        return await commit(request, Created(id=str(action.id)), action)

    @post("/{action_id:str}/pledges", operation_id="pledge", status_code=201, responses=ON_ITEM)
    async def pledge(self, request: Request, caller: Organisation, action_id: str, data: MakePledge) -> Created:
        """Pledge support (people, a motion, a statement) to any action this organisation can see."""
        shared_as = await visible_item(request, action_id, caller.id, kind="action")
        app = application(request)
        pledge = (await in_thread(app.pledge, caller.id, action_id, shared_as, data) if data.group_id
                  else app.pledge(caller.id, action_id, shared_as, data))
        return await commit(request, Created(id=str(pledge.id)), pledge)

    # --- issue 11: turnout against pledges ---------------------------------------------

    @post("/{action_id:str}/completion", operation_id="completeAction", status_code=201,
          responses=CHANGES_ITEM)
    async def complete(self, request: Request, caller: Organisation, action_id: str,
                       data: CompleteAction) -> Accepted:
        """An action this organisation called took place: how many turned out (set against
        the people pledged on the board) and the outcome; recorded once."""
        action = await in_thread(application(request).complete_action, caller.id, action_id, data)
        return await commit(request, Accepted(id=action_id, version=action.version), action)


class WinController(Controller):
    path = "/v1/wins"
    tags = ["campaigning"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}
    parameters = IDEMPOTENCY
    response_headers = REPLAYED
    security = KEY_REQUIRED

    @post("", operation_id="recordWin", status_code=201, responses=CREATES)
    async def record(self, request: Request, caller: Organisation, data: RecordWin) -> Created:
        """Record a win to celebrate, linked to the items it answers."""
        check_publisher(caller, data.org)
        app = application(request)
        win = await in_thread(app.record_win, caller.id, data) if data.groups else app.record_win(caller.id, data)
        return await commit(request, Created(id=str(win.id)), win)
