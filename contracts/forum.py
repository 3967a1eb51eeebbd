"""The forum's coordination: triage, responses, tasks and decisions."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from msgspec import Meta

from contracts.base import Contract, ItemId, LogPosition, Moment, OrgId, OrgIds, ShortText, Text

Status = Literal["new", "acknowledged", "responding", "monitoring", "resolved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
Position = Literal["agree", "abstain", "disagree", "block"]


class ResponseOpened(Contract, frozen=True, tag="response.opened.v1"):
    """The forum opens a coordinated response to an attack or strike (``refs``)."""

    lead_org: OrgId
    coordinator: ShortText
    plan: Text


class ItemTriaged(Contract, frozen=True, tag="item.triaged.v1"):
    """Coordinators set an item's status and priority."""

    item: ItemId
    status: Status
    priority: Priority = "normal"
    note: Text | None = None


class ItemEscalated(Contract, frozen=True, tag="item.escalated.v1"):
    """Nobody acknowledged an item in time."""

    item: ItemId
    reason: Text


class TaskAssigned(Contract, frozen=True, tag="task.assigned.v1"):
    """A task for an organisation, with a due time."""

    assignee: OrgId
    task: Text
    due: Moment | None = None


class TaskDone(Contract, frozen=True, tag="task.done.v1"):
    """A task is done."""

    note: Text | None = None


class DecisionProposed(Contract, frozen=True, tag="decision.proposed.v1"):
    """A question put to the forum, on evidence (``refs``) at a board position."""

    question: Text
    method: Literal["consent", "majority", "coordinator_call"]
    options: Annotated[list[ShortText], Meta(max_length=50)]
    board_position: LogPosition
    review_on: date | None = None


class DecisionPositionTaken(Contract, frozen=True, tag="decision.position_taken.v1"):
    """An organisation's position on a proposed decision."""

    decision: ItemId
    position: Position
    reason: Text | None = None


class DecisionMade(Contract, frozen=True, tag="decision.made.v1"):
    """The forum decided."""

    outcome: ShortText
    rationale: Text
    decided_by: OrgIds
    board_position: LogPosition


class ReviewRecorded(Contract, frozen=True, tag="review.recorded.v1"):
    """After a response: what worked, what did not."""

    worked: Text
    did_not: Text | None = None
