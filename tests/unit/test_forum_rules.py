"""The forum's rules, without engines: triage, responses and tasks, decisions by method,
escalation once, observers read only — and every change attributed on the log."""

from __future__ import annotations

import pytest

from contracts.forum import DecisionMade, ItemTriaged, TaskAssigned, TaskDone
from services.commands import (
    Acknowledge,
    AssignLead,
    AssignTask,
    CompleteTask,
    MakeDecision,
    OpenResponse,
    ProposeDecision,
    RecordReview,
    Resolve,
    SetPriority,
    TakePosition,
    TriageItem,
)
from services.domain.decisions import decided_by
from services.domain.errors import (
    AlreadyAcknowledged,
    AlreadyDecided,
    AlreadyEscalated,
    AlreadyOpen,
    AlreadyResolved,
    Blocked,
    ItemNotFound,
    NoMajority,
    NotAnOption,
    NotReopened,
    ReadOnly,
    TaskAlreadyDone,
)
from services.domain.escalation import Escalation
from services.domain.people import Actor
from services.domain.triage import OnBoard, Triage
from services.forum import ForumApp
from services.translator import translate
from tests.unit.examples import FOR_FBU, IN_MEMORY, new_id

ALEX = Actor(org="momentum", name="Alex Coordinator")
SAM = Actor(org="fbu", name="Sam Coordinator")
WATCHER = Actor(org="forum", name="Olu Observer", role="observer")
CRITICAL = OnBoard(sharing=FOR_FBU, status="new", priority="urgent")


@pytest.fixture
def forum() -> ForumApp:
    return ForumApp(env=IN_MEMORY)


def published(forum: ForumApp, aggregate_id: object) -> list:
    return [translate("forum", e)[1].data for e in forum.events.get(aggregate_id)]  # type: ignore[arg-type]


# --- decisions: the methods' rules, pure ------------------------------------------------------

def test_a_block_stops_a_consent_decision_and_names_the_block() -> None:
    with pytest.raises(Blocked, match=r"blocked by fbu \(fbu: members not consulted\)"):
        decided_by("consent", {"rmt": "agree", "fbu": "block"}, {"fbu": "members not consulted"}, "forum")
    assert decided_by("consent", {"rmt": "agree", "fbu": "abstain"}, {}, "forum") == ["fbu", "rmt"]


def test_consent_needs_someone_to_have_taken_a_position() -> None:
    with pytest.raises(NoMajority):
        decided_by("consent", {}, {}, "forum")


def test_a_majority_needs_more_agreeing_than_disagreeing_a_block_counting_against() -> None:
    assert decided_by("majority", {"a1": "agree", "a2": "agree", "d": "disagree", "x": "abstain"}, {}, "f") == [
        "a1", "a2"]
    with pytest.raises(NoMajority, match="1 agree and 1 disagree"):
        decided_by("majority", {"a": "agree", "d": "disagree"}, {}, "f")
    with pytest.raises(NoMajority):
        decided_by("majority", {"a": "agree", "b": "block"}, {}, "f")


def test_a_coordinators_call_is_the_callers() -> None:
    assert decided_by("coordinator_call", {"fbu": "block"}, {}, "forum") == ["forum"]


def test_a_decision_blocked_then_unblocked_records_the_outcome_once(forum: ForumApp) -> None:
    proposal = forum.propose(ALEX, ProposeDecision(question="Go public now?", method="consent",
                                                   options=["Now", "Wait"], refs=[new_id()]), 42, "ab" * 32)
    forum.save(proposal)
    decision_id = str(proposal.id)
    forum.save(forum.take_position(SAM, decision_id, TakePosition(position="block", reason="not yet")))
    forum.save(forum.take_position(ALEX, decision_id, TakePosition(position="agree")))
    with pytest.raises(Blocked, match="fbu"):
        forum.decide(ALEX, decision_id, MakeDecision(outcome="Now", rationale="Silence"), 44, None)
    with pytest.raises(NotAnOption):
        forum.decide(ALEX, decision_id, MakeDecision(outcome="Never", rationale="?"), 44, None)
    forum.save(forum.take_position(SAM, decision_id, TakePosition(position="agree", reason="consulted")))
    forum.save(forum.decide(ALEX, decision_id, MakeDecision(outcome="Now", rationale="Silence"), 45, "cd" * 32))
    with pytest.raises(AlreadyDecided):
        forum.take_position(SAM, decision_id, TakePosition(position="block"))
    with pytest.raises(AlreadyDecided):
        forum.decide(ALEX, decision_id, MakeDecision(outcome="Wait", rationale="?"), 46, None)

    events = published(forum, proposal.id)
    assert [type(e).__name__ for e in events] == [
        "DecisionProposed", "DecisionPositionTaken", "DecisionPositionTaken", "DecisionPositionTaken", "DecisionMade"]
    proposed, made = events[0], events[-1]
    assert (proposed.board_position, proposed.board_digest, proposed.actor) == (42, "ab" * 32, "Alex Coordinator")
    assert isinstance(made, DecisionMade)
    assert made.decided_by == ["fbu", "momentum"] and made.positions == {"fbu": "agree", "momentum": "agree"}
    assert (made.board_position, made.board_digest, made.decision, made.org) == (45, "cd" * 32, decision_id,
                                                                                 "momentum")


# --- triage ----------------------------------------------------------------------------------

