"""The forum's coordination: triage, responses, tasks and decisions.

Every event the forum publishes may carry ``actor`` (``contracts.base.Contract``): the
coordinator who made the change from the board, with ``org`` their organisation."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from msgspec import Meta

from contracts.base import Contract, ItemId, LogPosition, Moment, OrgId, OrgIds, ShortText, Text

Status = Literal["new", "acknowledged", "responding", "monitoring", "resolved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
Position = Literal["agree", "abstain", "disagree", "block"]
Method = Literal["consent", "majority", "coordinator_call"]
Digest = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$",
                             description="SHA-256 (hex) of the board as the person saw it, as canonical JSON")]


class ResponseOpened(Contract, frozen=True, tag="response.opened.v1"):
    """The forum opens a coordinated response to an attack or strike (``refs``; ``item``)."""

    lead_org: OrgId
    coordinator: ShortText
    plan: Text
    item: ItemId | None = None
    """The item responded to (also the first of ``refs``); the event's subject is the response."""


class ItemTriaged(Contract, frozen=True, tag="item.triaged.v1"):
    """Coordinators set an item's status and priority (and its lead organisation)."""

    item: ItemId
    status: Status
    priority: Priority = "normal"
    note: Text | None = None
    lead_org: OrgId | None = None
    """The organisation leading the response, once one is assigned."""
    reopened: bool = False
    """A resolved or closed item set back to an open status, said explicitly."""


class ItemEscalated(Contract, frozen=True, tag="item.escalated.v1"):
    """Nobody acknowledged an item in time."""

    item: ItemId
    reason: Text


class TaskAssigned(Contract, frozen=True, tag="task.assigned.v1"):
    """A task for an organisation, with a due time (the subject is the response)."""

    assignee: OrgId
    task: Text
    due: Moment | None = None
    task_id: ItemId | None = None
    """The task's own id, named again by ``task.done``."""
    item: ItemId | None = None
    """The item the response answers."""


class TaskDone(Contract, frozen=True, tag="task.done.v1"):
    """A task is done (the subject is the response)."""

    note: Text | None = None
    task_id: ItemId | None = None
    item: ItemId | None = None


class DecisionProposed(Contract, frozen=True, tag="decision.proposed.v1"):
    """A question put to the forum, on evidence (``refs``) at a board position."""

    question: Text
    method: Method
    options: Annotated[list[ShortText], Meta(max_length=50)]
    board_position: LogPosition
    review_on: date | None = None
    board_digest: Digest | None = None
    """SHA-256 of the board as the proposer's organisation saw it at ``board_position``."""


class DecisionPositionTaken(Contract, frozen=True, tag="decision.position_taken.v1"):
    """An organisation's position on a proposed decision (one each; a later one replaces it)."""

    decision: ItemId
    position: Position
    reason: Text | None = None


class DecisionMade(Contract, frozen=True, tag="decision.made.v1"):
    """The forum decided."""

    outcome: ShortText
    rationale: Text
    decided_by: OrgIds
    board_position: LogPosition
    board_digest: Digest | None = None
    """SHA-256 of the board as the deciding organisation saw it at ``board_position``."""
    decision: ItemId | None = None
    """The decision (also the event's subject)."""
    method: Method | None = None
    positions: Annotated[dict[OrgId, Position], Meta(max_length=200)] = {}
    """Each organisation's last position when the outcome was recorded."""


class ReviewRecorded(Contract, frozen=True, tag="review.recorded.v1"):
    """After a response: what worked, what did not (the subject is the response)."""

    worked: Text
    did_not: Text | None = None
    item: ItemId | None = None
