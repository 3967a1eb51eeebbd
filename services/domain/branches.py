"""Union branches and their workplace reps, registered per union with their region."""

from __future__ import annotations

import uuid
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from services.domain.sharing import Sharing


class Branch(Aggregate):
    """A branch of a union, in a region, with the workplaces it organises."""

    @event("Registered")
    def __init__(self, org: str, name: str, workplaces: list[str], contact: str | None, occurred_at: datetime,
                 sharing: Sharing) -> None:
        self.org = org
        self.name = name
        self.sharing = sharing
        self.reps: list[str] = []

    def register_rep(self, workplace: str, role: str | None, name: str | None, occurred_at: datetime) -> str:
        """A workplace rep of this branch, shared as the branch is; the rep's id."""
        rep = str(uuid.uuid4())
        self._rep_registered(self.org, rep, str(self.id), workplace, role, name, occurred_at,
                             self.sharing.passed_on(str(self.id)))
        return rep

    @event("RepRegistered")
    def _rep_registered(self, org: str, rep: str, branch: str, workplace: str, role: str | None,
                        name: str | None, occurred_at: datetime, sharing: Sharing) -> None:
        self.reps.append(rep)
