"""The movement's local groups: registered once, then named by id in pledges, actions,
wins and motions."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate, event

from services.domain.errors import UnknownReference
from services.domain.sharing import Sharing


class UnknownGroup(UnknownReference):
    """A command names a local group the organisation has not registered (a 400 naming the field)."""


class Group(Aggregate):
    """A local group of the movement: its name and its region."""

    @event("Registered")
    def __init__(self, org: str, name: str, occurred_at: datetime, sharing: Sharing) -> None:
        self.org = org
        self.name = name
        self.region = sharing.region
        self.sharing = sharing
