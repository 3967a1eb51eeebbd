"""The board in memory: the same ``Changes`` the fold makes, applied to dictionaries
instead of tables — what an as-of view replays onto, and what a snapshot holds
(``snapshots`` writes and reads it; this module does not import it).

``apply`` mirrors ``store.write`` statement by statement (inserts, pledges, merged
updates, pledge totals, tasks, decisions), so that a board replayed here from the log
equals the one PostgreSQL holds at the same position; the fold's rules are not written
twice, only the writing of their result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from projections.board.fold import Changes, group_pledges, merge_detail

Row = dict[str, Any]


class State(msgspec.Struct, kw_only=True):
    """The whole board at ``position``: rows as the board's tables hold them."""

    position: int = 0
    items: dict[str, Row] = msgspec.field(default_factory=dict)
    pledged: dict[str, list[int]] = msgspec.field(default_factory=dict)
    """per action: people pledged, number of pledges (as ``board.pledges`` sums them)"""
    tasks: dict[str, Row] = msgspec.field(default_factory=dict)
    decisions: dict[str, Row] = msgspec.field(default_factory=dict)
    positions: list[Row] = msgspec.field(default_factory=list)
    by_group: dict[str, list[tuple[str | None, int]]] = msgspec.field(default_factory=dict)
    """per action: (local group, people) of each pledge that names a group"""


def touched(tasks: Mapping[str, Row], ch: Changes) -> set[str]:
    """The items whose row or task counts ``ch`` may change (ids the board may not have):
    the only items whose canonical form (``snapshots.Entry``) must be made again after it.
    ``tasks`` are the board's tasks, for the item of a task marked done."""
    ids = set(ch.inserts) | set(ch.updates) | ch.touched_actions | {item for item, _, _ in ch.copies}
    ids.update(row["item"] for row in ch.tasks.values() if row["item"] is not None)
    for task_id in ch.task_updates:
        task = tasks.get(task_id)
        if task is not None and task["item"] is not None:
            ids.add(task["item"])
    return ids


def read(tasks: Mapping[str, Row], ch: Changes) -> set[str]:
    """The items ``apply`` reads for ``ch``: those it may change, and those it copies from."""
    return touched(tasks, ch) | {source for _, source, _ in ch.copies}


def apply(state: State, ch: Changes) -> set[str]:
    """Apply one batch's changes, as ``store.write`` applies them to the tables; returns
    the items it may have changed (``touched``)."""
    items = state.items
    for item_id, row in ch.inserts.items():
        items[item_id] = {**row, "people_pledged": 0, "pledge_count": 0}
    for p in ch.pledges:
        total = state.pledged.setdefault(p["action"], [0, 0])
        total[0] += p["people"]
        total[1] += 1
        if p["grp"] is not None:
            state.by_group.setdefault(p["action"], []).append((p["grp"], p["people"]))
    for item_id, fields in ch.updates.items():
        item = items.get(item_id)
        if item is None:
            continue  # as an UPDATE of no row: a change to an item the board never had
        for name in ("status", "priority", "title", "summary"):
            if fields.get(name) is not None:
                item[name] = fields[name]
        item["updated_at"], item["updated_seq"] = fields["updated_at"], fields["updated_seq"]
        if fields.get("detail"):
            item["detail"] = merge_detail(item["detail"], fields["detail"])
    for item_id, source, key in ch.copies:
        item, origin = items.get(item_id), items.get(source)
        if item is not None and origin is not None and key in origin["detail"]:
            item["detail"] = {**item["detail"], key: origin["detail"][key]}
    for action in ch.touched_actions:
        item, total = items.get(action), state.pledged.get(action)
        if item is not None and total is not None:
            item["people_pledged"], item["pledge_count"] = total
            if action in state.by_group:
                item["detail"] = {**item["detail"], "pledges_by_group": group_pledges(state.by_group[action])}
    for task_id, row in ch.tasks.items():
        state.tasks[task_id] = dict(row)
    for task_id, fields in ch.task_updates.items():
        task = state.tasks.get(task_id)
        if task is not None:
            task.update(done=True, done_at=fields["done_at"], done_seq=fields["done_seq"])
    for decision_id, row in ch.decisions.items():
        state.decisions[decision_id] = dict(row)
    for decision_id, fields in ch.decision_updates.items():
        decision = state.decisions.get(decision_id)
        if decision is not None:
            decision.update(fields)
    state.positions.extend(dict(p) for p in ch.positions)
    state.position = ch.last_seq
    return touched(state.tasks, ch)
