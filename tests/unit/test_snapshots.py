"""The board's snapshots without engines (``projections.board.snapshots``): a past board
replayed from a snapshot of either format is the board assembled from every row, with
the same digest, byte for byte as the digest has always been computed; an item's row
comes back from its entry; a snapshot makes again only what changed since the last."""

from __future__ import annotations

import hashlib
import zlib
from datetime import timedelta

import msgspec
import pytest

from contracts import encode_envelope
from contracts.industrial import BallotResult, DisputeDeclared
from projections.board import memory, snapshots
from projections.board.fold import fold
from projections.board.history import replay
from projections.board.views import Board, assemble, assemble_indexed, board_digest, task_counts
from tests.unit.examples import (
    AT,
    NAMED,
    PUBLISHER,
    action_pledged,
    attack_reported,
    envelope,
    item_triaged,
    new_id,
    strike_called,
)
from tests.unit.test_board_memory import story

VIEWERS = (None, NAMED, "momentum", "rmt")
NOW = AT + timedelta(hours=3)


def format_1(state: memory.State, groups: bool = True) -> bytes:
    """A snapshot as the board wrote them first: zlib-compressed MessagePack of its rows
    (and, since local groups, the pledges by group)."""
    def pack(rows: dict) -> tuple[list, list]:
        columns = list(next(iter(rows.values()))) if rows else []
        return columns, [[row.get(c) for c in columns] for row in rows.values()]

    body = [state.position, state.pledged, state.positions,
            {"items": pack(state.items), "tasks": pack(state.tasks), "decisions": pack(state.decisions)},
            *([state.by_group] if groups else [])]
    return zlib.compress(msgspec.msgpack.encode(body), 1)


def digest_as_first_written(board: Board) -> str:
    """``board_digest`` as it was first written: the whole board encoded at once."""
    items = [msgspec.structs.replace(i, tasks_overdue=0) for i in sorted(board.items, key=lambda i: i.id)]
    whole = {"position": board.position, "items": items, "decisions": sorted(board.decisions, key=lambda d: d.id)}
    return hashlib.sha256(msgspec.json.Encoder(order="sorted").encode(whole)).hexdigest()


def longer_story() -> list:
    """The story, then an item for the FBU alone (AMBER), one the publisher keeps for itself
    (RED) and a triage of it: boards that differ by who reads them; and pledges from local
    groups to the story's action; a union's dispute, its ballot and the strike that follows."""
    batch, _, _ = story()
    amber, red, dispute, strike, action = new_id(), new_id(), new_id(), new_id(), batch[6][1].subject
    more = [envelope(msgspec.structs.replace(attack_reported(), tlp="AMBER", audience=[NAMED]), amber),
            envelope(msgspec.structs.replace(action_pledged(action, "momentum", 7), group="Hackney")),
            envelope(msgspec.structs.replace(attack_reported(), tlp="RED", audience=[]), red),
            envelope(msgspec.structs.replace(action_pledged(action, "momentum", 5), group="Leeds")),
            envelope(item_triaged(amber, "responding", "urgent")),
            envelope(msgspec.structs.replace(action_pledged(action, "momentum", 2), group="Hackney")),
            envelope(DisputeDeclared(org=PUBLISHER, occurred_at=AT, employer="Example Rail Ltd", sector="rail",
                                     issues="Pay"), dispute, service="unions"),
            envelope(BallotResult(org=PUBLISHER, occurred_at=AT, employer="Example Rail Ltd", turnout=0.65,
                                  yes_share=2300 / 2600, threshold_met=True, refs=[dispute], eligible=4000,
                                  votes_cast=2600, yes_votes=2300, turnout_met=True, support_met=True,
                                  majority=True), new_id(), service="unions"),
            envelope(action_pledged(action, NAMED, 3)),
            # the strike the dispute led to takes its ballot, copied from the dispute's item
            envelope(msgspec.structs.replace(strike_called(), refs=[dispute]), strike, service="unions")]
    return batch + [(len(batch) + n, ce) for n, ce in enumerate(more, start=1)]


def raws_of(batch: list) -> list[tuple[int, bytes]]:
    return [(seq, encode_envelope(ce)) for seq, ce in batch]


def whole_board(state: memory.State, viewer: str | None, **options) -> Board:
    """The board as the live board assembles it from every row, with its digest as the
    as-of view took it before snapshots kept entries."""
    rows = (state.position, state.items.values(), state.tasks.values(), state.decisions.values(), state.positions,
            viewer)
    board = assemble(*rows, now=NOW, **options)
    board.digest = board_digest(assemble(*rows, now=NOW))
    return board


def test_the_digest_is_the_whole_board_encoded_at_once_byte_for_byte() -> None:
    batch = longer_story()
    state = replay(memory.State(), raws_of(batch), len(batch))
    for viewer in VIEWERS:
        board = assemble(state.position, state.items.values(), state.tasks.values(), state.decisions.values(),
                         state.positions, viewer, now=NOW)
        assert any(i.tasks_overdue for i in board.items)  # read when a task is late: left out of the digest
        assert board_digest(board) == digest_as_first_written(board), viewer


