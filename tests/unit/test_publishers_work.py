"""Issue 11, without engines: the publishers' own work in the applications (in memory)
and on the board (the fold, and the in-memory board however the log is batched).

RMT declares a dispute at Example Rail, ballots 4,000 members (2,600 vote, 2,300 yes: an
important public service, and both thresholds met), calls the strike and later wins it.
Momentum reports a suspension, corrects it; RMT and the FBU corroborate it. Momentum
calls 40 people to the picket and asks the caucus for an MP's visit; the SCG liaison
confirms A. MP, who goes; 52 people turn out.
"""

from __future__ import annotations

import uuid

import msgspec
import pytest

from contracts.attacks import AttackCorroborated, AttackUpdated
from contracts.base import Target
from contracts.branches import BranchRegistered, RepRegistered
from contracts.campaigning import ActionCompleted
from contracts.industrial import BallotResult, DisputeDeclared
from contracts.visits import VisitConfirmed, VisitDone, VisitRequested
from projections.board import memory
from projections.board.fold import fold
from services.commands import (
    CallAction,
    CallStrike,
    CompleteAction,
    ConfirmVisit,
    CorrectAttack,
    CorroborateAttack,
    DeclareDispute,
    DeclineVisit,
    EndStrike,
    MarkVisitDone,
    RecordBallot,
    RegisterBranch,
    RegisterRep,
    ReportAttack,
)
from services.domain.attacks import AlreadyCorroborated, OwnAttack
from services.domain.campaigns import AlreadyCompleted
from services.domain.errors import NotYourItem, UnknownReference
from services.domain.industrial import AlreadyEnded
from services.domain.sharing import Sharing
from services.domain.visits import VisitAlreadyAnswered, VisitNotConfirmed
from services.momentum import MomentumApp
from services.scg import ScgApp
from services.unions import UnionsApp
from tests import bodies
from tests.unit.examples import (
    AT,
    IN_MEMORY,
    NAMED,
    PUBLISHER,
    TARGETS,
    WHEN,
    action_called,
    attack_reported,
    envelope,
    new_id,
    strike_called,
)

GREEN = Sharing(tlp="GREEN", region="London")


def decode(body: dict, cls: type):
    return msgspec.json.decode(msgspec.json.encode(body), type=cls)


# --- the applications ------------------------------------------------------------------

@pytest.fixture
def unions() -> UnionsApp:
    return UnionsApp(env=IN_MEMORY)


@pytest.fixture
def scg() -> ScgApp:
    return ScgApp(env=IN_MEMORY)


def test_a_ballot_is_counted_by_the_service_for_the_unions_own_dispute(unions: UnionsApp) -> None:
    dispute = unions.declare_dispute(PUBLISHER, decode(bodies.DISPUTE, DeclareDispute))
    unions.save(dispute)
    ballot = unions.record_ballot(PUBLISHER, decode(bodies.ballot([str(dispute.id)]), RecordBallot))
    unions.save(ballot)

    [result] = unions.events.get(ballot.id)
    assert (result.turnout, result.turnout_met, result.support_met, result.threshold_met) == (0.65, True, True, True)
    assert result.sharing.refs == [str(dispute.id)]


def test_a_ballot_for_another_unions_dispute_or_an_unknown_item_is_refused(unions: UnionsApp) -> None:
    dispute = unions.declare_dispute(PUBLISHER, decode(bodies.DISPUTE, DeclareDispute))
    unions.save(dispute)
    with pytest.raises(UnknownReference, match="fbu has no dispute or strike"):
        unions.record_ballot(NAMED, decode(bodies.ballot([str(dispute.id)]), RecordBallot))
    with pytest.raises(UnknownReference, match="`refs`"):
        unions.record_ballot(PUBLISHER, decode(bodies.ballot([new_id()]), RecordBallot))


def test_a_strike_ends_once_with_its_outcome(unions: UnionsApp) -> None:
    strike = unions.call_strike(PUBLISHER, decode(bodies.STRIKE, CallStrike))
    unions.save(strike)
    unions.save(unions.end_strike(PUBLISHER, str(strike.id), EndStrike(outcome="won")))
    with pytest.raises(AlreadyEnded):
        unions.end_strike(PUBLISHER, str(strike.id), EndStrike(outcome="lost"))
    with pytest.raises(NotYourItem):
        unions.end_strike(NAMED, str(strike.id), EndStrike(outcome="lost"))


def test_a_branch_registers_its_reps(unions: UnionsApp) -> None:
    branch = unions.register_branch(PUBLISHER, decode(bodies.BRANCH, RegisterBranch))
    unions.save(branch)
    changed, rep = unions.register_rep(PUBLISHER, str(branch.id), decode(bodies.REP, RegisterRep))
    unions.save(changed)
    registered, rep_event = list(unions.events.get(branch.id))
    assert registered.sharing.region == "London" and rep_event.rep == rep
    with pytest.raises(NotYourItem):
        unions.register_rep(NAMED, str(branch.id), decode(bodies.REP, RegisterRep))


