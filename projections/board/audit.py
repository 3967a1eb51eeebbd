"""What an auditor reads, all from the board's own copy of the log (``board.log``): the
board as it stood at any position or moment, replayed from the nearest snapshot with the
live board's fold; an item's timeline; the decisions with their evidence and positions.
``queries`` re-exports it: the services read nothing of the board elsewhere."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from contracts import CloudEvent, decode_envelope
from events.policy import can_see
from events.settings import archive_after_days
from projections.board import snapshots
from projections.board.columns import BOARD_FIELDS, DECISION_FIELDS, TIMELINE_FIELDS
from projections.board.current import read_board
from projections.board.history import no_collection
from projections.board.schema import POSITION
from projections.board.views import (
    Board,
    BoardDecision,
    assemble_indexed,
    board_digest,
    decisions_of,
)


class AsOfError(ValueError):
    """An ``as_of`` the board cannot answer: beyond its position, or not a position or time."""


async def position_at_time(conn: AsyncConnection, at: datetime) -> int:
    """The board's position at ``at``: its last event recorded at or before then (0 before any)."""
    row = await (await conn.execute("SELECT max(seq) FROM board.log WHERE time <= %s", [at])).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


async def _read_at(conn: AsyncConnection, position: int) -> tuple[bytes | None, list[tuple[int, bytes]], datetime | None]:
    """In one snapshot of the database: the nearest snapshot's body at or before
    ``position``, the logged events from there, and when the event at ``position`` was
    recorded."""
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        now = await (await conn.execute(POSITION)).fetchone()
        current = int(now[0]) if now else 0
        if position > current:
            raise AsOfError(f"the board has not reached position {position} yet (it is at {current})")
        # in binary: the bytes as they are, not twice as many hex digits to make and parse
        snap = await (await conn.execute(
            "SELECT position, body FROM board.snapshots WHERE position <= %s ORDER BY position DESC LIMIT 1",
            [position], binary=True)).fetchone()
        start = int(snap[0]) if snap else 0
        raws = await (await conn.execute("SELECT seq, raw FROM board.log WHERE seq > %s AND seq <= %s ORDER BY seq",
                                         [start, position], binary=True)).fetchall()
        last = await (await conn.execute("SELECT time FROM board.log WHERE seq <= %s ORDER BY seq DESC LIMIT 1",
                                         [position])).fetchone()
    return (bytes(snap[1]) if snap else None), raws, (last[0] if last else None)


def parse_as_of(value: str) -> int | datetime:
    """``as_of``: a position (a whole number) or an ISO 8601 instant (UTC if no offset)."""
    if value.isdigit():
        return int(value)
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise AsOfError(f"as_of must be a board position or an ISO 8601 time, not {value!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def board_as_of(conn: AsyncConnection, viewer: str | None, as_of: int | datetime | str | None = None, *,
                      archive: bool | None = None, archive_after: timedelta | None = None,
                      limit: int | None = None, cursor: str | None = None, offset: int = 0) -> Board:
    """The board exactly as ``viewer`` could see it at a position or time (now if None),
    rebuilt from the log, with its ``digest`` (over every item the viewer could see then,
    whatever page is asked for). The archive and overdue tasks are as of that moment."""
    if isinstance(as_of, str):
        as_of = parse_as_of(as_of)
    if isinstance(as_of, datetime):
        as_of = await position_at_time(conn, as_of)
    if as_of is None:
        row = await (await conn.execute(POSITION)).fetchone()
        as_of = int(row[0]) if row else 0
    body, raws, then = await _read_at(conn, as_of)
    return await asyncio.to_thread(_as_of_board, body, raws, as_of, then, viewer, archive,
                                   archive_after or archive_after_days(), limit, cursor, offset)


