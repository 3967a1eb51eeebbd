"""The commands partners send: JSON bodies of the public HTTP API (msgspec Structs).

These are the fields partners code against; they are validated on the way in, and a
bad one gets a 400 that names the field. The limits are the contracts' own (``contracts.base``:
text without control characters, bounded strings, lists and numbers, instants between 1900
and 2200), so nothing accepted here can be refused downstream. ``org`` may be given, but
only as the caller.
A field keeps its name from here to the contract; where the API says ``kind``, the code
says ``attack_kind`` (``action_kind``, ``win_kind``), because ``kind`` is the contracts'
tag field: that one rename is declared here, with ``msgspec.field(name="kind")``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from contracts.attacks import AttackKind, Outcome, Sources, Targets
from contracts.base import (
    Audience,
    ItemId,
    Moment,
    OrgId,
    OrgIds,
    People,
    PersonalName,
    PlaceName,
    Refs,
    Severity,
    ShortText,
    Text,
    Tlp,
    check_times,
)
from contracts.campaigning import ActionKind, WinKind
from contracts.forum import Method, Position, Priority, Status
from contracts.industrial import Helps, Members, Sector, StrikeOutcome, Workplaces
from contracts.regions import canonical, describe
from services.domain.ballots import Tally, tally
from services.domain.sharing import Sharing


class Body(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What every command body is: no unknown field, every instant within the contracts' years,
    a ``region`` (if it has one) one of the vocabulary's, stored by its ONS name."""

    def __post_init__(self) -> None:
        check_times(self)
        place(self)


def place(body: msgspec.Struct) -> None:
    """Replace ``body``'s ``region`` by the ONS name of the region it names ("yorkshire" →
    "Yorkshire and The Humber"), or raise ValueError naming the field: the board counts and
    filters by these names, so the log gets no others."""
    region = getattr(body, "region", None)
    if region is None:
        return
    name = canonical(region)
    if name is None:
        raise ValueError(f"`region` {region!r} is not a UK nation or English region: {describe()}")
    if name != region:
        msgspec.structs.force_setattr(body, "region", name)


class Command(Body, frozen=True, kw_only=True):
    """Fields every publishing command may carry."""

    org: OrgId | None = None
    tlp: Tlp = "GREEN"
    audience: Audience | None = None
    region: PlaceName | None = None
    refs: Refs = []
    occurred_at: Moment | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.tlp == "AMBER+STRICT" and self.audience and len(set(self.audience)) > 1:
            # TLP 2.0: AMBER+STRICT is for one organisation only; partners would get none.
            raise ValueError("audience: AMBER+STRICT may name one organisation only")

    def sharing(self) -> Sharing:
        return Sharing(tlp=self.tlp, audience=self.audience, region=self.region, refs=list(self.refs))

    def fields(self) -> dict[str, Any]:
        """This command's own fields, by name, as its aggregate's event takes them."""
        return {name: getattr(self, name) for name in self.__struct_fields__ if name not in _COMMON}


_COMMON = frozenset(Command.__struct_fields__)

GroupIds = Annotated[list[ItemId], Meta(max_length=200, description="ids of registered local groups (at most 200)")]


class ReportAttack(Command, frozen=True):
    """Report an attack on members or organisations."""

    attack_kind: AttackKind = msgspec.field(name="kind")
    targets: Annotated[Targets, Meta(min_length=1)]
    summary: Text
    severity: Severity = "medium"
    sources: Sources = []


class ResolveAttack(Body, frozen=True, kw_only=True):
    """Record the outcome of an attack."""

    outcome: Outcome
    summary: Text | None = None
    occurred_at: Moment | None = None


class CallStrike(Command, frozen=True):
    """Call strike action (unions only)."""

    employer: ShortText
    sector: Sector
    workplaces: Annotated[Workplaces, Meta(min_length=1)]
    starts_on: date
    ends_on: date
    members_involved: Members

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")


class SchedulePicket(Body, frozen=True, kw_only=True):
    """Schedule a picket line during a strike."""

    where: ShortText
    when: Moment
    needs: Text | None = None
    tlp: Tlp | None = None
    region: PlaceName | None = None
    occurred_at: Moment | None = None


class RequestSolidarity(Command, frozen=True):
    """Ask the coalition for help with a dispute (``refs``: the strike)."""

    help: Annotated[Helps, Meta(min_length=1)]
    summary: Text


class CallAction(Command, frozen=True):
    """Call an action for an item (``refs``): where, when, what is asked."""

    action_kind: ActionKind = msgspec.field(name="kind")
    where: ShortText
    when: Moment
    asks: Text
    people_wanted: People | None = None
    """How many people are asked for: the board measures pledges against it (``asks`` is
    free text and never read for a number)."""
    groups: GroupIds = []
    """Registered local groups named in the action (their ids)."""


class MakePledge(Body, frozen=True, kw_only=True):
    """Pledge support to an action the organisation can see."""

    people: People = 0
    note: Text | None = None
    group: ShortText | None = None
    group_id: ItemId | None = None
    """A registered local group of the pledging organisation: the board counts pledges per
    group (``group`` is then its name, or left out)."""
    tlp: Tlp | None = None
    occurred_at: Moment | None = None


