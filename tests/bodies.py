"""Example command bodies, as partners send them: one place for every platform test."""

from __future__ import annotations

ATTACK = {
    "kind": "suspension", "targets": [{"kind": "member", "name": "A. Member"}],
    "summary": "Suspended for sharing a picket-line photo", "severity": "high", "tlp": "GREEN",
    "region": "London",
}
STRIKE = {
    "employer": "Example Rail Ltd", "sector": "rail", "workplaces": ["Euston depot"],
    "starts_on": "2026-12-01", "ends_on": "2026-12-03", "members_involved": 4000, "tlp": "CLEAR",
}


def action(refs: list[str]) -> dict:
    """A call for picket support for the items ``refs``."""
    return {"kind": "picket_support", "refs": refs, "where": "Euston station",
            "when": "2026-12-01T06:00:00Z", "asks": "40 people on the picket", "people_wanted": 40,
            "tlp": "GREEN"}
