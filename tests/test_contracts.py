"""The published language between organisations: contracts, envelope and schema snapshots.

The examples follow one coalition scenario: an MP is threatened with losing the whip over a
statement backing a rail strike, local members are suspended for sharing it, the union's
pickets get pledges from local groups, and the members are reinstated.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from contracts import CONTRACTS, CloudEvent, decode_envelope, encode_envelope
from contracts.base import Target
from contracts.registry import contract_for_kind, kind_of
from contracts.snapshot import check, current_schemas, incompatibilities, write_snapshots

ATTACK = "7f1c2a9e-0b1d-4c55-9a43-0d6f3e2b1a01"
STRIKE = "2b9e4f10-5c7a-4d2e-8f61-3a0c9d8e7b02"
PICKET = "c4d8a1f2-6e3b-4a9c-b7d5-1f2e3a4b5c03"
ACTION = "e5f6a7b8-9c0d-4e1f-a2b3-c4d5e6f7a804"
DECISION = "91a2b3c4-d5e6-4f70-8192-a3b4c5d6e705"
VISIT = "a7b8c9d0-e1f2-4a3b-8c4d-5e6f7a8b9c07"
BRANCH = "b8c9d0e1-f2a3-4b4c-9d5e-6f7a8b9c0d08"
WHEN = datetime(2025, 3, 10, 5, 30, tzinfo=UTC)

EXAMPLES: dict[str, dict[str, Any]] = {
    "attack.reported.v1": {
        "org": "movement", "attack_kind": "disciplinary_threat", "severity": "high",
        "tlp": "AMBER", "audience": ["caucus", "rail-union"], "region": "North West",
        "targets": [Target(kind="mp", name="Alex Rivera MP")],
        "summary": "Whip threatened over a statement backing the rail strike",
        "sources": ["Letter from the chief whip, seen by the caucus"],
    },
    "attack.updated.v1": {
        "org": "movement", "refs": [ATTACK], "severity": "critical",
        "summary": "Three members of the local party suspended for sharing the statement",
        "targets": [Target(kind="member", name="Sam Okafor"), Target(kind="constituency_party")],
    },
    "attack.corroborated.v1": {
        "org": "caucus", "attack": ATTACK,
        "evidence": "The MP has the letter; the caucus has seen it",
    },
    "attack.resolved.v1": {
        "org": "movement", "refs": [ATTACK], "outcome": "reinstated",
        "summary": "Suspensions lifted on appeal",
    },
    "dispute.declared.v1": {
        "org": "rail-union", "employer": "Northern Rail Operator Ltd", "sector": "rail",
        "issues": "Pay below inflation and removal of guards from trains",
    },
    "ballot.result.v1": {
        "org": "rail-union", "employer": "Northern Rail Operator Ltd", "turnout": 0.62,
        "yes_share": 0.89, "threshold_met": True, "eligible": 4200, "votes_cast": 2604, "yes_votes": 2318,
        "important_public_service": True, "turnout_met": True, "support_met": True, "majority": True,
    },
    "strike.called.v1": {
        "org": "rail-union", "employer": "Northern Rail Operator Ltd", "sector": "rail",
        "workplaces": ["Manchester Piccadilly", "Leeds"], "starts_on": date(2025, 3, 10),
        "ends_on": date(2025, 3, 12), "members_involved": 4200,
    },
    "picket.scheduled.v1": {
        "org": "rail-union", "picket": PICKET, "strike": STRIKE, "when": WHEN,
        "where": "Manchester Piccadilly, main entrance", "needs": "Bodies and flasks from 5am",
        "lat": 53.4774, "lon": -2.2309,
    },
    "solidarity.requested.v1": {
        "org": "rail-union", "help": ["people_on_picket", "strike_fund", "mp_visit"],
        "summary": "Pickets need numbers on the first morning; the hardship fund is low",
    },
    "strike.ended.v1": {"org": "rail-union", "outcome": "won", "summary": "Guards stay on trains"},
    "action.called.v1": {
        "org": "movement", "refs": [PICKET], "action_kind": "picket_support", "when": WHEN,
        "where": "Manchester Piccadilly", "people_wanted": 50,
        "asks": "Join the picket line before the first train",
    },
    "action.pledged.v1": {
        "org": "movement", "action": ACTION, "people": 12, "group": "Salford local group",
        "note": "Bringing a banner and breakfast",
    },
    "action.completed.v1": {
        "org": "movement", "turnout": 140, "outcome": "No trains left the depot",
    },
    "motion.tabled.v1": {
        "org": "caucus", "title": "Right to strike on the railways",
        "text": "This House supports rail workers defending safety-critical guards.",
        "sponsors": ["Alex Rivera MP"],
    },
    "statement.published.v1": {
        "org": "caucus", "title": "We stand with the rail workers",
        "text": "An MP backing a lawful strike is doing their job.",
        "signatories": ["movement", "caucus", "rail-union"],
    },
    "win.recorded.v1": {
        "org": "movement", "refs": [ATTACK], "win_kind": "reinstatement",
        "summary": "The suspended members are reinstated after a coordinated response",
    },
    "response.opened.v1": {
        "org": "forum", "refs": [ATTACK], "lead_org": "movement",
        "coordinator": "Forum duty coordinator",
        "plan": "Statement from all three partners; caucus raises it with the whips",
    },
    "item.triaged.v1": {
        "org": "forum", "item": ATTACK, "status": "acknowledged", "priority": "urgent",
        "note": "Linked to the rail dispute",
    },
    "item.escalated.v1": {
        "org": "forum", "item": ATTACK, "reason": "Not acknowledged within 4 hours",
    },
    "task.assigned.v1": {
        "org": "forum", "assignee": "caucus", "due": WHEN,
        "task": "Raise the suspensions with the chief whip",
    },
    "task.done.v1": {"org": "caucus", "note": "Raised at the weekly meeting"},
    "decision.proposed.v1": {
        "org": "forum", "refs": [ATTACK], "question": "Do we go public before the appeal?",
        "method": "consent", "options": ["Public statement now", "Wait for the appeal"],
        "board_position": 42, "review_on": date(2025, 3, 17),
    },
    "decision.position_taken.v1": {
        "org": "rail-union", "decision": DECISION, "position": "agree",
        "reason": "Our members expect it",
    },
    "decision.made.v1": {
        "org": "forum", "outcome": "Public statement now", "board_position": 43,
        "rationale": "Silence reads as consent to the suspensions",
        "decided_by": ["movement", "caucus", "rail-union"],
    },
    "review.recorded.v1": {
        "org": "forum", "worked": "One statement, three signatures, out within a day",
        "did_not": "Local groups heard about the suspensions late",
    },
    "group.registered.v1": {"org": "movement", "name": "Leeds Momentum", "region": "Yorkshire and the Humber"},
    "case.opened.v1": {"org": "movement", "attack": ATTACK},
    "case.progressed.v1": {
        "org": "movement", "attack": ATTACK, "stage": "referred", "referrals": ["legal_advice"], "steps": 2,
    },
    "partner.changed.v1": {
        "org": "forum", "partner": "rail-union", "change": "replayed", "from_position": 1200,
        "max_tlp": "AMBER", "note": "Their consumer lost a week in an outage", "tlp": "AMBER",
        "audience": ["rail-union"],
    },
    # --- issue 11: MP visits, union branches and reps ------------------------------------
    "visit.requested.v1": {
        "org": "movement", "serves": PICKET, "where": "Manchester Piccadilly picket", "when": WHEN,
        "mp": "Alex Rivera MP", "note": "The picket needs a lift on the first morning",
    },
    "visit.confirmed.v1": {"org": "caucus", "visit": VISIT, "serves": PICKET, "mp": "Alex Rivera MP", "when": WHEN},
    "visit.declined.v1": {"org": "caucus", "visit": VISIT, "serves": PICKET, "reason": "The House sits late"},
    "visit.done.v1": {"org": "caucus", "visit": VISIT, "serves": PICKET, "mp": "Alex Rivera MP",
                      "note": "Spoke to 200 strikers"},
    "branch.registered.v1": {
        "org": "rail-union", "name": "Manchester rail branch", "region": "North West",
        "workplaces": ["Manchester Piccadilly"], "contact": "Branch office, Piccadilly",
    },
    "rep.registered.v1": {
        "org": "rail-union", "rep": "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e506", "branch": BRANCH,
        "workplace": "Manchester Piccadilly", "role": "health and safety rep",
    },
}


def example(kind: str) -> msgspec.Struct:
    """A valid instance of the contract for ``kind``."""
    return contract_for_kind(kind)(occurred_at=WHEN, **EXAMPLES[kind])


def envelope(kind: str) -> CloudEvent:
    """The example for ``kind`` as it goes on the shared log."""
    data = example(kind)
    return CloudEvent(
        id=f"{kind}-0001", source=f"/orgs/{data.org}", type=kind, subject=ATTACK, time=WHEN,
        tlp=data.tlp, data=data,
    )


def wire(of: str, /, **changes: Any) -> dict[str, Any]:
    """The example envelope of kind ``of`` as JSON, with ``data`` fields changed (None removes)."""
    raw = msgspec.to_builtins(envelope(of))
    for field, value in changes.items():
        if value is None:
            del raw["data"][field]
        else:
            raw["data"][field] = value
    return raw


def test_every_contract_has_an_example() -> None:
    """Each kind on the shared log is exercised by the scenario."""
    assert set(EXAMPLES) == {kind_of(c) for c in CONTRACTS}


@pytest.mark.parametrize("kind", [kind_of(c) for c in CONTRACTS])
def test_contract_round_trips_through_the_envelope(kind: str) -> None:
    """What one organisation publishes, every other decodes to the same event."""
    event = envelope(kind)
    decoded = decode_envelope(encode_envelope(event))
    assert decoded == event
    assert type(decoded.data) is contract_for_kind(kind)


def test_envelope_type_must_match_the_data_kind() -> None:
    """Routing by ``type`` cannot disagree with the event inside."""
    event = msgspec.structs.replace(envelope("attack.reported.v1"), type="attack.updated.v1")
    with pytest.raises(ValueError, match="does not match"):
        encode_envelope(event)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({**wire("attack.reported.v1"), "tlp": "PURPLE"}, r"Invalid enum value 'PURPLE'.*\$\.tlp"),
        (wire("attack.reported.v1", summary=None), r"missing required field `summary`"),
        (wire("strike.called.v1", members_involved=-5), r"\$\.data\.members_involved"),
        (wire("attack.reported.v1", summary=""), r"\$\.data\.summary"),
        (wire("action.pledged.v1", org="Movement!"), r"\$\.data\.org"),
        (wire("attack.reported.v1", kind="attack.invented.v9"), r"attack\.invented\.v9"),
    ],
    ids=["tlp-purple", "attack-without-summary", "negative-members", "empty-summary",
         "bad-org-id", "unknown-kind"],
)
def test_decoding_rejects_bad_input_naming_the_field(raw: dict[str, Any], message: str) -> None:
    """A malformed event is refused at the door, saying what is wrong and where."""
    with pytest.raises(msgspec.ValidationError, match=message):
        decode_envelope(json.dumps(raw).encode())


def test_committed_snapshots_match_the_contracts() -> None:
    """Every contract change has been snapshotted and is compatible with what was published."""
    assert check() == []


def test_check_reports_missing_and_vanished_snapshots(tmp_path: Path) -> None:
    """A new kind needs its snapshot; a published kind can never disappear."""
    write_snapshots(tmp_path)
    (tmp_path / "task.done.v1.json").unlink()
    (tmp_path / "attack.reported.v0.json").write_text("{}")
    assert check(tmp_path) == [
        "no snapshot for task.done.v1: run `uv run python -m contracts.snapshot`",
        "attack.reported.v0 has a snapshot but no contract: old versions must stay decodable",
    ]


def reported() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The published attack.reported.v1 schema, a copy to mutate, and their structs' schemas."""
    old = current_schemas()["attack.reported.v1"]
    new = copy.deepcopy(old)
    return old, new, new["$defs"]["AttackReported"], new["$defs"]["Target"]


