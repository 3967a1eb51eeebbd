"""The movement's own work, in memory: local groups named in pledges, actions, wins and
motions; casework whose names and notes never reach a contract.

A Momentum group in Leeds registers; it pledges to a picket and tables a motion in its
constituency party; a member suspended for a social-media like gets a case, referred for
legal advice and appeal drafting, and is reinstated — and nothing on the shared log names
the member or repeats a note.
"""

from __future__ import annotations

import msgspec
import pytest

from contracts import decode_envelope
from services.commands import (
    CallAction,
    CloseCase,
    MakePledge,
    OpenCase,
    RecordCaseStep,
    RecordWin,
    ReferCase,
    RegisterGroup,
    TableMotion,
)
from services.domain.casework import Case, CaseClosed
from services.domain.errors import UnknownReference
from services.domain.sharing import Sharing
from services.momentum import MomentumApp
from services.scg import ScgApp
from services.translator import check_publishable
from tests.bodies import action as action_body
from tests.unit.examples import IN_MEMORY, new_id

MEMBER = "Niamh Oyelaran-Fitzgerald"
NOTE = "Niamh says the complaint came from a councillor she criticised"
ATTACK_SHARED = Sharing(tlp="GREEN", region="Yorkshire and The Humber")


def decode(cls: type, body: dict) -> object:
    return msgspec.json.decode(msgspec.json.encode(body), type=cls)


@pytest.fixture
def momentum() -> MomentumApp:
    return MomentumApp(env=IN_MEMORY)


def register(app: MomentumApp, name: str = "Leeds Momentum") -> str:
    group = app.register_group("momentum", decode(RegisterGroup, {"name": name,
                                                                   "region": "Yorkshire and The Humber"}))
    app.save(group)
    return str(group.id)


def published(app: MomentumApp, *aggregates: object) -> list:
    """The events of ``aggregates`` as they will travel on the shared log (decoded back)."""
    events = [e for agg in aggregates for e in agg.collect_events()]  # type: ignore[attr-defined]
    return [(p.subject, decode_envelope(p.payload)) for p in check_publishable(app.name, events)]


def test_a_group_registers_with_its_region(momentum: MomentumApp) -> None:
    group = momentum.register_group("momentum", decode(RegisterGroup, {"name": "Leeds Momentum",
                                                                        "region": "Yorkshire and The Humber"}))
    ((subject, ce),) = published(momentum, group)
    assert subject == "coalition.momentum.group.registered"
    assert (ce.data.name, ce.data.region, ce.subject) == ("Leeds Momentum", "Yorkshire and The Humber", str(group.id))


def test_a_group_needs_a_region() -> None:
    with pytest.raises(msgspec.ValidationError, match="region"):
        decode(RegisterGroup, {"name": "Leeds Momentum"})


def test_a_pledge_names_its_registered_group(momentum: MomentumApp) -> None:
    leeds = register(momentum)
    pledge = momentum.pledge("momentum", new_id(), ATTACK_SHARED, decode(MakePledge, {"people": 12, "group_id": leeds}))
    ((_, ce),) = published(momentum, pledge)
    assert (ce.data.group, ce.data.group_id, ce.data.people) == ("Leeds Momentum", leeds, 12)


def test_a_pledge_naming_a_group_that_is_not_registered_names_the_field(momentum: MomentumApp) -> None:
    with pytest.raises(UnknownReference) as refused:
        momentum.pledge("momentum", new_id(), ATTACK_SHARED, decode(MakePledge, {"people": 1, "group_id": new_id()}))
    assert refused.value.field == "group_id"


def test_a_pledge_whose_group_name_contradicts_its_id_is_refused(momentum: MomentumApp) -> None:
    leeds = register(momentum)
    with pytest.raises(UnknownReference) as refused:
        momentum.pledge("momentum", new_id(), ATTACK_SHARED,
                        decode(MakePledge, {"people": 1, "group_id": leeds, "group": "Bradford Momentum"}))
    assert refused.value.field == "group"


def test_actions_and_wins_name_groups_by_id_and_name(momentum: MomentumApp) -> None:
    leeds, bradford = register(momentum), register(momentum, "Bradford Momentum")
    action = momentum.call_action("momentum", decode(CallAction, {**action_body([]), "groups": [leeds, bradford]}))
    win = momentum.record_win("momentum", decode(RecordWin, {"kind": "reinstatement", "summary": "Back in",
                                                             "groups": [leeds]}))
    (_, called), (_, won) = published(momentum, action, win)
    assert [(g.id, g.name) for g in called.data.groups] == [(leeds, "Leeds Momentum"), (bradford, "Bradford Momentum")]
    assert [g.name for g in won.data.groups] == ["Leeds Momentum"]


def test_another_organisations_group_cannot_be_named(momentum: MomentumApp) -> None:
    leeds = register(momentum)
    with pytest.raises(UnknownReference):
        momentum.call_action("someone-else", decode(CallAction, {**action_body([]), "groups": [leeds]}))


