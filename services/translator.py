"""Domain event → contract, explicitly, one function per published domain event.

The domain model is not the wire format: partners code against ``contracts/``, and this
module is the only place that knows both.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import msgspec

from contracts.attacks import AttackReported, AttackResolved
from contracts.base import Contract, Target
from contracts.campaigning import ActionCalled, ActionPledged, WinRecorded
from contracts.envelope import CloudEvent
from contracts.forum import ItemTriaged
from contracts.industrial import PicketScheduled, SolidarityRequested, StrikeCalled
from contracts.registry import kind_of

_EVENT_IDS = uuid.UUID("6f1c8f0e-6b0a-4c52-9a55-3e2a0c0a7f11")


def _common(e: Any) -> dict[str, Any]:
    share = e.sharing
    return {
        "org": e.org,
        "occurred_at": datetime.fromisoformat(e.occurred_at),
        "tlp": share["tlp"],
        "audience": share["audience"],
        "region": share["region"],
        "refs": share["refs"],
    }


def _attack_reported(e: Any) -> Contract:
    return AttackReported(
        **_common(e),
        attack_kind=e.attack_kind,
        targets=[msgspec.convert(t, Target) for t in e.targets],
        summary=e.summary,
        severity=e.severity,
        sources=e.sources,
    )


def _attack_resolved(e: Any) -> Contract:
    return AttackResolved(**_common(e), outcome=e.outcome, summary=e.summary)


def _strike_called(e: Any) -> Contract:
    return StrikeCalled(
        **_common(e), employer=e.employer, sector=e.sector, workplaces=e.workplaces,
        starts_on=date.fromisoformat(e.starts_on), ends_on=date.fromisoformat(e.ends_on),
        members_involved=e.members_involved,
    )


def _picket_scheduled(e: Any) -> Contract:
    return PicketScheduled(
        **_common(e), picket=e.picket, strike=str(e.originator_id), where=e.where,
        when=datetime.fromisoformat(e.when), needs=e.needs,
    )


def _solidarity_requested(e: Any) -> Contract:
    return SolidarityRequested(**_common(e), help=e.help, summary=e.summary)


def _action_called(e: Any) -> Contract:
    return ActionCalled(
        **_common(e), action_kind=e.action_kind, where=e.where, when=datetime.fromisoformat(e.when),
        asks=e.asks, people_wanted=e.people_wanted,
    )


def _action_pledged(e: Any) -> Contract:
    return ActionPledged(**_common(e), action=e.action, people=e.people, note=e.note, group=e.group)


def _win_recorded(e: Any) -> Contract:
    return WinRecorded(**_common(e), win_kind=e.win_kind, summary=e.summary)


def _item_triaged(e: Any) -> Contract:
    # Triaged events stored before they carried ``item`` name it as their only ref.
    item = getattr(e, "item", None) or e.sharing["refs"][0]
    return ItemTriaged(**_common(e), item=item, status=e.status, priority=e.priority, note=e.note)


#: domain event class → (aggregate and event as they appear in the subject, translation)
TRANSLATIONS: dict[str, tuple[str, str, Callable[[Any], Contract]]] = {
    "Attack.Reported": ("attack", "reported", _attack_reported),
    "Attack.Resolved": ("attack", "resolved", _attack_resolved),
    "Strike.Called": ("strike", "called", _strike_called),
    "Strike.PicketScheduled": ("picket", "scheduled", _picket_scheduled),
    "SolidarityRequest.Requested": ("solidarity", "requested", _solidarity_requested),
    "Action.Called": ("action", "called", _action_called),
    "Pledge.Made": ("action", "pledged", _action_pledged),
    "Win.Recorded": ("win", "recorded", _win_recorded),
    "Triage.Opened": ("item", "triaged", _item_triaged),
    "Triage.Triaged": ("item", "triaged", _item_triaged),
}


def translate(service: str, domain_event: Any) -> tuple[str, CloudEvent]:
    """The NATS subject and CloudEvent for one stored domain event."""
    name = type(domain_event).__qualname__
    try:
        aggregate, verb, fn = TRANSLATIONS[name]
    except KeyError:
        raise LookupError(f"no contract for domain event {name}") from None
    data = fn(domain_event)
    originator = str(domain_event.originator_id)
    envelope = CloudEvent(
        id=str(uuid.uuid5(_EVENT_IDS, f"{originator}:{domain_event.originator_version}")),
        source=f"/services/{service}",
        type=kind_of(data),
        subject=originator,
        time=domain_event.timestamp,
        tlp=data.tlp,
        data=data,
    )
    return f"coalition.{service}.{aggregate}.{verb}", envelope