def test_removing_a_field_is_incompatible() -> None:
    """Old events carry the field; consumers reading it would break."""
    old, new, struct, _ = reported()
    del struct["properties"]["summary"]
    struct["required"].remove("summary")
    assert incompatibilities(old, new) == ["field summary was removed"]


def test_changing_a_field_type_is_incompatible() -> None:
    """Old events hold a string summary; an integer would not decode them."""
    old, new, struct, _ = reported()
    struct["properties"]["summary"] = {"type": "integer"}
    assert incompatibilities(old, new) == ["field summary changed type: was string, now integer"]


def test_narrowing_an_optional_field_or_a_vocabulary_is_incompatible() -> None:
    """Dropping ``null`` or an enum value leaves published events undecodable."""
    old, new, struct, _ = reported()
    struct["properties"]["region"] = struct["properties"]["region"]["anyOf"][0]
    struct["properties"]["attack_kind"]["enum"].remove("whip_removed")
    assert incompatibilities(old, new) == [
        "field attack_kind no longer accepts ['whip_removed']",
        "field region no longer accepts null",
    ]


def test_a_new_required_field_is_incompatible() -> None:
    """Events published before the field existed do not have it."""
    old, new, struct, _ = reported()
    struct["properties"]["witness"] = {"type": "string"}
    struct["required"].append("witness")
    assert incompatibilities(old, new) == ["new field witness is required: give it a default"]


