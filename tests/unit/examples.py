"""Example values for the unit tests: one small coalition story, told without engines.

RMT reports that a member was suspended for sharing a picket-line photo (AMBER, for the
FBU too) and calls a strike at Euston; Momentum calls for 40 people on the picket; the
FBU pledges; the forum triages the attack; the member is reinstated. The JSON bodies are
the platform tests' own (``tests/bodies.py``): partners send the same thing to both.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import msgspec

from contracts.attacks import AttackReported, AttackResolved
from contracts.base import Contract, Target
from contracts.campaigning import ActionCalled, ActionPledged
from contracts.envelope import CloudEvent
from contracts.forum import ItemTriaged, TaskAssigned
from contracts.industrial import PicketScheduled, StrikeCalled
from contracts.registry import kind_of
from projections.board.queries import BoardItem
from services.domain.attacks import Attack
from services.domain.campaigns import Action, Pledge, Win
from services.domain.industrial import SolidarityRequest, Strike
from services.domain.sharing import Sharing
from services.domain.triage import Triage
from tests import bodies

# issue 11
from services.domain.attacks import Corroboration  # noqa: E402, I001
from services.domain.ballots import tally  # noqa: E402
from services.domain.branches import Branch  # noqa: E402
from services.domain.campaigns import Statement  # noqa: E402
from services.domain.disputes import Ballot, Dispute  # noqa: E402
from services.domain.visits import VisitConfirmation, VisitRefusal, VisitRequest  # noqa: E402

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
"""eventsourcing 9.5.6's plain-old-Python-objects store: an application with no database."""

PUBLISHER, NAMED, NOT_NAMED = "rmt", "fbu", "bfawu"
AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
WHEN = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # the picket, as bodies.action says
TARGETS = [Target(kind="member", name="A. Member")]
FOR_FBU = Sharing(tlp="AMBER", audience=[NAMED], region="London", refs=[])

ATTACK_BODY = msgspec.json.encode(bodies.ATTACK)
STRIKE_BODY = msgspec.json.encode(bodies.STRIKE)


def action_body(*refs: str) -> bytes:
    return msgspec.json.encode(bodies.action(list(refs)))


def new_id() -> str:
    return str(uuid.uuid4())


# --- aggregates and their domain events -------------------------------------------------

def attack(sharing: Sharing = FOR_FBU) -> Attack:
    return Attack(org=PUBLISHER, attack_kind="suspension", targets=TARGETS,
                  summary="Suspended for sharing a picket-line photo", severity="high",
                  sources=["Branch secretary"], occurred_at=AT, sharing=sharing)


def strike(sharing: Sharing = FOR_FBU) -> Strike:
    return Strike(org=PUBLISHER, employer="Example Rail Ltd", sector="rail", workplaces=["Euston depot"],
                  starts_on=date(2026, 12, 1), ends_on=date(2026, 12, 3), members_involved=4000,
                  occurred_at=AT, sharing=sharing)


def action(sharing: Sharing = FOR_FBU) -> Action:
    return Action(org="momentum", action_kind="picket_support", where="Euston station", when=WHEN,
                  asks="40 people on the picket", people_wanted=40, occurred_at=AT, sharing=sharing)


def one_event_of_each_kind() -> list[Any]:
    """Every domain event the services store, one of each, pending on fresh aggregates."""
    reported = attack()
    reported.resolve("reinstated", "Reinstated on appeal", AT)
    called = strike()
    called.schedule_picket("Euston station", WHEN, "Flasks of tea", AT, tlp="RED")
    request = SolidarityRequest(org=PUBLISHER, help=["people_on_picket", "strike_fund"],
                                summary="Join the Euston picket", occurred_at=AT,
                                sharing=Sharing(tlp="GREEN", refs=[str(called.id)]))
    picket_support = action()
    pledge = Pledge(org=NAMED, action=str(picket_support.id), people=12, note="Two branches",
                    group="Camden", occurred_at=AT, sharing=FOR_FBU.passed_on(str(picket_support.id)))
    win = Win(org="momentum", win_kind="reinstatement", summary="A. Member is back", occurred_at=AT,
              sharing=Sharing(tlp="CLEAR", refs=[str(reported.id)]))
    item = str(reported.id)
    triage = Triage(item, "forum", "acknowledged", "high", "On it", AT, FOR_FBU.passed_on(item))
    triage.triage(item, "forum", "responding", "urgent", None, AT, FOR_FBU.passed_on(item))
    aggregates = (reported, called, request, picket_support, pledge, win, triage)
    return [e for aggregate in aggregates for e in aggregate.collect_events()] + publishers_events()


# --- issue 11: the publishers' own work, one domain event of each kind -----------------

