"""Actions, pledges and wins: open to every publishing organisation."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.di import Provide

from coalition.organisations import Organisation
from services.api.common import application, commit, share_of, visible_item
from services.auth import authenticate, check_publisher
from services.commands import CallAction, Created, MakePledge, RecordWin
from services.domain.common import sharing


class ActionController(Controller):
    path = "/v1/actions"
    tags = ["campaigning"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}

    @post("", operation_id="callAction", status_code=201)
    async def call(self, request: Request, caller: Organisation, data: CallAction) -> Created:
        """Call an action for an item (``refs``): where, when, and what is asked."""
        check_publisher(caller, data.org)
        app = application(request)
        action = app.call_action(caller.id, kind=data.kind, where=data.where, when=data.when,
                                 asks=data.asks, people_wanted=data.people_wanted,
                                 occurred_at=data.occurred_at, share=share_of(data))
        await commit(request, action)
        return Created(id=str(action.id))

    @post("/{action_id:str}/pledges", operation_id="pledge", status_code=201)
    async def pledge(self, request: Request, caller: Organisation, action_id: str, data: MakePledge) -> Created:
        """Pledge support (people, a motion, a statement) to any action this organisation can see."""
        action = await visible_item(request, action_id, caller.id, kind="action")
        share = sharing(data.tlp or action["tlp"], action["audience"], action["region"], [action_id])
        app = application(request)
        pledge = app.pledge(caller.id, action_id, people=data.people, note=data.note, group=data.group,
                            occurred_at=data.occurred_at, share=share)
        await commit(request, pledge)
        return Created(id=str(pledge.id))


class WinController(Controller):
    path = "/v1/wins"
    tags = ["campaigning"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}

    @post("", operation_id="recordWin", status_code=201)
    async def record(self, request: Request, caller: Organisation, data: RecordWin) -> Created:
        """Record a win to celebrate, linked to the items it answers."""
        check_publisher(caller, data.org)
        app = application(request)
        win = app.record_win(caller.id, kind=data.kind, summary=data.summary,
                             occurred_at=data.occurred_at, share=share_of(data))
        await commit(request, win)
        return Created(id=str(win.id))
