"""Attacks on members and organisations."""

from __future__ import annotations

import uuid
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from contracts.attacks import AttackKind, Outcome
from contracts.base import Severity, Target
from services.domain.errors import AlreadyResolved, Conflict
from services.domain.sharing import Sharing

_CORROBORATIONS = uuid.UUID("a3d5c1e2-93f4-4b8e-8d0c-6e7f1a2b3c4d")


class AlreadyCorroborated(Conflict):
    """The organisation confirmed this attack already."""


class OwnAttack(Conflict):
    """An organisation corroborates what others reported, not its own report."""


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

    # --- issue 11: corrected facts, by the reporting organisation ---------------------

    def correct(self, summary: str | None, severity: Severity | None, targets: list[Target] | None,
                occurred_at: datetime) -> None:
        """Corrected facts: only what is given changes."""
        self._updated(self.org, self.attack_kind, summary, severity, targets, occurred_at, self.sharing)

    @event("Updated")
    def _updated(self, org: str, attack_kind: AttackKind, summary: str | None, severity: Severity | None,
                 targets: list[Target] | None, occurred_at: datetime, sharing: Sharing) -> None:
        if summary is not None:
            self.summary = summary
        if severity is not None:
            self.severity = severity
        if targets is not None:
            self.targets = targets


def corroboration_id(attack: str, org: str) -> uuid.UUID:
    """One corroboration per attack and organisation."""
    return uuid.uuid5(_CORROBORATIONS, f"{attack}:{org}")


class Corroboration(Aggregate):
    """Another organisation confirms a reported attack: the provenance of what is known."""

    @staticmethod
    def create_id(attack: str, org: str) -> uuid.UUID:
        return corroboration_id(attack, org)

    @event("Confirmed")
    def __init__(self, org: str, attack: str, evidence: str | None, occurred_at: datetime,
                 sharing: Sharing) -> None:
        self.org = org
        self.attack = attack
        self.sharing = sharing
