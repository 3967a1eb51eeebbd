"""Calls to action, pledges of support, and wins."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate, event

from contracts.campaigning import ActionKind, WinKind
from contracts.movement import GroupRef
from services.domain.sharing import Sharing


class Action(Aggregate):
    """A call to action for an item: picket support, a rally, a lobby…"""

    @event("Called")
    def __init__(self, org: str, action_kind: ActionKind, where: str, when: datetime, asks: str,
                 people_wanted: int | None, occurred_at: datetime, sharing: Sharing,
                 groups: list[GroupRef] = []) -> None:  # noqa: B006 - never mutated
        self.org = org
        self.action_kind = action_kind
        self.when = when
        self.people_wanted = people_wanted
        self.sharing = sharing


class Pledge(Aggregate):
    """An organisation (or one of its local groups) pledges support to an action."""

    @event("Made")
    def __init__(self, org: str, action: str, people: int, note: str | None, group: str | None,
                 occurred_at: datetime, sharing: Sharing, group_id: str | None = None) -> None:
        self.org = org
        self.action = action
        self.people = people
        self.sharing = sharing


class Win(Aggregate):
    """A success to celebrate, linked to the items it answers."""

    @event("Recorded")
    def __init__(self, org: str, win_kind: WinKind, summary: str, occurred_at: datetime,
                 sharing: Sharing, groups: list[GroupRef] = []) -> None:  # noqa: B006 - never mutated
        self.org = org
        self.win_kind = win_kind
        self.sharing = sharing
