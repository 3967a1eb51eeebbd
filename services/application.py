"""Each service's eventsourcing application: commands in, aggregates out, to be saved.

Methods take simple values and raise the domain's own errors. A method that creates an
item does no I/O and returns the new aggregate; a method that changes one loads it
(synchronous I/O: the HTTP layer runs it in a thread) and returns it changed. Saving is
left to the caller, so that the HTTP layer can commit concurrent commands together
(``services.committer``) and scripts can save thousands in one transaction.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application

from coalition.db import ensure_schema
from coalition.settings import DatabaseParams
from services.domain.attacks import Attack
from services.domain.campaigns import Action, Pledge, Win
from services.domain.common import Sharing, sharing
from services.domain.errors import ItemNotFound, NotYourItem
from services.domain.industrial import SolidarityRequest, Strike
from services.domain.triage import Triage

A = TypeVar("A")
_PEOPLE = re.compile(r"(\d[\d,]*)\s+(?:people|members|volunteers|activists|supporters)", re.I)


def now_iso(at: datetime | None = None) -> str:
    return (at or datetime.now(UTC)).astimezone(UTC).isoformat()


def people_in(asks: str) -> int | None:
    """'40 people on the picket' → 40: an ask's head count when none was given."""
    match = _PEOPLE.search(asks)
    return int(match.group(1).replace(",", "")) if match else None


class CoalitionApp(Application[uuid.UUID]):
    """The event store of one service; which commands it offers is the API's choice."""

    name = "coalition"

    def _get(self, cls: type[A], item_id: str, org: str | None = None) -> A:
        try:
            agg = self.repository.get(uuid.UUID(item_id))
        except (AggregateNotFoundError, ValueError):
            raise ItemNotFound(f"no {cls.__name__.lower()} with id {item_id}") from None
        if not isinstance(agg, cls):
            raise ItemNotFound(f"no {cls.__name__.lower()} with id {item_id}")
        if org is not None and getattr(agg, "org", org) != org:
            raise NotYourItem(f"{cls.__name__.lower()} {item_id} was published by {agg.org}, not {org}")  # type: ignore[attr-defined]
        return agg

    # Attacks ---------------------------------------------------------------
    def report_attack(self, org: str, *, kind: str, targets: list[dict[str, Any]], summary: str,
                      severity: str, sources: list[str], occurred_at: datetime | None,
                      share: Sharing) -> Attack:
        attack = Attack(org, kind, targets, summary, severity, sources, now_iso(occurred_at), share)
        return attack

    def resolve_attack(self, org: str, attack_id: str, *, outcome: str, summary: str | None,
                       occurred_at: datetime | None) -> Attack:
        attack = self._get(Attack, attack_id, org)
        attack.resolve(org, outcome, summary, now_iso(occurred_at), attack.sharing)
        return attack

    # Industrial ------------------------------------------------------------
    def call_strike(self, org: str, *, employer: str, sector: str, workplaces: list[str],
                    starts_on: str, ends_on: str, members_involved: int,
                    occurred_at: datetime | None, share: Sharing) -> Strike:
        strike = Strike(org, employer, sector, workplaces, starts_on, ends_on, members_involved,
                        now_iso(occurred_at), share)
        return strike

    def schedule_picket(self, org: str, strike_id: str, *, where: str, when: datetime,
                        needs: str | None, tlp: str | None, region: str | None,
                        occurred_at: datetime | None) -> tuple[Strike, str]:
        strike = self._get(Strike, strike_id, org)
        base = strike.sharing
        share = sharing(tlp or base["tlp"], base["audience"], region or base["region"], [strike_id])
        picket = str(uuid.uuid4())
        strike.schedule_picket(org, picket, where, now_iso(when), needs, now_iso(occurred_at), share)
        return strike, picket

    def request_solidarity(self, org: str, *, help: list[str], summary: str,
                           occurred_at: datetime | None, share: Sharing) -> SolidarityRequest:
        request = SolidarityRequest(org, help, summary, now_iso(occurred_at), share)
        return request

    # Campaigning -----------------------------------------------------------
    def call_action(self, org: str, *, kind: str, where: str, when: datetime, asks: str,
                    people_wanted: int | None, occurred_at: datetime | None, share: Sharing) -> Action:
        wanted = people_wanted if people_wanted is not None else people_in(asks)
        action = Action(org, kind, where, now_iso(when), asks, wanted, now_iso(occurred_at), share)
        return action

    def pledge(self, org: str, action_id: str, *, people: int, note: str | None,
               group: str | None, occurred_at: datetime | None, share: Sharing) -> Pledge:
        pledge = Pledge(org, action_id, people, note, group, now_iso(occurred_at), share)
        return pledge

    def record_win(self, org: str, *, kind: str, summary: str, occurred_at: datetime | None,
                   share: Sharing) -> Win:
        win = Win(org, kind, summary, now_iso(occurred_at), share)
        return win

    # Forum -----------------------------------------------------------------
    def triage(self, org: str, item_id: str, *, status: str, priority: str, note: str | None,
               share: Sharing) -> Triage:
        at = now_iso()
        try:
            record = self.repository.get(Triage.create_id(item_id))
        except AggregateNotFoundError:
            record = Triage(item_id, org, status, priority, note, at, share)
        else:
            record.triage(item_id, org, status, priority, note, at, share)
        return record


def application_for(service: str, database_url: str) -> CoalitionApp:
    """The eventsourcing application of ``service``: table ``<service>_events`` in its own schema."""
    ensure_schema(database_url, service)
    cls = type(f"{service.capitalize()}App", (CoalitionApp,), {"name": service})
    return cls(env=DatabaseParams.from_url(database_url).eventsourcing_env(service))
