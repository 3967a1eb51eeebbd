"""Campaigning by the movement, the caucus and the forum."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from contracts.base import Contract, ItemId, Moment, OrgIds, People, ShortText, Text

ActionKind = Literal[
    "picket_support", "rally", "lobby", "motion", "phonebank", "statement", "mp_visit", "online"
]
WinKind = Literal[
    "reinstatement", "motion_passed", "selection_won", "pay_rise_won", "strike_won", "other"
]


class ActionCalled(Contract, frozen=True, tag="action.called.v1"):
    """A call to action for an item of the board (``refs``): where, when, what is asked."""

    action_kind: ActionKind
    where: ShortText
    when: Moment
    asks: Text
    people_wanted: People | None = None


class ActionPledged(Contract, frozen=True, tag="action.pledged.v1"):
    """An organisation or local group pledges support to an action."""

    action: ItemId
    people: People = 0
    note: Text | None = None
    group: ShortText | None = None


class ActionCompleted(Contract, frozen=True, tag="action.completed.v1"):
    """An action took place: turnout and outcome."""

    turnout: Annotated[int, Meta(ge=0, le=100_000_000)] | None = None
    outcome: Text | None = None


class MotionTabled(Contract, frozen=True, tag="motion.tabled.v1"):
    """The caucus tabled a motion in Parliament."""

    title: ShortText
    text: Text
    sponsors: Annotated[list[ShortText], Meta(max_length=200)] = []


class StatementPublished(Contract, frozen=True, tag="statement.published.v1"):
    """A public statement by an organisation or the caucus."""

    title: ShortText
    text: Text
    signatories: OrgIds = []


class WinRecorded(Contract, frozen=True, tag="win.recorded.v1"):
    """A success to celebrate, linked to its items."""

    win_kind: WinKind
    summary: Text