class RecordWin(Command, frozen=True):
    """Record a win to celebrate, linked to its items (``refs``)."""

    win_kind: WinKind = msgspec.field(name="kind")
    summary: Text
    groups: GroupIds = []
    """Registered local groups named in the win (their ids)."""


class TriageItem(Body, frozen=True, kw_only=True):
    """The forum sets an item's status and priority (a resolved or closed item is set back
    to an open status only with ``reopen``)."""

    status: Status
    priority: Priority = "normal"
    note: Text | None = None
    reopen: bool = False


class Acknowledge(Body, frozen=True, kw_only=True):
    """Someone has it: a new item becomes acknowledged."""

    note: Text | None = None


class SetPriority(Body, frozen=True, kw_only=True):
    """Change an item's priority; its status stays."""

    priority: Priority
    note: Text | None = None


class AssignLead(Body, frozen=True, kw_only=True):
    """Name the organisation that leads the response to an item."""

    lead_org: OrgId
    note: Text | None = None


class Resolve(Body, frozen=True, kw_only=True):
    """The item is resolved (the forum's status; the publisher records an attack's outcome)."""

    note: Text | None = None


class OpenResponse(Body, frozen=True, kw_only=True):
    """Open the coordinated response to an item: who leads, who coordinates, the plan."""

    lead_org: OrgId
    plan: Text
    coordinator: ShortText | None = None
    """Who coordinates; the logged-in person if not given."""


class AssignTask(Body, frozen=True, kw_only=True):
    """A task of an item's response for an organisation, with a due time."""

    assignee: OrgId
    task: Text
    due: Moment | None = None


class CompleteTask(Body, frozen=True, kw_only=True):
    """A task is done."""

    note: Text | None = None


class RecordReview(Body, frozen=True, kw_only=True):
    """After a response: what worked, what did not."""

    worked: Text
    did_not: Text | None = None


class ProposeDecision(Body, frozen=True, kw_only=True):
    """Put a question to the forum, on evidence (``refs``: items and events), with a review date.
    The board position and the digest of the board as the proposer saw it are added by the forum."""

    question: Text
    method: Method
    options: Annotated[list[ShortText], Meta(max_length=50)] = []
    refs: Refs = []
    review_on: date | None = None
    tlp: Tlp = "GREEN"
    audience: Audience | None = None


class TakePosition(Body, frozen=True, kw_only=True):
    """The organisation's position on a proposed decision (a later one replaces it)."""

    position: Position
    reason: Text | None = None


class MakeDecision(Body, frozen=True, kw_only=True):
    """Record the outcome of a decision, with its rationale, as the method's rule allows."""

    outcome: ShortText
    rationale: Text


# --- issue 11: the publishers' own work (caucus liaison, unions, across organisations) ---


class CorrectAttack(Body, frozen=True, kw_only=True):
    """Corrected facts about an attack this organisation reported: only what is given changes."""

    summary: Text | None = None
    severity: Severity | None = None
    targets: Annotated[Targets, Meta(min_length=1)] | None = None
    occurred_at: Moment | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.summary is None and self.severity is None and self.targets is None:
            raise ValueError("give at least one of `summary`, `severity`, `targets` to correct")


class CorroborateAttack(Body, frozen=True, kw_only=True):
    """Confirm an attack another organisation reported, with what this organisation knows."""

    evidence: Text | None = None
    tlp: Tlp | None = None
    occurred_at: Moment | None = None


class CompleteAction(Body, frozen=True, kw_only=True):
    """An action this organisation called took place: how many turned out, and the outcome."""

    turnout: Annotated[int, Meta(ge=0, le=100_000_000)]
    outcome: Text | None = None
    occurred_at: Moment | None = None


class PublishStatement(Command, frozen=True):
    """A public statement by the caucus, with the organisations that sign it."""

    title: ShortText
    text: Text
    signatories: OrgIds = []


class RequestVisit(Body, frozen=True, kw_only=True):
    """Ask the caucus liaison for an MP's visit to an item this organisation can see
    (``serves``: a picket, a rally, a local group's action)."""

    serves: ItemId
    where: ShortText
    when: Moment | None = None
    mp: ShortText | None = None
    note: Text | None = None
    tlp: Tlp | None = None
    region: PlaceName | None = None
    occurred_at: Moment | None = None


class ConfirmVisit(Body, frozen=True, kw_only=True):
    """The liaison confirms a requested visit, naming the MP who goes."""

    mp: ShortText
    when: Moment | None = None
    note: Text | None = None
    occurred_at: Moment | None = None


class DeclineVisit(Body, frozen=True, kw_only=True):
    """The liaison cannot send an MP, and says why."""

    reason: Text
    occurred_at: Moment | None = None


class MarkVisitDone(Body, frozen=True, kw_only=True):
    """A confirmed visit took place."""

    note: Text | None = None
    occurred_at: Moment | None = None