def publishers_events() -> list[Any]:
    """Corrections, corroboration, turnout, statements, MP visits, disputes, ballots, the
    end of a strike, branches and reps: every domain event issue 11 added, once."""
    reported = attack()
    reported.correct("Suspended over a picket photo, reinstated pending appeal", "critical", None, AT)
    corroboration = Corroboration(org=NAMED, attack=str(reported.id), evidence="Our rep was at the hearing",
                                  occurred_at=AT, sharing=FOR_FBU.passed_on(str(reported.id)))
    picket_support = action()
    picket_support.complete(52, "Picket held all morning", AT)
    statement = Statement(org="scg", title="Solidarity with the Euston strikers", text="We stand with them.",
                          signatories=["scg", "momentum"], occurred_at=AT, sharing=Sharing(tlp="CLEAR"))
    serves = str(picket_support.id)
    request = VisitRequest(org="momentum", serves=serves, where="Euston station", when=WHEN, mp="A. MP",
                           note="The picket needs a lift", occurred_at=AT, sharing=FOR_FBU.passed_on(serves))
    visit = str(request.id)
    confirmed = VisitConfirmation(visit=visit, org="scg", serves=serves, mp="A. MP", when=WHEN, note=None,
                                  occurred_at=AT, sharing=FOR_FBU.passed_on(visit))
    confirmed.complete("Spoke to 200 strikers", AT)
    other = new_id()
    declined = VisitRefusal(visit=other, org="scg", serves=serves, reason="The House sits late that day",
                            occurred_at=AT, sharing=FOR_FBU.passed_on(other))
    dispute = Dispute(org=PUBLISHER, employer="Example Rail Ltd", sector="rail", issues="Pay and safety",
                      occurred_at=AT, sharing=FOR_FBU)
    ballot = Ballot.counted(PUBLISHER, "Example Rail Ltd", 4000, 2600, 2300, True, tally(4000, 2600, 2300, True),
                            AT, Sharing(tlp="GREEN", refs=[str(dispute.id)]))
    ended = strike()
    ended.collect_events()
    ended.end("won", "5 % and no cuts to safety-critical posts", AT)
    branch = Branch(org=PUBLISHER, name="London Transport branch", workplaces=["Euston depot"],
                    contact="branch office, Euston Road", occurred_at=AT, sharing=Sharing(region="London"))
    branch.register_rep("Euston depot", "health and safety rep", "A. Rep", AT)
    aggregates = (reported, corroboration, picket_support, statement, request, confirmed, declined, dispute,
                  ballot, ended, branch)
    events = [e for aggregate in aggregates for e in aggregate.collect_events()]
    # the report and the call are one_event_of_each_kind's own: only what follows them here
    return [e for e in events if event_name(e) not in ("Attack.Reported", "Action.Called", "Strike.Called")]


def event_name(domain_event: Any) -> str:
    """``Attack.Reported``: how the translator and the test ids name a domain event."""
    return type(domain_event).__qualname__


# --- contracts in CloudEvents, as the board reads them ----------------------------------

def envelope(data: Contract, subject: str | None = None, service: str = "momentum",
             at: datetime = AT) -> CloudEvent:
    return CloudEvent(id=new_id(), source=f"/services/{service}", type=kind_of(data),
                      subject=subject or new_id(), time=at, tlp=data.tlp, data=data)


def attack_reported(**changes: Any) -> AttackReported:
    data = AttackReported(org=PUBLISHER, occurred_at=AT, attack_kind="suspension", targets=TARGETS,
                          summary="Suspended for sharing a picket-line photo")
    return msgspec.structs.replace(data, **changes)


def attack_resolved() -> AttackResolved:
    return AttackResolved(org=PUBLISHER, occurred_at=AT, outcome="reinstated", summary="On appeal")


def strike_called() -> StrikeCalled:
    return StrikeCalled(org=PUBLISHER, occurred_at=AT, employer="Example Rail Ltd", sector="rail",
                        workplaces=["Euston depot"], starts_on=date(2026, 12, 1), ends_on=date(2026, 12, 3),
                        members_involved=4000)


def picket_scheduled(strike_id: str, picket_id: str) -> PicketScheduled:
    return PicketScheduled(org=PUBLISHER, occurred_at=AT, picket=picket_id, strike=strike_id,
                           where="Euston station", when=WHEN, needs="Flasks of tea")


def action_called() -> ActionCalled:
    return ActionCalled(org="momentum", occurred_at=AT, action_kind="picket_support",
                        where="Euston station", when=WHEN, asks="40 people on the picket", people_wanted=40)


def action_pledged(action_id: str, org: str, people: int) -> ActionPledged:
    return ActionPledged(org=org, occurred_at=AT, action=action_id, people=people)


def item_triaged(item: str, status: str = "acknowledged", priority: str = "high") -> ItemTriaged:
    return ItemTriaged(org="forum", occurred_at=AT, item=item, status=status, priority=priority)


def task_assigned() -> TaskAssigned:
    return TaskAssigned(org="forum", occurred_at=AT, assignee=NAMED, task="Bring the banner")


# --- the board, as its queries return it -------------------------------------------------

def board_item(item_id: str, kind: str, status: str = "new") -> BoardItem:
    return BoardItem(id=item_id, kind=kind, org=PUBLISHER, service="unions", title=item_id, summary=None,
                     status=status, priority="normal", tlp="GREEN", region=None, refs=[], detail={},
                     people_wanted=None, people_pledged=0, pledge_count=0, created_at=AT, updated_at=AT)