def test_a_field_becoming_required_is_incompatible() -> None:
    """Old events may have left out a field that had a default."""
    old, new, struct, _ = reported()
    struct["required"].append("severity")
    assert incompatibilities(old, new) == ["field severity became required"]


def test_nested_structs_are_compared_through_defs() -> None:
    """A change to ``Target`` breaks every attack that names one."""
    old, new, _, target = reported()
    del target["properties"]["ref"]
    target["properties"]["kind"]["enum"].remove("mp")
    assert incompatibilities(old, new) == [
        "field targets[].kind no longer accepts ['mp']",
        "field targets[].ref was removed",
    ]


def test_optional_additions_and_widening_are_compatible() -> None:
    """New optional fields and wider vocabularies keep every old event decodable."""
    old, new, struct, target = reported()
    struct["properties"]["witness"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    struct["properties"]["attack_kind"]["enum"].append("deselection")
    target["properties"]["pronouns"] = {"type": "string", "default": ""}
    assert incompatibilities(old, new) == []


def test_target_names_are_marked_as_personal_data() -> None:
    """Names of people under attack are flagged for encryption and erasure."""
    for kind in ("attack.reported.v1", "attack.updated.v1"):
        name = current_schemas()[kind]["$defs"]["Target"]["properties"]["name"]
        assert {"x-personal-data": True}.items() <= name["anyOf"][0].items()
        assert name["anyOf"][1] == {"type": "null"}
