"""The forum's triage of board items."""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from contracts.forum import Priority, Status
from services.domain.sharing import Sharing


class Triage(Aggregate):
    """The coordinators' view of one item: its status and priority, changed over time.

    One aggregate per item, its id derived from the item's, so that the forum finds it
    without an index."""

    @staticmethod
    def create_id(item: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/forum/triage/{item}")

    @event("Opened")
    def __init__(self, item: str, org: str, status: Status, priority: Priority, note: str | None,
                 occurred_at: datetime, sharing: Sharing) -> None:
        self.item = item
        self.status = status
        self.priority = priority

    def triage(self, item: str, org: str, status: Status, priority: Priority, note: str | None,
               occurred_at: datetime, sharing: Sharing) -> None:
        """A new status and priority for the item."""
        self._triaged(org, status, priority, note, occurred_at, sharing, item=item)

    @event("Triaged")
    def _triaged(self, org: str, status: Status, priority: Priority, note: str | None,
                 occurred_at: datetime, sharing: Sharing, item: str | None = None) -> None:
        # ``item`` last, with a default: Triaged events stored before it was recorded lack it
        self.status = status
        self.priority = priority
