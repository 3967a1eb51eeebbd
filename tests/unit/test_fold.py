"""A batch of the shared log folded into board changes: ``projections.board.fold.fold``.

The batches are (stream sequence, CloudEvent) pairs, as the projector pulls them;
``None`` is a message it could not decode.
"""

from __future__ import annotations

from typing import get_args

import msgspec
import pytest

from contracts.attacks import AttackKind
from contracts.base import Target
from projections.board.fold import ATTACK_TITLES, fold
from tests.unit.examples import (
    AT,
    NAMED,
    PUBLISHER,
    action_called,
    action_pledged,
    attack_reported,
    attack_resolved,
    envelope,
    item_triaged,
    new_id,
    picket_scheduled,
    strike_called,
    task_assigned,
)


def test_an_attack_reported_then_resolved_in_one_batch_is_one_resolved_insert() -> None:
    attack = new_id()
    changes = fold([(7, envelope(attack_reported(), attack, service="unions")),
                    (8, envelope(attack_resolved(), attack, service="unions"))])

    assert list(changes.inserts) == [attack] and changes.updates == {}
    row = changes.inserts[attack]
    assert (row["kind"], row["org"], row["service"], row["status"]) == ("attack", PUBLISHER, "unions", "resolved")
    assert (row["created_seq"], row["updated_seq"], changes.last_seq) == (7, 8, 8)
    assert row["detail"]["outcome"] == "reinstated"
    assert row["detail"]["attack_kind"] == "suspension"  # the report's detail is kept


def test_a_change_to_an_item_of_an_earlier_batch_is_an_update() -> None:
    attack = new_id()
    changes = fold([(12, envelope(item_triaged(attack, "responding", "urgent"))),
                    (13, envelope(attack_resolved(), attack))])

    assert changes.inserts == {}
    update = changes.updates[attack]
    assert (update["status"], update["priority"], update["updated_seq"]) == ("resolved", "urgent", 13)
    assert update["detail"] == {"triaged_by": "forum", "triage_note": None,
                                "outcome": "reinstated", "resolution": "On appeal"}


def test_pledges_accumulate_and_touch_their_action() -> None:
    action = new_id()
    changes = fold([(20, envelope(action_called(), action)),
                    (21, envelope(action_pledged(action, NAMED, 12))),
                    (22, envelope(action_pledged(action, "momentum", 30)))])

    assert [p["people"] for p in changes.pledges] == [12, 30]
    assert {p["action"] for p in changes.pledges} == {action}
    assert changes.touched_actions == {action}
    assert changes.inserts[action]["people_wanted"] == 40
    assert changes.inserts[action]["updated_seq"] == 22  # the action moved with its pledges


def test_a_pledge_to_an_action_of_an_earlier_batch_updates_it() -> None:
    action = new_id()
    changes = fold([(30, envelope(action_pledged(action, NAMED, 5)))])
    assert changes.touched_actions == {action}
    assert changes.updates[action]["updated_seq"] == 30


@pytest.mark.parametrize(("severity", "priority"), [
    ("low", "normal"), ("medium", "normal"), ("high", "high"), ("critical", "urgent"),
])
def test_a_severe_attack_comes_in_with_priority(severity: str, priority: str) -> None:
    attack = new_id()
    changes = fold([(1, envelope(attack_reported(severity=severity), attack))])
    assert changes.inserts[attack]["priority"] == priority


def test_an_event_the_board_does_not_show_only_advances_its_position() -> None:
    changes = fold([(40, envelope(task_assigned()))])
    assert (changes.inserts, changes.updates, changes.pledges) == ({}, {}, [])
    assert changes.last_seq == 40


def test_an_undecodable_message_advances_the_position_too() -> None:
    attack = new_id()
    changes = fold([(50, envelope(attack_reported(), attack)), (51, None)])
    assert list(changes.inserts) == [attack]
    assert changes.last_seq == 51


def test_a_strike_and_its_picket_are_two_items() -> None:
    strike, picket = new_id(), new_id()
    changes = fold([(60, envelope(strike_called(), strike, service="unions")),
                    (61, envelope(picket_scheduled(strike, picket), strike, service="unions"))])

    assert changes.inserts[strike]["title"] == "Example Rail Ltd strike (rail)"
    assert changes.inserts[strike]["summary"] == "4,000 members, 2026-12-01 to 2026-12-03: Euston depot"
    assert changes.inserts[picket]["title"] == "Picket: Euston station"
    assert changes.inserts[picket]["detail"]["strike"] == strike


def test_every_attack_kind_has_a_title() -> None:
    assert set(ATTACK_TITLES) == set(get_args(AttackKind))


def test_an_attacks_title_names_its_kind_and_targets() -> None:
    attack = new_id()
    targets = [Target(kind="mp", name="Alex Rivera MP"), Target(kind="constituency_party")]
    changes = fold([(70, envelope(attack_reported(attack_kind="whip_removed", targets=targets), attack))])
    assert changes.inserts[attack]["title"] == "Whip removed: Alex Rivera MP, constituency_party"
    assert changes.inserts[attack]["created_at"] == AT


def test_a_new_item_keeps_its_title_and_sharing() -> None:
    action, strike = new_id(), new_id()
    called = msgspec.structs.replace(action_called(), tlp="AMBER", audience=[NAMED], region="London",
                                     refs=[strike])
    row = fold([(80, envelope(called, action))]).inserts[action]
    assert row["title"] == "Picket support: Euston station"
    assert (row["tlp"], row["audience"], row["region"], row["refs"]) == ("AMBER", [NAMED], "London", [strike])
