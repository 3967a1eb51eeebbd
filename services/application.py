"""The core the services share: an eventsourcing ``Application`` stored in its service's
own schema, and the commands of campaigning and publishing.

Each service module subclasses one of these with only the commands it offers
(``services.momentum``, ``services.scg``, ``services.unions``, ``services.forum``).
Methods take simple values and commands, raise the domain's own errors and return the
new or changed aggregate. A method that creates an item does no I/O; one that changes an
item loads it (synchronous I/O: the HTTP layer runs it in a worker thread). Saving is
left to the caller, so that the HTTP layer can commit concurrent commands together
(``services.committer``) and scripts can save thousands in one transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from events.db import ensure_schema
from events.settings import DatabaseParams
from services.commands import CallAction, MakePledge, RecordWin, ReportAttack, ResolveAttack
from services.domain.attacks import Attack
from services.domain.campaigns import Action, Pledge, Win
from services.domain.errors import ItemNotFound, NotYourItem
from services.domain.sharing import Sharing
from services.persistence import MsgspecMapper

A = TypeVar("A", bound=Aggregate)
S = TypeVar("S", bound="ServiceApplication")


def utc(at: datetime | None = None) -> datetime:
    """``at`` (or now) in UTC: every time on the log is UTC."""
    return (at or datetime.now(UTC)).astimezone(UTC)


class ServiceApplication(Application[uuid.UUID]):
    """One service's event store: table ``<name>_events`` in schema ``<name>``."""

    env: ClassVar[dict[str, str]] = {"MAPPER_TOPIC": get_topic(MsgspecMapper)}

    def get_item(self, cls: type[A], item_id: str, org: str | None = None) -> A:
        """Item ``item_id`` of this store, of type ``cls`` and, if ``org`` is given, theirs."""
        try:
            agg = self.repository.get(uuid.UUID(item_id))
        except (AggregateNotFoundError, ValueError):
            raise ItemNotFound(f"no {cls.__name__.lower()} with id {item_id}") from None
        if not isinstance(agg, cls):
            raise ItemNotFound(f"no {cls.__name__.lower()} with id {item_id}")
        owner = getattr(agg, "org", org)
        if org is not None and owner != org:
            raise NotYourItem(f"{cls.__name__.lower()} {item_id} was published by {owner}, not {org}")
        return agg


def open_application(cls: type[S], database_url: str) -> S:
    """The application ``cls`` on PostgreSQL at ``database_url``, in its own schema."""
    ensure_schema(database_url, cls.name)
    return cls(env=DatabaseParams.from_url(database_url).eventsourcing_env(cls.name))


class CampaignApp(ServiceApplication):
    """Actions, pledges and wins: what every service that campaigns offers."""

    def call_action(self, org: str, cmd: CallAction) -> Action:
        """An action; its head count is ``people_wanted``, never read out of ``asks``."""
        fields = dict(cmd.fields(), when=utc(cmd.when))
        return Action(org=org, occurred_at=utc(cmd.occurred_at), sharing=cmd.sharing(), **fields)

    def pledge(self, org: str, action: str, action_sharing: Sharing, cmd: MakePledge) -> Pledge:
        """A pledge to ``action`` (of any service), shared as the action is."""
        return Pledge(org=org, action=action, people=cmd.people, note=cmd.note, group=cmd.group,
                      occurred_at=utc(cmd.occurred_at), sharing=action_sharing.passed_on(action, tlp=cmd.tlp))

    def record_win(self, org: str, cmd: RecordWin) -> Win:
        return Win(org=org, occurred_at=utc(cmd.occurred_at), sharing=cmd.sharing(), **cmd.fields())


class PublisherApp(CampaignApp):
    """What the movement, the caucus and the unions share: attacks, besides campaigning."""

    def report_attack(self, org: str, cmd: ReportAttack) -> Attack:
        return Attack(org=org, occurred_at=utc(cmd.occurred_at), sharing=cmd.sharing(), **cmd.fields())

    def resolve_attack(self, org: str, attack_id: str, cmd: ResolveAttack) -> Attack:
        attack = self.get_item(Attack, attack_id, org)
        attack.resolve(cmd.outcome, cmd.summary, utc(cmd.occurred_at))
        return attack