def test_only_the_reporting_organisation_corrects_an_attack(unions: UnionsApp) -> None:
    attack = unions.report_attack(PUBLISHER, decode(bodies.ATTACK, ReportAttack))
    unions.save(attack)
    fix = CorrectAttack(severity="critical", targets=[Target(kind="mp", name="A. MP")])
    unions.save(unions.correct_attack(PUBLISHER, str(attack.id), fix))

    updated = list(unions.events.get(attack.id))[-1]
    assert (updated.attack_kind, updated.severity, updated.summary) == ("suspension", "critical", None)
    with pytest.raises(NotYourItem):
        unions.correct_attack(NAMED, str(attack.id), fix)


def test_a_correction_must_correct_something() -> None:
    with pytest.raises(msgspec.ValidationError, match="at least one of"):
        msgspec.json.decode(b"{}", type=CorrectAttack)


def test_an_attack_is_corroborated_once_per_other_organisation(unions: UnionsApp) -> None:
    attack = new_id()
    confirmed = unions.corroborate_attack(NAMED, attack, "momentum", GREEN, CorroborateAttack(evidence="Seen it"))
    unions.save(confirmed)
    assert confirmed.sharing == Sharing(tlp="GREEN", region="London", refs=[attack])
    with pytest.raises(AlreadyCorroborated):
        unions.corroborate_attack(NAMED, attack, "momentum", GREEN, CorroborateAttack())
    unions.save(unions.corroborate_attack(PUBLISHER, attack, "momentum", GREEN, CorroborateAttack()))
    with pytest.raises(OwnAttack):
        unions.corroborate_attack("momentum", attack, "momentum", GREEN, CorroborateAttack())


def test_an_action_records_its_turnout_once() -> None:
    momentum = MomentumApp(env=IN_MEMORY)
    action = momentum.call_action("momentum", decode(bodies.action([]), CallAction))
    momentum.save(action)
    momentum.save(momentum.complete_action("momentum", str(action.id), CompleteAction(turnout=52)))
    with pytest.raises(AlreadyCompleted):
        momentum.complete_action("momentum", str(action.id), CompleteAction(turnout=60))
    with pytest.raises(NotYourItem):
        momentum.complete_action(NAMED, str(action.id), CompleteAction(turnout=1))


def test_the_liaison_confirms_a_visit_then_it_is_done(scg: ScgApp) -> None:
    visit, serves = new_id(), new_id()
    with pytest.raises(VisitNotConfirmed, match="not confirmed"):
        scg.visit_done(visit, MarkVisitDone())
    scg.save(scg.confirm_visit("scg", visit, serves, GREEN, ConfirmVisit(mp="A. MP", when=WHEN)))
    with pytest.raises(VisitAlreadyAnswered, match="confirmed already"):
        scg.decline_visit("scg", visit, serves, GREEN, DeclineVisit(reason="Too late"))
    scg.save(scg.visit_done(visit, MarkVisitDone(note="Spoke to 200 strikers")))
    with pytest.raises(VisitAlreadyAnswered, match="done already"):
        scg.visit_done(visit, MarkVisitDone())


def test_a_declined_visit_is_not_confirmed_or_done_afterwards(scg: ScgApp) -> None:
    visit, serves = new_id(), new_id()
    scg.save(scg.decline_visit("scg", visit, serves, GREEN, DeclineVisit(reason="The House sits late")))
    with pytest.raises(VisitAlreadyAnswered, match="declined already"):
        scg.confirm_visit("scg", visit, serves, GREEN, ConfirmVisit(mp="A. MP"))
    with pytest.raises(VisitNotConfirmed, match="declined"):
        scg.visit_done(visit, MarkVisitDone())


# --- the board -------------------------------------------------------------------------

def in_memory(batch: list, size: int) -> memory.State:
    state = memory.State()
    for start in range(0, len(batch), size):
        memory.apply(state, fold(batch[start:start + size]))
    return state


