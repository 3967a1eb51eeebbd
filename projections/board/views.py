"""What the board shows, built from its rows — the same whether the rows come from the
board's tables (the board now) or from a board replayed in memory (the board as of an
earlier position) — and the digest of a board as one organisation saw it.

Pure: no I/O. ``queries`` reads the rows and re-exports what the services use."""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter
from typing import Any, Protocol

import msgspec

from events.policy import can_see

Row = Mapping[str, Any]


class BoardItem(msgspec.Struct, kw_only=True):
    """One item of the rapid-response board."""

    id: str
    kind: str
    org: str
    service: str
    title: str
    summary: str | None
    status: str
    priority: str
    tlp: str
    region: str | None
    refs: list[str]
    detail: dict[str, Any]
    people_wanted: int | None
    people_pledged: int
    pledge_count: int
    created_at: datetime
    updated_at: datetime
    audience: list[str] | None = None
    lead_org: str | None = None
    """the organisation leading the response opened on it, if any"""
    escalated: bool = False
    """nobody acknowledged it in time (``item.escalated``)"""
    escalated_at: datetime | None = None
    tasks_open: int = 0
    tasks_overdue: int = 0
    """open tasks past their due time, at the moment the board is read for (not in the digest)"""
    next_due: datetime | None = None


class DecisionPosition(msgspec.Struct, kw_only=True):
    """One organisation's position on a decision, as recorded (the latest counts)."""

    org: str
    position: str
    reason: str | None
    actor: str | None
    at: datetime
    seq: int


class BoardDecision(msgspec.Struct, kw_only=True):
    """A decision of the forum: what was asked, on which evidence, at which board position
    (and that board's digest), the positions taken, and the outcome."""

    id: str
    org: str
    tlp: str
    question: str
    method: str
    options: list[str]
    evidence: list[str]
    status: str
    board_position: int
    board_digest: str | None
    review_on: date | None
    proposed_by: str | None
    proposed_at: datetime
    proposed_seq: int
    positions: list[DecisionPosition]
    """every position taken, in log order (an organisation's later one replaces its earlier)"""
    current_positions: dict[str, str] = {}
    """each organisation's position now"""
    outcome: str | None = None
    rationale: str | None = None
    decided_by: list[str] | None = None
    decided_position: int | None = None
    decided_digest: str | None = None
    decided_actor: str | None = None
    decided_at: datetime | None = None
    decided_seq: int | None = None
    audience: list[str] | None = None
    board_then: str = ""
    """the board as it stood when proposed: ``/api/board?as_of=<board_position>``"""
    board_when_decided: str | None = None


#: The board's groups, and the order of the keys within each that the page shows.
GROUP_OF = {"attack": "attacks", "strike": "industrial", "picket": "industrial",
            "solidarity": "industrial", "action": "actions", "win": "wins",
            "motion": "actions", "group": "actions",  # the movement's motions and local groups
            # issue 11: the publishers' own work
            "dispute": "industrial", "visit": "actions", "statement": "actions", "branch": "branches"}
ATTACK_STATUSES = ("new", "acknowledged", "responding", "monitoring", "resolved", "closed")
INDUSTRIAL_KINDS = ("dispute", "strike", "picket", "solidarity")
#: What the actions column holds: calls to action, motions, local groups, MP visits and statements.
ACTION_KINDS = ("action", "motion", "group", "visit", "statement")
#: Items in these states leave the live columns for the archive after a while.
FINISHED = ("resolved", "closed")


