"""The forum's service: the coordinators' board, triage, responses, tasks, decisions and
escalation; the forum also calls actions, takes pledges and records wins.

Every command is one method of :class:`ForumApp`, called alike by the JSON API (the
forum's key: a machine, no person) and by the board's forms (a person's session): the
:class:`~services.domain.people.Actor` says which organisation and which person."""

from __future__ import annotations

import uuid
from datetime import datetime

from eventsourcing.application import AggregateNotFoundError

from events.policy import can_see
from events.sharing import Partner
from services.api.campaigns import ActionController, WinController
from services.api.board_page import STATIC, BoardPageController
from services.api.asyncapi import asyncapi
from services.api.board_reads import HistoryController
from services.api.disputes import BranchDirectory
from services.api.feed import FeedController
from services.api.forum import BoardController, TriageController
from services.api.pages import AuditPagesController
from services.api.partners import PartnerController
from services.api.regions import RegionsController
from services.api.visits import VisitController
from services.api.webhooks import WebhookController
from services.api.workflow import DecisionController, FormController, WorkflowController
from services.application import A, CampaignApp, utc
from services.commands import (
    Acknowledge,
    AssignLead,
    AssignTask,
    CompleteTask,
    MakeDecision,
    OpenResponse,
    ProposeDecision,
    RecordPartnerChange,
    RecordReview,
    Resolve,
    SetPriority,
    TakePosition,
    TriageItem,
)
from services.domain.decisions import Decision
from services.domain.errors import AlreadyEscalated, ItemNotFound
from services.domain.escalation import Escalation
from services.domain.partners import Partnership, UnknownPartner
from services.domain.people import Actor
from services.domain.responses import Response, Task
from services.domain.sharing import Sharing
from services.domain.triage import OnBoard, Triage, check_acknowledge, check_change, check_resolve
from services.escalation import escalate_overdue
from services.registry import Service
from services.sessions import SessionController, forum_app_options