@pytest.mark.parametrize("taken", [0, 1, 4, 9, 13, 17, 19, 21, 24, 25])
def test_a_past_board_from_a_snapshot_is_the_board_assembled_from_every_row(taken: int) -> None:
    """Whichever position the nearest snapshot was taken at, the board as of any later
    position — every viewer, page, cursor and archive — is the one assembled from the
    board's rows, digest included."""
    batch = longer_story()
    raws = raws_of(batch)
    snapshot = snapshots.decode_snapshot(snapshots.encode(replay(memory.State(), raws[:taken], taken)))
    for position in range(taken, len(batch) + 1):
        expected_state = replay(memory.State(), raws[:position], position)
        entries, state = snapshots.board_at(snapshot, raws[taken:position], position)
        assert [e.id for e in entries] == sorted(expected_state.items)
        for viewer in VIEWERS:
            for options in ({}, {"limit": 2}, {"limit": 1, "offset": 1}, {"limit": 0}, {"archive": False},
                            {"archive": True, "archive_after": timedelta(minutes=30)}):
                expected = whole_board(expected_state, viewer, **options)
                board = assemble_indexed(position, entries, state.tasks.values(), state.decisions.values(),
                                         state.positions, viewer, now=NOW, **options)
                assert board == expected, (position, viewer, options)
                if expected.next_cursor:
                    cursor = {**options, "cursor": expected.next_cursor, "offset": 0}
                    assert assemble_indexed(position, entries, state.tasks.values(), state.decisions.values(),
                                            state.positions, viewer, now=NOW, **cursor) == \
                        whole_board(expected_state, viewer, **cursor)
    assert snapshot == snapshots.decode_snapshot(snapshots.encode(replay(memory.State(), raws[:taken], taken)))


def test_an_items_row_comes_back_from_its_entry() -> None:
    batch = longer_story()
    state = replay(memory.State(), raws_of(batch), len(batch))
    strike = batch[-1][1].subject
    assert state.items[strike]["detail"]["ballot"]["turnout"] == 0.65  # copied from its dispute
    counts = task_counts(state.tasks.values(), NOW)
    for row in state.items.values():
        assert snapshots.row_of(snapshots.entry_of(row, counts)) == row


def test_a_snapshot_of_the_first_format_is_still_read() -> None:
    """Boards kept snapshots as rows before; they are read as they are (their entries made
    on reading), and give the same board and digests as today's format."""
    batch = longer_story()
    raws = raws_of(batch)
    state = replay(memory.State(), raws[:19], 19)
    assert state.by_group
    old, new = format_1(state), snapshots.encode(state)
    assert new.startswith(snapshots.MAGIC) and not old.startswith(snapshots.MAGIC)
    assert snapshots.decode(old) == snapshots.decode(new) == state
    # the first of all, before local groups: no pledges by group
    before_groups = replay(memory.State(), raws[:12], 12)
    assert snapshots.decode(format_1(before_groups, groups=False)) == before_groups
    assert snapshots.decode_snapshot(old) == snapshots.decode_snapshot(new)
    for body in (old, new):
        entries, later = snapshots.board_at(snapshots.decode_snapshot(body), raws[19:], len(batch))
        board = assemble_indexed(len(batch), entries, later.tasks.values(), later.decisions.values(),
                                 later.positions, NAMED, now=NOW)
        assert board.digest == board_digest(whole_board(replay(memory.State(), raws, len(batch)), NAMED))


def test_a_snapshot_makes_again_only_the_items_changed_since_the_last() -> None:
    """As the live history keeps them: the entries of the last snapshot, and the items
    ``memory.apply`` says it touched since; the rest are reused as they are."""
    batch = longer_story()
    state, known, stale = memory.State(), {}, set()
    for start in range(0, len(batch), 3):
        stale |= memory.apply(state, fold(batch[start:start + 3]))
        if start % 6 == 0:
            before = dict(known)
            entries = snapshots.refresh(state, known, stale)
            assert entries == snapshots.refresh(state, {})
            assert all(known[i] is e for i, e in before.items() if i not in stale)
            stale = set()
    assert snapshots.refresh(state, known, stale) == snapshots.refresh(state, {})


def test_an_empty_board_has_an_empty_snapshot() -> None:
    assert snapshots.decode(snapshots.encode(memory.State())) == memory.State()
    entries, state = snapshots.board_at(snapshots.Snapshot(), [], 0)
    board = assemble_indexed(0, entries, [], [], [], None, now=NOW)
    assert (entries, board.items, state.position) == ([], [], 0)
    assert board.digest == board_digest(Board(position=0, items=[], groups={}))


def test_a_snapshot_from_the_kept_bytes_is_the_snapshot_encoded_whole_byte_for_byte() -> None:
    """The history keeps each entry's bytes between snapshots and encodes only the items
    changed since: its body is exactly ``encode`` of the same board, at every step, also
    when it starts from the entries of a snapshot it read."""
    batch = longer_story()
    state, stale = memory.State(), set()
    kept = snapshots.Encoded()
    for start in range(0, len(batch), 3):
        stale |= memory.apply(state, fold(batch[start:start + 3]))
        state.position = batch[min(start + 2, len(batch) - 1)][0]
        if start % 6 == 0:
            assert kept.body(state, stale) == snapshots.encode(state)
            stale = set()
            read_back = snapshots.Encoded({e.id: e for e in snapshots.decode_snapshot(snapshots.encode(state)).items})
            assert read_back.body(state) == snapshots.encode(state)
    assert kept.body(state, stale) == snapshots.encode(state)
