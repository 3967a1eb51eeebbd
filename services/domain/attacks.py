"""Attacks on members and organisations."""

from __future__ import annotations

from eventsourcing.domain import Aggregate, event

from services.domain.common import Sharing
from services.domain.errors import AlreadyResolved


class Attack(Aggregate):
    """An unjust suspension, a proscription, the whip removed… reported by an organisation."""

    @event("Reported")
    def __init__(
        self,
        org: str,
        attack_kind: str,
        targets: list[dict[str, str | None]],
        summary: str,
        severity: str,
        sources: list[str],
        occurred_at: str,
        sharing: Sharing,
    ) -> None:
        self.org = org
        self.attack_kind = attack_kind
        self.targets = targets
        self.summary = summary
        self.severity = severity
        self.sources = sources
        self.occurred_at = occurred_at
        self.sharing = sharing
        self.outcome: str | None = None

    @event("Resolved")
    def resolve(
        self, org: str, outcome: str, summary: str | None, occurred_at: str, sharing: Sharing
    ) -> None:
        if self.outcome is not None:
            raise AlreadyResolved(f"attack {self.id} was already resolved as {self.outcome!r}")
        self.outcome = outcome
        self.resolution = summary
