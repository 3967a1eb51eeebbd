"""Fold a batch of shared events into board changes, in memory, in stream order.

New items become rows to insert; changes to items become one merged update per item
(or are folded into the insert when the item was created in the same batch). Applying
the result is then a handful of statements per batch, not one per event — what makes
a rebuild fast — and gives the same board as applying events one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contracts import CloudEvent
from contracts.attacks import AttackCorroborated, AttackReported, AttackResolved, AttackUpdated
from contracts.branches import BranchRegistered, RepRegistered
from contracts.campaigning import (
    ActionCalled,
    ActionCompleted,
    ActionPledged,
    MotionTabled,
    StatementPublished,
    WinRecorded,
)
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
from contracts.visits import VisitConfirmed, VisitDeclined, VisitDone, VisitRequested

ATTACK_TITLES = {
    "suspension": "Suspension", "expulsion": "Expulsion", "proscription": "Proscription",
    "whip_removed": "Whip removed", "disciplinary_threat": "Disciplinary threat",
    "candidate_blocked": "Candidate blocked", "longlist_excluded": "Kept off the longlist",
    "selection_imposed": "Selection imposed", "body_suspended": "Body suspended",
    "media_smear": "Media smear", "other": "Attack",
}

#: Keys of an item's ``detail`` that hold one entry per organisation or per sub-item
#: (who corroborated an attack, the visits to an item, a branch's reps): a change merges
#: its entries into the key's object instead of replacing it, so that the fold needs no
#: memory of the entries already there (``store.write`` and ``memory.apply`` do the same).
MERGED = ("corroborations", "visits", "reps")


def merge_detail(before: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """``before`` with ``change`` applied: top-level keys replaced, those of :data:`MERGED` merged."""
    merged = {**before, **change}
    for key in MERGED:
        if key in change and isinstance(before.get(key), dict):
            merged[key] = {**before[key], **change[key]}
    return merged


@dataclass
class Changes:
    """What one batch does to the board."""

    inserts: dict[str, dict[str, Any]] = field(default_factory=dict)
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    pledges: list[dict[str, Any]] = field(default_factory=list)
    touched_actions: set[str] = field(default_factory=set)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    task_updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    decision_updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    positions: list[dict[str, Any]] = field(default_factory=list)
    copies: list[tuple[str, str, str]] = field(default_factory=list)
    """(item, from item, detail key): a key of another item's detail copied onto an item
    once the batch's other changes are written (a strike takes its dispute's ballot)"""
    last_seq: int = 0

    def change(self, item: str, seq: int, at: datetime, **fields: Any) -> None:
        detail = fields.pop("detail", None)
        target = self.inserts.get(item)
        if target is None:
            target = self.updates.setdefault(item, {"detail": {}})
        target.update(fields, updated_at=at, updated_seq=seq)
        if detail:
            target["detail"] = merge_detail(target.get("detail", {}), detail)


    def change_task(self, task: str, **fields: Any) -> None:
        target = self.tasks.get(task)
        if target is None:
            target = self.task_updates.setdefault(task, {})
        target.update(fields)

    def change_decision(self, decision: str, **fields: Any) -> None:
        target = self.decisions.get(decision)
        if target is None:
            target = self.decision_updates.setdefault(decision, {})
        target.update(fields)


#: The fields of a contract that name another item; with ``subject`` and ``refs``, the
#: items an event concerns (its timeline entries, ``board.log.items``).
ITEM_FIELDS = ("item", "attack", "action", "strike", "picket", "decision", "task_id", "visit", "serves", "branch")


def concerned(ce: CloudEvent) -> list[str]:
    """Every item id ``ce`` concerns: its subject, its refs and the item fields of its data."""
    ids = [ce.subject, *ce.data.refs]
    for name in ITEM_FIELDS:
        value = getattr(ce.data, name, None)
        if isinstance(value, str):
            ids.append(value)
    return list(dict.fromkeys(ids))


def _items(d: Any) -> list[str]:
    """The item a forum event is about: its ``item``, else its ``refs``."""
    return [d.item] if d.item else list(d.refs)


def _sharing(ce: CloudEvent) -> dict[str, Any]:
    return {"org": ce.data.org, "tlp": ce.data.tlp, "audience": ce.data.audience}


def _new(ch: Changes, seq: int, ce: CloudEvent, *, item: str, kind: str, title: str,
         summary: str | None, detail: dict[str, Any], people_wanted: int | None = None) -> None:
    d = ce.data
    if item in ch.inserts:
        # as the table's primary key refuses it across batches: the same board either way
        raise ValueError(f"item {item} is already on the board")
    ch.inserts[item] = {
        "id": item, "kind": kind, "org": d.org, "service": ce.source.rsplit("/", 1)[-1],
        "title": title, "summary": summary, "status": "new", "priority": "normal",
        "tlp": d.tlp, "audience": d.audience, "region": d.region, "refs": list(d.refs),
        "detail": detail, "people_wanted": people_wanted, "created_at": ce.time,
        "updated_at": ce.time, "created_seq": seq, "updated_seq": seq,
    }
    if kind == "action":
        ch.touched_actions.add(item)


def fold(batch: list[tuple[int, CloudEvent | None]]) -> Changes:
    ch = Changes()
    for seq, ce in batch:
        if ce is not None:
            apply(ch, seq, ce)
        ch.last_seq = seq
    return ch


def apply(ch: Changes, seq: int, ce: CloudEvent) -> None:  # noqa: C901 - one branch per contract
    d = ce.data
    match d:
        case AttackReported():
            names = ", ".join(t.name or t.kind for t in d.targets)
            _new(ch, seq, ce, item=ce.subject, kind="attack",
                 title=f"{ATTACK_TITLES[d.attack_kind]}: {names}", summary=d.summary,
                 detail={"attack_kind": d.attack_kind, "severity": d.severity,
                         "targets": [{"kind": t.kind, "name": t.name} for t in d.targets]})
            if d.severity in ("high", "critical"):
                ch.inserts[ce.subject]["priority"] = "high" if d.severity == "high" else "urgent"
        case AttackResolved():
            ch.change(ce.subject, seq, ce.time, status="resolved",
                      detail={"outcome": d.outcome, "resolution": d.summary})
        case StrikeCalled():
            _new(ch, seq, ce, item=ce.subject, kind="strike",
                 title=f"{d.employer} strike ({d.sector})",
                 summary=f"{d.members_involved:,} members, {d.starts_on} to {d.ends_on}: "
                         + ", ".join(d.workplaces),
                 detail={"employer": d.employer, "sector": d.sector, "workplaces": d.workplaces,
                         "starts_on": str(d.starts_on), "ends_on": str(d.ends_on),
                         "members_involved": d.members_involved})
            for ref in d.refs:  # issue 11: the ballot of the dispute it follows, if any
                ch.copies.append((ce.subject, ref, "ballot"))
        case StrikeEnded():
            ch.change(ce.subject, seq, ce.time, status="closed", detail={"outcome": d.outcome,
                                                                         "resolution": d.summary})
        case PicketScheduled():
            _new(ch, seq, ce, item=d.picket, kind="picket", title=f"Picket: {d.where}",
                 summary=d.needs, detail={"where": d.where, "when": d.when.isoformat(), "strike": d.strike})
        case SolidarityRequested():
            _new(ch, seq, ce, item=ce.subject, kind="solidarity", title="Solidarity requested",
                 summary=d.summary, detail={"help": list(d.help)})
        case ActionCalled():
            _new(ch, seq, ce, item=ce.subject, kind="action",
                 title=f"{d.action_kind.replace('_', ' ').capitalize()}: {d.where}", summary=d.asks,
                 detail={"action_kind": d.action_kind, "where": d.where, "when": d.when.isoformat(),
                         **_named_groups(d)},
                 people_wanted=d.people_wanted)
        case ActionPledged():
            ch.pledges.append({"id": ce.subject, "action": d.action, "org": d.org, "grp": d.group,
                               "people": d.people, "note": d.note, "created_at": ce.time, "seq": seq})
            ch.touched_actions.add(d.action)
            ch.change(d.action, seq, ce.time)
        case WinRecorded():
            _new(ch, seq, ce, item=ce.subject, kind="win", title=f"Win: {d.win_kind.replace('_', ' ')}",
                 summary=d.summary, detail={"win_kind": d.win_kind, **_named_groups(d)})
        case ItemTriaged():
            detail = {"triaged_by": d.org, "triage_note": d.note}
            if d.lead_org is not None:
                detail["lead_org"] = d.lead_org
            ch.change(d.item, seq, ce.time, status=d.status, priority=d.priority, detail=detail)
        case ResponseOpened():
            for item in _items(d):
                ch.change(item, seq, ce.time, status="responding", detail={
                    "lead_org": d.lead_org,
                    "response": {"id": ce.subject, "org": d.org, "lead_org": d.lead_org,
                                 "coordinator": d.coordinator, "plan": d.plan, "actor": d.actor,
                                 "opened_at": _iso(ce.time)}})
        case ItemEscalated():
            ch.change(d.item, seq, ce.time, detail={"escalated_at": _iso(ce.time),
                                                    "escalation_reason": d.reason})
        case ReviewRecorded():
            for item in _items(d):
                ch.change(item, seq, ce.time, detail={"review": {
                    "org": d.org, "actor": d.actor, "worked": d.worked, "did_not": d.did_not,
                    "at": _iso(ce.time)}})
        case TaskAssigned():
            task = d.task_id or ce.subject
            if task in ch.tasks:
                raise ValueError(f"task {task} is already on the board")
            item = next(iter(_items(d)), None)
            ch.tasks[task] = {
                "id": task, "item": item, "assignee": d.assignee, "task": d.task,
                "due": d.due, "done": False, "done_at": None, "done_seq": None, "created_at": ce.time,
                "seq": seq, **_sharing(ce)}
            if item is not None:
                ch.change(item, seq, ce.time)
        case TaskDone():
            ch.change_task(d.task_id or ce.subject, done=True, done_at=ce.time, done_seq=seq)
            for item in _items(d)[:1]:
                ch.change(item, seq, ce.time)
        case DecisionProposed():
            if ce.subject in ch.decisions:
                raise ValueError(f"decision {ce.subject} is already on the board")
            ch.decisions[ce.subject] = {
                "id": ce.subject, "question": d.question, "method": d.method,
                "options": list(d.options), "evidence": list(d.refs),
                "board_position": d.board_position, "board_digest": d.board_digest,
                "review_on": d.review_on and d.review_on.isoformat(), "status": "open", "proposed_by": d.actor,
                "proposed_at": ce.time, "seq": seq, "outcome": None, "rationale": None,
                "decided_by": None, "decided_position": None, "decided_digest": None, "decided_actor": None,
                "decided_at": None, "decided_seq": None, **_sharing(ce)}
        case DecisionPositionTaken():
            ch.positions.append({"decision": d.decision, "org": d.org, "position": d.position,
                                 "reason": d.reason, "actor": d.actor,
                                 "at": ce.time, "seq": seq})
        case DecisionMade():
            ch.change_decision(d.decision or ce.subject, status="decided", outcome=d.outcome, rationale=d.rationale,
                               decided_by=list(d.decided_by), decided_position=d.board_position,
                               decided_digest=d.board_digest, decided_actor=d.actor,
                               decided_at=ce.time, decided_seq=seq)
        case _:
            # issue 11's contracts (the publishers', the movement's); events the board does not
            # show still advance its position
            if not _apply_publishers_work(ch, seq, ce):
                _apply_movement(ch, seq, ce)


# --- issue 11: the publishers' own work ------------------------------------------------

VISIT_STATUS = {"requested": "new", "confirmed": "acknowledged", "declined": "closed", "done": "resolved"}
"""A visit's card moves through the board's statuses as the liaison answers it."""


def _apply_publishers_work(ch: Changes, seq: int, ce: CloudEvent) -> bool:  # noqa: C901 - one branch per contract
    """Corrections, corroborations, turnout, statements, MP visits, disputes, ballots,
    branches and reps; False for an event the board does not show."""
    d = ce.data
    match d:
        case AttackUpdated():
            fields: dict[str, Any] = {}
            detail: dict[str, Any] = {"corrected_at": _iso(ce.time), "corrected_by": d.org}
            if d.summary is not None:
                fields["summary"] = d.summary
            if d.severity is not None:
                detail["severity"] = d.severity
            if d.targets is not None:
                detail["targets"] = [{"kind": t.kind, "name": t.name} for t in d.targets]
                if d.attack_kind is not None:
                    names = ", ".join(t.name or t.kind for t in d.targets)
                    fields["title"] = f"{ATTACK_TITLES[d.attack_kind]}: {names}"
            ch.change(ce.subject, seq, ce.time, detail=detail, **fields)
        case AttackCorroborated():
            ch.change(d.attack, seq, ce.time, detail={"corroborations": {d.org: {
                "org": d.org, "evidence": d.evidence, "actor": d.actor, "at": _iso(ce.time)}}})
        case ActionCompleted():
            ch.change(ce.subject, seq, ce.time, status="resolved", detail={
                "turnout": d.turnout, "completion": d.outcome, "completed_at": _iso(ce.time)})
        case StatementPublished():
            _new(ch, seq, ce, item=ce.subject, kind="statement", title=f"Statement: {d.title}", summary=d.text,
                 detail={"signatories": list(d.signatories)})
        case VisitRequested():
            who = d.mp or "an MP"
            _new(ch, seq, ce, item=ce.subject, kind="visit", title=f"MP visit: {who} to {d.where}", summary=d.note,
                 detail={"visit_state": "requested", "serves": d.serves, "where": d.where, "mp": d.mp,
                         "when": d.when and d.when.isoformat(), "requested_by": d.org})
            ch.change(d.serves, seq, ce.time, detail={"visits": {ce.subject: {
                "state": "requested", "mp": d.mp, "where": d.where, "requested_by": d.org}}})
        case VisitConfirmed() | VisitDeclined() | VisitDone():
            state = {VisitConfirmed: "confirmed", VisitDeclined: "declined", VisitDone: "done"}[type(d)]
            mp = getattr(d, "mp", None)
            answer = {"state": state, "mp": mp, "answered_by": d.org,
                      "when": getattr(d, "when", None) and d.when.isoformat(),  # type: ignore[union-attr]
                      "reason": getattr(d, "reason", None), "note": getattr(d, "note", None)}
            ch.change(d.visit, seq, ce.time, status=VISIT_STATUS[state],
                      detail={"visit_state": state, **{f"visit_{k}": v for k, v in answer.items() if k != "state"},
                              **({"mp": mp} if mp else {})})
            ch.change(d.serves, seq, ce.time, detail={"visits": {d.visit: {
                "state": state, "mp": mp, "answered_by": d.org}}})
        case DisputeDeclared():
            _new(ch, seq, ce, item=ce.subject, kind="dispute", title=f"Dispute: {d.employer} ({d.sector})",
                 summary=d.issues, detail={"employer": d.employer, "sector": d.sector})
        case BallotResult():
            ballot = {"id": ce.subject, "employer": d.employer, "eligible": d.eligible, "votes_cast": d.votes_cast,
                      "yes_votes": d.yes_votes, "turnout": d.turnout, "yes_share": d.yes_share,
                      "important_public_service": d.important_public_service, "turnout_met": d.turnout_met,
                      "support_met": d.support_met, "threshold_met": d.threshold_met, "majority": d.majority,
                      "at": _iso(ce.time)}
            for item in d.refs:
                ch.change(item, seq, ce.time, detail={"ballot": ballot})
        case BranchRegistered():
            _new(ch, seq, ce, item=ce.subject, kind="branch", title=f"Branch: {d.name}", summary=d.contact,
                 detail={"name": d.name, "workplaces": list(d.workplaces), "contact": d.contact})
        case RepRegistered():
            ch.change(d.branch, seq, ce.time, detail={"reps": {d.rep: {
                "workplace": d.workplace, "role": d.role, "name": d.name}}})
        case _:
            return False
    return True


def _iso(at: datetime) -> str:
    """An instant as the board's JSON detail keeps it: ISO 8601 in UTC."""
    return at.astimezone(UTC).isoformat()


