"""Trade disputes and their industrial action ballots (the unions service)."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate, event

from services.domain.ballots import Tally
from services.domain.sharing import Sharing


class Dispute(Aggregate):
    """A union has declared a trade dispute with an employer."""

    @event("Declared")
    def __init__(self, org: str, employer: str, sector: str, issues: str, occurred_at: datetime,
                 sharing: Sharing) -> None:
        self.org = org
        self.employer = employer
        self.sharing = sharing


class Ballot(Aggregate):
    """An industrial action ballot's result: the counts the union sent and what the
    unions service computed from them (``services.domain.ballots``), for its dispute and
    strike (``sharing.refs``)."""

    @event("Result")
    def __init__(self, org: str, employer: str, eligible: int, votes_cast: int, yes_votes: int,
                 important_public_service: bool, turnout: float, yes_share: float, turnout_met: bool,
                 support_met: bool, threshold_met: bool, majority: bool, occurred_at: datetime,
                 sharing: Sharing) -> None:
        self.org = org
        self.threshold_met = threshold_met
        self.sharing = sharing

    @classmethod
    def counted(cls, org: str, employer: str, eligible: int, votes_cast: int, yes_votes: int,
                important_public_service: bool, tally: Tally, occurred_at: datetime,
                sharing: Sharing) -> Ballot:
        return cls(org=org, employer=employer, eligible=eligible, votes_cast=votes_cast, yes_votes=yes_votes,
                   important_public_service=important_public_service, turnout=tally.turnout,
                   yes_share=tally.yes_share, turnout_met=tally.turnout_met, support_met=tally.support_met,
                   threshold_met=tally.threshold_met, majority=tally.majority, occurred_at=occurred_at,
                   sharing=sharing)