def _as_of_board(body: bytes | None, raws: list[tuple[int, bytes]], position: int, then: datetime | None,
                 viewer: str | None, archive: bool | None, archive_after: timedelta, limit: int | None,
                 cursor: str | None, offset: int) -> Board:
    """The board at ``position`` from the nearest snapshot and the log after it, as
    ``viewer`` could see it then, with its digest (``views.assemble_indexed``)."""
    with no_collection():
        snapshot = snapshots.decode_snapshot(body) if body is not None else snapshots.Snapshot()
        entries, state = snapshots.board_at(snapshot, raws, position)
        board = assemble_indexed(position, entries, state.tasks.values(), state.decisions.values(),
                                 state.positions, viewer, now=then or datetime(1970, 1, 1, tzinfo=UTC),
                                 archive=archive, archive_after=archive_after, limit=limit, cursor=cursor,
                                 offset=offset)
    board.as_of, board.as_of_time = position, then
    return board


# --- timelines ----------------------------------------------------------------------

class TimelineEntry(msgspec.Struct, kw_only=True):
    """One event that concerns an item: its own, or one that refers to it."""

    seq: int
    time: datetime
    kind: str
    org: str
    actor: str | None
    """the person who acted, where the event names one"""
    subject: str
    tlp: str
    summary: str


def _summary(ce: CloudEvent) -> str:  # noqa: C901 - one line per kind
    d: Any = ce.data
    kind = ce.type.rsplit(".v", 1)[0]
    match kind:
        case "attack.reported":
            return f"{d.org} reported a {d.attack_kind.replace('_', ' ')} ({d.severity}): {d.summary}"
        case "attack.resolved":
            return f"resolved: {d.outcome}" + (f" ({d.summary})" if getattr(d, "summary", None) else "")
        case "item.triaged":
            return f"triaged by {d.org}: {d.status}, priority {d.priority}" + (f" ({d.note})" if d.note else "")
        case "item.escalated":
            return f"escalated: {d.reason}"
        case "response.opened":
            return f"response opened, led by {d.lead_org} (coordinator {d.coordinator}): {d.plan}"
        case "task.assigned":
            due = f", due {d.due.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if d.due else ""
            return f"task for {d.assignee}{due}: {d.task}"
        case "task.done":
            return "task done" + (f": {d.note}" if d.note else "")
        case "review.recorded":
            return f"review by {d.org}: worked: {d.worked}" + (f"; did not: {d.did_not}" if d.did_not else "")
        case "decision.proposed":
            return f"decision proposed ({d.method}) at board position {d.board_position}: {d.question}"
        case "decision.position_taken":
            return f"{d.org}: {d.position}" + (f" ({d.reason})" if d.reason else "")
        case "decision.made":
            return f"decided: {d.outcome} (by {', '.join(d.decided_by)}): {d.rationale}"
        case "action.called":
            return f"{d.action_kind.replace('_', ' ')} called at {d.where}: {d.asks}"
        case "action.pledged":
            return f"{d.org} pledged {d.people} people" + (f" ({d.group})" if d.group else "")
        case "strike.called":
            return f"strike called at {d.employer} ({d.sector}), {d.members_involved:,} members"
        case "strike.ended":
            return f"strike ended: {d.outcome}" + (f" ({d.summary})" if getattr(d, "summary", None) else "")
        case "picket.scheduled":
            return f"picket at {d.where}, {d.when.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        case "win.recorded":
            return f"win ({d.win_kind.replace('_', ' ')}): {d.summary}"
        case "partner.changed":
            since = f" from log position {d.from_position}" if d.from_position is not None else ""
            return (f"partner {d.partner} {d.change}{since} (up to TLP:{d.max_tlp}) by {d.org}"
                    + (f": {d.note}" if d.note else ""))
    publishers = _publishers_summary(kind, d)
    if publishers is not None:
        return publishers
    text = getattr(d, "summary", None) or getattr(d, "note", None)
    return f"{kind.replace('.', ' ')}" + (f": {text}" if isinstance(text, str) else "")