# --- The movement's own work (issue 11): local groups, motions, casework ------------------

MOTION_OUTCOMES = {"pending": "outcome pending", "passed": "passed", "amended_and_passed": "passed as amended",
                   "fell": "fell", "withdrawn": "withdrawn", "not_heard": "not heard"}


def _named_groups(d: Any) -> dict[str, Any]:
    """The local groups an action or a win names, as the card shows them."""
    return {"groups": [{"id": g.id, "name": g.name} for g in d.groups]} if d.groups else {}


def _apply_movement(ch: Changes, seq: int, ce: CloudEvent) -> None:
    d = ce.data
    match d:
        case GroupRegistered():
            _new(ch, seq, ce, item=ce.subject, kind="group", title=f"Local group: {d.name}", summary=None,
                 detail={"name": d.name})
        case MotionTabled():
            where = f"{d.body}: " if d.body else ""
            _new(ch, seq, ce, item=ce.subject, kind="motion", title=f"Motion: {d.title}",
                 summary=f"{where}{MOTION_OUTCOMES[d.outcome or 'pending']}",
                 detail={"body": d.body, "outcome": d.outcome, "sponsors": list(d.sponsors),
                         **({"group": {"id": d.group.id, "name": d.group.name}} if d.group else {})})
        case CaseOpened() | CaseProgressed():
            # Only the safe summary exists on the log: the attack has support, at this stage.
            progressed = isinstance(d, CaseProgressed)
            ch.change(d.attack, seq, ce.time, detail={"casework": {
                "case": ce.subject, "org": d.org, "stage": d.stage,
                "referrals": list(d.referrals) if progressed else [],
                "steps": d.steps if progressed else 0,
                "outcome": d.outcome if progressed else None, "at": _iso(ce.time)}})
        case _:
            pass


def group_pledges(pledges: list[tuple[str | None, int]]) -> list[dict[str, Any]]:
    """Per local group, people and pledges, from (group, people) of an action's pledges;
    sorted by the group's name in code-point order (as PostgreSQL's ``COLLATE "C"``)."""
    totals: dict[str, list[int]] = {}
    for grp, people in pledges:
        if grp is not None:
            total = totals.setdefault(grp, [0, 0])
            total[0] += people
            total[1] += 1
    return [{"group": g, "people": t[0], "pledges": t[1]} for g, t in sorted(totals.items())]
