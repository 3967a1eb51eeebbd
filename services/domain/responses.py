"""A coordinated response to an item: its lead, its plan, its review; and its tasks, each an
aggregate of its own (the task's id is the subject of its events on the log)."""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.domain.errors import AlreadyOpen, TaskAlreadyDone
from services.domain.sharing import Sharing


class Response(Aggregate):
    """The forum's response to one item (an attack, a strike): one per item, its id derived
    from the item's, so that opening it twice is refused — by the store itself if two
    coordinators race."""

    @staticmethod
    def create_id(item: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/forum/response/{item}")

    @event("Opened")
    def __init__(self, item: str, org: str, lead_org: str, coordinator: str, plan: str,
                 occurred_at: datetime, sharing: Sharing, actor: str | None = None) -> None:
        self.item = item
        self.org = org
        self.lead_org = lead_org
        self.sharing = sharing

    @staticmethod
    def refuse_second(item: str) -> AlreadyOpen:
        return AlreadyOpen(f"item {item} has a response already")

    def record_review(self, org: str, worked: str, did_not: str | None, occurred_at: datetime,
                      actor: str | None = None) -> None:
        """After the response: what worked, what did not (a later review adds to it)."""
        self._reviewed(org, worked, did_not, occurred_at, self.sharing, self.item, actor)

    @event("ReviewRecorded")
    def _reviewed(self, org: str, worked: str, did_not: str | None, occurred_at: datetime,
                  sharing: Sharing, item: str, actor: str | None) -> None:
        pass


class Task(Aggregate):
    """A task of an item's response, for an organisation, with a due time; done once."""

    @event("Assigned")
    def __init__(self, org: str, item: str, response: str, assignee: str, task: str, due: datetime | None,
                 occurred_at: datetime, sharing: Sharing, actor: str | None = None) -> None:
        self.org = org
        self.item = item
        self.assignee = assignee
        self.sharing = sharing
        self.done = False

    def complete(self, org: str, note: str | None, occurred_at: datetime, actor: str | None = None) -> None:
        if self.done:
            raise TaskAlreadyDone(f"task {self.id} is done already")
        self._done(org, note, occurred_at, self.sharing, self.item, actor)

    @event("Done")
    def _done(self, org: str, note: str | None, occurred_at: datetime, sharing: Sharing, item: str,
              actor: str | None) -> None:
        self.done = True