class Board(msgspec.Struct, kw_only=True):
    """The board as of ``position``, the last stream sequence it applied."""

    position: int
    items: list[BoardItem]
    groups: dict[str, dict[str, list[str]]]
    decisions: list[BoardDecision] = []
    next_cursor: str | None = None
    """more items: pass it as ``cursor`` for the next page"""
    archive: bool = False
    """these are the archived items (resolved or closed a while ago), not the live columns"""
    as_of: int | None = None
    """a past board: the position asked for (``as_of``)"""
    as_of_time: datetime | None = None
    digest: str | None = None
    """SHA-256 of the whole board the caller may see at ``position`` (``board_digest``)"""

    def columns(self) -> dict[str, Any]:
        """The page's columns, from ``groups``: attacks by status, then industrial action,
        actions and wins, each a list of items."""
        by_id = {item.id: item for item in self.items}

        def items(group: str, key: str) -> list[BoardItem]:
            return [by_id[i] for i in self.groups.get(group, {}).get(key, [])]

        return {
            "attacks": [(s, items("attacks", s)) for s in ATTACK_STATUSES if items("attacks", s)],
            "industrial": [item for kind in INDUSTRIAL_KINDS for item in items("industrial", kind)],
            "actions": [item for kind in ACTION_KINDS for item in items("actions", kind)],
            "wins": items("wins", "win"),
        }


def utc(at: datetime | None) -> datetime | None:
    return None if at is None else at.astimezone(UTC)


def visible(viewer: str | None, row: Row) -> bool:
    return can_see(viewer, row["org"], row["tlp"], row["audience"])


def archived(row: Row, now: datetime, archive_after: timedelta) -> bool:
    """Resolved or closed longer than ``archive_after`` before ``now``."""
    return row["status"] in FINISHED and row["updated_at"] < now - archive_after


def task_counts(tasks: Iterable[Row], now: datetime) -> dict[str, tuple[int, int, datetime | None]]:
    """Per item: open tasks, those overdue at ``now``, the next due time."""
    counts: dict[str, tuple[int, int, datetime | None]] = {}
    for t in tasks:
        if t["done"] or t["item"] is None:
            continue
        n, late, due = counts.get(t["item"], (0, 0, None))
        d = t["due"]
        counts[t["item"]] = (n + 1, late + (d is not None and d < now),
                             d if due is None or (d is not None and d < due) else due)
    return counts


def board_item(row: Row, tasks: Mapping[str, tuple[int, int, datetime | None]]) -> BoardItem:
    detail = row["detail"]
    n, late, due = tasks.get(row["id"], (0, 0, None))
    escalated_at = detail.get("escalated_at")
    return BoardItem(
        id=row["id"], kind=row["kind"], org=row["org"], service=row["service"], title=row["title"],
        summary=row["summary"], status=row["status"], priority=row["priority"], tlp=row["tlp"],
        region=row["region"], refs=list(row["refs"]), detail=dict(detail), people_wanted=row["people_wanted"],
        people_pledged=row["people_pledged"], pledge_count=row["pledge_count"],
        created_at=utc(row["created_at"]), updated_at=utc(row["updated_at"]),  # type: ignore[arg-type]
        audience=row["audience"], lead_org=detail.get("lead_org"), escalated=escalated_at is not None,
        escalated_at=datetime.fromisoformat(escalated_at) if escalated_at else None,
        tasks_open=n, tasks_overdue=late, next_due=utc(due))


def board_decision(row: Row, positions: Iterable[Row]) -> BoardDecision:
    review_on = row["review_on"]
    return BoardDecision(
        id=row["id"], org=row["org"], tlp=row["tlp"], audience=row["audience"], question=row["question"],
        method=row["method"], options=list(row["options"]), evidence=list(row["evidence"]),
        status=row["status"], board_position=row["board_position"], board_digest=row["board_digest"],
        review_on=date.fromisoformat(review_on) if isinstance(review_on, str) else review_on,
        proposed_by=row["proposed_by"], proposed_at=utc(row["proposed_at"]),  # type: ignore[arg-type]
        proposed_seq=row["seq"],
        positions=[DecisionPosition(org=p["org"], position=p["position"], reason=p["reason"],
                                    actor=p["actor"], at=utc(p["at"]), seq=p["seq"])  # type: ignore[arg-type]
                   for p in sorted(positions, key=lambda p: p["seq"])],
        outcome=row["outcome"], rationale=row["rationale"],
        decided_by=None if row["decided_by"] is None else list(row["decided_by"]),
        current_positions={p["org"]: p["position"] for p in sorted(positions, key=lambda p: p["seq"])},
        decided_position=row["decided_position"], decided_digest=row["decided_digest"],
        decided_actor=row["decided_actor"],
        decided_at=utc(row["decided_at"]), decided_seq=row["decided_seq"],
        board_then=f"/api/board?as_of={row['board_position']}",
        board_when_decided=None if row["decided_position"] is None
        else f"/api/board?as_of={row['decided_position']}")


