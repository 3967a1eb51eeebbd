"""How an item's sharing passes to what follows it (a pledge, a picket, a triage):
``Sharing.passed_on``."""

from __future__ import annotations

import pytest

from services.domain.sharing import Sharing
from tests.unit.examples import FOR_FBU, NAMED, new_id


def test_the_items_audience_and_region_pass_on_and_it_becomes_the_only_ref() -> None:
    strike = new_id()
    item = Sharing(tlp="AMBER", audience=[NAMED], region="London", refs=[new_id()])

    picket = item.passed_on(strike)

    assert picket == Sharing(tlp="AMBER", audience=[NAMED], region="London", refs=[strike])


@pytest.mark.parametrize(
    ("item_tlp", "given", "marking"),
    [
        ("GREEN", None, "GREEN"),                  # nothing given: the item's marking
        ("GREEN", "AMBER", "AMBER"),               # stricter wins
        ("AMBER", "RED", "RED"),
        ("CLEAR", "AMBER+STRICT", "AMBER+STRICT"),
        ("AMBER", "GREEN", "AMBER"),               # broader never lowers the marking
        ("RED", "CLEAR", "RED"),
        ("AMBER+STRICT", "AMBER", "AMBER+STRICT"),
        ("GREEN", "GREEN", "GREEN"),
    ],
)
def test_a_given_tlp_only_ever_makes_the_marking_stricter(item_tlp: str, given: str | None,
                                                            marking: str) -> None:
    item = Sharing(tlp=item_tlp)  # type: ignore[arg-type]
    assert item.passed_on(new_id(), tlp=given).tlp == marking  # type: ignore[arg-type]


def test_a_given_region_replaces_the_items() -> None:
    assert FOR_FBU.passed_on(new_id(), region="Scotland").region == "Scotland"
    assert FOR_FBU.passed_on(new_id()).region == "London"


def test_the_item_keeps_its_own_sharing() -> None:
    before = Sharing(tlp="GREEN", region="London", refs=["earlier"])
    before.passed_on(new_id(), tlp="RED", region="Wales")
    assert before == Sharing(tlp="GREEN", region="London", refs=["earlier"])
