"""The forum's workflow — triage, responses, tasks, decisions — twice over: a JSON API for
machines (the forum's key, ``/v1/…``) and form posts for people (a session, CSRF-checked,
``/forms/…``). Both call the same operation below, which calls one method of
``services.forum.ForumApp`` with the :class:`~services.domain.people.Actor` who acts."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Controller, Request, Response, post
from litestar.di import Provide
from litestar.exceptions import ValidationException
from litestar.response import Redirect

from events.organisations import Organisation
from projections.board.queries import board_digest, read_board
from services.api.context import application, commit, in_thread, item_on_board, on_board
from services.auth import KEY_REQUIRED, authenticate
from services.commands import (
    Accepted,
    Acknowledge,
    AssignLead,
    AssignTask,
    CompleteTask,
    Created,
    MakeDecision,
    OpenResponse,
    ProposeDecision,
    RecordReview,
    Resolve,
    SetPriority,
    TakePosition,
)
from services.domain.people import Actor
from services.errors import CHANGES_ITEM, CREATES, ON_ITEM
from services.idempotency import PARAMETERS as IDEMPOTENCY
from services.idempotency import RESPONSE_HEADERS as REPLAYED
from services.sessions import _local, person

C = TypeVar("C", bound=msgspec.Struct)

# --- the operations, one per command ------------------------------------------------------


async def change_item(request: Request, by: Actor, item_id: str, method: str, data: Any) -> Accepted:
    """A triage command (``acknowledge``, ``set_priority``, ``assign_lead``, ``resolve``)."""
    by.check_may_change()
    seen = await item_on_board(request, item_id, by.org)
    record = await in_thread(getattr(application(request), method), by, item_id, seen, data)
    return await commit(request, Accepted(id=item_id, version=record.version), record)


async def open_response(request: Request, by: Actor, item_id: str, data: OpenResponse) -> Created:
    by.check_may_change()
    seen = await item_on_board(request, item_id, by.org)
    response, triage = await in_thread(application(request).open_response, by, item_id, seen, data)
    return await commit(request, Created(id=str(response.id)), response, triage)


async def assign_task(request: Request, by: Actor, item_id: str, data: AssignTask) -> Created:
    by.check_may_change()
    await item_on_board(request, item_id, by.org)
    task = await in_thread(application(request).assign_task, by, item_id, data)
    return await commit(request, Created(id=str(task.id)), task)


async def complete_task(request: Request, by: Actor, task_id: str, data: CompleteTask) -> Accepted:
    by.check_may_change()
    task = await in_thread(application(request).complete_task, by, task_id, data)
    return await commit(request, Accepted(id=task_id, version=task.version), task)


async def record_review(request: Request, by: Actor, item_id: str, data: RecordReview) -> Accepted:
    by.check_may_change()
    await item_on_board(request, item_id, by.org)
    response = await in_thread(application(request).record_review, by, item_id, data)
    return await commit(request, Accepted(id=str(response.id), version=response.version), response)


async def seen_board(request: Request, org: str) -> tuple[int, str]:
    """The forum's current board position and the digest of the board as ``org`` sees it there."""
    board = await on_board(request, lambda conn: read_board(conn, org))
    return board.position, board_digest(board)


async def propose(request: Request, by: Actor, data: ProposeDecision) -> Created:
    by.check_may_change()
    position, digest = await seen_board(request, by.org)
    decision = application(request).propose(by, data, position, digest)
    return await commit(request, Created(id=str(decision.id)), decision)


async def take_position(request: Request, by: Actor, decision_id: str, data: TakePosition) -> Accepted:
    by.check_may_change()
    decision = await in_thread(application(request).take_position, by, decision_id, data)
    return await commit(request, Accepted(id=decision_id, version=decision.version), decision)


async def decide(request: Request, by: Actor, decision_id: str, data: MakeDecision) -> Accepted:
    by.check_may_change()
    position, digest = await seen_board(request, by.org)
    decision = await in_thread(application(request).decide, by, decision_id, data, position, digest)
    return await commit(request, Accepted(id=decision_id, version=decision.version), decision)


# --- machines: the JSON API with the forum's key --------------------------------------------


def machine(caller: Organisation) -> Actor:
    """A machine with the organisation's key: the organisation acts, no person."""
    return Actor(org=caller.id)


