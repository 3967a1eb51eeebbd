"""Decisions — the audit trail: a question put on evidence, each organisation's position,
and an outcome that follows the method's rule.

The rules are :func:`decided_by`, pure: a block stops a consent decision; a majority
needs more organisations agreeing than disagreeing (a block counts as disagreeing);
a coordinator's call is any coordinator's."""

from __future__ import annotations

from datetime import date, datetime

from eventsourcing.domain import Aggregate, event

from contracts.forum import Method, Position
from services.domain.errors import AlreadyDecided, Blocked, NoMajority, NotAnOption
from services.domain.sharing import Sharing


def decided_by(method: Method, positions: dict[str, Position], reasons: dict[str, str | None],
               deciding_org: str) -> list[str]:
    """The organisations an outcome rests on under ``method``, or the refusal that says why
    there is none (``Blocked`` naming the blocks, ``NoMajority`` with the count)."""
    if method == "coordinator_call":
        return [deciding_org]
    agree = sorted(org for org, p in positions.items() if p == "agree")
    if method == "consent":
        blocks = sorted(org for org, p in positions.items() if p == "block")
        if blocks:
            why = "; ".join(f"{org}: {reasons.get(org) or 'no reason given'}" for org in blocks)
            raise Blocked(f"blocked by {', '.join(blocks)} ({why})")
        if not positions:
            raise NoMajority("no organisation has taken a position yet")
        return sorted(positions)
    against = sorted(org for org, p in positions.items() if p in ("disagree", "block"))
    if len(agree) <= len(against):
        raise NoMajority(f"{len(agree)} agree and {len(against)} disagree: a majority needs more agreeing")
    return agree


class Decision(Aggregate):
    """A question put to the forum, with the board position and digest it was put on."""

    @event("Proposed")
    def __init__(self, org: str, question: str, method: Method, options: list[str],
                 review_on: date | None, board_position: int, board_digest: str | None,
                 occurred_at: datetime, sharing: Sharing, actor: str | None = None) -> None:
        self.org = org
        self.method = method
        self.options = options
        self.sharing = sharing
        self.positions: dict[str, Position] = {}
        self.reasons: dict[str, str | None] = {}
        self.outcome: str | None = None

    def take_position(self, org: str, position: Position, reason: str | None, occurred_at: datetime,
                      actor: str | None = None) -> None:
        """``org``'s position: one per organisation, changeable until the outcome is recorded."""
        self._check_open()
        self._position_taken(org, str(self.id), position, reason, occurred_at,
                             self.sharing.passed_on(str(self.id)), actor)

    @event("PositionTaken")
    def _position_taken(self, org: str, decision: str, position: Position, reason: str | None,
                        occurred_at: datetime, sharing: Sharing, actor: str | None) -> None:
        self.positions[org] = position
        self.reasons[org] = reason

    def decide(self, org: str, outcome: str, rationale: str, board_position: int, board_digest: str | None,
               occurred_at: datetime, actor: str | None = None) -> None:
        """Record the outcome, if the method's rule allows it; once."""
        self._check_open()
        if self.options and outcome not in self.options:
            raise NotAnOption(f"the outcome must be one of the options: {', '.join(self.options)}")
        by = decided_by(self.method, self.positions, self.reasons, org)
        self._made(org, outcome, rationale, by, board_position, board_digest, occurred_at, self.sharing,
                   str(self.id), self.method, dict(self.positions), actor)

    @event("Made")
    def _made(self, org: str, outcome: str, rationale: str, decided_by: list[str], board_position: int,
              board_digest: str | None, occurred_at: datetime, sharing: Sharing, decision: str,
              method: Method, positions: dict[str, Position], actor: str | None) -> None:
        self.outcome = outcome

    def _check_open(self) -> None:
        if self.outcome is not None:
            raise AlreadyDecided(f"decision {self.id} was decided already: {self.outcome}")
