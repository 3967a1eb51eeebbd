"""The union of every contract, and lookup by kind."""

from __future__ import annotations

from typing import Union

from contracts.attacks import AttackCorroborated, AttackReported, AttackResolved, AttackUpdated
from contracts.base import Contract
from contracts.branches import BranchRegistered, RepRegistered
from contracts.campaigning import (
    ActionCalled,
    ActionCompleted,
    ActionPledged,
    MotionTabled,
    StatementPublished,
    WinRecorded,
)
from contracts.forum import (
    DecisionMade,
    DecisionPositionTaken,
    DecisionProposed,
    ItemEscalated,
    ItemTriaged,
    ResponseOpened,
    ReviewRecorded,
    TaskAssigned,
    TaskDone,
)
from contracts.movement import CaseOpened, CaseProgressed, GroupRegistered
from contracts.partners import PartnerChanged
from contracts.industrial import (
    BallotResult,
    DisputeDeclared,
    PicketScheduled,
    SolidarityRequested,
    StrikeCalled,
    StrikeEnded,
)
from contracts.visits import VisitConfirmed, VisitDeclined, VisitDone, VisitRequested

CONTRACTS: tuple[type[Contract], ...] = (
    AttackReported, AttackUpdated, AttackCorroborated, AttackResolved,
    DisputeDeclared, BallotResult, StrikeCalled, PicketScheduled, SolidarityRequested, StrikeEnded,
    ActionCalled, ActionPledged, ActionCompleted, MotionTabled, StatementPublished, WinRecorded,
    ResponseOpened, ItemTriaged, ItemEscalated, TaskAssigned, TaskDone,
    DecisionProposed, DecisionPositionTaken, DecisionMade, ReviewRecorded,
    # the movement's own work (issue 11): local groups and the safe summary of casework
    GroupRegistered, CaseOpened, CaseProgressed,
    # the forum's record of its partners' subscriptions (issue 9)
    PartnerChanged,
    # issue 11: MP visits, union branches and reps
    VisitRequested, VisitConfirmed, VisitDeclined, VisitDone, BranchRegistered, RepRegistered,
)

Event = Union[CONTRACTS]  # type: ignore[valid-type]
"""Any shared event; decoding dispatches on ``kind``."""

_BY_KIND: dict[str, type[Contract]] = {c.__struct_config__.tag: c for c in CONTRACTS}  # type: ignore[misc]


def contract_for_kind(kind: str) -> type[Contract]:
    try:
        return _BY_KIND[kind]
    except KeyError:
        raise KeyError(f"unknown event kind {kind!r}") from None


def kind_of(contract: Contract | type[Contract]) -> str:
    return str(contract.__struct_config__.tag)
