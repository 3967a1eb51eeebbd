"""The forum's record of each partner's subscription: one aggregate per partner, one event
per change an administrator made to what the partner receives.

The change itself is made on the NATS server (``events.partners``, by ``coalition
partners``); this is the forum's statement of it, attributed to the forum, on its log."""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from contracts.base import Tlp
from contracts.partners import Change
from services.domain.errors import DomainError
from services.domain.sharing import Sharing


class UnknownPartner(DomainError):
    """A change for an organisation the configuration does not list as a partner (a 404)."""


class Partnership(Aggregate):
    """A partner's subscription as the forum recorded it: its last change, and when.

    Its id is derived from the partner's, so the forum finds it without an index and every
    change of one partner is an event of one subject: the partner's history on the log."""

    @staticmethod
    def create_id(partner: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/forum/partners/{partner}")

    @event("Recorded")
    def __init__(self, partner: str, org: str, change: Change, max_tlp: Tlp, from_position: int | None,
                 note: str | None, occurred_at: datetime, sharing: Sharing, actor: str | None = None) -> None:
        self._set(partner, org, change, max_tlp, from_position, note, occurred_at, sharing, actor)

    @event("Changed")
    def change(self, partner: str, org: str, change: Change, max_tlp: Tlp, from_position: int | None,
               note: str | None, occurred_at: datetime, sharing: Sharing, actor: str | None = None) -> None:
        self._set(partner, org, change, max_tlp, from_position, note, occurred_at, sharing, actor)

    def _set(self, partner: str, org: str, change: Change, max_tlp: Tlp, from_position: int | None,
             note: str | None, occurred_at: datetime, sharing: Sharing, actor: str | None) -> None:
        self.partner, self.org, self.last_change, self.max_tlp = partner, org, change, max_tlp
        self.from_position, self.note, self.occurred_at = from_position, note, occurred_at
        self.sharing, self.actor = sharing, actor
