"""The commands partners send: JSON bodies of the public HTTP API (msgspec Structs).

These are the fields partners code against; they are validated on the way in, and a
bad one gets a 400 that names the field. ``org`` may be given, but only as the caller.
A field keeps its name from here to the contract; where the API says ``kind``, the code
says ``attack_kind`` (``action_kind``, ``win_kind``), because ``kind`` is the contracts'
tag field: that one rename is declared here, with ``msgspec.field(name="kind")``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from contracts.attacks import AttackKind, Outcome
from contracts.base import ItemId, OrgId, Region, Severity, ShortText, Target, Text, Tlp
from contracts.campaigning import ActionKind, WinKind
from contracts.forum import Priority, Status
from contracts.industrial import Help, Sector
from services.domain.sharing import Sharing

People = Annotated[int, Meta(ge=0, le=1_000_000)]


class Command(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Fields every publishing command may carry."""

    org: OrgId | None = None
    tlp: Tlp = "GREEN"
    audience: list[OrgId] | None = None
    region: Region | None = None
    refs: list[ItemId] = []
    occurred_at: datetime | None = None

    def sharing(self) -> Sharing:
        return Sharing(tlp=self.tlp, audience=self.audience, region=self.region, refs=list(self.refs))

    def fields(self) -> dict[str, Any]:
        """This command's own fields, by name, as its aggregate's event takes them."""
        return {name: getattr(self, name) for name in self.__struct_fields__ if name not in _COMMON}


_COMMON = frozenset(Command.__struct_fields__)


class ReportAttack(Command, frozen=True):
    """Report an attack on members or organisations."""

    attack_kind: AttackKind = msgspec.field(name="kind")
    targets: Annotated[list[Target], Meta(min_length=1, max_length=200)]
    summary: Text
    severity: Severity = "medium"
    sources: list[ShortText] = []


class ResolveAttack(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Record the outcome of an attack."""

    outcome: Outcome
    summary: Text | None = None
    occurred_at: datetime | None = None


class CallStrike(Command, frozen=True):
    """Call strike action (unions only)."""

    employer: ShortText
    sector: Sector
    workplaces: Annotated[list[ShortText], Meta(min_length=1, max_length=500)]
    starts_on: date
    ends_on: date
    members_involved: Annotated[int, Meta(ge=1, le=10_000_000)]

    def __post_init__(self) -> None:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")


class SchedulePicket(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Schedule a picket line during a strike."""

    where: ShortText
    when: datetime
    needs: Text | None = None
    tlp: Tlp | None = None
    region: Region | None = None
    occurred_at: datetime | None = None


class RequestSolidarity(Command, frozen=True):
    """Ask the coalition for help with a dispute (``refs``: the strike)."""

    help: Annotated[list[Help], Meta(min_length=1)]
    summary: Text


class CallAction(Command, frozen=True):
    """Call an action for an item (``refs``): where, when, what is asked."""

    action_kind: ActionKind = msgspec.field(name="kind")
    where: ShortText
    when: datetime
    asks: Text
    people_wanted: People | None = None


class MakePledge(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Pledge support to an action the organisation can see."""

    people: People = 0
    note: Text | None = None
    group: ShortText | None = None
    tlp: Tlp | None = None
    occurred_at: datetime | None = None


class RecordWin(Command, frozen=True):
    """Record a win to celebrate, linked to its items (``refs``)."""

    win_kind: WinKind = msgspec.field(name="kind")
    summary: Text


class TriageItem(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The forum sets an item's status and priority."""

    status: Status
    priority: Priority = "normal"
    note: Text | None = None


class Created(msgspec.Struct, frozen=True):
    """The id of what a command created."""

    id: str


class Accepted(msgspec.Struct, frozen=True):
    """The id of the item a command changed, and its new version in the store."""

    id: str
    version: int
