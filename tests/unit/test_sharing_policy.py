"""The partners' sharing policy: TLP 2.0 as the coalition agreed it, and the subjects the
NATS server filters on giving exactly the same answer as the plain rule."""

from __future__ import annotations

import itertools

import pytest

from events.sharing import Partner, classes, entitled, filters, person_filters, subject

RMT = Partner(org="rmt", max_tlp="AMBER+STRICT", people=["rmt-jane"])
FBU_GREEN_ONLY = Partner(org="fbu", max_tlp="GREEN")
FORUM = Partner(org="forum", max_tlp="AMBER")
CLEAR_ONLY = Partner(org="bfawu", max_tlp="CLEAR")
PARTNERS = (RMT, FBU_GREEN_ONLY, FORUM, CLEAR_ONLY)
PEOPLE = {"rmt-jane"}


def matches(pattern: str, subj: str) -> bool:
    """NATS subject matching: ``*`` one token, ``>`` the rest."""
    p, s = pattern.split("."), subj.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(s) > i
        if i >= len(s) or (token != "*" and token != s[i]):
            return False
    return len(p) == len(s)


def received_through_consumer(partner: Partner, tlp: str, audience: list[str] | None) -> bool:
    subjects = [subject(c, "attack.reported") for c in classes(tlp, audience, PEOPLE)]
    return any(matches(f, s) for f in filters(partner) for s in subjects)


AUDIENCES = [None, [], ["rmt"], ["fbu"], ["rmt", "fbu"], ["rmt-jane"], ["forum"], ["momentum"]]


@pytest.mark.parametrize(("tlp", "audience", "partner"), list(itertools.product(
    ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED", "PURPLE"], AUDIENCES, PARTNERS)))
def test_the_servers_filters_and_the_plain_rule_agree(tlp: str, audience: list[str] | None,
                                                      partner: Partner) -> None:
    assert entitled(partner, tlp, audience, PEOPLE) == received_through_consumer(partner, tlp, audience)


def test_clear_and_green_reach_every_partner_up_to_its_marking() -> None:
    assert all(entitled(p, "CLEAR", None) for p in PARTNERS)
    assert [p.org for p in PARTNERS if entitled(p, "GREEN", None)] == ["rmt", "fbu", "forum"]


def test_amber_reaches_only_the_named_organisations_and_the_forum() -> None:
    assert [p.org for p in PARTNERS if entitled(p, "AMBER", ["rmt"], PEOPLE)] == ["rmt", "forum"]
    assert [p.org for p in PARTNERS if entitled(p, "AMBER", None, PEOPLE)] == ["forum"]


def test_a_partner_never_receives_above_its_marking_even_when_named() -> None:
    assert not entitled(FBU_GREEN_ONLY, "AMBER", ["fbu"])
    assert not entitled(FORUM, "AMBER+STRICT", ["forum"])


def test_amber_strict_reaches_the_one_organisation_named_and_not_the_forum() -> None:
    assert [p.org for p in PARTNERS if entitled(p, "AMBER+STRICT", ["rmt"])] == ["rmt"]
    assert classes("AMBER+STRICT", ["rmt", "fbu"]) == [], "several organisations: fail closed"


def test_red_goes_to_named_people_and_never_to_an_organisations_consumer() -> None:
    assert classes("RED", ["rmt-jane", "rmt"], PEOPLE) == ["person.rmt-jane.red"]
    assert not any(entitled(p, "RED", ["rmt-jane", p.org], PEOPLE) for p in PARTNERS)
    assert matches(person_filters("rmt-jane")[0], subject("person.rmt-jane.red", "case.opened"))


def test_a_command_marked_amber_strict_for_several_organisations_is_refused() -> None:
    import msgspec

    from services.commands import ReportAttack
    from tests.bodies import ATTACK

    with pytest.raises(msgspec.ValidationError, match="AMBER\\+STRICT may name one organisation only"):
        msgspec.json.decode(msgspec.json.encode({**ATTACK, "tlp": "AMBER+STRICT", "audience": ["rmt", "fbu"]}),
                            type=ReportAttack)
