"""Domain event → contract on a subject: ``services.translator.translate``."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder

from contracts import decode_envelope, encode_envelope
from contracts.base import Contract
from contracts.registry import kind_of
from services.persistence import MsgspecMapper
from services.translator import translate
from tests.unit.examples import event_name, one_event_of_each_kind

EVENTS = [pytest.param(e, id=event_name(e)) for e in one_event_of_each_kind()]
_SHARING = ("tlp", "audience", "region", "refs")
_IDENTITY = ("originator_id", "originator_version", "timestamp", "originator_topic")

SUBJECTS = {
    "Attack.Reported": ("attack.reported", "attack.reported.v1"),
    "Attack.Resolved": ("attack.resolved", "attack.resolved.v1"),
    "Strike.Called": ("strike.called", "strike.called.v1"),
    "Strike.PicketScheduled": ("picket.scheduled", "picket.scheduled.v1"),
    "SolidarityRequest.Requested": ("solidarity.requested", "solidarity.requested.v1"),
    "Action.Called": ("action.called", "action.called.v1"),
    "Pledge.Made": ("action.pledged", "action.pledged.v1"),
    "Win.Recorded": ("win.recorded", "win.recorded.v1"),
    "Triage.Opened": ("item.triaged", "item.triaged.v1"),
    "Triage.Triaged": ("item.triaged", "item.triaged.v1"),
    # issue 11
    "Attack.Updated": ("attack.updated", "attack.updated.v1"),
    "Corroboration.Confirmed": ("attack.corroborated", "attack.corroborated.v1"),
    "Action.Completed": ("action.completed", "action.completed.v1"),
    "Statement.Published": ("statement.published", "statement.published.v1"),
    "VisitRequest.Requested": ("visit.requested", "visit.requested.v1"),
    "VisitConfirmation.Confirmed": ("visit.confirmed", "visit.confirmed.v1"),
    "VisitConfirmation.Done": ("visit.done", "visit.done.v1"),
    "VisitRefusal.Declined": ("visit.declined", "visit.declined.v1"),
    "Dispute.Declared": ("dispute.declared", "dispute.declared.v1"),
    "Ballot.Result": ("ballot.result", "ballot.result.v1"),
    "Strike.Ended": ("strike.ended", "strike.ended.v1"),
    "Branch.Registered": ("branch.registered", "branch.registered.v1"),
    "Branch.RepRegistered": ("rep.registered", "rep.registered.v1"),
}


def the_event(name: str) -> Any:
    return next(e for e in one_event_of_each_kind() if event_name(e) == name)


def test_every_stored_event_has_a_subject_here() -> None:
    assert sorted(SUBJECTS) == sorted(event_name(e) for e in one_event_of_each_kind())


@pytest.mark.parametrize("domain_event", EVENTS)
def test_the_subject_names_service_aggregate_and_event(domain_event: Any) -> None:
    subject, ce = translate("unions", domain_event)
    aggregate_and_event, kind = SUBJECTS[event_name(domain_event)]
    assert subject == f"coalition.unions.{aggregate_and_event}"
    assert ce.type == kind == kind_of(ce.data)


@pytest.mark.parametrize("domain_event", EVENTS)
def test_the_cloud_event_says_who_what_and_when(domain_event: Any) -> None:
    _, ce = translate("momentum", domain_event)
    assert ce.source == "/services/momentum"
    assert ce.subject == str(domain_event.originator_id)
    assert ce.time == domain_event.timestamp
    assert ce.tlp == ce.data.tlp == domain_event.sharing.tlp
    assert uuid.UUID(ce.id)


@pytest.mark.parametrize("domain_event", EVENTS)
def test_the_contract_carries_each_field_by_the_same_name(domain_event: Any) -> None:
    _, ce = translate("unions", domain_event)
    data: Contract = ce.data
    for name, value in vars(domain_event).items():
        if name in _IDENTITY or name == "sharing":
            continue
        assert getattr(data, name) == value, name
    for name in _SHARING:
        assert getattr(data, name) == getattr(domain_event.sharing, name), name


def test_the_same_event_always_gets_the_same_id() -> None:
    reported, resolved = the_event("Attack.Reported"), the_event("Attack.Resolved")
    assert translate("unions", reported)[1].id == translate("unions", reported)[1].id
    mapper = MsgspecMapper(transcoder=JSONTranscoder())
    read_back = mapper.to_domain_event(mapper.to_stored_event(reported))
    assert translate("unions", read_back)[1].id == translate("unions", reported)[1].id
    # the attack's next event is another event, with another id
    assert translate("unions", resolved)[1].id != translate("unions", reported)[1].id


def test_a_picket_belongs_to_its_strike() -> None:
    scheduled = the_event("Strike.PicketScheduled")
    _, ce = translate("unions", scheduled)
    assert ce.data.strike == str(scheduled.originator_id) == ce.subject
    assert ce.data.picket == scheduled.picket != ce.data.strike
    assert ce.data.refs == [ce.data.strike]


def test_a_triage_names_its_item() -> None:
    triaged = the_event("Triage.Triaged")
    _, ce = translate("forum", triaged)
    assert ce.data.item == triaged.item
    assert ce.subject == str(triaged.originator_id) != ce.data.item  # the record, not the item


def test_a_triage_stored_before_it_named_its_item_names_its_only_ref() -> None:
    triaged = the_event("Triage.Triaged")
    old = object.__new__(type(triaged))
    object.__setattr__(old, "__dict__", {k: v for k, v in vars(triaged).items() if k != "item"})
    assert translate("forum", old)[1].data.item == triaged.sharing.refs[0] == triaged.item


class Note(Aggregate):
    """A domain event no partner is told about."""

    @event("Written")
    def __init__(self, text: str) -> None:
        self.text = text


def test_a_domain_event_with_no_contract_is_a_lookup_error() -> None:
    [written] = Note("kept to ourselves").collect_events()
    with pytest.raises(LookupError, match="Note.Written"):
        translate("forum", written)


@pytest.mark.parametrize("domain_event", EVENTS)
def test_the_envelope_goes_on_the_wire_and_comes_back(domain_event: Any) -> None:
    _, ce = translate("unions", domain_event)
    raw = encode_envelope(ce)
    assert decode_envelope(raw) == ce
    assert msgspec.json.decode(raw)["data"]["kind"] == ce.type