class DeclareDispute(Command, frozen=True):
    """Declare a trade dispute with an employer (unions only)."""

    employer: ShortText
    sector: Sector
    issues: Text


class RecordBallot(Command, frozen=True):
    """The counts of an industrial action ballot (``refs``: its dispute and/or strike, this
    union's own). Turnout, yes share and the legal thresholds are computed from them."""

    employer: ShortText
    eligible: Annotated[int, Meta(ge=1, le=10_000_000)]
    votes_cast: Annotated[int, Meta(ge=0, le=10_000_000)]
    yes_votes: Annotated[int, Meta(ge=0, le=10_000_000)]
    important_public_service: bool = False
    refs: Annotated[Refs, Meta(min_length=1)]

    def __post_init__(self) -> None:
        super().__post_init__()
        self.tally()  # counts that cannot all be true are refused on the way in

    def tally(self) -> Tally:
        return tally(self.eligible, self.votes_cast, self.yes_votes, self.important_public_service)


class EndStrike(Body, frozen=True, kw_only=True):
    """A strike of this union is over, with its outcome."""

    outcome: StrikeOutcome
    summary: Text | None = None
    occurred_at: Moment | None = None


class RegisterBranch(Command, frozen=True):
    """Register a branch of this union, in its region, with the workplaces it organises."""

    name: ShortText
    region: PlaceName  # type: ignore[assignment]  # a branch always has one
    workplaces: Workplaces = []
    contact: ShortText | None = None


class RegisterRep(Body, frozen=True, kw_only=True):
    """A workplace rep of one of this union's branches (``name`` is personal data: optional)."""

    workplace: ShortText
    role: ShortText | None = None
    name: PersonalName | None = None
    occurred_at: Moment | None = None


# --- end of issue 11's block ---------------------------------------------------------


class Created(msgspec.Struct, frozen=True):
    """The id of what a command created."""

    id: str


class Accepted(msgspec.Struct, frozen=True):
    """The id of the item a command changed, and its new version in the store."""

    id: str
    version: int


# --- The movement's own work (issue 11): local groups, casework, motions ------------------

from contracts.campaigning import MotionOutcome  # noqa: E402
from contracts.movement import CaseOutcome, Referral  # noqa: E402

from events.organisations import Username as Caseworker  # noqa: E402  # an account of the movement


class RegisterGroup(Command, frozen=True):
    """Register a local group of the movement, with its region."""

    name: ShortText
    region: PlaceName  # type: ignore[assignment]  # a group always has one


class OpenCase(Body, frozen=True, kw_only=True):
    """Open a case of the legal and pastoral support unit for a member hit by an attack.
    ``member`` and ``note`` stay in the movement's service, read by the ``caseworkers`` alone;
    the shared log learns only that the attack has support."""

    attack: ItemId
    member: PersonalName
    caseworkers: Annotated[list[Caseworker], Meta(min_length=1, max_length=20)]
    note: Text | None = None
    occurred_at: Moment | None = None


class ReferCase(Body, frozen=True, kw_only=True):
    """Refer a case: legal advice, pastoral support, appeal drafting."""

    referral: Referral
    note: Text | None = None
    occurred_at: Moment | None = None


class RecordCaseStep(Body, frozen=True, kw_only=True):
    """A step taken on a case (a call, a letter, a hearing), in the caseworkers' words."""

    note: Text
    occurred_at: Moment | None = None


class CloseCase(Body, frozen=True, kw_only=True):
    """The outcome of a case: reinstated, appeal lost…"""

    outcome: CaseOutcome
    note: Text | None = None
    occurred_at: Moment | None = None


class TableMotion(Command, frozen=True):
    """A motion tabled, with its outcome, answering the action or attack in ``refs``: by a
    local group (``group``) in its constituency party, or by the caucus in Parliament."""

    title: ShortText
    text: Text
    refs: Annotated[Refs, Meta(min_length=1)]  # type: ignore[assignment]
    body: ShortText
    """Where it was tabled: a constituency party, a branch, the House of Commons."""
    group: ItemId | None = None
    """The registered local group that tabled it."""
    outcome: MotionOutcome = "pending"
    sponsors: Annotated[list[ShortText], Meta(max_length=200)] = []


# --- The forum's record of its partners' subscriptions (issue 9) ---------------------------

from contracts.base import LogPosition  # noqa: E402
from contracts.partners import Change  # noqa: E402


class RecordPartnerChange(Body, frozen=True, kw_only=True):
    """The forum records a change an administrator made to what a partner receives
    (``coalition partners add|revoke|replay`` sends it once the change is made). Shared
    ``AMBER`` with the partner by default: the forum and that partner see it."""

    change: Change
    from_position: LogPosition | None = None
    """A replay's first log position (required for ``replayed``, refused otherwise)."""
    note: Text | None = None
    tlp: Tlp = "AMBER"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.change == "replayed" and self.from_position is None:
            raise ValueError("from_position: a replay starts from a log position")
        if self.change != "replayed" and self.from_position is not None:
            raise ValueError(f"from_position: only a replay starts from a position, not {self.change}")
