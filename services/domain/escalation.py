"""Escalation: an item nobody acknowledged in time, escalated exactly once."""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.domain.sharing import Sharing


class Escalation(Aggregate):
    """One item's escalation. Its id is derived from the item's, so that a second one —
    from a restarted forum or from another forum process — is a version conflict in the
    store, never a second event on the log."""

    @staticmethod
    def create_id(item: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/forum/escalation/{item}")

    @event("Escalated")
    def __init__(self, item: str, org: str, reason: str, occurred_at: datetime, sharing: Sharing) -> None:
        self.item = item
