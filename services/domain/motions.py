"""Motions: tabled by a local group in its constituency party, or by the caucus in
Parliament, with their outcome, answering an action or an attack (``refs``)."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate, event

from contracts.campaigning import MotionOutcome
from contracts.movement import GroupRef
from services.domain.sharing import Sharing


class Motion(Aggregate):
    """A motion and where it stands."""

    @event("Tabled")
    def __init__(self, org: str, title: str, text: str, sponsors: list[str], group: GroupRef | None,
                 body: str | None, outcome: MotionOutcome | None, occurred_at: datetime,
                 sharing: Sharing) -> None:
        self.org = org
        self.title = title
        self.group = group
        self.outcome = outcome
        self.sharing = sharing
