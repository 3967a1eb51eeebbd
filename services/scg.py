"""The caucus liaison's service: the Socialist Campaign Group's office publishes attacks
on MPs, actions, pledges and wins, tables motions and publishes statements in Parliament,
and answers requests for MP visits (confirmed with the MP who goes, or declined; then done)."""

from __future__ import annotations

from services.api.attacks import AttackController
from services.api.campaigns import ActionController, WinController
from services.api.caucus import StatementController, VisitAnswerController
from services.api.motions import MotionController
from services.api.visits import VisitController
from services.application import PublisherApp, TablesMotions, utc
from services.commands import ConfirmVisit, DeclineVisit, MarkVisitDone, PublishStatement
from services.domain.campaigns import Statement
from services.domain.sharing import Sharing
from services.domain.visits import (
    VisitAlreadyAnswered,
    VisitConfirmation,
    VisitNotConfirmed,
    VisitRefusal,
    answer_id,
)
from services.registry import Service


class ScgApp(TablesMotions, PublisherApp):
    """The caucus liaison's event store (schema ``scg``)."""

    name = "scg"

    def publish_statement(self, org: str, cmd: PublishStatement) -> Statement:
        return Statement(org=org, occurred_at=utc(cmd.occurred_at), sharing=cmd.sharing(), **cmd.fields())

    def _answer(self, visit: str) -> VisitConfirmation | VisitRefusal | None:
        if not self.recorder.select_events(answer_id(visit), limit=1):
            return None
        answer: VisitConfirmation | VisitRefusal = self.repository.get(answer_id(visit))
        return answer

    def confirm_visit(self, org: str, visit: str, serves: str, visit_sharing: Sharing,
                      cmd: ConfirmVisit) -> VisitConfirmation:
        """Send ``cmd.mp`` on a requested visit (found on the board); a visit is answered once."""
        answer = self._answer(visit)
        if answer is not None:
            raise VisitAlreadyAnswered(f"visit {visit} is {answer.state} already")
        return VisitConfirmation(visit=visit, org=org, serves=serves, mp=cmd.mp, when=cmd.when and utc(cmd.when),
                                 note=cmd.note, occurred_at=utc(cmd.occurred_at),
                                 sharing=visit_sharing.passed_on(visit))

    def decline_visit(self, org: str, visit: str, serves: str, visit_sharing: Sharing,
                      cmd: DeclineVisit) -> VisitRefusal:
        answer = self._answer(visit)
        if answer is not None:
            raise VisitAlreadyAnswered(f"visit {visit} is {answer.state} already")
        return VisitRefusal(visit=visit, org=org, serves=serves, reason=cmd.reason,
                            occurred_at=utc(cmd.occurred_at), sharing=visit_sharing.passed_on(visit))

    def visit_done(self, visit: str, cmd: MarkVisitDone) -> VisitConfirmation:
        """A visit the liaison confirmed took place."""
        answer = self._answer(visit)
        if not isinstance(answer, VisitConfirmation):
            state = "requested, not confirmed" if answer is None else answer.state
            raise VisitNotConfirmed(f"visit {visit} is {state}: only a confirmed visit is done")
        answer.complete(cmd.note, utc(cmd.occurred_at))
        return answer


SERVICE = Service(
    name="scg",
    title="Socialist Campaign Group liaison: the caucus's publishing service",
    application=ScgApp,
    controllers=(AttackController, ActionController, WinController, MotionController,
                 # issue 11: statements and MP visits
                 StatementController, VisitController, VisitAnswerController),
)