def decisions_of(rows: Iterable[Row], positions: Iterable[Row], viewer: str | None) -> list[BoardDecision]:
    """The decisions ``viewer`` may see, newest first, each with its positions."""
    by_decision: dict[str, list[Row]] = {}
    for p in positions:
        by_decision.setdefault(p["decision"], []).append(p)
    shown = [r for r in rows if visible(viewer, r)]
    return [board_decision(r, by_decision.get(r["id"], []))
            for r in sorted(shown, key=lambda r: r["seq"], reverse=True)]


def order_key(row: Row) -> tuple[int, str]:
    return row["updated_seq"], row["id"]


def cursor_of(item_row: Row) -> str:
    return f"{item_row['updated_seq']}:{item_row['id']}"


def parse_cursor(cursor: str) -> tuple[int, str]:
    """``<updated_seq>:<id>`` of the last item of the previous page; ValueError if not one."""
    seq, sep, item = cursor.partition(":")
    if not sep or not item:
        raise ValueError(f"not a cursor of this board: {cursor!r}")
    return int(seq), item


def group(items: Iterable[BoardItem]) -> dict[str, dict[str, list[str]]]:
    groups: dict[str, dict[str, list[str]]] = {"attacks": {}, "industrial": {}, "actions": {}, "wins": {}}
    for item in items:
        name = GROUP_OF.get(item.kind, "other")
        key = item.status if name == "attacks" else item.kind
        groups.setdefault(name, {}).setdefault(key, []).append(item.id)
    return groups


#: What a digest leaves out (as 0): what depends on when the board is read, not on the log.
VOLATILE = ("tasks_overdue",)


_canonical = msgspec.json.Encoder(order="sorted")


def canonical_item(item: BoardItem) -> bytes:
    """An item's part of a digest: its canonical JSON, its ``VOLATILE`` fields as 0. It
    depends on the item's row and its tasks only, so a snapshot keeps it
    (``snapshots.Entry``) and a past board is digested by joining them."""
    if any(getattr(item, name) for name in VOLATILE):
        item = msgspec.structs.replace(item, **dict.fromkeys(VOLATILE, 0))
    return _canonical.encode(item)


def digest_of(position: int, items: Iterable[bytes], decisions: Iterable[BoardDecision]) -> str:
    """``board_digest`` of a board at ``position`` from its items' ``canonical_item`` bytes,
    in id order, and its decisions: the very bytes of encoding the whole board at once
    (a JSON list is its members joined by commas), hashed without encoding them again."""
    digest = hashlib.sha256(b'{"decisions":')
    digest.update(_canonical.encode(sorted(decisions, key=lambda d: d.id)))
    digest.update(b',"items":[')
    digest.update(b",".join(items))
    digest.update(b'],"position":')
    digest.update(_canonical.encode(position))
    digest.update(b"}")
    return digest.hexdigest()


def board_digest(board: Board) -> str:
    """SHA-256 (hex) of the board as its reader saw it: canonical JSON (keys sorted, no
    spaces, UTF-8, instants in UTC) of its position, every item sorted by id (its
    ``VOLATILE`` fields as 0) and every decision sorted by id, without paging or grouping:
    ``{"decisions":[…],"items":[…],"position":N}``.
    Give it a whole board (every item the reader may see, archive included), as
    ``queries.board_as_of`` reads it: an auditor replaying the log to ``position`` as the
    same organisation gets the same digest."""
    return digest_of(board.position, [canonical_item(i) for i in sorted(board.items, key=lambda i: i.id)],
                     board.decisions)


