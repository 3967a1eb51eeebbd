"""The services' applications, in memory: commands in, aggregates saved and read back.

The applications are the real ones (``MomentumApp``, ``UnionsApp``, ``ForumApp``) on
eventsourcing's in-memory store, with the services' msgspec mapper; the commands are
decoded from the JSON bodies partners send.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import msgspec
import pytest

from services.commands import (
    CallAction,
    CallStrike,
    MakePledge,
    RecordWin,
    ReportAttack,
    ResolveAttack,
    SchedulePicket,
    TriageItem,
)
from services.domain.attacks import Attack
from services.domain.errors import AlreadyResolved, ItemNotFound, NotYourItem
from services.domain.industrial import Strike
from services.domain.sharing import Sharing
from services.domain.triage import Triage
from services.forum import ForumApp
from services.momentum import MomentumApp
from services.unions import UnionsApp
from tests.unit.examples import (
    AT,
    ATTACK_BODY,
    FOR_FBU,
    IN_MEMORY,
    NAMED,
    PUBLISHER,
    STRIKE_BODY,
    WHEN,
    action_body,
    new_id,
)

REINSTATED = ResolveAttack(outcome="reinstated", summary="Reinstated on appeal")


@pytest.fixture
def unions() -> UnionsApp:
    return UnionsApp(env=IN_MEMORY)


def reported(app: UnionsApp, org: str = PUBLISHER) -> str:
    """``org`` reports the example attack; its id."""
    attack = app.report_attack(org, msgspec.json.decode(ATTACK_BODY, type=ReportAttack))
    app.save(attack)
    return str(attack.id)


def test_the_api_says_kind_where_the_code_says_attack_kind() -> None:
    cmd = msgspec.json.decode(ATTACK_BODY, type=ReportAttack)
    assert b'"kind":"suspension"' in ATTACK_BODY
    assert cmd.attack_kind == "suspension"
    assert msgspec.json.decode(action_body(), type=CallAction).action_kind == "picket_support"
    assert msgspec.json.decode(b'{"kind": "strike_won", "summary": "Pay rise"}',
                               type=RecordWin).win_kind == "strike_won"
    with pytest.raises(msgspec.ValidationError, match="attack_kind"):
        msgspec.json.decode(ATTACK_BODY.replace(b'"kind"', b'"attack_kind"'), type=ReportAttack)


def test_a_union_reports_an_attack_and_reads_it_back_typed(unions: UnionsApp) -> None:
    attack_id = reported(unions)

    attack = unions.repository.get(uuid.UUID(attack_id))
    assert isinstance(attack, Attack)
    assert attack.org == PUBLISHER
    assert attack.targets[0].name == "A. Member"  # a Target again, not a dict
    assert attack.sharing == Sharing(tlp="GREEN", region="London")


def test_the_union_calls_a_strike_then_schedules_a_picket(unions: UnionsApp) -> None:
    cmd = msgspec.structs.replace(msgspec.json.decode(STRIKE_BODY, type=CallStrike), tlp="AMBER",
                                  audience=[NAMED])
    strike = unions.call_strike(PUBLISHER, cmd)
    unions.save(strike)

    changed, picket = unions.schedule_picket(PUBLISHER, str(strike.id),
                                             SchedulePicket(where="Euston station", when=WHEN))
    unions.save(changed)

    again: Strike = unions.repository.get(strike.id)
    assert again.pickets == [picket]
    scheduled = list(unions.events.get(strike.id))[-1]
    assert scheduled.sharing == Sharing(tlp="AMBER", audience=[NAMED], refs=[str(strike.id)])


def test_another_union_cannot_resolve_rmts_attack(unions: UnionsApp) -> None:
    attack_id = reported(unions)
    with pytest.raises(NotYourItem, match="published by rmt, not fbu"):
        unions.resolve_attack("fbu", attack_id, REINSTATED)


def test_an_attack_resolved_twice_is_already_resolved(unions: UnionsApp) -> None:
    attack_id = reported(unions)
    unions.save(unions.resolve_attack(PUBLISHER, attack_id, REINSTATED))

    with pytest.raises(AlreadyResolved):
        unions.resolve_attack(PUBLISHER, attack_id, ResolveAttack(outcome="upheld"))
    assert unions.repository.get(uuid.UUID(attack_id)).outcome == "reinstated"


@pytest.mark.parametrize("unknown", [str(uuid.uuid4()), "not-a-uuid"])
def test_an_unknown_id_is_item_not_found(unions: UnionsApp, unknown: str) -> None:
    with pytest.raises(ItemNotFound):
        unions.resolve_attack(PUBLISHER, unknown, REINSTATED)


def test_an_attack_is_not_a_strike(unions: UnionsApp) -> None:
    attack_id = reported(unions)
    with pytest.raises(ItemNotFound, match="no strike"):
        unions.schedule_picket(PUBLISHER, attack_id, SchedulePicket(where="Euston", when=WHEN))


def test_times_are_stored_in_utc(unions: UnionsApp) -> None:
    body = ATTACK_BODY.replace(b"{", b'{"occurred_at": "2026-11-20T10:30:00+01:00", ', 1)
    attack = unions.report_attack(PUBLISHER, msgspec.json.decode(body, type=ReportAttack))
    unions.save(attack)

    [stored] = unions.events.get(attack.id)
    assert stored.occurred_at == AT
    assert stored.occurred_at.utcoffset() == timedelta(0)


def test_momentum_calls_for_the_head_count_it_gives() -> None:
    """The head count is ``people_wanted``; the text of ``asks`` is never read for a number."""
    momentum = MomentumApp(env=IN_MEMORY)
    cmd = msgspec.json.decode(action_body(new_id()), type=CallAction)

    action = momentum.call_action("momentum", cmd)
    momentum.save(action)

    assert momentum.repository.get(action.id).people_wanted == cmd.people_wanted
    assert action.when == WHEN


def test_an_ask_without_a_head_count_has_none() -> None:
    body = {k: v for k, v in msgspec.json.decode(action_body()).items() if k != "people_wanted"}
    cmd = msgspec.convert({**body, "asks": "We need 3,000,000,000 people"}, CallAction)
    assert MomentumApp(env=IN_MEMORY).call_action("momentum", cmd).people_wanted is None


def test_a_head_count_given_is_kept() -> None:
    cmd = msgspec.structs.replace(msgspec.json.decode(action_body(), type=CallAction), people_wanted=0)
    assert MomentumApp(env=IN_MEMORY).call_action("momentum", cmd).people_wanted == 0


def test_a_pledge_is_shared_as_its_action() -> None:
    momentum = MomentumApp(env=IN_MEMORY)
    action_id = new_id()
    pledge = momentum.pledge(NAMED, action_id, FOR_FBU, MakePledge(people=12, group="Camden"))
    momentum.save(pledge)

    again = momentum.repository.get(pledge.id)
    assert (again.org, again.action, again.people) == (NAMED, action_id, 12)
    assert again.sharing == FOR_FBU.passed_on(action_id)


def test_momentum_records_a_win() -> None:
    momentum = MomentumApp(env=IN_MEMORY)
    cmd = msgspec.json.decode(b'{"kind": "reinstatement", "summary": "Back at work", "tlp": "CLEAR"}',
                              type=RecordWin)
    win = momentum.record_win("momentum", cmd)
    momentum.save(win)
    assert momentum.repository.get(win.id).win_kind == "reinstatement"


def test_each_service_offers_only_its_own_commands() -> None:
    assert hasattr(ForumApp, "call_action")
    assert not hasattr(ForumApp, "report_attack")
    assert not hasattr(MomentumApp, "call_strike")


def test_the_forums_triage_opens_then_updates_one_record() -> None:
    forum = ForumApp(env=IN_MEMORY)
    item = new_id()

    opened = forum.triage("forum", item, FOR_FBU, TriageItem(status="acknowledged"))
    forum.save(opened)
    updated = forum.triage("forum", item, FOR_FBU, TriageItem(status="responding", priority="urgent"))
    forum.save(updated)

    assert opened.id == updated.id == Triage.create_id(item)
    record: Triage = forum.repository.get(Triage.create_id(item))
    assert (record.status, record.priority, record.version) == ("responding", "urgent", 2)
    events = list(forum.events.get(record.id))
    assert [type(e).__qualname__ for e in events] == ["Triage.Opened", "Triage.Triaged"]
    assert all(e.item == item and e.sharing == FOR_FBU.passed_on(item) for e in events)
