"""The forum's triage of board items."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.domain.common import Sharing


class Triage(Aggregate):
    """The coordinators' view of one item: its status and priority, changed over time."""

    @staticmethod
    def create_id(item: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/forum/triage/{item}")

    @event("Opened")
    def __init__(
        self, item: str, org: str, status: str, priority: str, note: str | None, occurred_at: str, sharing: Sharing
    ) -> None:
        self.item = item
        self.status = status
        self.priority = priority

    @event("Triaged")
    def triage(
        self, item: str, org: str, status: str, priority: str, note: str | None, occurred_at: str,
        sharing: Sharing,
    ) -> None:
        self.status = status
        self.priority = priority
