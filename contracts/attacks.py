"""Attacks on members and organisations, reported by any organisation."""

from __future__ import annotations

from typing import Literal

from contracts.base import Contract, OrgId, Severity, ShortText, Target, Text

AttackKind = Literal[
    "suspension", "expulsion", "proscription", "whip_removed", "disciplinary_threat",
    "candidate_blocked", "longlist_excluded", "selection_imposed", "body_suspended",
    "media_smear", "other",
]
Outcome = Literal["reinstated", "overturned", "upheld", "withdrawn", "in_legal_process", "other"]


class AttackReported(Contract, frozen=True, tag="attack.reported.v1"):
    """An attack on members or organisations of the coalition has been reported."""

    attack_kind: AttackKind
    targets: list[Target]
    summary: Text
    severity: Severity = "medium"
    sources: list[ShortText] = []


class AttackUpdated(Contract, frozen=True, tag="attack.updated.v1"):
    """Corrected facts about a reported attack."""

    summary: Text | None = None
    severity: Severity | None = None
    targets: list[Target] | None = None


class AttackCorroborated(Contract, frozen=True, tag="attack.corroborated.v1"):
    """Another organisation confirms a reported attack (provenance: who knew what)."""

    attack: str
    evidence: Text | None = None


class AttackResolved(Contract, frozen=True, tag="attack.resolved.v1"):
    """An attack has an outcome."""

    outcome: Outcome
    summary: Text | None = None


__all__ = ["AttackCorroborated", "AttackReported", "AttackResolved", "AttackUpdated", "OrgId"]
