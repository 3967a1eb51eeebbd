"""The board page's columns: ``projections.board.queries.Board.columns``, from a board
built by hand (as ``read_board`` groups it)."""

from __future__ import annotations

from projections.board.queries import Board
from tests.unit.examples import board_item

ITEMS = [
    board_item("a-new", "attack"), board_item("a-resolved", "attack", "resolved"),
    board_item("a-new-2", "attack"), board_item("picket", "picket"), board_item("strike", "strike"),
    board_item("solidarity", "solidarity"), board_item("rally", "action"), board_item("win", "win"),
]
BOARD = Board(position=42, items=ITEMS, groups={
    "attacks": {"resolved": ["a-resolved"], "new": ["a-new", "a-new-2"]},
    "industrial": {"picket": ["picket"], "solidarity": ["solidarity"], "strike": ["strike"]},
    "actions": {"action": ["rally"]},
    "wins": {"win": ["win"]},
})


def ids(items: list) -> list[str]:
    return [item.id for item in items]


def test_attacks_are_grouped_by_status_in_the_pages_order() -> None:
    attacks = BOARD.columns()["attacks"]
    assert [(status, ids(items)) for status, items in attacks] == [
        ("new", ["a-new", "a-new-2"]),
        ("resolved", ["a-resolved"]),
    ]  # statuses with no attack (acknowledged, responding…) are left out


def test_industrial_action_lists_strikes_then_pickets_then_solidarity() -> None:
    assert ids(BOARD.columns()["industrial"]) == ["strike", "picket", "solidarity"]


def test_actions_and_wins_have_a_column_each() -> None:
    columns = BOARD.columns()
    assert list(columns) == ["attacks", "industrial", "actions", "wins"]
    assert (ids(columns["actions"]), ids(columns["wins"])) == (["rally"], ["win"])


def test_the_columns_hold_the_items_themselves() -> None:
    assert BOARD.columns()["wins"][0] is ITEMS[-1]


def test_an_empty_board_has_empty_columns() -> None:
    empty = Board(position=0, items=[], groups={})
    assert empty.columns() == {"attacks": [], "industrial": [], "actions": [], "wins": []}
