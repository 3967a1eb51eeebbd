"""Typed values through the store: ``services.persistence.MsgspecMapper``.

Each domain event comes back from its stored form as it went in: aware UTC datetimes,
dates, ``Target`` and ``Sharing`` Structs, a UUID originator. Events stored before the
redesign, by eventsourcing's default mapper and JSON transcoder with the values the old
code gave it (ISO strings, plain dicts), are still read back with those types.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)

from contracts.base import Target
from services.commands import TriageItem
from services.domain.attacks import Attack
from services.domain.sharing import Sharing
from services.domain.triage import Triage
from services.forum import ForumApp
from services.persistence import MsgspecMapper
from services.unions import UnionsApp
from tests.unit.examples import AT, IN_MEMORY, attack, event_name, new_id, one_event_of_each_kind

EVENTS = [pytest.param(e, id=event_name(e)) for e in one_event_of_each_kind()]


def old_transcoder() -> JSONTranscoder:
    """eventsourcing's default JSON transcoder, as ``Application`` registers it."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return transcoder


def new_mapper() -> MsgspecMapper:
    return MsgspecMapper(transcoder=old_transcoder())


def the_old_way(domain_event: Any, *, drop: str | None = None) -> StoredEvent:
    """``domain_event`` as the old code stored it: its own times and dates as ISO strings,
    Structs as dicts (the transcoder itself tags the ``timestamp``), by the default mapper."""
    old = {}
    for name, value in vars(domain_event).items():
        if name == drop:
            continue
        if name in ("originator_id", "originator_version", "timestamp"):
            old[name] = value
        elif isinstance(value, (datetime, date)):
            old[name] = value.isoformat()
        else:
            old[name] = msgspec.to_builtins(value)
    event = object.__new__(type(domain_event))
    object.__setattr__(event, "__dict__", old)
    return Mapper(transcoder=old_transcoder()).to_stored_event(event)


def assert_same_typed_values(back: Any, domain_event: Any) -> None:
    assert type(back) is type(domain_event)
    assert vars(back) == vars(domain_event)
    for name, value in vars(domain_event).items():
        assert type(getattr(back, name)) is type(value), name


@pytest.mark.parametrize("domain_event", EVENTS)
def test_an_event_comes_back_as_it_went_in(domain_event: Any) -> None:
    mapper = new_mapper()
    stored = mapper.to_stored_event(domain_event)

    assert b"_type_" not in stored.state  # plain JSON: no transcoder tags
    assert_same_typed_values(mapper.to_domain_event(stored), domain_event)


def test_the_values_an_attack_report_holds_keep_their_types() -> None:
    [reported] = attack().collect_events()
    mapper = new_mapper()
    back = mapper.to_domain_event(mapper.to_stored_event(reported))

    assert isinstance(back.originator_id, uuid.UUID)
    assert back.occurred_at == AT and back.occurred_at.utcoffset() == timedelta(0)
    assert back.timestamp.tzinfo is not None
    assert back.targets == [Target(kind="member", name="A. Member")]
    assert isinstance(back.sharing, Sharing)


def test_a_strikes_dates_stay_dates() -> None:
    called = next(e for e in one_event_of_each_kind() if event_name(e) == "Strike.Called")
    mapper = new_mapper()
    back = mapper.to_domain_event(mapper.to_stored_event(called))
    assert back.starts_on == date(2026, 12, 1) and type(back.starts_on) is date


@pytest.mark.parametrize("domain_event", EVENTS)
def test_an_event_stored_the_old_way_is_read_back_typed(domain_event: Any) -> None:
    stored = the_old_way(domain_event)
    assert b'"_type_":"datetime_iso"' in stored.state  # really the old format
    assert b'"occurred_at":"2026-11-20T09:30:00+00:00"' in stored.state

    assert_same_typed_values(new_mapper().to_domain_event(stored), domain_event)


def test_an_attack_stored_the_old_way_loads_in_the_application() -> None:
    unions = UnionsApp(env=IN_MEMORY)
    reported = attack()
    reported.resolve("reinstated", None, AT)
    unions.recorder.insert_events([the_old_way(e) for e in reported.collect_events()])

    again: Attack = unions.repository.get(reported.id)
    assert again.targets == [Target(kind="member", name="A. Member")]
    assert again.sharing == reported.sharing
    assert again.outcome == "reinstated"


def test_an_item_triaged_twice_before_triaged_named_its_item_can_be_triaged_again() -> None:
    forum = ForumApp(env=IN_MEMORY)
    item = new_id()
    sharing = Sharing(tlp="GREEN").passed_on(item)
    record = Triage(item, "forum", "acknowledged", "normal", None, AT, sharing)
    record.triage(item, "forum", "responding", "high", None, AT, sharing)
    opened, triaged = record.collect_events()
    forum.recorder.insert_events([the_old_way(opened), the_old_way(triaged, drop="item")])

    again = forum.triage("forum", item, Sharing(tlp="GREEN"), TriageItem(status="resolved"))

    assert (again.status, again.version) == ("resolved", 3)


def test_the_old_time_strings_become_aware_utc_datetimes() -> None:
    [reported] = attack().collect_events()
    back = new_mapper().to_domain_event(the_old_way(reported))
    assert back.occurred_at == AT
    assert back.occurred_at.utcoffset() == timedelta(0)
