"""Industrial action by the union partners."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from msgspec import Meta

from contracts.base import PLAIN, Contract, ItemId, Moment, ShortText, Text

Sector = Annotated[str, Meta(min_length=2, max_length=60, pattern=PLAIN)]
Help = Literal["people_on_picket", "strike_fund", "motions", "mp_visit", "statements", "other"]
Workplaces = Annotated[list[ShortText], Meta(max_length=500, description="at most 500")]
Members = Annotated[int, Meta(ge=1, le=10_000_000)]
Helps = Annotated[list[Help], Meta(max_length=10)]
StrikeOutcome = Literal["won", "settled", "lost", "suspended"]


class DisputeDeclared(Contract, frozen=True, tag="dispute.declared.v1"):
    """A union has declared a trade dispute with an employer."""

    employer: ShortText
    sector: Sector
    issues: Text


Count = Annotated[int, Meta(ge=0, le=10_000_000)]


class BallotResult(Contract, frozen=True, tag="ballot.result.v1"):
    """The result of an industrial action ballot (``refs``: its dispute and strike).

    The union sends the counts; turnout, yes share and the thresholds are computed by the
    unions service (``services.domain.ballots``), never taken from the client: at least
    50 % of those entitled to vote voted and, in important public services, at least 40 %
    of all of them voted yes (``threshold_met`` is both; ``majority`` that more voted yes
    than not)."""

    employer: ShortText
    turnout: Annotated[float, Meta(ge=0, le=1)]
    yes_share: Annotated[float, Meta(ge=0, le=1)]
    threshold_met: bool
    eligible: Count | None = None
    votes_cast: Count | None = None
    yes_votes: Count | None = None
    important_public_service: bool = False
    turnout_met: bool | None = None
    support_met: bool | None = None
    """40 % of all eligible voted yes (met by definition outside important public services)"""
    majority: bool | None = None


class StrikeCalled(Contract, frozen=True, tag="strike.called.v1"):
    """A union has called strike action."""

    employer: ShortText
    sector: Sector
    workplaces: Workplaces
    starts_on: date
    ends_on: date
    members_involved: Members


class PicketScheduled(Contract, frozen=True, tag="picket.scheduled.v1"):
    """A picket line during a strike: where, when, what is needed."""

    picket: ItemId
    strike: ItemId
    where: ShortText
    when: Moment
    needs: Text | None = None
    lat: Annotated[float, Meta(ge=-90, le=90)] | None = None
    lon: Annotated[float, Meta(ge=-180, le=180)] | None = None


class SolidarityRequested(Contract, frozen=True, tag="solidarity.requested.v1"):
    """A union asks the coalition for help with a dispute."""

    help: Helps
    summary: Text


class StrikeEnded(Contract, frozen=True, tag="strike.ended.v1"):
    """A strike is over."""

    outcome: StrikeOutcome
    summary: Text | None = None
