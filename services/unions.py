"""The union partners' service, one tenant per union (each by its own key): strikes,
pickets and calls for solidarity, disputes, ballots and branches with their workplace
reps, besides attacks and campaigning."""

from __future__ import annotations

from services.api.attacks import AttackController
from services.api.campaigns import ActionController, WinController
from services.api.disputes import BallotController, BranchController, DisputeController
from services.api.industrial import SolidarityController, StrikeController
from services.api.visits import VisitController
from services.application import PublisherApp, utc
from services.commands import (
    CallStrike,
    DeclareDispute,
    EndStrike,
    RecordBallot,
    RegisterBranch,
    RegisterRep,
    RequestSolidarity,
    SchedulePicket,
)
from services.domain.branches import Branch
from services.domain.disputes import Ballot, Dispute
from services.domain.errors import ItemNotFound, NotYourItem, UnknownReference
from services.domain.industrial import SolidarityRequest, Strike
from services.registry import Service


class UnionsApp(PublisherApp):
    """The unions' event store (schema ``unions``)."""

    name = "unions"

    def call_strike(self, org: str, cmd: CallStrike) -> Strike:
        return Strike(org=org, occurred_at=utc(cmd.occurred_at), sharing=cmd.sharing(), **cmd.fields())

    def schedule_picket(self, org: str, strike_id: str, cmd: SchedulePicket) -> tuple[Strike, str]:
        """A picket line for one of ``org``'s strikes; the strike (to save) and the picket's id."""
        strike = self.get_item(Strike, strike_id, org)
        picket = strike.schedule_picket(cmd.where, utc(cmd.when), cmd.needs, utc(cmd.occurred_at),
                                        tlp=cmd.tlp, region=cmd.region)
        return strike, picket

    def request_solidarity(self, org: str, cmd: RequestSolidarity) -> SolidarityRequest:
        return SolidarityRequest(org=org, occurred_at=utc(cmd.occurred_at), sharing=cmd.sharing(),
                                 **cmd.fields())

    # --- issue 11: disputes, ballots, the strike's outcome, branches and reps ----------

    def declare_dispute(self, org: str, cmd: DeclareDispute) -> Dispute:
        return Dispute(org=org, occurred_at=utc(cmd.occurred_at), sharing=cmd.sharing(), **cmd.fields())

    def record_ballot(self, org: str, cmd: RecordBallot) -> Ballot:
        """A ballot of ``org``'s dispute or strike (each of ``refs`` must be one), its
        turnout, yes share and thresholds computed from the counts."""
        for ref in cmd.refs:
            self._own_dispute_or_strike(ref, org)
        return Ballot.counted(org, cmd.employer, cmd.eligible, cmd.votes_cast, cmd.yes_votes,
                              cmd.important_public_service, cmd.tally(), utc(cmd.occurred_at), cmd.sharing())

    def _own_dispute_or_strike(self, item_id: str, org: str) -> None:
        """``item_id`` is one of ``org``'s disputes or strikes (another union's is, to
        ``org``, not there): else a 400 naming ``refs``."""
        for kind in (Dispute, Strike):
            try:
                self.get_item(kind, item_id, org)
                return
            except (ItemNotFound, NotYourItem):
                continue
        raise UnknownReference("refs", f"`refs`: {org} has no dispute or strike with id {item_id}")

    def end_strike(self, org: str, strike_id: str, cmd: EndStrike) -> Strike:
        strike = self.get_item(Strike, strike_id, org)
        strike.end(cmd.outcome, cmd.summary, utc(cmd.occurred_at))
        return strike

    def register_branch(self, org: str, cmd: RegisterBranch) -> Branch:
        # a branch's region is its sharing's, as every item's (``fields`` leaves it there)
        return Branch(org=org, occurred_at=utc(cmd.occurred_at), sharing=cmd.sharing(), **cmd.fields())

    def register_rep(self, org: str, branch_id: str, cmd: RegisterRep) -> tuple[Branch, str]:
        branch = self.get_item(Branch, branch_id, org)
        return branch, branch.register_rep(cmd.workplace, cmd.role, cmd.name, utc(cmd.occurred_at))


SERVICE = Service(
    name="unions",
    title="Union partners' publishing service (one tenant per union)",
    application=UnionsApp,
    controllers=(AttackController, StrikeController, SolidarityController, ActionController, WinController,
                 # issue 11
                 DisputeController, BallotController, BranchController, VisitController),
)
