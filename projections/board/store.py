"""Write a batch's changes and the stream position in one PostgreSQL transaction."""

from __future__ import annotations

from typing import Any

from psycopg import Connection, sql
from psycopg.types.json import Jsonb

from projections.board.fold import Changes
from projections.board.schema import SCHEMA

ITEM_COLUMNS = (
    "id", "kind", "org", "service", "title", "summary", "status", "priority", "tlp", "audience",
    "region", "refs", "detail", "people_wanted", "created_at", "updated_at", "created_seq", "updated_seq",
)
JSON_COLUMNS = {"audience", "refs", "detail"}
UPDATABLE = ("status", "priority", "updated_at", "updated_seq")


def _row(item: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(Jsonb(item[c]) if c in JSON_COLUMNS else item[c] for c in ITEM_COLUMNS)


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
    for item, fields in ch.updates.items():
        cols = [c for c in UPDATABLE if c in fields]
        assignments = [sql.SQL("{} = %s").format(sql.Identifier(c)) for c in cols]
        params: list[Any] = [fields[c] for c in cols]
        if fields.get("detail"):
            assignments.append(sql.SQL("detail = detail || %s"))
            params.append(Jsonb(fields["detail"]))
        if assignments:
            conn.execute(
                sql.SQL("UPDATE {}.items SET {} WHERE id = %s").format(s, sql.SQL(", ").join(assignments)),
                [*params, item],
            )
    if ch.touched_actions:
        conn.execute(
            sql.SQL(
                """UPDATE {s}.items i SET people_pledged = t.people, pledge_count = t.n
                   FROM (SELECT action, sum(people)::int AS people, count(*)::int AS n
                         FROM {s}.pledges WHERE action = ANY(%s) GROUP BY action) t
                   WHERE i.id = t.action"""
            ).format(s=s),
            [list(ch.touched_actions)],
        )
    conn.execute(sql.SQL("UPDATE {}.position SET seq = %s WHERE projection = 'board'").format(s), [ch.last_seq])