def story() -> tuple[list, dict[str, str]]:
    ids = {name: new_id() for name in ("attack", "dispute", "ballot", "strike", "action", "visit", "branch")}
    counts = dict(eligible=4000, votes_cast=2600, yes_votes=2300, important_public_service=True,
                  turnout_met=True, support_met=True, majority=True)
    events = [
        envelope(attack_reported(org="momentum"), ids["attack"]),
        envelope(AttackUpdated(org="momentum", occurred_at=AT, attack_kind="suspension", summary="Corrected",
                               targets=[*TARGETS, Target(kind="member", name="B. Member")]), ids["attack"]),
        envelope(AttackCorroborated(org=PUBLISHER, occurred_at=AT, attack=ids["attack"], evidence="Our rep"),
                 new_id(), service="unions"),
        envelope(AttackCorroborated(org=NAMED, occurred_at=AT, attack=ids["attack"]), new_id(), service="unions"),
        envelope(DisputeDeclared(org=PUBLISHER, occurred_at=AT, employer="Example Rail Ltd", sector="rail",
                                 issues="Pay"), ids["dispute"], service="unions"),
        envelope(BallotResult(org=PUBLISHER, occurred_at=AT, employer="Example Rail Ltd", turnout=0.65,
                              yes_share=2300 / 2600, threshold_met=True, refs=[ids["dispute"]], **counts),
                 ids["ballot"], service="unions"),
        envelope(msgspec.structs.replace(strike_called(), refs=[ids["dispute"]]), ids["strike"], service="unions"),
        envelope(action_called(), ids["action"]),
        envelope(VisitRequested(org="momentum", occurred_at=AT, serves=ids["action"], where="Euston station",
                                refs=[ids["action"]]), ids["visit"]),
        envelope(VisitConfirmed(org="scg", occurred_at=AT, visit=ids["visit"], serves=ids["action"], mp="A. MP",
                                when=WHEN, refs=[ids["visit"]]), new_id(), service="scg"),
        envelope(VisitDone(org="scg", occurred_at=AT, visit=ids["visit"], serves=ids["action"], mp="A. MP",
                           refs=[ids["visit"]]), new_id(), service="scg"),
        envelope(ActionCompleted(org="momentum", occurred_at=AT, turnout=52, outcome="Held"), ids["action"]),
        envelope(BranchRegistered(org=PUBLISHER, occurred_at=AT, name="London Transport", region="London",
                                  workplaces=["Euston depot"]), ids["branch"], service="unions"),
        envelope(RepRegistered(org=PUBLISHER, occurred_at=AT, rep="rep-1", branch=ids["branch"],
                               workplace="Euston depot", role="H&S rep"), ids["branch"], service="unions"),
        envelope(RepRegistered(org=PUBLISHER, occurred_at=AT, rep="rep-2", branch=ids["branch"],
                               workplace="Kings Cross"), ids["branch"], service="unions"),
    ]
    return [(seq, ce) for seq, ce in enumerate(events, start=1)], ids


@pytest.mark.parametrize("size", [1, 2, 3, 100])
def test_the_board_shows_who_did_what_however_the_log_is_batched(size: int) -> None:
    batch, ids = story()
    items = in_memory(batch, size).items

    attack = items[ids["attack"]]
    assert attack["title"] == "Suspension: A. Member, B. Member" and attack["summary"] == "Corrected"
    assert sorted(attack["detail"]["corroborations"]) == [NAMED, PUBLISHER]  # both, never one replacing the other
    assert attack["detail"]["corroborations"][PUBLISHER]["evidence"] == "Our rep"

    for balloted in (ids["dispute"], ids["strike"]):  # the strike takes its dispute's ballot
        ballot = items[balloted]["detail"]["ballot"]
        assert (ballot["turnout"], ballot["threshold_met"], ballot["eligible"]) == (0.65, True, 4000)

    action = items[ids["action"]]
    assert (action["detail"]["turnout"], action["status"]) == (52, "resolved")
    assert action["detail"]["visits"] == {ids["visit"]: {"state": "done", "mp": "A. MP", "answered_by": "scg"}}
    visit = items[ids["visit"]]
    assert (visit["kind"], visit["status"], visit["detail"]["visit_state"]) == ("visit", "resolved", "done")
    assert visit["detail"]["serves"] == ids["action"]

    branch = items[ids["branch"]]
    assert (branch["kind"], branch["region"]) == ("branch", "London")
    assert sorted(branch["detail"]["reps"]) == ["rep-1", "rep-2"]


def test_a_ballot_recorded_after_the_strike_names_it_in_refs() -> None:
    strike, ballot = new_id(), new_id()
    batch = [(1, envelope(strike_called(), strike, service="unions")),
             (2, envelope(BallotResult(org=PUBLISHER, occurred_at=AT, employer="Example Rail Ltd", turnout=0.4,
                                       yes_share=0.9, threshold_met=False, turnout_met=False, refs=[strike]),
                          ballot, service="unions"))]
    assert in_memory(batch, 1).items[strike]["detail"]["ballot"]["threshold_met"] is False


def test_a_strike_without_a_balloted_dispute_gets_no_ballot() -> None:
    strike = new_id()
    called = msgspec.structs.replace(strike_called(), refs=[new_id()])
    assert "ballot" not in in_memory([(1, envelope(called, strike, service="unions"))], 1).items[strike]["detail"]


def test_a_visit_request_for_an_item_names_it_on_both_cards() -> None:
    action, visit = new_id(), new_id()
    changes = fold([(1, envelope(action_called(), action)),
                    (2, envelope(VisitRequested(org="unite", occurred_at=AT, serves=action, where="Rally",
                                                mp="A. MP", refs=[action]), visit))])
    assert changes.inserts[visit]["title"] == "MP visit: A. MP to Rally"
    assert changes.inserts[action]["detail"]["visits"][visit]["state"] == "requested"
    assert uuid.UUID(visit)


def test_each_step_reads_as_one_line_on_the_timeline() -> None:
    from projections.board.audit import _summary

    lines = [_summary(ce) for _, ce in story()[0]]
    assert "corroborated by rmt: Our rep" in lines
    assert "ballot at Example Rail Ltd: turnout 65%, yes 88% of votes cast, thresholds met" in lines
    assert "MP visit confirmed by scg: A. MP" in lines
    assert "action completed: 52 turned out (Held)" in lines
