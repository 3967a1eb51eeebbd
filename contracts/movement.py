"""The movement's own work: its local groups, and what is safe to share of its casework.

Casework for a member unjustly suspended is personal data: the member's name, the notes
of each step, the caseworkers' own words stay in the movement's service (its private
``Case`` aggregate, read by the named caseworkers alone). What goes on the shared log is
only what every organisation may know: that an attack has support, at which stage, with
which kinds of referral, and the outcome. These contracts have no field that could carry
a name or a note, so a translator cannot put one there by mistake.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from contracts.base import Contract, ItemId, ShortText

Referral = Literal["legal_advice", "pastoral_support", "appeal_drafting"]
"""Where the movement's legal and pastoral support unit sends a case."""
CaseStage = Literal["opened", "referred", "in_progress", "closed"]
CaseOutcome = Literal[
    "reinstated", "suspension_lifted", "appeal_won", "appeal_lost", "expelled", "withdrawn", "other"
]
Referrals = Annotated[list[Referral], Meta(max_length=3, description="the kinds of referral made so far")]


class GroupRef(msgspec.Struct, frozen=True, kw_only=True):
    """A registered local group, as an action, a win or a motion names it."""

    id: ItemId
    name: ShortText


GroupRefs = Annotated[list[GroupRef], Meta(max_length=200, description="local groups named (at most 200)")]


class GroupRegistered(Contract, frozen=True, tag="group.registered.v1"):
    """A local group of the movement is registered (its id is the event's subject),
    with its name and its region (``region``)."""

    name: ShortText


class CaseOpened(Contract, frozen=True, tag="case.opened.v1"):
    """The movement's legal and pastoral support unit supports the member(s) of an attack.
    Only that: who the member is and what the case says stay in the movement's service."""

    attack: ItemId
    stage: CaseStage = "opened"


class CaseProgressed(Contract, frozen=True, tag="case.progressed.v1"):
    """A case moved on: its stage, the kinds of referral made so far, the number of steps
    recorded and, once closed, the outcome. Never a name or a note."""

    attack: ItemId
    stage: CaseStage
    referrals: Referrals = []
    steps: Annotated[int, Meta(ge=0, le=1_000_000)] = 0
    outcome: CaseOutcome | None = None
