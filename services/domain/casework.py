"""Casework for members unjustly suspended: the movement's legal and pastoral support unit.

A ``Case`` is private to the movement's service. Its events hold the member's name, the
caseworkers and every note, and they stay in the movement's own event store. Each event
also carries the case's *safe summary* — the attack it supports, the stage, the kinds of
referral so far, how many steps, the outcome — and that summary is all the translator
copies onto the shared log (``contracts.movement``: no field there can hold a name or a
note). The whole case is read only by the caseworkers it names (``services.api.casework``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from contracts.movement import CaseOutcome, CaseStage, Referral
from eventsourcing.domain import Aggregate, event

from services.domain.errors import Conflict
from services.domain.sharing import Sharing


class CaseClosed(Conflict):
    """A closed case takes no more referrals, steps or outcome."""


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a case as the caseworkers read it."""

    at: datetime
    stage: CaseStage
    referral: Referral | None = None
    outcome: CaseOutcome | None = None
    note: str | None = None
    by: str | None = None


class Case(Aggregate):
    """One member's case, for one attack."""

    @event("Opened")
    def __init__(self, org: str, attack: str, member: str, caseworkers: list[str], note: str | None,
                 by: str | None, occurred_at: datetime, sharing: Sharing,
                 stage: CaseStage = "opened") -> None:
        self.org = org
        self.attack = attack
        self.member = member
        self.caseworkers = caseworkers
        self.sharing = sharing
        self.stage: CaseStage = stage
        self.referrals: list[Referral] = []
        self.steps = 0
        self.outcome: CaseOutcome | None = None
        self.entries = [Entry(at=occurred_at, stage=stage, note=note, by=by)]

    def refer(self, referral: Referral, note: str | None, by: str | None, occurred_at: datetime) -> None:
        """Refer the case (legal advice, pastoral support, appeal drafting)."""
        self._check_open()
        referrals = self.referrals if referral in self.referrals else [*self.referrals, referral]
        self._referred(**self._summary("referred", referrals=referrals), referral=referral, note=note, by=by,
                       occurred_at=occurred_at)

    def record_step(self, note: str, by: str | None, occurred_at: datetime) -> None:
        """A step taken on the case (a call, a letter, a hearing), in the caseworkers' words."""
        self._check_open()
        self._step_recorded(**self._summary("in_progress", steps=self.steps + 1), note=note, by=by,
                            occurred_at=occurred_at)

    def close(self, outcome: CaseOutcome, note: str | None, by: str | None, occurred_at: datetime) -> None:
        """The case's outcome: reinstated, appeal lost…; a case is closed once."""
        self._check_open()
        self._closed(**self._summary("closed", outcome=outcome), note=note, by=by, occurred_at=occurred_at)

    def _check_open(self) -> None:
        if self.stage == "closed":
            raise CaseClosed(f"case {self.id} is closed ({self.outcome})")

    def _summary(self, stage: CaseStage, **changed: Any) -> dict[str, Any]:
        """The safe summary every event carries (what goes on the shared log)."""
        summary = {"org": self.org, "attack": self.attack, "stage": stage, "referrals": list(self.referrals), "steps": self.steps,
                   "outcome": self.outcome, "sharing": self.sharing}
        return {**summary, **changed}

    def _apply(self, stage: CaseStage, referrals: list[Referral], steps: int, outcome: CaseOutcome | None,
               entry: Entry) -> None:
        self.stage, self.referrals, self.steps, self.outcome = stage, referrals, steps, outcome
        self.entries.append(entry)

    @event("Referred")
    def _referred(self, org: str, attack: str, stage: CaseStage, referrals: list[Referral], steps: int,
                  outcome: CaseOutcome | None, sharing: Sharing, referral: Referral, note: str | None,
                  by: str | None, occurred_at: datetime) -> None:
        self._apply(stage, referrals, steps, outcome,
                    Entry(at=occurred_at, stage=stage, referral=referral, note=note, by=by))

    @event("StepRecorded")
    def _step_recorded(self, org: str, attack: str, stage: CaseStage, referrals: list[Referral], steps: int,
                       outcome: CaseOutcome | None, sharing: Sharing, note: str, by: str | None,
                       occurred_at: datetime) -> None:
        self._apply(stage, referrals, steps, outcome, Entry(at=occurred_at, stage=stage, note=note, by=by))

    @event("Closed")
    def _closed(self, org: str, attack: str, stage: CaseStage, referrals: list[Referral], steps: int,
                outcome: CaseOutcome | None, sharing: Sharing, note: str | None, by: str | None,
                occurred_at: datetime) -> None:
        self._apply(stage, referrals, steps, outcome,
                    Entry(at=occurred_at, stage=stage, outcome=outcome, note=note, by=by))
