"""The board's history without engines: the forum's workflow and decisions folded onto the
board, the board in memory (``projections.board.memory``) equal however the log is cut
into batches or snapshots, and the digest of a board as one organisation saw it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import msgspec

from contracts import encode_envelope
from contracts.forum import (
    DecisionMade,
    DecisionPositionTaken,
    DecisionProposed,
    ItemEscalated,
    ResponseOpened,
    ReviewRecorded,
    TaskAssigned,
    TaskDone,
)
from projections.board import memory, snapshots
from projections.board.fold import concerned, fold
from projections.board.history import replay
from projections.board.views import assemble, board_digest
from tests.unit.examples import (
    AT,
    NAMED,
    action_called,
    action_pledged,
    attack_reported,
    attack_resolved,
    envelope,
    item_triaged,
    new_id,
)

LATER = AT + timedelta(hours=2)


def story() -> tuple[list, str, str]:
    """An attack reported, triaged, responded to with two tasks (one done), escalated and
    reviewed; an action with pledges; a decision proposed, positions taken, made."""
    attack, action, decision, response = new_id(), new_id(), new_id(), new_id()
    task_1, task_2 = new_id(), new_id()
    events = [
        envelope(attack_reported(severity="high"), attack, service="unions"),
        envelope(ItemEscalated(org="forum", occurred_at=AT, item=attack, reason="nobody acknowledged")),
        envelope(item_triaged(attack, "acknowledged", "urgent")),
        envelope(ResponseOpened(org="forum", occurred_at=AT, item=attack, refs=[attack], lead_org=NAMED,
                                coordinator="Sam", plan="Call the branch", actor="Sam Coordinator"), response),
        envelope(TaskAssigned(org="forum", occurred_at=AT, assignee=NAMED, task="Write to the NEC",
                              due=AT + timedelta(hours=1), task_id=task_1, item=attack), response),
        envelope(TaskAssigned(org="forum", occurred_at=AT, assignee="momentum", task="Phone bank",
                              due=AT + timedelta(days=3), task_id=task_2, item=attack), response),
        envelope(action_called(), action),
        envelope(action_pledged(action, NAMED, 12)),
        envelope(TaskDone(org=NAMED, occurred_at=AT, task_id=task_2, item=attack), response),
        envelope(DecisionProposed(org="forum", occurred_at=AT, question="Hold a rally?", method="consent",
                                  options=["yes", "no"], board_position=9, refs=[attack],
                                  review_on=date(2026, 12, 1), actor="Sam Coordinator"), decision),
        envelope(DecisionPositionTaken(org=NAMED, occurred_at=AT, decision=decision, position="agree")),
        envelope(DecisionPositionTaken(org="momentum", occurred_at=AT, decision=decision, position="block",
                                       reason="Not yet")),
        envelope(action_pledged(action, "momentum", 30)),
        envelope(DecisionMade(org="forum", occurred_at=AT, outcome="no", rationale="Blocked",
                              decided_by=["forum"], board_position=13, decision=decision), decision),
        envelope(attack_resolved(), attack, service="unions", at=LATER),
        envelope(ReviewRecorded(org="forum", occurred_at=AT, worked="Fast", item=attack), response, at=LATER),
    ]
    return [(seq, ce) for seq, ce in enumerate(events, start=1)], attack, decision


def in_memory(batch: list, size: int) -> memory.State:
    state = memory.State()
    for start in range(0, len(batch), size):
        memory.apply(state, fold(batch[start:start + size]))
    return state


def test_the_workflow_shows_on_its_item() -> None:
    batch, attack, _ = story()
    item = in_memory(batch, 100).items[attack]
    assert (item["status"], item["priority"]) == ("resolved", "urgent")
    assert item["detail"]["lead_org"] == NAMED
    assert item["detail"]["response"]["plan"] == "Call the branch"
    assert item["detail"]["escalation_reason"] == "nobody acknowledged"
    assert item["detail"]["review"]["worked"] == "Fast"
    assert item["updated_seq"] == 16


def test_tasks_and_decisions_are_kept_with_their_positions() -> None:
    batch, attack, decision = story()
    state = in_memory(batch, 100)
    assert sorted((t["assignee"], t["done"]) for t in state.tasks.values()) == [("fbu", False), ("momentum", True)]
    assert {t["item"] for t in state.tasks.values()} == {attack}
    d = state.decisions[decision]
    assert (d["status"], d["outcome"], d["decided_position"], d["proposed_by"]) == ("decided", "no", 13,
                                                                                    "Sam Coordinator")
    assert [(p["org"], p["position"]) for p in state.positions] == [(NAMED, "agree"), ("momentum", "block")]


def test_the_board_in_memory_is_the_same_however_the_log_is_batched() -> None:
    batch, _, _ = story()
    whole = in_memory(batch, len(batch))
    for size in (1, 2, 3, 5, 7):
        assert in_memory(batch, size) == whole, size


def test_a_snapshot_decodes_to_the_board_it_was_taken_of() -> None:
    batch, _, _ = story()
    state = in_memory(batch, 4)
    assert snapshots.decode(snapshots.encode(state)) == state


def test_replaying_from_a_snapshot_equals_replaying_from_the_start() -> None:
    batch, _, _ = story()
    raws = [(seq, encode_envelope(ce)) for seq, ce in batch]
    from_start = replay(memory.State(), raws, 16)
    snapshot = snapshots.encode(replay(memory.State(), raws[:9], 9))
    assert replay(snapshots.decode(snapshot), raws[9:], 16) == from_start
    assert replay(memory.State(), raws[:5], 5) == in_memory(batch[:5], 2)


def test_an_event_concerns_its_subject_refs_and_named_items() -> None:
    batch, attack, decision = story()
    position = batch[10][1]
    assert concerned(position) == [position.subject, decision]
    task_done = batch[8][1]
    assert attack in concerned(task_done) and task_done.data.task_id in concerned(task_done)


def board_of(state: memory.State, viewer: str | None, **options):
    return assemble(state.position, state.items.values(), state.tasks.values(), state.decisions.values(),
                    state.positions, viewer, now=AT + timedelta(hours=3), **options)


def test_open_and_overdue_tasks_show_on_the_item() -> None:
    batch, attack, _ = story()
    item = next(i for i in board_of(in_memory(batch, 3), None).items if i.id == attack)
    assert (item.tasks_open, item.tasks_overdue, item.lead_org, item.escalated) == (1, 1, NAMED, True)


def test_the_digest_is_stable_and_ignores_order_and_reading_time() -> None:
    batch, _, _ = story()
    one, other = in_memory(batch, 1), in_memory(batch, 16)
    board = board_of(one, NAMED)
    again = assemble(other.position, reversed(list(other.items.values())), other.tasks.values(),
                     reversed(list(other.decisions.values())), other.positions, NAMED,
                     now=datetime(2030, 1, 1, tzinfo=UTC))
    assert board_digest(board) == board_digest(again)
    assert len(board_digest(board)) == 64
    earlier = in_memory(batch[:15], 5)
    assert board_digest(board_of(earlier, NAMED)) != board_digest(board)


def test_a_digest_is_of_what_the_viewer_may_see() -> None:
    batch, _, _ = story()
    amber = (16 + 1, envelope(msgspec.structs.replace(attack_reported(), tlp="AMBER", audience=[NAMED]), new_id()))
    state = in_memory([*batch, amber], 5)
    assert len(board_of(state, NAMED).items) == len(board_of(state, None).items) + 1
    assert board_digest(board_of(state, NAMED)) != board_digest(board_of(state, None))


def test_pages_follow_their_cursor_and_the_archive_is_apart() -> None:
    batch, attack, _ = story()
    state = in_memory(batch, 16)
    first = board_of(state, None, limit=1)
    assert len(first.items) == 1 and first.next_cursor
    second = board_of(state, None, limit=5, cursor=first.next_cursor)
    assert {i.id for i in first.items}.isdisjoint(i.id for i in second.items)
    assert second.next_cursor is None
    live = board_of(state, None, archive=False, archive_after=timedelta(minutes=30))
    archive = board_of(state, None, archive=True, archive_after=timedelta(minutes=30))
    assert attack in [i.id for i in archive.items] and attack not in [i.id for i in live.items]
    assert archive.archive and not live.archive