def _publishers_summary(kind: str, d: Any) -> str | None:  # noqa: C901 - one line per kind (issue 11)
    """The one-line summary of issue 11's events; None for any other kind."""
    match kind:
        case "attack.updated":
            return f"facts corrected by {d.org}" + (f": {d.summary}" if d.summary else "")
        case "attack.corroborated":
            return f"corroborated by {d.org}" + (f": {d.evidence}" if d.evidence else "")
        case "action.completed":
            return "action completed" + (f": {d.turnout:,} turned out" if d.turnout is not None else "") + (
                f" ({d.outcome})" if d.outcome else "")
        case "visit.requested":
            return f"{d.org} asked for an MP's visit ({d.mp or 'any MP'}) at {d.where}"
        case "visit.confirmed":
            return f"MP visit confirmed by {d.org}: {d.mp}"
        case "visit.declined":
            return f"MP visit declined by {d.org}: {d.reason}"
        case "visit.done":
            return f"MP visit done: {d.mp}" + (f" ({d.note})" if d.note else "")
        case "dispute.declared":
            return f"dispute declared with {d.employer} ({d.sector}): {d.issues}"
        case "ballot.result":
            verdict = "thresholds met" if d.threshold_met else "thresholds not met"
            return f"ballot at {d.employer}: turnout {d.turnout:.0%}, yes {d.yes_share:.0%} of votes cast, {verdict}"
        case "statement.published":
            return f"statement by {d.org}: {d.title}"
        case "branch.registered":
            return f"branch registered by {d.org}: {d.name}"
        case "rep.registered":
            return f"workplace rep registered at {d.workplace}" + (f" ({d.role})" if d.role else "")
    return None


async def _shown_item(conn: AsyncConnection, item_id: str, viewer: str | None) -> bool:
    """Whether ``item_id`` is an item or a decision of the board that ``viewer`` may see."""
    row = await (await conn.execute(
        "SELECT org, tlp, audience FROM board.items WHERE id = %s "
        "UNION ALL SELECT org, tlp, audience FROM board.decisions WHERE id = %s LIMIT 1",
        [item_id, item_id])).fetchone()
    return row is not None and can_see(viewer, row[0], row[1], row[2])


async def item_timeline(conn: AsyncConnection, item_id: str, viewer: str | None) -> list[TimelineEntry] | None:
    """Every event of the log that concerns ``item_id`` and that ``viewer`` may see, in log
    order; None if the item is unknown or not the viewer's to see (answer as unknown)."""
    if not await _shown_item(conn, item_id, viewer):
        return None
    rows = await (await conn.execute(
        "SELECT seq, org, tlp, audience, raw FROM board.log WHERE items @> ARRAY[%s]::text[] ORDER BY seq",
        [item_id])).fetchall()
    entries = []
    for seq, org, tlp, audience, raw in rows:
        if not can_see(viewer, org, tlp, audience):
            continue
        ce = decode_envelope(bytes(raw))
        entries.append(TimelineEntry(seq=seq, time=ce.time.astimezone(UTC), kind=ce.type, org=org,
                                     actor=getattr(ce.data, "actor", None), subject=ce.subject, tlp=tlp,
                                     summary=_summary(ce)))
    return entries


def _entry(seq: int, org: str, tlp: str, raw: bytes) -> TimelineEntry:
    ce = decode_envelope(raw)
    return TimelineEntry(seq=seq, time=ce.time.astimezone(UTC), kind=ce.type, org=org,
                         actor=getattr(ce.data, "actor", None), subject=ce.subject, tlp=tlp, summary=_summary(ce))


async def subject_timeline(conn: AsyncConnection, subject: str, viewer: str | None) -> list[TimelineEntry]:
    """Every event of the log whose subject is ``subject`` and that ``viewer`` may see, in
    log order: the history of something that is no item of the board (a partnership)."""
    rows = await (await conn.execute(
        "SELECT seq, org, tlp, audience, raw FROM board.log WHERE items @> ARRAY[%s]::text[] AND subject = %s "
        "ORDER BY seq", [subject, subject])).fetchall()
    return [_entry(seq, org, tlp, bytes(raw)) for seq, org, tlp, audience, raw in rows
            if can_see(viewer, org, tlp, audience)]


def timeline_csv(entries: list[TimelineEntry]) -> str:
    """A timeline as CSV, one event a line, with a header."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(TIMELINE_FIELDS)
    for e in entries:
        writer.writerow([e.time.isoformat() if f == "time" else getattr(e, f) for f in TIMELINE_FIELDS])
    return out.getvalue()


# --- what the pages show beside a timeline or a decision ---------------------------

class Heading(msgspec.Struct, kw_only=True):
    """What a timeline page says of the item (or decision) it is the timeline of."""

    id: str
    kind: str
    """the item's kind, or ``decision``"""
    title: str
    org: str
    status: str
    tlp: str
    region: str | None = None
    priority: str | None = None


