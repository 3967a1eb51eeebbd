"""Attacks on members and organisations, reported by any organisation."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from contracts.base import Contract, ItemId, OrgId, Severity, ShortText, Target, Text

AttackKind = Literal[
    "suspension", "expulsion", "proscription", "whip_removed", "disciplinary_threat",
    "candidate_blocked", "longlist_excluded", "selection_imposed", "body_suspended",
    "media_smear", "other",
]
Outcome = Literal["reinstated", "overturned", "upheld", "withdrawn", "in_legal_process", "other"]
Targets = Annotated[list[Target], Meta(max_length=200, description="who is attacked (at most 200)")]
Sources = Annotated[list[ShortText], Meta(max_length=50, description="where it is known from (at most 50)")]


class AttackReported(Contract, frozen=True, tag="attack.reported.v1"):
    """An attack on members or organisations of the coalition has been reported."""

    attack_kind: AttackKind
    targets: Targets
    summary: Text
    severity: Severity = "medium"
    sources: Sources = []


class AttackUpdated(Contract, frozen=True, tag="attack.updated.v1"):
    """Corrected facts about a reported attack, by the organisation that reported it
    (``attack_kind`` repeats the attack's kind, so that a reader can retitle it)."""

    attack_kind: AttackKind | None = None
    summary: Text | None = None
    severity: Severity | None = None
    targets: Targets | None = None


class AttackCorroborated(Contract, frozen=True, tag="attack.corroborated.v1"):
    """Another organisation confirms a reported attack (provenance: who knew what)."""

    attack: ItemId
    evidence: Text | None = None


class AttackResolved(Contract, frozen=True, tag="attack.resolved.v1"):
    """An attack has an outcome."""

    outcome: Outcome
    summary: Text | None = None


__all__ = ["AttackCorroborated", "AttackReported", "AttackResolved", "AttackUpdated", "OrgId", "Sources", "Targets"]