def test_triage_keeps_what_the_board_shows_and_attributes_the_change(forum: ForumApp) -> None:
    item = new_id()
    forum.save(forum.acknowledge(ALEX, item, CRITICAL, Acknowledge(note="On it")))
    with pytest.raises(AlreadyAcknowledged):
        forum.acknowledge(SAM, item, CRITICAL, Acknowledge())
    forum.save(forum.set_priority(SAM, item, CRITICAL, SetPriority(priority="high")))
    forum.save(forum.assign_lead(SAM, item, CRITICAL, AssignLead(lead_org="fbu")))
    forum.save(forum.resolve(ALEX, item, CRITICAL, Resolve(note="Reinstated")))
    with pytest.raises(AlreadyResolved):
        forum.resolve(ALEX, item, CRITICAL, Resolve())
    with pytest.raises(NotReopened):
        forum.triage(ALEX, item, CRITICAL, TriageItem(status="responding"))
    forum.save(forum.triage(ALEX, item, CRITICAL, TriageItem(status="responding", priority="high", reopen=True)))

    events = published(forum, Triage.create_id(item))
    assert all(isinstance(e, ItemTriaged) and e.item == item for e in events)
    assert [(e.status, e.priority, e.lead_org, e.org, e.actor) for e in events] == [
        ("acknowledged", "urgent", None, "momentum", "Alex Coordinator"),  # the board's priority kept
        ("acknowledged", "high", None, "fbu", "Sam Coordinator"),
        ("acknowledged", "high", "fbu", "fbu", "Sam Coordinator"),
        ("resolved", "high", "fbu", "momentum", "Alex Coordinator"),
        ("responding", "high", "fbu", "momentum", "Alex Coordinator"),
    ]
    assert [e.reopened for e in events] == [False, False, False, False, True]


def test_an_observer_may_change_nothing(forum: ForumApp) -> None:
    item = new_id()
    for attempt in (
        lambda: forum.acknowledge(WATCHER, item, CRITICAL, Acknowledge()),
        lambda: forum.open_response(WATCHER, item, CRITICAL, OpenResponse(lead_org="fbu", plan="x")),
        lambda: forum.propose(WATCHER, ProposeDecision(question="?", method="majority"), 1, None),
    ):
        with pytest.raises(ReadOnly):
            attempt()


# --- responses and tasks ---------------------------------------------------------------------

def test_a_response_opens_once_and_its_tasks_are_done_once(forum: ForumApp) -> None:
    item = new_id()
    with pytest.raises(ItemNotFound):
        forum.assign_task(ALEX, item, AssignTask(assignee="fbu", task="Call the branch"))
    response, triage = forum.open_response(ALEX, item, CRITICAL, OpenResponse(lead_org="fbu", plan="Statement"))
    forum.save(response, triage)
    assert (triage.status, triage.lead_org) == ("responding", "fbu")
    with pytest.raises(AlreadyOpen):
        forum.open_response(SAM, item, CRITICAL, OpenResponse(lead_org="rmt", plan="Other"))
    task = forum.assign_task(ALEX, item, AssignTask(assignee="fbu", task="Call the branch"))
    forum.save(task)
    forum.save(forum.complete_task(SAM, str(task.id), CompleteTask(note="Called")))
    with pytest.raises(TaskAlreadyDone):
        forum.complete_task(SAM, str(task.id), CompleteTask())
    forum.save(forum.record_review(ALEX, item, RecordReview(worked="One voice", did_not="Late")))

    assigned, done = published(forum, task.id)
    assert isinstance(assigned, TaskAssigned) and isinstance(done, TaskDone)
    assert (assigned.task_id, assigned.item, assigned.assignee, assigned.refs) == (str(task.id), item, "fbu", [item])
    assert (done.task_id, done.org, done.actor) == (str(task.id), "fbu", "Sam Coordinator")
    opened, reviewed = published(forum, response.id)
    assert (opened.lead_org, opened.coordinator, opened.item, opened.refs) == ("fbu", "Alex Coordinator", item, [item])
    assert (reviewed.worked, reviewed.item) == ("One voice", item)


def test_a_task_or_decision_the_caller_may_not_see_is_not_there(forum: ForumApp) -> None:
    strict = ProposeDecision(question="?", method="majority", tlp="AMBER+STRICT", audience=["momentum"])
    proposal = forum.propose(ALEX, strict, 1, None)
    forum.save(proposal)
    with pytest.raises(ItemNotFound):
        forum.take_position(Actor(org="rmt", name="R"), str(proposal.id), TakePosition(position="agree"))


# --- escalation ------------------------------------------------------------------------------

def test_an_escalations_id_is_the_items_so_a_second_is_refused(forum: ForumApp) -> None:
    item = new_id()
    assert Escalation.create_id(item) == Escalation.create_id(item) != Escalation.create_id(new_id())
    first = forum.escalate(item, FOR_FBU, "not acknowledged in time")
    racing = ForumApp(env=IN_MEMORY).escalate(item, FOR_FBU, "not acknowledged in time")
    assert first.id == racing.id == Escalation.create_id(item)
    forum.save(first)
    with pytest.raises(AlreadyEscalated):
        forum.escalate(item, FOR_FBU, "again")
    (escalated,) = published(forum, first.id)
    assert (escalated.item, escalated.org, escalated.tlp) == (item, "forum", "AMBER")
