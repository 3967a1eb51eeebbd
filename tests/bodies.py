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


# --- The movement's own work (issue 11) ------------------------------------------------------

GROUP = {"name": "Leeds Momentum", "region": "Yorkshire and The Humber"}
#: An attack on a member reported without naming them: casework holds the name.
UNNAMED_SUSPENSION = {
    "kind": "suspension", "targets": [{"kind": "member"}], "summary": "Suspended for liking a post",
    "severity": "high", "tlp": "GREEN", "region": "Wales",
}


def case(attack: str, member: str, note: str, caseworkers: list[str] | None = None) -> dict:
    """A case of the legal and pastoral support unit for ``attack``."""
    return {"attack": attack, "member": member, "note": note,
            "caseworkers": caseworkers or ["momentum-coordinator"]}


def motion(refs: list[str], group: str | None = None, body: str = "Leeds Central CLP") -> dict:
    """A motion answering ``refs``, tabled by ``group`` if given."""
    return {"title": "Reinstate our secretary", "text": "This CLP calls for her immediate reinstatement.",
            "body": body, "refs": refs, "outcome": "passed", "region": "Yorkshire and The Humber",
            **({"group": group} if group else {})}


# --- issue 11: the publishers' own work -------------------------------------------------

DISPUTE = {"employer": "Example Rail Ltd", "sector": "rail", "issues": "Pay, and safety-critical posts cut",
           "tlp": "GREEN", "region": "London"}
BRANCH = {"name": "London Transport branch", "region": "London", "workplaces": ["Euston depot", "Kings Cross"],
          "contact": "Branch office, Euston Road", "tlp": "GREEN"}
REP = {"workplace": "Euston depot", "role": "health and safety rep"}
STATEMENT = {"title": "Solidarity with the Euston strikers", "text": "We stand with the RMT at Euston.",
             "signatories": ["scg", "momentum"], "tlp": "CLEAR"}


def ballot(refs: list[str], eligible: int = 4000, votes_cast: int = 2600, yes_votes: int = 2300,
           important_public_service: bool = True) -> dict:
    """A ballot's counts for the dispute and/or strike ``refs``: by default 65 % turnout,
    57.5 % of all eligible voting yes, in an important public service — both thresholds met."""
    return {"employer": "Example Rail Ltd", "eligible": eligible, "votes_cast": votes_cast,
            "yes_votes": yes_votes, "important_public_service": important_public_service, "refs": refs,
            "tlp": "GREEN", "region": "London"}


def visit(serves: str) -> dict:
    """A request for an MP's visit to the item ``serves``."""
    return {"serves": serves, "where": "Euston station picket", "when": "2026-12-01T07:00:00Z",
            "mp": "A. MP", "note": "The picket needs a lift"}
