"""The forum's triage of board items: status, priority and lead organisation, and the
rules between them (acknowledged once, resolved once, reopened only when said)."""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

import msgspec
from eventsourcing.domain import Aggregate, event

from contracts.forum import Priority, Status
from services.domain.errors import AlreadyAcknowledged, AlreadyResolved, NotReopened
from services.domain.sharing import Sharing

CLOSED: tuple[Status, ...] = ("resolved", "closed")


class OnBoard(msgspec.Struct, frozen=True, kw_only=True):
    """An item as the board shows it to the caller: how it is shared, its status and priority."""

    sharing: Sharing
    status: Status = "new"
    priority: Priority = "normal"


def check_change(item: str, now: Status, to: Status, reopen: bool) -> bool:
    """Whether setting ``item`` from ``now`` to ``to`` reopens it; refused if it would
    without ``reopen``."""
    reopened = now in CLOSED and to not in CLOSED
    if reopened and not reopen:
        raise NotReopened(f"item {item} is {now}: say reopen to set it {to} again")
    return reopened


def check_acknowledge(item: str, now: Status) -> None:
    if now != "new":
        raise AlreadyAcknowledged(f"item {item} is {now} already")


def check_resolve(item: str, now: Status) -> None:
    if now == "resolved":
        raise AlreadyResolved(f"item {item} is resolved already")


class Triage(Aggregate):
    """The coordinators' view of one item: its status and priority, changed over time.

    One aggregate per item, its id derived from the item's, so that the forum finds it
    without an index. It opens with the item's status and priority as the board showed
    them (an attack's priority follows its severity), so that a first change of one
    leaves the other as it was."""

    @staticmethod
    def create_id(item: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/forum/triage/{item}")

    @event("Opened")
    def __init__(self, item: str, org: str, status: Status, priority: Priority, note: str | None,
                 occurred_at: datetime, sharing: Sharing, actor: str | None = None,
                 lead_org: str | None = None) -> None:
        self.item = item
        self.status = status
        self.priority = priority
        self.lead_org = lead_org

    def triage(self, item: str, org: str, status: Status, priority: Priority, note: str | None,
               occurred_at: datetime, sharing: Sharing, *, actor: str | None = None,
               lead_org: str | None = None, reopen: bool = False) -> None:
        """A new status and priority for the item (and a lead organisation, if given). A
        resolved or closed item goes back to an open status only with ``reopen``."""
        reopened = check_change(item, self.status, status, reopen)
        self._triaged(org, status, priority, note, occurred_at, sharing, item=item, actor=actor,
                      lead_org=lead_org or self.lead_org, reopened=reopened)

    @event("Triaged")
    def _triaged(self, org: str, status: Status, priority: Priority, note: str | None,
                 occurred_at: datetime, sharing: Sharing, item: str | None = None,
                 actor: str | None = None, lead_org: str | None = None, reopened: bool = False) -> None:
        # the fields after ``sharing`` have defaults: Triaged events stored before them lack them
        self.status = status
        self.priority = priority
        self.lead_org = lead_org
