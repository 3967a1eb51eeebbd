"""The board's snapshots (``board.snapshots``): what they hold, how they are written and read,
and the board at a position replayed from one.

A snapshot keeps each item as an ``Entry``: the few fields that choose, order and page a
board, and the item's canonical JSON (``views.canonical_item``), which is its part of a
digest and, decoded, its ``BoardItem`` and its row. A past board is then the snapshot's
entries with those of the items the later events touched made again: its digest is a
join and a SHA-256 of bytes already made, and only the page asked for is decoded.

Format 2 (written since): ``MAGIC`` then Zstandard-compressed MessagePack of ``Snapshot``.
Format 1 (zlib-compressed MessagePack of the rows, ``_Rows``) is still read: each item's
entry is then made when it is read, as slowly as before; ``coalition rebuild`` writes
the board's snapshots again in format 2."""

from __future__ import annotations

import zlib
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

import msgspec

from contracts import decode_envelope
from projections.board import memory
from projections.board.fold import fold
from projections.board.views import BoardItem, board_item, canonical_item, task_counts

try:
    from compression import zstd  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # before Python 3.14
    from backports import zstd  # type: ignore[no-redef,import-not-found,unused-ignore]

Row = dict[str, Any]
Table = tuple[list[str], list[list[Any]]]

#: What a format-2 body starts with (a zlib stream, format 1, starts with 0x78).
MAGIC = b"CBS\x02"
#: Zstandard's fastest level: a snapshot is written every few thousand events, read often.
LEVEL = 1
#: Task counts in an entry do not depend on the time (the overdue count is left at 0).
_ANY_TIME = datetime(1970, 1, 1, tzinfo=UTC)


class Entry(msgspec.Struct, array_like=True, gc=False):
    """One item of a snapshot: what choosing (``views.can_see``), the archive and the order
    of a page read, and ``canon``, the item's ``canonical_item`` bytes with the task
    counts at the snapshot's position."""

    id: str
    org: str
    tlp: str
    audience: list[str] | None
    status: str
    updated_at: datetime
    created_seq: int
    updated_seq: int
    canon: bytes


class Snapshot(msgspec.Struct, array_like=True):
    """The whole board at ``position``: its items as entries in id order, the rest as rows."""

    position: int = 0
    items: list[Entry] = msgspec.field(default_factory=list)
    pledged: dict[str, list[int]] = msgspec.field(default_factory=dict)
    tasks: Table = ([], [])
    decisions: Table = ([], [])
    positions: list[Row] = msgspec.field(default_factory=list)
    by_group: dict[str, list[tuple[str | None, int]]] = msgspec.field(default_factory=dict)


class _Rows(msgspec.Struct, array_like=True):
    """Format 1: each table's rows as lists of values under one list of column names."""

    position: int
    pledged: dict[str, list[int]]
    positions: list[Row]
    tables: dict[str, Table]
    by_group: dict[str, list[tuple[str | None, int]]] = {}
    """(written since local groups were on the board)"""


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Snapshot)
_rows_decoder = msgspec.msgpack.Decoder(_Rows)
_board_item = msgspec.json.Decoder(BoardItem)
_by_id = attrgetter("id")


def entry_of(row: Row, counts: Mapping[str, tuple[int, int, datetime | None]]) -> Entry:
    """An item's entry from its row and its tasks' counts (``views.task_counts``)."""
    return Entry(id=row["id"], org=row["org"], tlp=row["tlp"], audience=row["audience"], status=row["status"],
                 updated_at=row["updated_at"], created_seq=row["created_seq"], updated_seq=row["updated_seq"],
                 canon=canonical_item(board_item(row, counts)))


def row_of(entry: Entry) -> Row:
    """An item's row back from its entry: the canonical JSON holds every column but the
    two sequences, which the entry keeps."""
    i = _board_item.decode(entry.canon)
    return {"id": i.id, "kind": i.kind, "org": i.org, "service": i.service, "title": i.title, "summary": i.summary,
            "status": i.status, "priority": i.priority, "tlp": i.tlp, "audience": i.audience, "region": i.region,
            "refs": i.refs, "detail": i.detail, "people_wanted": i.people_wanted, "created_at": i.created_at,
            "updated_at": i.updated_at, "created_seq": entry.created_seq, "updated_seq": entry.updated_seq,
            "people_pledged": i.people_pledged, "pledge_count": i.pledge_count}


