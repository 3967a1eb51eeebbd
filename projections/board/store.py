"""Write a batch's changes and the stream position in one PostgreSQL transaction."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

import msgspec
from psycopg import Connection, sql

from projections.board.fold import MERGED, Changes
from projections.board.schema import SCHEMA, set_position

ITEM_COLUMNS = (
    "id", "kind", "org", "service", "title", "summary", "status", "priority", "tlp", "audience",
    "region", "refs", "detail", "people_wanted", "created_at", "updated_at", "created_seq", "updated_seq",
)
JSON_COLUMNS = {"audience", "refs", "detail"}


_json = msgspec.json.Encoder()


def _json_text(value: Any) -> str | None:
    return None if value is None else _json.encode(value).decode()


def _row(item: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(_json_text(item[c]) if c in JSON_COLUMNS else item[c] for c in ITEM_COLUMNS)


def write(conn: Connection, ch: Changes, schema: str = SCHEMA) -> None:
    """Apply ``ch`` inside the caller's transaction; the caller commits, then acks."""
    s = sql.Identifier(schema)
    if ch.inserts:
        with conn.cursor() as cur, cur.copy(
            sql.SQL("COPY {}.items ({}) FROM STDIN").format(
                s, sql.SQL(", ").join(map(sql.Identifier, ITEM_COLUMNS)))
        ) as copy:
            for item in ch.inserts.values():
                copy.write_row(_row(item))
    if ch.pledges:
        with conn.cursor() as cur, cur.copy(
            sql.SQL("COPY {}.pledges (id, action, org, grp, people, note, created_at, seq) FROM STDIN").format(s)
        ) as copy:
            for p in ch.pledges:
                copy.write_row((p["id"], p["action"], p["org"], p["grp"], p["people"], p["note"],
                                p["created_at"], p["seq"]))
    if ch.updates:
        # One statement for every changed item of the batch (changes were merged per item).
        ids, statuses, priorities, ats, seqs, details = [], [], [], [], [], []
        titles, summaries = [], []
        for item, fields in ch.updates.items():
            ids.append(item)
            statuses.append(fields.get("status"))
            priorities.append(fields.get("priority"))
            titles.append(fields.get("title"))
            summaries.append(fields.get("summary"))
            ats.append(fields["updated_at"])
            seqs.append(fields["updated_seq"])
            details.append(_json_text(fields.get("detail") or {}))
        # the keys of ``MERGED`` are merged one level down (``fold.merge_detail``)
        conn.execute(
            sql.SQL(
                """UPDATE {s}.items i SET status = coalesce(u.status, i.status),
                       priority = coalesce(u.priority, i.priority),
                       title = coalesce(u.title, i.title), summary = coalesce(u.summary, i.summary),
                       updated_at = u.at, updated_seq = u.seq,
                       detail = i.detail || u.detail || (
                           SELECT coalesce(jsonb_object_agg(k, (i.detail -> k) || (u.detail -> k)), '{{}}')
                           FROM unnest(%s::text[]) AS k
                           WHERE jsonb_typeof(i.detail -> k) = 'object' AND u.detail ? k)
                   FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::timestamptz[],
                               %s::bigint[], %s::jsonb[])
                        AS u(id, status, priority, title, summary, at, seq, detail)
                   WHERE i.id = u.id"""
            ).format(s=s),
            [list(MERGED), ids, statuses, priorities, titles, summaries, ats, seqs, details],
        )
    for item, source, key in ch.copies:  # a few per batch: a strike following a balloted dispute
        conn.execute(
            sql.SQL("""UPDATE {s}.items t SET detail = t.detail || jsonb_build_object(%s::text, f.detail -> %s)
                       FROM {s}.items f WHERE t.id = %s AND f.id = %s AND f.detail ? %s""").format(s=s),
            [key, key, item, source, key])
    if ch.touched_actions:
        conn.execute(
            sql.SQL(
                # per local group too (``fold.group_pledges`` is the same rule in memory)
                """UPDATE {s}.items i SET people_pledged = t.people, pledge_count = t.n,
                       detail = CASE WHEN t.by_group IS NULL THEN i.detail
                                ELSE i.detail || jsonb_build_object('pledges_by_group', t.by_group) END
                   FROM (SELECT p.action, sum(p.people)::bigint AS people, count(*) AS n,
                                (SELECT jsonb_agg(jsonb_build_object('group', g.grp, 'people', g.people,
                                                                     'pledges', g.n) ORDER BY g.grp COLLATE "C")
                                 FROM (SELECT q.grp, sum(q.people)::bigint AS people, count(*) AS n
                                       FROM {s}.pledges q WHERE q.action = p.action AND q.grp IS NOT NULL
                                       GROUP BY q.grp) g) AS by_group
                         FROM {s}.pledges p WHERE p.action = ANY(%s) GROUP BY p.action) t
                   WHERE i.id = t.action"""
            ).format(s=s),
            [list(ch.touched_actions)],
        )
    _write_tasks(conn, ch, s)
    _write_decisions(conn, ch, s)
    set_position(conn, ch.last_seq, schema)


TASK_COLUMNS = ("id", "item", "assignee", "task", "due", "done", "done_at", "done_seq", "org", "tlp",
                "audience", "created_at", "seq")
DECISION_COLUMNS = (
    "id", "question", "method", "options", "evidence", "board_position", "board_digest", "review_on",
    "status", "proposed_by", "proposed_at", "seq", "outcome", "rationale", "decided_by",
    "decided_position", "decided_digest", "decided_actor", "decided_at", "decided_seq", "org", "tlp", "audience",
)
DECISION_JSON = {"options", "evidence", "decided_by", "audience"}
POSITION_COLUMNS = ("decision", "org", "position", "reason", "actor", "at", "seq")


def _copy(conn: Connection, s: sql.Identifier, table: str, columns: tuple[str, ...],
          rows: Iterable[dict[str, Any]], json_columns: Collection[str] = ()) -> None:
    with conn.cursor() as cur, cur.copy(
        sql.SQL("COPY {}.{} ({}) FROM STDIN").format(
            s, sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    ) as copy:
        for row in rows:
            copy.write_row(tuple(_json_text(row.get(c)) if c in json_columns else row.get(c) for c in columns))


def _write_tasks(conn: Connection, ch: Changes, s: sql.Identifier) -> None:
    if ch.tasks:
        _copy(conn, s, "tasks", TASK_COLUMNS, ch.tasks.values(), {"audience"})
    if ch.task_updates:
        ids = list(ch.task_updates)
        conn.execute(
            sql.SQL("""UPDATE {s}.tasks t SET done = true, done_at = u.at, done_seq = u.seq
                       FROM unnest(%s::text[], %s::timestamptz[], %s::bigint[]) AS u(id, at, seq)
                       WHERE t.id = u.id""").format(s=s),
            [ids, [ch.task_updates[i]["done_at"] for i in ids], [ch.task_updates[i]["done_seq"] for i in ids]])


def _write_decisions(conn: Connection, ch: Changes, s: sql.Identifier) -> None:
    if ch.decisions:
        _copy(conn, s, "decisions", DECISION_COLUMNS, ch.decisions.values(), DECISION_JSON)
    if ch.positions:
        _copy(conn, s, "decision_positions", POSITION_COLUMNS, ch.positions)
    for decision, fields in ch.decision_updates.items():  # a decision is made once: a few per batch
        names = list(fields)
        conn.execute(
            sql.SQL("UPDATE {}.decisions SET {} WHERE id = %s").format(
                s, sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(n)) for n in names)),
            [*(_json_text(fields[n]) if n in DECISION_JSON else fields[n] for n in names), decision])
