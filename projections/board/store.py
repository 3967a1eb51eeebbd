"""Write a batch's changes and the stream position in one PostgreSQL transaction."""

from __future__ import annotations

from typing import Any

import msgspec
from psycopg import Connection, sql

from projections.board.fold import Changes
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
        for item, fields in ch.updates.items():
            ids.append(item)
            statuses.append(fields.get("status"))
            priorities.append(fields.get("priority"))
            ats.append(fields["updated_at"])
            seqs.append(fields["updated_seq"])
            details.append(_json_text(fields.get("detail") or {}))
        conn.execute(
            sql.SQL(
                """UPDATE {s}.items i SET status = coalesce(u.status, i.status),
                       priority = coalesce(u.priority, i.priority),
                       updated_at = u.at, updated_seq = u.seq, detail = i.detail || u.detail
                   FROM unnest(%s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::bigint[], %s::jsonb[])
                        AS u(id, status, priority, at, seq, detail)
                   WHERE i.id = u.id"""
            ).format(s=s),
            [ids, statuses, priorities, ats, seqs, details],
        )
    if ch.touched_actions:
        conn.execute(
            sql.SQL(
                """UPDATE {s}.items i SET people_pledged = t.people, pledge_count = t.n
                   FROM (SELECT action, sum(people)::bigint AS people, count(*) AS n
                         FROM {s}.pledges WHERE action = ANY(%s) GROUP BY action) t
                   WHERE i.id = t.action"""
            ).format(s=s),
            [list(ch.touched_actions)],
        )
    set_position(conn, ch.last_seq, schema)
