"""Strikes, their pickets, and requests for solidarity."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from eventsourcing.domain import Aggregate, event

from contracts.base import Tlp
from contracts.industrial import Help, StrikeOutcome
from services.domain.errors import Conflict
from services.domain.sharing import Sharing


class AlreadyEnded(Conflict):
    """The strike has its outcome already."""


class Strike(Aggregate):
    """Strike action called by a union."""

    @event("Called")
    def __init__(self, org: str, employer: str, sector: str, workplaces: list[str], starts_on: date,
                 ends_on: date, members_involved: int, occurred_at: datetime, sharing: Sharing) -> None:
        self.org = org
        self.employer = employer
        self.starts_on = starts_on
        self.ends_on = ends_on
        self.sharing = sharing
        self.pickets: list[str] = []
        self.outcome: StrikeOutcome | None = None

    def schedule_picket(self, where: str, when: datetime, needs: str | None, occurred_at: datetime,
                        tlp: Tlp | None = None, region: str | None = None) -> str:
        """A picket line of this strike, shared as the strike is unless told stricter; its id."""
        picket = str(uuid.uuid4())
        sharing = self.sharing.passed_on(str(self.id), tlp=tlp, region=region)
        self._picket_scheduled(self.org, picket, where, when, needs, occurred_at, sharing)
        return picket

    @event("PicketScheduled")
    def _picket_scheduled(self, org: str, picket: str, where: str, when: datetime, needs: str | None,
                          occurred_at: datetime, sharing: Sharing) -> None:
        self.pickets.append(picket)

    def end(self, outcome: StrikeOutcome, summary: str | None, occurred_at: datetime) -> None:
        """The strike is over, with its outcome; a strike ends once."""
        if getattr(self, "outcome", None) is not None:
            raise AlreadyEnded(f"strike {self.id} has ended already ({self.outcome})")
        self._ended(self.org, outcome, summary, occurred_at, self.sharing)

    @event("Ended")
    def _ended(self, org: str, outcome: StrikeOutcome, summary: str | None, occurred_at: datetime,
               sharing: Sharing) -> None:
        self.outcome = outcome


class SolidarityRequest(Aggregate):
    """A union asks the coalition for help: people on a picket, strike-fund donations…"""

    @event("Requested")
    def __init__(self, org: str, help: list[Help], summary: str, occurred_at: datetime,
                 sharing: Sharing) -> None:
        self.org = org
        self.help = help
        self.sharing = sharing
