"""MP visits: the request (in the requester's own store) and the caucus liaison's answer
(in the caucus's store).

The request and the answer live in different services, as a pledge and its action do: the
liaison finds the request on the shared board. Its answer to a visit has an id derived from
the visit's, so the caucus's store holds at most one answer per visit: a second confirmation
or a confirmation after a refusal is refused from the store's own state, not the board's.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from services.domain.errors import Conflict
from services.domain.sharing import Sharing

_ANSWERS = uuid.UUID("0b6f5a52-7f55-4c1e-9f3c-0d1c2a4e9b71")


class VisitRequest(Aggregate):
    """An organisation asks for an MP's visit to an item it can see (a picket, a rally…)."""

    @event("Requested")
    def __init__(self, org: str, serves: str, where: str, when: datetime | None, mp: str | None,
                 note: str | None, occurred_at: datetime, sharing: Sharing) -> None:
        self.org = org
        self.serves = serves
        self.sharing = sharing


def answer_id(visit: str) -> uuid.UUID:
    """The id of the caucus's answer to ``visit``: one per visit."""
    return uuid.uuid5(_ANSWERS, visit)


class VisitNotConfirmed(Conflict):
    """A visit is done only once the liaison confirmed it."""


class VisitAlreadyAnswered(Conflict):
    """The liaison answered this visit already (confirmed, declined or done)."""


class VisitConfirmation(Aggregate):
    """The liaison sends an MP: confirmed, then done."""

    @staticmethod
    def create_id(visit: str, **_: object) -> uuid.UUID:
        return answer_id(visit)

    @event("Confirmed")
    def __init__(self, visit: str, org: str, serves: str, mp: str, when: datetime | None, note: str | None,
                 occurred_at: datetime, sharing: Sharing) -> None:
        self.visit = visit
        self.org = org
        self.serves = serves
        self.mp = mp
        self.sharing = sharing
        self.done = False

    @property
    def state(self) -> str:
        return "done" if self.done else "confirmed"

    def complete(self, note: str | None, occurred_at: datetime) -> None:
        """The visit took place; once."""
        if self.done:
            raise VisitAlreadyAnswered(f"visit {self.visit} is done already")
        self._done(self.visit, self.org, self.serves, self.mp, note, occurred_at, self.sharing)

    @event("Done")
    def _done(self, visit: str, org: str, serves: str, mp: str, note: str | None, occurred_at: datetime,
              sharing: Sharing) -> None:
        self.done = True


class VisitRefusal(Aggregate):
    """The liaison cannot send an MP."""

    state = "declined"

    @staticmethod
    def create_id(visit: str, **_: object) -> uuid.UUID:
        return answer_id(visit)

    @event("Declined")
    def __init__(self, visit: str, org: str, serves: str, reason: str, occurred_at: datetime,
                 sharing: Sharing) -> None:
        self.visit = visit
        self.org = org
        self.serves = serves
        self.sharing = sharing