_KEYED = {"caller": Provide(authenticate, sync_to_thread=False), "by": Provide(machine, sync_to_thread=False)}


class WorkflowController(Controller):
    """Triage, responses and tasks of board items (the forum's key)."""

    path = "/v1"
    tags = ["forum"]
    dependencies = _KEYED
    parameters = IDEMPOTENCY
    response_headers = REPLAYED
    security = KEY_REQUIRED

    @post("/items/{item_id:str}/acknowledge", operation_id="acknowledgeItem", status_code=201, responses=CHANGES_ITEM)
    async def acknowledge(self, request: Request, by: Actor, item_id: str, data: Acknowledge) -> Accepted:
        """Acknowledge a new item (once)."""
        return await change_item(request, by, item_id, "acknowledge", data)

    @post("/items/{item_id:str}/priority", operation_id="setItemPriority", status_code=201, responses=CHANGES_ITEM)
    async def priority(self, request: Request, by: Actor, item_id: str, data: SetPriority) -> Accepted:
        """Set an item's priority."""
        return await change_item(request, by, item_id, "set_priority", data)

    @post("/items/{item_id:str}/lead", operation_id="assignLead", status_code=201, responses=CHANGES_ITEM)
    async def lead(self, request: Request, by: Actor, item_id: str, data: AssignLead) -> Accepted:
        """Name the organisation leading the response to an item."""
        return await change_item(request, by, item_id, "assign_lead", data)

    @post("/items/{item_id:str}/resolve", operation_id="resolveItem", status_code=201, responses=CHANGES_ITEM)
    async def resolve(self, request: Request, by: Actor, item_id: str, data: Resolve) -> Accepted:
        """Set an item resolved (once; reopening is the triage with ``reopen``)."""
        return await change_item(request, by, item_id, "resolve", data)

    @post("/items/{item_id:str}/response", operation_id="openResponse", status_code=201, responses=CHANGES_ITEM)
    async def response(self, request: Request, by: Actor, item_id: str, data: OpenResponse) -> Created:
        """Open the response to an item (one per item): lead organisation and plan."""
        return await open_response(request, by, item_id, data)

    @post("/items/{item_id:str}/tasks", operation_id="assignTask", status_code=201, responses=ON_ITEM)
    async def task(self, request: Request, by: Actor, item_id: str, data: AssignTask) -> Created:
        """Assign a task of an item's response to an organisation, with a due time."""
        return await assign_task(request, by, item_id, data)

    @post("/items/{item_id:str}/review", operation_id="recordReview", status_code=201, responses=CHANGES_ITEM)
    async def review(self, request: Request, by: Actor, item_id: str, data: RecordReview) -> Accepted:
        """Record the review of an item's response: what worked, what did not."""
        return await record_review(request, by, item_id, data)

    @post("/tasks/{task_id:str}/done", operation_id="completeTask", status_code=201, responses=CHANGES_ITEM)
    async def done(self, request: Request, by: Actor, task_id: str, data: CompleteTask) -> Accepted:
        """Mark a task done (once)."""
        return await complete_task(request, by, task_id, data)


class DecisionController(Controller):
    """Decisions: proposals, positions and outcomes (the forum's key)."""

    path = "/v1/decisions"
    tags = ["decisions"]
    dependencies = _KEYED
    parameters = IDEMPOTENCY
    response_headers = REPLAYED
    security = KEY_REQUIRED

    @post("", operation_id="proposeDecision", status_code=201, responses=CREATES)
    async def propose(self, request: Request, by: Actor, data: ProposeDecision) -> Created:
        """Put a question to the forum on evidence; the board position and its digest are recorded."""
        return await propose(request, by, data)

    @post("/{decision_id:str}/positions", operation_id="takePosition", status_code=201, responses=CHANGES_ITEM)
    async def position(self, request: Request, by: Actor, decision_id: str, data: TakePosition) -> Accepted:
        """The organisation's position (agree, abstain, disagree, block), changeable until decided."""
        return await take_position(request, by, decision_id, data)

    @post("/{decision_id:str}/outcome", operation_id="makeDecision", status_code=201, responses=CHANGES_ITEM)
    async def outcome(self, request: Request, by: Actor, decision_id: str, data: MakeDecision) -> Accepted:
        """Record the outcome as the method's rule allows (409 naming a block, or a missing majority)."""
        return await decide(request, by, decision_id, data)


# --- people: form posts with a session ----------------------------------------------------