class ForumApp(CampaignApp):
    """The forum's event store (schema ``forum``)."""

    name = "forum"

    # --- triage -------------------------------------------------------------------------

    def triage(self, by: Actor | str, item: str, on_board: OnBoard | Sharing, cmd: TriageItem) -> Triage:
        """Set ``item``'s status and priority; the triage is shared as the item is."""
        return self._set(by, item, on_board, cmd.status, cmd.priority, cmd.note, reopen=cmd.reopen)

    def acknowledge(self, by: Actor, item: str, on_board: OnBoard, cmd: Acknowledge) -> Triage:
        """Someone has it: a new item becomes acknowledged, once."""
        status, priority = self._state(item, on_board)
        check_acknowledge(item, status)
        return self._set(by, item, on_board, "acknowledged", priority, cmd.note)

    def set_priority(self, by: Actor, item: str, on_board: OnBoard, cmd: SetPriority) -> Triage:
        status, _ = self._state(item, on_board)
        return self._set(by, item, on_board, status, cmd.priority, cmd.note)

    def assign_lead(self, by: Actor, item: str, on_board: OnBoard, cmd: AssignLead) -> Triage:
        status, priority = self._state(item, on_board)
        return self._set(by, item, on_board, status, priority, cmd.note, lead_org=cmd.lead_org)

    def resolve(self, by: Actor, item: str, on_board: OnBoard, cmd: Resolve) -> Triage:
        status, priority = self._state(item, on_board)
        check_resolve(item, status)
        return self._set(by, item, on_board, "resolved", priority, cmd.note)

    def _triage_of(self, item: str) -> Triage | None:
        try:
            record: Triage = self.repository.get(Triage.create_id(item))
        except AggregateNotFoundError:
            return None
        return record

    def _state(self, item: str, on_board: OnBoard) -> tuple[str, str]:
        """The item's status and priority: the forum's own record, else as the board shows it."""
        record = self._triage_of(item)
        return (record.status, record.priority) if record else (on_board.status, on_board.priority)

    def _set(self, by: Actor | str, item: str, on_board: OnBoard | Sharing, status: str, priority: str,
             note: str | None, *, lead_org: str | None = None, reopen: bool = False) -> Triage:
        by = Actor(org=by) if isinstance(by, str) else by
        by.check_may_change()
        seen = on_board if isinstance(on_board, OnBoard) else OnBoard(sharing=on_board)
        sharing = seen.sharing.passed_on(item)
        record = self._triage_of(item)
        if record is None:
            check_change(item, seen.status, status, reopen)  # type: ignore[arg-type]
            return Triage(item, by.org, status, priority, note, utc(), sharing,  # type: ignore[arg-type]
                          actor=by.name, lead_org=lead_org)
        record.triage(item, by.org, status, priority, note, utc(), sharing,  # type: ignore[arg-type]
                      actor=by.name, lead_org=lead_org, reopen=reopen)
        return record

    # --- responses and tasks ------------------------------------------------------------

    def open_response(self, by: Actor, item: str, on_board: OnBoard, cmd: OpenResponse) -> tuple[Response, Triage]:
        """The response to ``item`` (one per item), and the item's triage set responding
        with its lead organisation; both saved together."""
        by.check_may_change()
        if self._exists(Response.create_id(item)):
            raise Response.refuse_second(item)
        status, priority = self._state(item, on_board)
        response = Response(item, by.org, cmd.lead_org, cmd.coordinator or by.name or by.org, cmd.plan, utc(),
                            on_board.sharing.passed_on(item), actor=by.name)
        triage = self._set(by, item, on_board, "responding", priority, None, lead_org=cmd.lead_org,
                           reopen=status == "resolved")
        return response, triage

    def response_of(self, item: str) -> Response:
        try:
            response: Response = self.repository.get(Response.create_id(item))
        except AggregateNotFoundError:
            raise ItemNotFound(f"item {item} has no response") from None
        return response

    def assign_task(self, by: Actor, item: str, cmd: AssignTask) -> Task:
        """A task of ``item``'s response (which must be open) for an organisation."""
        by.check_may_change()
        response = self.response_of(item)
        return Task(by.org, item, str(response.id), cmd.assignee, cmd.task, utc(cmd.due) if cmd.due else None,
                    utc(), response.sharing, actor=by.name)

    def complete_task(self, by: Actor, task_id: str, cmd: CompleteTask) -> Task:
        by.check_may_change()
        task = self._seen(by, self.get_item(Task, task_id))
        task.complete(by.org, cmd.note, utc(), actor=by.name)
        return task

    def record_review(self, by: Actor, item: str, cmd: RecordReview) -> Response:
        by.check_may_change()
        response = self.response_of(item)
        response.record_review(by.org, cmd.worked, cmd.did_not, utc(), actor=by.name)
        return response

    # --- decisions ----------------------------------------------------------------------

    def propose(self, by: Actor, cmd: ProposeDecision, board_position: int, board_digest: str | None) -> Decision:
        """A decision put on evidence, at the board position (and digest) the proposer saw."""
        by.check_may_change()
        sharing = Sharing(tlp=cmd.tlp, audience=cmd.audience, refs=list(cmd.refs))
        return Decision(by.org, cmd.question, cmd.method, list(cmd.options), cmd.review_on, board_position,
                        board_digest, utc(), sharing, actor=by.name)

    def decision(self, by: Actor, decision_id: str) -> Decision:
        return self._seen(by, self.get_item(Decision, decision_id))

    def take_position(self, by: Actor, decision_id: str, cmd: TakePosition) -> Decision:
        by.check_may_change()
        decision = self.decision(by, decision_id)
        decision.take_position(by.org, cmd.position, cmd.reason, utc(), actor=by.name)
        return decision

    def decide(self, by: Actor, decision_id: str, cmd: MakeDecision, board_position: int,
               board_digest: str | None) -> Decision:
        by.check_may_change()
        decision = self.decision(by, decision_id)
        decision.decide(by.org, cmd.outcome, cmd.rationale, board_position, board_digest, utc(), actor=by.name)
        return decision

    # --- escalation ---------------------------------------------------------------------

    def escalate(self, item: str, sharing: Sharing, reason: str, at: datetime | None = None) -> Escalation:
        """``item``'s escalation; ``AlreadyEscalated`` if this store has it (a race between
        two forum processes is settled by the store: the second insert conflicts)."""
        if self._exists(Escalation.create_id(item)):
            raise AlreadyEscalated(f"item {item} was escalated already")
        return Escalation(item, self.name, reason, utc(at), sharing.passed_on(item))

    @staticmethod
    def _seen(by: Actor, aggregate: A) -> A:
        """``aggregate`` if ``by``'s organisation may see it; to anyone else it is not there."""
        sharing: Sharing = aggregate.sharing  # type: ignore[attr-defined]
        if not can_see(by.org, aggregate.org, sharing.tlp, sharing.audience):  # type: ignore[attr-defined]
            raise ItemNotFound(f"no {type(aggregate).__name__.lower()} with id {aggregate.id}")
        return aggregate

    def _exists(self, aggregate_id: uuid.UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    # --- partners' subscriptions (issue 9) ----------------------------------------------

    def record_partner_change(self, by: Actor, partner: str, partners: tuple[Partner, ...],
                              cmd: RecordPartnerChange) -> Partnership:
        """The forum's record of a change to what ``partner`` receives (one of the configured
        ``partners``, else ``UnknownPartner``), shared as ``cmd.tlp`` with that partner.
        Loads the partnership (I/O: call it in a worker thread)."""
        by.check_may_change()
        configured = {p.org: p for p in partners}
        if partner not in configured:
            raise UnknownPartner(f"no partner {partner} in the configuration "
                                 f"(partners: {', '.join(sorted(configured)) or 'none'})")
        fields = dict(partner=partner, org=by.org, change=cmd.change, max_tlp=configured[partner].max_tlp,
                      from_position=cmd.from_position, note=cmd.note, occurred_at=utc(),
                      sharing=Sharing(tlp=cmd.tlp, audience=[partner]), actor=by.name)
        try:
            record: Partnership = self.repository.get(Partnership.create_id(partner))
        except AggregateNotFoundError:
            return Partnership(**fields)  # type: ignore[arg-type]
        record.change(**fields)  # type: ignore[arg-type]
        return record


SERVICE = Service(
    name="forum",
    title="Forum: the coordinators' board, triage, responses, decisions and read API",
    application=ForumApp,
    controllers=(TriageController, WorkflowController, DecisionController, FormController, SessionController,
                 ActionController, WinController,
                 VisitController, BranchDirectory,  # issue 11: asking for an MP's visit; where branches are
                 BoardController, HistoryController, BoardPageController, AuditPagesController, RegionsController,
                 STATIC, PartnerController, FeedController, WebhookController, asyncapi),
    background=(escalate_overdue,),
    app_options=forum_app_options,
)
