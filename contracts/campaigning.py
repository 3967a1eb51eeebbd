"""Campaigning by the movement, the caucus and the forum."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from contracts.base import Contract, ItemId, Moment, OrgIds, People, ShortText, Text
from contracts.movement import GroupRef, GroupRefs

ActionKind = Literal[
    "picket_support", "rally", "lobby", "motion", "phonebank", "statement", "mp_visit", "online"
]
WinKind = Literal[
    "reinstatement", "motion_passed", "selection_won", "pay_rise_won", "strike_won", "other"
]
MotionOutcome = Literal["pending", "passed", "amended_and_passed", "fell", "withdrawn", "not_heard"]


class ActionCalled(Contract, frozen=True, tag="action.called.v1"):
    """A call to action for an item of the board (``refs``): where, when, what is asked."""

    action_kind: ActionKind
    where: ShortText
    when: Moment
    asks: Text
    people_wanted: People | None = None
    groups: GroupRefs = []
    """The movement's local groups named in the action (registered groups: id and name)."""


class ActionPledged(Contract, frozen=True, tag="action.pledged.v1"):
    """An organisation or local group pledges support to an action."""

    action: ItemId
    people: People = 0
    note: Text | None = None
    group: ShortText | None = None
    group_id: ItemId | None = None
    """The registered local group pledging (``group`` is then its name): the board counts
    pledges per group."""


class ActionCompleted(Contract, frozen=True, tag="action.completed.v1"):
    """An action took place: turnout and outcome."""

    turnout: Annotated[int, Meta(ge=0, le=100_000_000)] | None = None
    outcome: Text | None = None


class MotionTabled(Contract, frozen=True, tag="motion.tabled.v1"):
    """A motion tabled: by the caucus in Parliament, or by a local group of the movement in
    its constituency party; ``refs`` are the action or attack it answers."""

    title: ShortText
    text: Text
    sponsors: Annotated[list[ShortText], Meta(max_length=200)] = []
    group: GroupRef | None = None
    """The local group that tabled it (a registered group of the movement)."""
    body: ShortText | None = None
    """Where it was tabled: a constituency party, a branch, the House of Commons."""
    outcome: MotionOutcome | None = None


class StatementPublished(Contract, frozen=True, tag="statement.published.v1"):
    """A public statement by an organisation or the caucus."""

    title: ShortText
    text: Text
    signatories: OrgIds = []


class WinRecorded(Contract, frozen=True, tag="win.recorded.v1"):
    """A success to celebrate, linked to its items."""

    win_kind: WinKind
    summary: Text
    groups: GroupRefs = []
    """The movement's local groups named in the win."""


