"""Domain event → contract, explicitly: which contract each published domain event
becomes, and on which subject.

The domain model is not the wire format: partners code against ``contracts/``, and this
module is the only place that knows both. A field keeps its name from the command to the
contract, so each translation copies the contract's fields from the domain event by name
and says only what differs; a contract field the event lacks fails loudly here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import msgspec

from contracts.attacks import AttackCorroborated, AttackReported, AttackResolved, AttackUpdated
from contracts.base import Contract
from contracts.branches import BranchRegistered, RepRegistered
from contracts.campaigning import (
    ActionCalled,
    ActionCompleted,
    ActionPledged,
    MotionTabled,
    StatementPublished,
    WinRecorded,
)
from contracts.envelope import MAX_ENVELOPE, CloudEvent, decode_envelope, encode_envelope
from contracts.forum import (
    DecisionMade,
    DecisionPositionTaken,
    DecisionProposed,
    ItemEscalated,
    ItemTriaged,
    ResponseOpened,
    ReviewRecorded,
    TaskAssigned,
    TaskDone,
)
from contracts.industrial import (
    BallotResult,
    DisputeDeclared,
    PicketScheduled,
    SolidarityRequested,
    StrikeCalled,
    StrikeEnded,
)
from contracts.movement import CaseOpened, CaseProgressed, GroupRegistered
from contracts.partners import PartnerChanged
from contracts.registry import kind_of
from contracts.visits import VisitConfirmed, VisitDeclined, VisitDone, VisitRequested


_EVENT_IDS = uuid.UUID("6f1c8f0e-6b0a-4c52-9a55-3e2a0c0a7f11")
_SHARING = ("tlp", "audience", "region", "refs")

Overrides = Callable[[Any], dict[str, Any]]


def _none(_: Any) -> dict[str, Any]:
    return {}


def _picket(e: Any) -> dict[str, Any]:
    # a picket is an event of its strike's aggregate: the strike is the originator
    return {"strike": str(e.originator_id)}


def _triaged(e: Any) -> dict[str, Any]:
    # Triaged events stored before they carried ``item`` name it as their only ref.
    return {"item": getattr(e, "item", None) or e.sharing.refs[0]}


def _task(e: Any) -> dict[str, Any]:
    # a task is its own aggregate: its id is the subject, and named in the event too
    return {"task_id": str(e.originator_id)}


#: domain event class → (aggregate and event as they appear in the subject, contract, overrides)
TRANSLATIONS: dict[str, tuple[str, str, type[Contract], Overrides]] = {
    "Attack.Reported": ("attack", "reported", AttackReported, _none),
    "Attack.Resolved": ("attack", "resolved", AttackResolved, _none),
    "Strike.Called": ("strike", "called", StrikeCalled, _none),
    "Strike.PicketScheduled": ("picket", "scheduled", PicketScheduled, _picket),
    "SolidarityRequest.Requested": ("solidarity", "requested", SolidarityRequested, _none),
    "Action.Called": ("action", "called", ActionCalled, _none),
    "Pledge.Made": ("action", "pledged", ActionPledged, _none),
    "Win.Recorded": ("win", "recorded", WinRecorded, _none),
    "Triage.Opened": ("item", "triaged", ItemTriaged, _triaged),
    "Triage.Triaged": ("item", "triaged", ItemTriaged, _triaged),
    "Escalation.Escalated": ("item", "escalated", ItemEscalated, _none),
    "Response.Opened": ("response", "opened", ResponseOpened, _none),
    "Response.ReviewRecorded": ("review", "recorded", ReviewRecorded, _none),
    "Task.Assigned": ("task", "assigned", TaskAssigned, _task),
    "Task.Done": ("task", "done", TaskDone, _task),
    "Decision.Proposed": ("decision", "proposed", DecisionProposed, _none),
    "Decision.PositionTaken": ("decision", "position_taken", DecisionPositionTaken, _none),
    "Decision.Made": ("decision", "made", DecisionMade, _none),
    # --- issue 11: the publishers' own work ---
    "Attack.Updated": ("attack", "updated", AttackUpdated, _none),
    "Corroboration.Confirmed": ("attack", "corroborated", AttackCorroborated, _none),
    "Action.Completed": ("action", "completed", ActionCompleted, _none),
    "Statement.Published": ("statement", "published", StatementPublished, _none),
    "VisitRequest.Requested": ("visit", "requested", VisitRequested, _none),
    "VisitConfirmation.Confirmed": ("visit", "confirmed", VisitConfirmed, _none),
    "VisitConfirmation.Done": ("visit", "done", VisitDone, _none),
    "VisitRefusal.Declined": ("visit", "declined", VisitDeclined, _none),
    "Dispute.Declared": ("dispute", "declared", DisputeDeclared, _none),
    "Ballot.Result": ("ballot", "result", BallotResult, _none),
    "Strike.Ended": ("strike", "ended", StrikeEnded, _none),
    "Branch.Registered": ("branch", "registered", BranchRegistered, _none),
    "Branch.RepRegistered": ("rep", "registered", RepRegistered, _none),
}


# --- The movement's own work (issue 11) ----------------------------------------------------
# A case's events hold the member's name and the caseworkers' notes: each becomes a contract
# with no field for either (``contracts.movement``), so only the safe summary is copied.
TRANSLATIONS.update({
    "Group.Registered": ("group", "registered", GroupRegistered, _none),
    "Case.Opened": ("case", "opened", CaseOpened, _none),
    "Case.Referred": ("case", "progressed", CaseProgressed, _none),
    "Case.StepRecorded": ("case", "progressed", CaseProgressed, _none),
    "Case.Closed": ("case", "progressed", CaseProgressed, _none),
    "Motion.Tabled": ("motion", "tabled", MotionTabled, _none),
})

# --- The forum's record of its partners' subscriptions (issue 9) ---------------------------
# One aggregate per partner (its subject); its first change and every later one alike.
TRANSLATIONS.update({
    "Partnership.Recorded": ("partner", "changed", PartnerChanged, _none),
    "Partnership.Changed": ("partner", "changed", PartnerChanged, _none),
})


def contract_of(domain_event: Any, contract: type[Contract], overrides: Overrides = _none) -> Contract:
    """``contract`` with each of its fields taken from the domain event of the same name
    (the sharing fields from its ``sharing``), then ``overrides``."""
    fields = {name: getattr(domain_event, name) for name in contract.__struct_fields__
              if name not in _SHARING and hasattr(domain_event, name)}
    sharing = domain_event.sharing
    fields.update({name: getattr(sharing, name) for name in _SHARING}, **overrides(domain_event))
    return contract(**fields)


def translate(service: str, domain_event: Any) -> tuple[str, CloudEvent]:
    """The NATS subject and CloudEvent for one stored domain event."""
    name = type(domain_event).__qualname__
    try:
        aggregate, verb, contract, overrides = TRANSLATIONS[name]
    except KeyError:
        raise LookupError(f"no contract for domain event {name}") from None
    data = contract_of(domain_event, contract, overrides)
    originator = str(domain_event.originator_id)
    envelope = CloudEvent(
        id=str(uuid.uuid5(_EVENT_IDS, f"{originator}:{domain_event.originator_version}")),
        source=f"/services/{service}",
        type=kind_of(data),
        subject=originator,
        time=domain_event.timestamp,
        tlp=data.tlp,
        data=data,
    )
    return f"coalition.{service}.{aggregate}.{verb}", envelope


class Unpublishable(ValueError):
    """A command whose event would not be a valid shared event: refused before it is stored."""


class TooLargeToPublish(Unpublishable):
    """A command whose event would be larger than the shared log carries."""


class Prepared(NamedTuple):
    """A domain event translated and encoded, as it will travel on the shared log."""

    subject: str
    envelope: CloudEvent
    payload: bytes


def check_publishable(service: str, domain_events: Iterable[Any]) -> list[Prepared]:
    """Refuse, before they are stored, events that the relay could not publish or that a
    reader would have to refuse: each is translated, encoded, measured and decoded again,
    exactly as it will travel. A stored event the log cannot take would stop its relay.
    Returns each event as it will travel, for the relay to publish without translating again."""
    prepared: list[Prepared] = []
    for event in domain_events:
        # A translation that fails is a bug, not bad input: it raises as it is (a 500,
        # logged), and the event is not stored to stall the relay.
        subject, envelope = translate(service, event)
        raw = encode_envelope(envelope)
        if len(raw) > MAX_ENVELOPE:
            raise TooLargeToPublish(f"the event would take {len(raw):,} bytes on the shared log; "
                                    f"at most {MAX_ENVELOPE:,} are allowed")
        try:
            decode_envelope(raw)
        except msgspec.ValidationError as exc:
            raise Unpublishable(f"the event would not be a valid {envelope.type}: {exc}") from None
        prepared.append(Prepared(subject, envelope, raw))
    return prepared
