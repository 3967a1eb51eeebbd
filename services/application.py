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
from services.commands import (
    CallAction,
    CloseCase,
    CompleteAction,
    CorrectAttack,
    CorroborateAttack,
    MakePledge,
    OpenCase,
    RecordCaseStep,
    RecordWin,
    ReferCase,
    RegisterGroup,
    ReportAttack,
    RequestVisit,
    ResolveAttack,
    TableMotion,
)
from services.domain.attacks import AlreadyCorroborated, Attack, Corroboration, OwnAttack, corroboration_id
from services.domain.campaigns import Action, Pledge, Win
from services.domain.casework import Case
from services.domain.visits import VisitRequest
from contracts.movement import GroupRef
from services.domain.errors import ItemNotFound, NotYourItem
from services.domain.groups import Group, UnknownGroup
from services.domain.motions import Motion
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
        """An action; its head count is ``people_wanted``, never read out of ``asks``. With
        ``groups``, it loads them (I/O: call it in a worker thread)."""
        fields = dict(cmd.fields(), when=utc(cmd.when), groups=self.group_refs(org, cmd.groups, "groups"))
        return Action(org=org, occurred_at=utc(cmd.occurred_at), sharing=cmd.sharing(), **fields)

    def pledge(self, org: str, action: str, action_sharing: Sharing, cmd: MakePledge) -> Pledge:
        """A pledge to ``action`` (of any service), shared as the action is. With
        ``group_id``, the group is loaded (I/O: call it in a worker thread) and named."""
        group = cmd.group
        if cmd.group_id is not None:
            (ref,) = self.group_refs(org, [cmd.group_id], "group_id")
            if group is not None and group != ref.name:
                raise UnknownGroup("group", f"`group` is {group!r} but group {ref.id} is {ref.name!r}")
            group = ref.name
        return Pledge(org=org, action=action, people=cmd.people, note=cmd.note, group=group,
                      group_id=cmd.group_id, occurred_at=utc(cmd.occurred_at),
                      sharing=action_sharing.passed_on(action, tlp=cmd.tlp))

    def record_win(self, org: str, cmd: RecordWin) -> Win:
        fields = dict(cmd.fields(), groups=self.group_refs(org, cmd.groups, "groups"))
        return Win(org=org, occurred_at=utc(cmd.occurred_at), sharing=cmd.sharing(), **fields)

    def group_refs(self, org: str, ids: list[str], field: str) -> list[GroupRef]:
        """The registered local groups ``ids`` of ``org`` (id and name), in order; a 400
        naming ``field`` for an id that is not one of them."""
        refs = []
        for group_id in dict.fromkeys(ids):
            try:
                group = self.get_item(Group, group_id, org)
            except (ItemNotFound, NotYourItem):
                raise UnknownGroup(field, f"`{field}`: {org} has no registered local group {group_id}") from None
            refs.append(GroupRef(id=str(group.id), name=group.name))
        return refs

    # --- issue 11: turnout, and asking for an MP's visit -----------------------------

    def complete_action(self, org: str, action_id: str, cmd: CompleteAction) -> Action:
        """The turnout of an action ``org`` called, set against its pledges on the board."""
        action = self.get_item(Action, action_id, org)
        action.complete(cmd.turnout, cmd.outcome, utc(cmd.occurred_at))
        return action

    def request_visit(self, org: str, served_sharing: Sharing, cmd: RequestVisit) -> VisitRequest:
        """Ask for an MP's visit to the item ``cmd.serves`` (any service's), shared as it is."""
        sharing = served_sharing.passed_on(cmd.serves, tlp=cmd.tlp, region=cmd.region)
        return VisitRequest(org=org, serves=cmd.serves, where=cmd.where, when=cmd.when and utc(cmd.when),
                            mp=cmd.mp, note=cmd.note, occurred_at=utc(cmd.occurred_at), sharing=sharing)