def refresh(state: memory.State, known: dict[str, Entry], stale: Iterable[str] = ()) -> list[Entry]:
    """Every item of ``state`` as an entry, in id order. ``known`` (updated in place) are
    entries made earlier and still true but for the ``stale`` items (``memory.apply``'s
    answers since): only those, and items not known yet, are made again."""
    todo = {i for i in stale if i in state.items} | (state.items.keys() - known.keys())
    if todo:
        counts = task_counts(state.tasks.values(), _ANY_TIME)
        for item_id in todo:
            known[item_id] = entry_of(state.items[item_id], counts)
    return sorted(known.values(), key=_by_id)


class _Written(msgspec.Struct, array_like=True):
    """``Snapshot`` as :class:`Encoded` writes it: the items already MessagePack, the same bytes."""

    position: int
    items: list[msgspec.Raw]
    pledged: dict[str, list[int]]
    tasks: Table
    decisions: Table
    positions: list[Row]
    by_group: dict[str, list[tuple[str | None, int]]]


class Encoded:
    """The entries of the last snapshot and their MessagePack bytes, kept between
    snapshots (the live history's and a rebuild's). A snapshot then makes and encodes
    only the items changed since the last one and joins the bytes of the others: the
    board is encoded once, not once per snapshot, and a snapshot's cost is its
    compression. The body is byte for byte what :func:`encode` makes of the same state."""

    def __init__(self, entries: dict[str, Entry] | None = None) -> None:
        self.entries: dict[str, Entry] = entries or {}
        self.raw: dict[str, msgspec.Raw] = {}
        self.order: list[str] = sorted(self.entries)

    def body(self, state: memory.State, stale: Iterable[str] = ()) -> bytes:
        """The snapshot of ``state``; ``stale`` are the items changed since the last call
        (``memory.apply``'s answers), as for :func:`refresh`."""
        return compress(self.packed(state, stale))

    def packed(self, state: memory.State, stale: Iterable[str] = ()) -> bytes:
        """The snapshot of ``state`` as MessagePack, not compressed yet (:func:`compress`
        makes it the body): what must be made while the board in memory is at
        ``state.position``. The live history makes this in the batch and compresses it
        after the batch's commit, in its writer's thread."""
        known = self.entries
        todo = {i for i in stale if i in state.items} | (state.items.keys() - known.keys())
        if todo:
            new = sorted(i for i in todo if i not in known)
            counts = task_counts(state.tasks.values(), _ANY_TIME)
            for item_id in todo:
                entry = known[item_id] = entry_of(state.items[item_id], counts)
                self.raw[item_id] = msgspec.Raw(_encoder.encode(entry))
            if new:
                self.order = sorted(self.order + new)  # two sorted runs: a merge
        raw = self.raw
        for item_id in self.order:  # entries read from a snapshot, not encoded yet
            if item_id not in raw:
                raw[item_id] = msgspec.Raw(_encoder.encode(known[item_id]))
        written = _Written(position=state.position, items=[raw[i] for i in self.order], pledged=state.pledged,
                           tasks=_pack(state.tasks), decisions=_pack(state.decisions), positions=state.positions,
                           by_group=state.by_group)
        return _encoder.encode(written)


def compress(packed: bytes) -> bytes:
    """A snapshot's body (format 2) from its MessagePack (``Encoded.packed``). Zstandard
    lets go of the GIL while it compresses, so a thread of its own costs the event loop
    little."""
    return MAGIC + zstd.compress(packed, LEVEL)


def _pack(rows: dict[str, Row]) -> Table:
    columns = list(next(iter(rows.values()))) if rows else []
    return columns, [[row.get(c) for c in columns] for row in rows.values()]


def _unpack(table: Table) -> dict[str, Row]:
    columns, values = table
    rows = (dict(zip(columns, v, strict=True)) for v in values)
    return {row["id"]: row for row in rows}


