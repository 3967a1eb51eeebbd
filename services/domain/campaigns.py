"""Calls to action, pledges of support, and wins."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate, event

from contracts.campaigning import ActionKind, WinKind
from contracts.movement import GroupRef
from services.domain.errors import Conflict
from services.domain.sharing import Sharing


class AlreadyCompleted(Conflict):
    """The action's turnout is recorded already."""


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
        self.turnout: int | None = None
        self.completed = False

    def complete(self, turnout: int | None, outcome: str | None, occurred_at: datetime) -> None:
        """The action took place: how many turned out, and what came of it; once."""
        if getattr(self, "completed", False):
            raise AlreadyCompleted(f"action {self.id} is completed already (turnout {self.turnout})")
        self._completed(self.org, turnout, outcome, occurred_at, self.sharing)

    @event("Completed")
    def _completed(self, org: str, turnout: int | None, outcome: str | None, occurred_at: datetime,
                   sharing: Sharing) -> None:
        self.turnout = turnout
        self.completed = True


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


class Statement(Aggregate):
    """A public statement by the caucus (or any organisation), with its signatories."""

    @event("Published")
    def __init__(self, org: str, title: str, text: str, signatories: list[str], occurred_at: datetime,
                 sharing: Sharing) -> None:
        self.org = org
        self.title = title
        self.sharing = sharing
