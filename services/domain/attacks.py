"""Attacks on members and organisations."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate, event

from contracts.attacks import AttackKind, Outcome
from contracts.base import Severity, Target
from services.domain.errors import AlreadyResolved
from services.domain.sharing import Sharing


class Attack(Aggregate):
    """An unjust suspension, a proscription, the whip removed… reported by an organisation."""

    @event("Reported")
    def __init__(self, org: str, attack_kind: AttackKind, targets: list[Target], summary: str,
                 severity: Severity, sources: list[str], occurred_at: datetime, sharing: Sharing) -> None:
        self.org = org
        self.attack_kind = attack_kind
        self.targets = targets
        self.summary = summary
        self.severity = severity
        self.sources = sources
        self.sharing = sharing
        self.outcome: Outcome | None = None

    def resolve(self, outcome: Outcome, summary: str | None, occurred_at: datetime) -> None:
        """Record the attack's outcome; an attack is resolved once."""
        if self.outcome is not None:
            raise AlreadyResolved(f"attack {self.id} was already resolved as {self.outcome!r}")
        self._resolved(self.org, outcome, summary, occurred_at, self.sharing)

    @event("Resolved")
    def _resolved(self, org: str, outcome: Outcome, summary: str | None, occurred_at: datetime,
                  sharing: Sharing) -> None:
        self.outcome = outcome