async def heading(conn: AsyncConnection, item_id: str, viewer: str | None) -> Heading | None:
    """The item or decision ``item_id`` as ``viewer`` may see it now; None if unknown or
    not theirs to see (the same answer, as everywhere)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id, kind, title, org, status, tlp, audience, region, priority FROM board.items WHERE id = %s "
            "UNION ALL SELECT id, 'decision', question, org, status, tlp, audience, NULL, NULL "
            "FROM board.decisions WHERE id = %s LIMIT 1", [item_id, item_id])
        row = await cur.fetchone()
    if row is None or not can_see(viewer, row["org"], row["tlp"], row["audience"]):
        return None
    return Heading(id=row["id"], kind=row["kind"], title=row["title"], org=row["org"], status=row["status"],
                   tlp=row["tlp"], region=row["region"], priority=row["priority"])


async def titles(conn: AsyncConnection, ids: list[str], viewer: str | None) -> dict[str, tuple[str, str | None]]:
    """The title and summary of those of ``ids`` that are items ``viewer`` may see (a
    decision's evidence names items; the others it names stay untitled, as unknown ones)."""
    rows = await (await conn.execute(
        "SELECT id, title, summary, org, tlp, audience FROM board.items WHERE id = ANY(%s)", [ids])).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows if can_see(viewer, r[3], r[4], r[5])}


async def whole_board(conn: AsyncConnection, viewer: str | None, as_of: int | datetime | str | None = None) -> Board:
    """The whole board ``viewer`` may see — every item, archive included, unpaged — now or
    as of a position or time, with its ``digest``: what ``coalition export board`` writes
    and ``GET /api/board?format=…`` gives to download."""
    if as_of is not None:
        return await board_as_of(conn, viewer, as_of)
    board = await read_board(conn, viewer)
    board.digest = board_digest(board)
    return board


# --- exports as CSV -----------------------------------------------------------------

_compact = msgspec.json.Encoder()


def _cell(value: Any) -> str:
    """A value as a CSV cell: text as it is, nothing as empty, lists and objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return _compact.encode(value).decode()
    return str(value)


def _csv(rows: list[dict[str, Any]], fields: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(fields)
    for row in rows:
        writer.writerow([_cell(row.get(f)) for f in fields])
    return out.getvalue()


def board_csv(board: Board) -> str:
    """A board as CSV (``BOARD_FIELDS``), its items in the board's order, with a header."""
    shared = {"position": board.position, "digest": board.digest}
    return _csv([{**msgspec.to_builtins(item), **shared} for item in board.items], BOARD_FIELDS)


def decisions_csv(decisions: list[BoardDecision]) -> str:
    """Decisions as CSV (``DECISION_FIELDS``), in the order given, with a header."""
    return _csv([msgspec.to_builtins(d) for d in decisions], DECISION_FIELDS)


# --- decisions ----------------------------------------------------------------------

async def _decisions(conn: AsyncConnection, viewer: str | None, decision_id: str | None) -> list[BoardDecision]:
    where, args = ("WHERE id = %s", [decision_id]) if decision_id else ("", [])
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT * FROM board.decisions {where}", args)  # noqa: S608 - fixed text
        rows = await cur.fetchall()
        await cur.execute("SELECT * FROM board.decision_positions WHERE decision = ANY(%s)", [[r["id"] for r in rows]])
        positions = await cur.fetchall()
    return decisions_of(rows, positions, viewer)


async def list_decisions(conn: AsyncConnection, viewer: str | None) -> list[BoardDecision]:
    """Every decision ``viewer`` may see, newest first."""
    return await _decisions(conn, viewer, None)


async def find_decision(conn: AsyncConnection, decision_id: str, viewer: str | None) -> BoardDecision | None:
    """One decision, or None if unknown or not the viewer's to see."""
    found = await _decisions(conn, viewer, decision_id)
    return found[0] if found else None
