"""Strikes, their pickets, and requests for solidarity."""

from __future__ import annotations

from eventsourcing.domain import Aggregate, event

from services.domain.common import Sharing
from services.domain.errors import StrikeOver


class Strike(Aggregate):
    """Strike action called by a union."""

    @event("Called")
    def __init__(
        self,
        org: str,
        employer: str,
        sector: str,
        workplaces: list[str],
        starts_on: str,
        ends_on: str,
        members_involved: int,
        occurred_at: str,
        sharing: Sharing,
    ) -> None:
        self.org = org
        self.employer = employer
        self.sector = sector
        self.workplaces = workplaces
        self.starts_on = starts_on
        self.ends_on = ends_on
        self.members_involved = members_involved
        self.sharing = sharing
        self.pickets: list[str] = []
        self.outcome: str | None = None

    @event("PicketScheduled")
    def schedule_picket(
        self, org: str, picket: str, where: str, when: str, needs: str | None, occurred_at: str,
        sharing: Sharing,
    ) -> None:
        if self.outcome is not None:
            raise StrikeOver(f"strike {self.id} has ended ({self.outcome}); no new pickets")
        self.pickets.append(picket)


class SolidarityRequest(Aggregate):
    """A union asks the coalition for help: people on a picket, strike-fund donations…"""

    @event("Requested")
    def __init__(self, org: str, help: list[str], summary: str, occurred_at: str, sharing: Sharing) -> None:
        self.org = org
        self.help = help
        self.summary = summary
        self.sharing = sharing
