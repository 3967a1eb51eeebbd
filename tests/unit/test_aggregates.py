"""The aggregates each service owns (``services/domain``), on their own: no store at all."""

from __future__ import annotations

import uuid

import pytest

from services.domain.errors import AlreadyResolved
from services.domain.triage import Triage
from tests.unit.examples import (
    AT,
    FOR_FBU,
    PUBLISHER,
    TARGETS,
    WHEN,
    action,
    attack,
    new_id,
    strike,
)


def test_an_attack_is_reported_with_its_facts_and_no_outcome() -> None:
    reported = attack()

    assert (reported.org, reported.attack_kind, reported.severity) == (PUBLISHER, "suspension", "high")
    assert reported.targets == TARGETS
    assert reported.sharing == FOR_FBU
    assert reported.outcome is None
    [event] = reported.collect_events()
    assert type(event).__qualname__ == "Attack.Reported"
    assert event.occurred_at == AT


def test_an_attack_is_resolved_once_then_already_resolved() -> None:
    reported = attack()
    reported.resolve("reinstated", "Reinstated on appeal", AT)
    assert reported.outcome == "reinstated"
    assert reported.version == 2

    with pytest.raises(AlreadyResolved, match="reinstated"):
        reported.resolve("upheld", None, AT)
    assert reported.outcome == "reinstated"
    assert reported.version == 2  # the refusal recorded nothing


def test_the_resolution_is_shared_as_the_attack_and_by_its_publisher() -> None:
    reported = attack()
    reported.resolve("withdrawn", None, AT)
    resolved = reported.collect_events()[-1]
    assert (resolved.org, resolved.sharing, resolved.outcome) == (PUBLISHER, FOR_FBU, "withdrawn")


def test_a_strike_schedules_a_picket_and_returns_its_id() -> None:
    called = strike()

    picket = called.schedule_picket("Euston station", WHEN, "Flasks of tea", AT)

    assert uuid.UUID(picket)
    assert called.pickets == [picket]
    scheduled = called.collect_events()[-1]
    assert (scheduled.picket, scheduled.where, scheduled.when) == (picket, "Euston station", WHEN)


def test_a_picket_is_shared_as_its_strike_unless_told_stricter() -> None:
    called = strike()
    called.schedule_picket("Euston station", WHEN, None, AT)
    called.schedule_picket("Camden depot", WHEN, None, AT, tlp="RED", region="North London")
    as_strike, stricter = called.collect_events()[1:]

    assert as_strike.sharing.tlp == "AMBER"
    assert as_strike.sharing.audience == FOR_FBU.audience
    assert as_strike.sharing.refs == [str(called.id)]
    assert (stricter.sharing.tlp, stricter.sharing.region) == ("RED", "North London")


def test_an_action_is_called_for_people_at_a_time() -> None:
    called = action()
    assert (called.action_kind, called.when, called.people_wanted) == ("picket_support", WHEN, 40)


def test_a_triage_id_is_derived_from_its_item() -> None:
    item = new_id()
    record = Triage(item, "forum", "new", "normal", None, AT, FOR_FBU.passed_on(item))

    assert record.id == Triage.create_id(item)
    assert Triage.create_id(item) == Triage.create_id(item)
    assert Triage.create_id(item) != Triage.create_id(new_id())
    assert (record.item, record.status, record.priority) == (item, "new", "normal")


def test_a_triage_changes_status_and_priority() -> None:
    item = new_id()
    record = Triage(item, "forum", "new", "normal", None, AT, FOR_FBU.passed_on(item))
    record.triage(item, "forum", "responding", "urgent", "Calling the branch", AT, FOR_FBU.passed_on(item))
    assert (record.status, record.priority, record.version) == ("responding", "urgent", 2)