def assemble(position: int, items: Iterable[Row], tasks: Iterable[Row], decisions: Iterable[Row],
             positions: Iterable[Row], viewer: str | None, *, now: datetime,
             archive: bool | None = None, archive_after: timedelta = timedelta(days=7),
             since: int = 0, limit: int | None = None, cursor: str | None = None,
             offset: int = 0) -> Board:
    """The board ``viewer`` may see from the board's rows, newest change first.

    ``archive``: None every item, False the live columns (without what was resolved or
    closed more than ``archive_after`` before ``now``), True only those. ``since``: items
    changed after that position. A page is ``limit`` items after ``cursor`` (or
    ``offset``); ``next_cursor`` continues it."""
    after = parse_cursor(cursor) if cursor else None
    rows = sorted((r for r in items if r["updated_seq"] > since and (after is None or order_key(r) < after)),
                  key=order_key, reverse=True)
    counts = task_counts(tasks, now)
    shown: list[BoardItem] = []
    skipped, more, last = 0, None, None
    for r in rows:
        if not visible(viewer, r):
            continue
        if archive is not None and archived(r, now, archive_after) != archive:
            continue
        if skipped < offset:
            skipped += 1
            continue
        if limit is not None and len(shown) == limit:
            more = cursor_of(last) if last is not None else None
            break
        shown.append(board_item(r, counts))
        last = r
    return Board(position=position, items=shown, groups=group(shown), next_cursor=more,
                 archive=bool(archive), decisions=decisions_of(decisions, positions, viewer))


# --- a past board, from its snapshot entries ----------------------------------------

class Indexed(Protocol):
    """An item as a past board holds it (``snapshots.Entry``): what choosing, ordering and
    paging read, and its ``canonical_item`` bytes."""

    id: str
    org: str
    tlp: str
    audience: list[str] | None
    status: str
    updated_at: datetime
    updated_seq: int
    canon: bytes


_board_item = msgspec.json.Decoder(BoardItem)
_canon = attrgetter("canon")


def assemble_indexed(position: int, entries: Iterable[Indexed], tasks: Iterable[Row], decisions: Iterable[Row],
                     positions: Iterable[Row], viewer: str | None, *, now: datetime,
                     archive: bool | None = None, archive_after: timedelta = timedelta(days=7),
                     limit: int | None = None, cursor: str | None = None, offset: int = 0) -> Board:
    """``assemble`` of a board from its items' entries (in id order), with its ``digest``
    over every item ``viewer`` may see: the same board, but only the page asked for is
    made into ``BoardItem``s, and the digest joins the canonical bytes the entries carry
    instead of encoding tens of thousands of items again."""
    shown = [e for e in entries if can_see(viewer, e.org, e.tlp, e.audience)]
    chosen = shown
    if cursor:
        after = parse_cursor(cursor)
        chosen = [e for e in chosen if (e.updated_seq, e.id) < after]
    if archive is not None:
        cutoff = now - archive_after
        chosen = [e for e in chosen if (e.status in FINISHED and e.updated_at < cutoff) == archive]
    newest_first = attrgetter("updated_seq", "id")
    more = None
    if limit is None:
        page = sorted(chosen, key=newest_first, reverse=True)[offset:]
    else:
        top = heapq.nlargest(offset + limit + 1, chosen, key=newest_first)
        page = top[offset:offset + limit]
        if len(top) > offset + limit and page:
            more = f"{page[-1].updated_seq}:{page[-1].id}"
    counts = task_counts(tasks, now)
    items = []
    for entry in page:
        item = _board_item.decode(entry.canon)
        item.tasks_overdue = counts.get(item.id, (0, 0, None))[1]
        items.append(item)
    board = Board(position=position, items=items, groups=group(items), next_cursor=more, archive=bool(archive),
                  decisions=decisions_of(decisions, positions, viewer))
    board.digest = digest_of(position, map(_canon, shown), board.decisions)
    return board