def _is_list(t: Any) -> bool:
    if isinstance(t, msgspec.inspect.Metadata):
        return _is_list(t.type)
    if isinstance(t, msgspec.inspect.UnionType):
        return any(_is_list(m) for m in t.types)
    return isinstance(t, msgspec.inspect.ListType)


async def form_command(request: Request, cls: type[C]) -> tuple[C, str]:
    """The command ``cls`` from a posted form (empty fields left out, a list field from
    its repeated values, a checkbox as true), and where to go next (a local path)."""
    form = await request.form()
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    data: dict[str, Any] = {}
    for f in info.fields:
        values = [str(v) for v in form.getall(f.encode_name, []) if str(v) != ""]
        if _is_list(f.type):
            if values:
                data[f.encode_name] = [line.strip() for v in values for line in v.splitlines() if line.strip()]
        elif values:
            data[f.encode_name] = True if values[-1] == "on" else values[-1]
    try:
        cmd = msgspec.convert(data, cls, strict=False)
    except msgspec.ValidationError as exc:
        raise ValidationException(str(exc)) from None
    return cmd, _local(str(form.get("next", "")))


def answered(request: Request, answer: Any, next_page: str) -> Response[Any]:
    """A form's answer: back to the page (303), or the JSON answer for a script that asks for it."""
    if "application/json" in request.headers.get("accept", ""):
        return Response(answer, status_code=201)
    return Redirect(next_page, status_code=303)


class FormController(Controller):
    """The same commands posted as forms by a logged-in person (session and CSRF token)."""

    path = "/forms"
    tags = ["forms"]
    dependencies = {"by": Provide(person)}
    parameters = IDEMPOTENCY
    include_in_schema = False

    @post("/items/{item_id:str}/{action:str}", operation_id="itemForm", status_code=303)
    async def item(self, request: Request, by: Actor, item_id: str, action: str) -> Response[Any]:
        """``acknowledge``, ``priority``, ``lead``, ``resolve``, ``response``, ``tasks``, ``review``."""
        by.check_may_change()
        if action in _TRIAGE:
            method, cls = _TRIAGE[action]
            cmd, next_page = await form_command(request, cls)
            return answered(request, await change_item(request, by, item_id, method, cmd), next_page)
        if action not in _ITEM:
            raise ValidationException(f"no form {action!r} for items")
        op, cls = _ITEM[action]
        cmd, next_page = await form_command(request, cls)
        return answered(request, await op(request, by, item_id, cmd), next_page)

    @post("/tasks/{task_id:str}/done", operation_id="taskDoneForm", status_code=303)
    async def done(self, request: Request, by: Actor, task_id: str) -> Response[Any]:
        by.check_may_change()
        cmd, next_page = await form_command(request, CompleteTask)
        return answered(request, await complete_task(request, by, task_id, cmd), next_page)

    @post("/decisions", operation_id="proposeDecisionForm", status_code=303)
    async def propose(self, request: Request, by: Actor) -> Response[Any]:
        by.check_may_change()
        cmd, next_page = await form_command(request, ProposeDecision)
        return answered(request, await propose(request, by, cmd), next_page)

    @post("/decisions/{decision_id:str}/positions", operation_id="takePositionForm", status_code=303)
    async def position(self, request: Request, by: Actor, decision_id: str) -> Response[Any]:
        by.check_may_change()
        cmd, next_page = await form_command(request, TakePosition)
        return answered(request, await take_position(request, by, decision_id, cmd), next_page)

    @post("/decisions/{decision_id:str}/outcome", operation_id="makeDecisionForm", status_code=303)
    async def outcome(self, request: Request, by: Actor, decision_id: str) -> Response[Any]:
        by.check_may_change()
        cmd, next_page = await form_command(request, MakeDecision)
        return answered(request, await decide(request, by, decision_id, cmd), next_page)


_TRIAGE: dict[str, tuple[str, type[msgspec.Struct]]] = {
    "acknowledge": ("acknowledge", Acknowledge), "priority": ("set_priority", SetPriority),
    "lead": ("assign_lead", AssignLead), "resolve": ("resolve", Resolve),
}
_ITEM: dict[str, tuple[Any, type[msgspec.Struct]]] = {
    "response": (open_response, OpenResponse), "tasks": (assign_task, AssignTask),
    "review": (record_review, RecordReview),
}
