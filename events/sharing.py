"""The sharing policy for partners: which events each partner organisation receives, as
subjects of the sharing stream ``SHARE`` that each partner's own consumer filters on.

TLP 2.0, as the coalition agreed it for partners (``[[partners]]`` in ``coalition.toml``):

* CLEAR and GREEN go to every partner.
* AMBER goes only to the organisations the event's ``audience`` names, and the forum.
* AMBER+STRICT goes only to the one organisation named (an audience naming several is
  refused when the command arrives; if one slips through, it goes to none: fail closed).
* RED goes only to named people (``people`` of a partner), never to an organisation's
  consumer.
* A partner never receives more than its ``max_tlp``, whatever the audience says.

Why subjects: the distributor publishes an event once per *sharing class* (``classes``),
onto subjects that carry the class; each partner's durable consumer of ``SHARE`` has the
subjects it is entitled to as its ``filter_subjects`` (``filters``; ``events.partners``).
The decision is then made by the NATS server's subject filters, the same for a backfill
from the start of the log and for live events; one event is published and stored once
per class, never once per partner. ``entitled`` is the same rule
as a plain function, for the channels that read the shared log directly (the HTTP feed,
webhooks); a unit test checks the two agree on every combination.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path

import msgspec

from contracts.base import TLP_ORDER, OrgId, Tlp
from events.organisations import load_organisations

#: The sharing stream's subjects start with this; its stream is ``SHARE``.
SHARE_PREFIX = "share"
SHARE_STREAM = "SHARE"

#: The forum always receives AMBER, whatever the audience (it coordinates the response).
FORUM = "forum"

#: Subject tokens for the markings (a NATS subject token cannot hold ``+``).
TOKENS: dict[str, str] = {"CLEAR": "clear", "GREEN": "green", "AMBER": "amber",
                          "AMBER+STRICT": "amber-strict", "RED": "red"}


class Partner(msgspec.Struct, frozen=True, kw_only=True):
    """One organisation that subscribes: the highest marking it may receive, and the people
    of it who may receive RED events that name them."""

    org: OrgId
    max_tlp: Tlp = "AMBER+STRICT"
    people: list[OrgId] = []
    """Ids of named people (same spelling as an organisation id, e.g. ``rmt-jane``) that a
    RED event's ``audience`` may name."""


class _File(msgspec.Struct):
    partners: list[Partner] = []


def load_partners(*folders: Path) -> tuple[Partner, ...]:
    """The ``[[partners]]`` of the first ``coalition.toml`` found (data folder, then the
    working directory); without a file, every organisation of the coalition is a partner
    up to AMBER+STRICT, with no named people."""
    for folder in (*folders, Path.cwd()):
        path = folder / "coalition.toml"
        if path.exists():
            found = msgspec.convert(tomllib.loads(path.read_text()), _File)
            orgs = {o.id for o in load_organisations(folder)}
            for p in found.partners:
                if p.org not in orgs:
                    raise ValueError(f"partner {p.org}: no organisation {p.org!r} in {path}")
            return tuple(found.partners)
    return tuple(Partner(org=o.id) for o in load_organisations())


def classes(tlp: str, audience: Iterable[str] | None, people: Iterable[str] = ()) -> list[str]:
    """The sharing classes of an event marked ``tlp`` for ``audience``: the middle of the
    subjects it is published on (``share.<class>.<type>``). ``people`` are the named people
    the policy knows (an audience entry that is a person, not an organisation)."""
    named = list(dict.fromkeys(audience or ()))
    known_people = set(people)
    if tlp in ("CLEAR", "GREEN"):
        return [f"all.{TOKENS[tlp]}"]
    if tlp == "AMBER":
        orgs = [o for o in named if o not in known_people]
        return [f"org.{o}.amber" for o in dict.fromkeys([*orgs, FORUM])]
    if tlp == "AMBER+STRICT":
        orgs = [o for o in named if o not in known_people]
        return [f"org.{orgs[0]}.amber-strict"] if len(orgs) == 1 else []
    if tlp == "RED":
        return [f"person.{p}.red" for p in named if p in known_people]
    return []


def subject(share_class: str, event_type: str) -> str:
    """Where the distributor publishes an event of ``event_type`` for ``share_class``."""
    return f"{SHARE_PREFIX}.{share_class}.{event_type}"


def filters(partner: Partner) -> list[str]:
    """The subjects of the sharing stream that ``partner``'s consumer delivers: everything its
    marking allows, nothing for RED (which goes to people, never to an organisation)."""
    level = TLP_ORDER[partner.max_tlp]
    found = [f"{SHARE_PREFIX}.all.clear.>"]
    if level >= TLP_ORDER["GREEN"]:
        found.append(f"{SHARE_PREFIX}.all.green.>")
    if level >= TLP_ORDER["AMBER"]:
        found.append(f"{SHARE_PREFIX}.org.{partner.org}.amber.>")
    if level >= TLP_ORDER["AMBER+STRICT"]:
        found.append(f"{SHARE_PREFIX}.org.{partner.org}.amber-strict.>")
    return found


def person_filters(person: str) -> list[str]:
    """The subjects a named person's own delivery reads: RED events naming them."""
    return [f"{SHARE_PREFIX}.person.{person}.red.>"]


def entitled(partner: Partner, tlp: str, audience: Iterable[str] | None,
             people: Iterable[str] = ()) -> bool:
    """Whether ``partner``'s organisation receives an event marked ``tlp`` for ``audience``:
    the same answer as the server's subject filters give for :func:`classes`."""
    if tlp not in TLP_ORDER or TLP_ORDER[tlp] > TLP_ORDER[partner.max_tlp] or tlp == "RED":
        return False
    mine = {f.removesuffix(".>") for f in filters(partner)}
    return any(f"{SHARE_PREFIX}.{c}" in mine for c in classes(tlp, audience, people))


def all_people(partners: Iterable[Partner]) -> set[str]:
    """Every named person of the policy (who may receive RED events naming them)."""
    return {p for partner in partners for p in partner.people}
