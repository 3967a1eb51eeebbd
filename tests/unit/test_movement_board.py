"""The movement's work on the board, folded without engines: pledges per local group on
the action's card (the same whatever the batching, and through a snapshot), motions and
groups as items, and casework as a safe summary on its attack."""

from __future__ import annotations

from contracts.campaigning import ActionPledged, MotionTabled
from contracts.movement import CaseOpened, CaseProgressed, GroupRef, GroupRegistered
from projections.board import memory, snapshots
from projections.board.fold import fold, group_pledges
from tests.unit.examples import AT, action_called, attack_reported, envelope, new_id


def pledge(action: str, people: int, group: str | None) -> ActionPledged:
    return ActionPledged(org="momentum", occurred_at=AT, action=action, people=people, group=group,
                         group_id=new_id() if group else None)


def story() -> tuple[list, str, str]:
    """Leeds and Bradford register; a picket is called; Leeds pledges twice, Bradford once,
    the FBU without a group; Leeds tables a motion; a suspended member's case is referred
    and closed reinstated."""
    action, attack, leeds = new_id(), new_id(), new_id()
    events = [
        envelope(GroupRegistered(org="momentum", occurred_at=AT, name="Leeds Momentum",
                                 region="Yorkshire and The Humber"), leeds),
        envelope(GroupRegistered(org="momentum", occurred_at=AT, name="Bradford Momentum",
                                 region="Yorkshire and The Humber")),
        envelope(attack_reported(), attack),
        envelope(action_called(), action),
        envelope(pledge(action, 12, "Leeds Momentum")),
        envelope(pledge(action, 5, "Bradford Momentum")),
        envelope(pledge(action, 8, "Leeds Momentum")),
        envelope(pledge(action, 30, None)),
        envelope(MotionTabled(org="momentum", occurred_at=AT, title="Reinstate her", text="This CLP…",
                              body="Leeds Central CLP", outcome="passed", refs=[attack],
                              group=GroupRef(id=leeds, name="Leeds Momentum"))),
        envelope(CaseOpened(org="momentum", occurred_at=AT, attack=attack, refs=[attack])),
        envelope(CaseProgressed(org="momentum", occurred_at=AT, attack=attack, stage="referred",
                                referrals=["legal_advice"], refs=[attack])),
        envelope(CaseProgressed(org="momentum", occurred_at=AT, attack=attack, stage="closed",
                                referrals=["legal_advice"], steps=2, outcome="reinstated", refs=[attack])),
    ]
    return list(enumerate(events, start=1)), action, attack


def in_memory(batch: list, size: int) -> memory.State:
    state = memory.State()
    for start in range(0, len(batch), size):
        memory.apply(state, fold(batch[start:start + size]))
    return state


BY_GROUP = [{"group": "Bradford Momentum", "people": 5, "pledges": 1},
            {"group": "Leeds Momentum", "people": 20, "pledges": 2}]


def test_pledges_count_per_local_group_on_the_action() -> None:
    batch, action, _ = story()
    item = in_memory(batch, 100).items[action]
    assert (item["people_pledged"], item["pledge_count"]) == (55, 4)
    assert item["detail"]["pledges_by_group"] == BY_GROUP


def test_the_counts_per_group_do_not_depend_on_the_batching_or_a_snapshot() -> None:
    batch, action, _ = story()
    whole = in_memory(batch, 100)
    assert in_memory(batch, 1).items[action] == whole.items[action]
    half = in_memory(batch[:5], 5)
    restored = snapshots.decode(snapshots.encode(half))
    memory.apply(restored, fold(batch[5:]))
    assert restored.items[action]["detail"] == whole.items[action]["detail"]


def test_casework_shows_on_its_attack_as_stage_and_outcome_only() -> None:
    batch, _, attack = story()
    casework = in_memory(batch, 3).items[attack]["detail"]["casework"]
    assert {k: casework[k] for k in ("org", "stage", "referrals", "steps", "outcome")} == {
        "org": "momentum", "stage": "closed", "referrals": ["legal_advice"], "steps": 2, "outcome": "reinstated"}


def test_groups_and_motions_are_items_of_their_own() -> None:
    batch, _, attack = story()
    items = in_memory(batch, 100).items.values()
    motion = next(i for i in items if i["kind"] == "motion")
    assert (motion["title"], motion["summary"], motion["refs"]) == (
        "Motion: Reinstate her", "Leeds Central CLP: passed", [attack])
    assert motion["detail"]["group"]["name"] == "Leeds Momentum"
    assert sorted(i["title"] for i in items if i["kind"] == "group") == [
        "Local group: Bradford Momentum", "Local group: Leeds Momentum"]


def test_group_pledges_are_sorted_by_code_point_and_skip_pledges_without_a_group() -> None:
    assert group_pledges([("b", 1), (None, 9), ("B", 2), ("b", 3)]) == [
        {"group": "B", "people": 2, "pledges": 1}, {"group": "b", "people": 4, "pledges": 2}]
