"""Who may see an item: ``events.policy.can_see``, every viewer × TLP × audience.

The table is TLP 2.0 as the policy's docstring states it: CLEAR and GREEN for everyone,
anonymous readers included; AMBER for the recipients' organisations only (the named
audience, or, with none named, every member organisation, never an anonymous reader);
AMBER+STRICT and RED for the publisher and the named audience.
"""

from __future__ import annotations

import pytest

from events.policy import can_see
from tests.unit.examples import NAMED, NOT_NAMED, PUBLISHER

VIEWERS = {"anonymous": None, "publisher": PUBLISHER, "named": NAMED, "not named": NOT_NAMED}
AUDIENCES = {"no audience": None, "empty audience": [], "audience [fbu]": [NAMED]}
T, F = True, False

#                                     anonymous publisher named not named
MATRIX: dict[tuple[str, str], tuple[bool, bool, bool, bool]] = {
    ("CLEAR", "no audience"):          (T, T, T, T),
    ("CLEAR", "empty audience"):       (T, T, T, T),
    ("CLEAR", "audience [fbu]"):       (T, T, T, T),  # an audience does not narrow CLEAR
    ("GREEN", "no audience"):          (T, T, T, T),
    ("GREEN", "empty audience"):       (T, T, T, T),
    ("GREEN", "audience [fbu]"):       (T, T, T, T),  # nor GREEN
    # TLP 2.0 limits AMBER to the recipients' organisations: with no audience named, every
    # member organisation of the coalition, but never an anonymous reader.
    ("AMBER", "no audience"):          (F, T, T, T),
    ("AMBER", "empty audience"):       (F, T, T, T),  # an empty audience counts as none
    ("AMBER", "audience [fbu]"):       (F, T, T, F),
    ("AMBER+STRICT", "no audience"):   (F, T, F, F),
    ("AMBER+STRICT", "empty audience"): (F, T, F, F),
    ("AMBER+STRICT", "audience [fbu]"): (F, T, T, F),
    ("RED", "no audience"):            (F, T, F, F),
    ("RED", "empty audience"):         (F, T, F, F),
    ("RED", "audience [fbu]"):         (F, T, T, F),
}

CELLS = [
    pytest.param(viewer, tlp, audience, expected, id=f"{tlp}-{audience}-{viewer}")
    for (tlp, audience), row in MATRIX.items()
    for viewer, expected in zip(VIEWERS, row, strict=True)
]


def test_the_matrix_covers_every_tlp_and_audience() -> None:
    tlps = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
    assert set(MATRIX) == {(tlp, audience) for tlp in tlps for audience in AUDIENCES}
    assert len(CELLS) == 5 * 3 * 4


@pytest.mark.parametrize(("viewer", "tlp", "audience", "expected"), CELLS)
def test_who_sees_what(viewer: str, tlp: str, audience: str, expected: bool) -> None:
    assert can_see(VIEWERS[viewer], PUBLISHER, tlp, AUDIENCES[audience]) is expected


def test_the_anonymous_board_is_in_no_audience() -> None:
    """``None`` is the board's view, not an organisation: whoever the audience names,
    RED stays off the board."""
    assert can_see(None, PUBLISHER, "RED", [PUBLISHER, NAMED]) is False
