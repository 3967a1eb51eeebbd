"""The legal thresholds of an industrial action ballot, as a pure rule.

Under the Trade Union Act 2016 a ballot gives a mandate for industrial action only if at
least half of the members entitled to vote voted (the turnout threshold) and, where most
of those balloted work in important public services (health, education of under-17s,
fire, transport, border security, nuclear decommissioning), at least 40 % of all those
entitled to vote voted yes (the support threshold) — besides a majority of the votes cast
voting yes. The union sends the counts; everything else is computed here, in whole
numbers (50 % and 40 % are compared as ``2 × votes ≥ eligible`` and ``5 × yes ≥ 2 ×
eligible``), so that no rounding of a share decides a mandate.
"""

from __future__ import annotations

from dataclasses import dataclass


class ImpossibleCount(ValueError):
    """Counts that cannot all be true (more votes than voters, more yes than votes): bad
    input, refused with a 400 naming the field when the command is decoded."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Tally:
    """What a ballot's counts mean."""

    turnout: float
    """votes cast / members entitled to vote"""
    yes_share: float
    """yes votes / votes cast"""
    turnout_met: bool
    support_met: bool
    """40 % of everyone entitled voted yes (always met outside important public services)"""
    majority: bool
    """more votes yes than not"""

    @property
    def threshold_met(self) -> bool:
        """Both legal thresholds: the turnout, and in important public services the support."""
        return self.turnout_met and self.support_met

    @property
    def mandate(self) -> bool:
        """The thresholds and a majority: industrial action may lawfully follow."""
        return self.threshold_met and self.majority


def tally(eligible: int, votes_cast: int, yes_votes: int, important_public_service: bool) -> Tally:
    """The turnout, yes share and thresholds of a ballot of ``eligible`` members."""
    if eligible < 1:
        raise ImpossibleCount("eligible", "`eligible` must be at least 1: a ballot has members entitled to vote")
    if votes_cast > eligible:
        raise ImpossibleCount("votes_cast", f"`votes_cast` ({votes_cast:,}) cannot exceed `eligible` ({eligible:,})")
    if yes_votes > votes_cast:
        raise ImpossibleCount("yes_votes",
                              f"`yes_votes` ({yes_votes:,}) cannot exceed `votes_cast` ({votes_cast:,})")
    return Tally(
        turnout=votes_cast / eligible,
        yes_share=yes_votes / votes_cast if votes_cast else 0.0,
        turnout_met=2 * votes_cast >= eligible,
        support_met=not important_public_service or 5 * yes_votes >= 2 * eligible,
        majority=2 * yes_votes > votes_cast,
    )