def encode(state: memory.State, entries: list[Entry] | None = None) -> bytes:
    """A snapshot's body (format 2) of ``state``; ``entries`` are its items' entries in id
    order if the caller has them (``refresh``)."""
    snapshot = Snapshot(position=state.position, items=entries if entries is not None else refresh(state, {}),
                        pledged=state.pledged, tasks=_pack(state.tasks), decisions=_pack(state.decisions),
                        positions=state.positions, by_group=state.by_group)
    return compress(_encoder.encode(snapshot))


def _state_of_rows(packed: _Rows) -> memory.State:
    return memory.State(position=packed.position, pledged=packed.pledged, positions=packed.positions,
                        by_group=packed.by_group, items=_unpack(packed.tables["items"]),
                        tasks=_unpack(packed.tables["tasks"]), decisions=_unpack(packed.tables["decisions"]))


def decode_snapshot(body: bytes) -> Snapshot:
    """A snapshot's body, either format, as entries and rows."""
    if body.startswith(MAGIC):
        return _decoder.decode(zstd.decompress(memoryview(body)[len(MAGIC):]))
    packed = _rows_decoder.decode(zlib.decompress(body))
    state = _state_of_rows(packed)
    return Snapshot(position=packed.position, items=refresh(state, {}), pledged=packed.pledged,
                    tasks=packed.tables["tasks"], decisions=packed.tables["decisions"], positions=packed.positions,
                    by_group=packed.by_group)


def state_of(snapshot: Snapshot) -> memory.State:
    """The whole board in memory, every item a row again (the live history's copy)."""
    return memory.State(position=snapshot.position, items={e.id: row_of(e) for e in snapshot.items},
                        pledged=snapshot.pledged, tasks=_unpack(snapshot.tasks),
                        decisions=_unpack(snapshot.decisions), positions=snapshot.positions,
                        by_group=snapshot.by_group)


def decode(body: bytes) -> memory.State:
    """A snapshot's body, either format, as the board in memory."""
    if body.startswith(MAGIC):
        return state_of(decode_snapshot(body))
    return _state_of_rows(_rows_decoder.decode(zlib.decompress(body)))


def board_at(snapshot: Snapshot, raws: Iterable[tuple[int, bytes]], position: int) -> tuple[list[Entry], memory.State]:
    """The board at ``position``: ``snapshot`` moved on by the logged events ``raws`` after
    it (in order), with the same fold as the live board in one batch. Only the items
    those events touch (or copy from) become rows, are changed by ``memory.apply`` and
    get new entries.

    Returns every item's entry in id order, and the board in memory with its tasks,
    decisions and positions (its ``items`` only the touched ones); ``snapshot`` is left
    as it was."""
    changes = fold([(seq, decode_envelope(raw)) for seq, raw in raws])  # type: ignore[misc]
    changes.last_seq = max(position, snapshot.position)
    tasks = _unpack(snapshot.tasks)
    items = snapshot.items
    at: dict[str, int] = {}  # where the touched items the snapshot has are in it (by id)
    for item_id in memory.read(tasks, changes):
        k = bisect_left(items, item_id, key=_by_id)
        if k < len(items) and items[k].id == item_id:
            at[item_id] = k
    # the totals and lists ``memory.apply`` adds to are copied: the snapshot's stay as they were
    pledged, by_group = dict(snapshot.pledged), dict(snapshot.by_group)
    for action in {p["action"] for p in changes.pledges}:
        if action in pledged:
            pledged[action] = list(pledged[action])
        if action in by_group:
            by_group[action] = list(by_group[action])
    state = memory.State(position=snapshot.position, items={i: row_of(items[k]) for i, k in at.items()},
                         tasks=tasks, decisions=_unpack(snapshot.decisions), pledged=pledged, by_group=by_group,
                         positions=list(snapshot.positions))
    entries, new = list(items), []
    changed = [i for i in memory.apply(state, changes) if i in state.items]
    if changed:
        counts = task_counts(state.tasks.values(), _ANY_TIME)
        for item_id in changed:
            entry = entry_of(state.items[item_id], counts)
            if item_id in at:
                entries[at[item_id]] = entry
            else:
                new.append(entry)
    if new:
        entries += new
        entries.sort(key=_by_id)
    return entries, state