def test_a_local_group_tables_a_motion_answering_an_attack(momentum: MomentumApp) -> None:
    leeds, attack = register(momentum), new_id()
    motion = momentum.table_motion("momentum", decode(TableMotion, {
        "title": "Reinstate our secretary", "text": "This CLP calls for her reinstatement",
        "body": "Leeds Central CLP", "group": leeds, "outcome": "passed", "refs": [attack],
        "region": "Yorkshire and The Humber"}))
    ((subject, ce),) = published(momentum, motion)
    assert subject == "coalition.momentum.motion.tabled"
    assert (ce.data.group.name, ce.data.body, ce.data.outcome, ce.data.refs) == (
        "Leeds Momentum", "Leeds Central CLP", "passed", [attack])


def test_the_caucus_tables_motions_with_the_same_command() -> None:
    scg = ScgApp(env=IN_MEMORY)
    motion = scg.table_motion("scg", decode(TableMotion, {
        "title": "EDM: right to strike", "text": "This House…", "body": "House of Commons",
        "refs": [new_id()], "sponsors": ["R. Burgon"]}))
    ((subject, ce),) = published(scg, motion)
    assert subject == "coalition.scg.motion.tabled" and ce.data.group is None and ce.data.outcome == "pending"


def test_a_motion_answers_something() -> None:
    with pytest.raises(msgspec.ValidationError, match="refs"):
        decode(TableMotion, {"title": "t", "text": "t", "body": "Leeds Central CLP", "refs": []})


def open_case(app: MomentumApp, attack: str) -> Case:
    return app.open_case("momentum", ATTACK_SHARED, decode(OpenCase, {
        "attack": attack, "member": MEMBER, "caseworkers": ["momentum-coordinator"], "note": NOTE}))


def test_a_case_goes_from_opened_to_reinstated_and_the_log_learns_only_its_stages(momentum: MomentumApp) -> None:
    attack = new_id()
    case = open_case(momentum, attack)
    momentum.save(case)
    for cmd in (decode(ReferCase, {"referral": "legal_advice", "note": f"{MEMBER} to see the solicitor"}),
                decode(ReferCase, {"referral": "appeal_drafting"})):
        momentum.save(momentum.refer_case("momentum", str(case.id), cmd))
    momentum.save(momentum.record_case_step("momentum", str(case.id),
                                            decode(RecordCaseStep, {"note": f"Hearing: {MEMBER} spoke well"})))
    momentum.save(momentum.close_case("momentum", str(case.id), decode(CloseCase, {"outcome": "reinstated"})))

    kept = momentum.case("momentum", str(case.id))
    assert (kept.member, kept.stage, kept.outcome, kept.steps) == (MEMBER, "closed", "reinstated", 1)
    assert kept.referrals == ["legal_advice", "appeal_drafting"]
    assert [e.note for e in kept.entries][:2] == [NOTE, f"{MEMBER} to see the solicitor"]

    on_the_log = [check_publishable("momentum", [n]) for n in
                  [momentum.mapper.to_domain_event(s) for s in momentum.recorder.select_notifications(1, 100)]]
    envelopes = [p for batch in on_the_log for p in batch if p.envelope.subject == str(case.id)]
    assert [p.subject.rsplit(".", 1)[-1] for p in envelopes] == ["opened", "progressed", "progressed",
                                                                  "progressed", "progressed"]
    last = decode_envelope(envelopes[-1].payload).data
    assert (last.attack, last.stage, last.referrals, last.steps, last.outcome) == (
        attack, "closed", ["legal_advice", "appeal_drafting"], 1, "reinstated")
    for p in envelopes:
        assert b"Niamh" not in p.payload and b"solicitor" not in p.payload and b"Hearing" not in p.payload
        assert b"momentum-coordinator" not in p.payload  # nor who works on it


def test_a_cases_summary_is_shared_exactly_as_its_attack(momentum: MomentumApp) -> None:
    amber = Sharing(tlp="AMBER", audience=["rmt"], region="London")
    case = momentum.open_case("momentum", amber, decode(OpenCase, {
        "attack": new_id(), "member": MEMBER, "caseworkers": ["momentum-coordinator"]}))
    assert (case.sharing.tlp, case.sharing.audience, case.sharing.refs) == ("AMBER", ["rmt"], [case.attack])


def test_a_closed_case_takes_no_more_steps(momentum: MomentumApp) -> None:
    case = open_case(momentum, new_id())
    case.close("appeal_lost", None, None, case.entries[0].at)
    with pytest.raises(CaseClosed, match="appeal_lost"):
        case.record_step("one more call", None, case.entries[0].at)


def test_a_case_names_at_least_one_caseworker() -> None:
    with pytest.raises(msgspec.ValidationError, match="caseworkers"):
        decode(OpenCase, {"attack": new_id(), "member": MEMBER, "caseworkers": []})


def test_an_action_stored_before_groups_existed_still_reads_and_publishes(momentum: MomentumApp) -> None:
    """Events already in a store have no ``groups``: they are read back and translated with none."""
    action = momentum.call_action("momentum", decode(CallAction, action_body([])))
    (called,) = action.collect_events()
    stored = momentum.mapper.to_stored_event(called)
    state = msgspec.json.decode(stored.state)
    del state["groups"]
    old = type(stored)(originator_id=stored.originator_id, originator_version=stored.originator_version,
                       topic=stored.topic, state=msgspec.json.encode(state))
    read_back = momentum.mapper.to_domain_event(old)
    ((_, ce),) = [(p.subject, decode_envelope(p.payload)) for p in check_publishable("momentum", [read_back])]
    assert ce.data.groups == [] and ce.data.where == "Euston station"