class PublisherApp(CampaignApp):
    """What the movement, the caucus and the unions share: attacks, besides campaigning."""

    def report_attack(self, org: str, cmd: ReportAttack) -> Attack:
        return Attack(org=org, occurred_at=utc(cmd.occurred_at), sharing=cmd.sharing(), **cmd.fields())

    def resolve_attack(self, org: str, attack_id: str, cmd: ResolveAttack) -> Attack:
        attack = self.get_item(Attack, attack_id, org)
        attack.resolve(cmd.outcome, cmd.summary, utc(cmd.occurred_at))
        return attack

    # --- issue 11: corrections and corroboration ---------------------------------------

    def correct_attack(self, org: str, attack_id: str, cmd: CorrectAttack) -> Attack:
        """Corrected facts, by the organisation that reported the attack only."""
        attack = self.get_item(Attack, attack_id, org)
        attack.correct(cmd.summary, cmd.severity, cmd.targets, utc(cmd.occurred_at))
        return attack

    def corroborate_attack(self, org: str, attack_id: str, reported_by: str, attack_sharing: Sharing,
                           cmd: CorroborateAttack) -> Corroboration:
        """``org`` confirms an attack another organisation reported (found on the board);
        once per organisation (the corroboration's id is derived from both)."""
        if reported_by == org:
            raise OwnAttack(f"{org} reported attack {attack_id}: corroboration comes from another organisation")
        if self.recorder.select_events(corroboration_id(attack_id, org), limit=1):
            raise AlreadyCorroborated(f"{org} has corroborated attack {attack_id} already")
        return Corroboration(org=org, attack=attack_id, evidence=cmd.evidence, occurred_at=utc(cmd.occurred_at),
                             sharing=attack_sharing.passed_on(attack_id, tlp=cmd.tlp))


# --- The movement's own work (issue 11) -----------------------------------------------------

class TablesMotions(CampaignApp):
    """Motions: one command and one aggregate, offered by the movement (a local group's
    motion in its constituency party) and by the caucus (in Parliament)."""

    def table_motion(self, org: str, cmd: TableMotion) -> Motion:
        """A motion with its outcome; with ``group``, the group is loaded (I/O: call it in a
        worker thread) and named by id and name."""
        group = self.group_refs(org, [cmd.group], "group")[0] if cmd.group else None
        fields = dict(cmd.fields(), group=group)
        return Motion(org=org, occurred_at=utc(cmd.occurred_at), sharing=cmd.sharing(), **fields)


class MovementApp(TablesMotions, PublisherApp):
    """What the movement offers besides publishing: local groups and casework."""

    def register_group(self, org: str, cmd: RegisterGroup) -> Group:
        return Group(org=org, occurred_at=utc(cmd.occurred_at), sharing=cmd.sharing(), **cmd.fields())

    def open_case(self, org: str, attack_sharing: Sharing, cmd: OpenCase, by: str | None = None) -> Case:
        """A case for the attack ``cmd.attack`` (on the board, seen by ``org``): its safe
        summary is shared exactly as the attack is (it is shown on the attack's card), its
        content with nobody."""
        return Case(org=org, attack=cmd.attack, member=cmd.member, caseworkers=list(dict.fromkeys(cmd.caseworkers)),
                    note=cmd.note, by=by, occurred_at=utc(cmd.occurred_at),
                    sharing=attack_sharing.passed_on(cmd.attack))

    def case(self, org: str, case_id: str) -> Case:
        return self.get_item(Case, case_id, org)

    def refer_case(self, org: str, case_id: str, cmd: ReferCase, by: str | None = None) -> Case:
        case = self.case(org, case_id)
        case.refer(cmd.referral, cmd.note, by, utc(cmd.occurred_at))
        return case

    def record_case_step(self, org: str, case_id: str, cmd: RecordCaseStep, by: str | None = None) -> Case:
        case = self.case(org, case_id)
        case.record_step(cmd.note, by, utc(cmd.occurred_at))
        return case

    def close_case(self, org: str, case_id: str, cmd: CloseCase, by: str | None = None) -> Case:
        case = self.case(org, case_id)
        case.close(cmd.outcome, cmd.note, by, utc(cmd.occurred_at))
        return case
