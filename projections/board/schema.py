"""The board's read tables, in their own schema (``board`` or a shadow for rebuilds)."""

from __future__ import annotations

from psycopg import Connection, sql

SCHEMA = "board"

DDL = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.items (
    id text PRIMARY KEY,
    kind text NOT NULL,
    org text NOT NULL,
    service text NOT NULL,
    title text NOT NULL,
    summary text,
    status text NOT NULL DEFAULT 'new',
    priority text NOT NULL DEFAULT 'normal',
    tlp text NOT NULL,
    audience jsonb,
    region text,
    refs jsonb NOT NULL DEFAULT '[]',
    detail jsonb NOT NULL DEFAULT '{{}}',
    people_wanted integer,
    people_pledged integer NOT NULL DEFAULT 0,
    pledge_count integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    created_seq bigint NOT NULL,
    updated_seq bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.pledges (
    id text PRIMARY KEY,
    action text NOT NULL,
    org text NOT NULL,
    grp text,
    people integer NOT NULL,
    note text,
    created_at timestamptz NOT NULL,
    seq bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS pledges_action ON {schema}.pledges (action);
CREATE TABLE IF NOT EXISTS {schema}.position (
    projection text PRIMARY KEY,
    seq bigint NOT NULL
);
INSERT INTO {schema}.position VALUES ('board', 0) ON CONFLICT DO NOTHING;
"""


def create(conn: Connection, schema: str = SCHEMA) -> None:
    conn.execute(sql.SQL(DDL).format(schema=sql.Identifier(schema)))  # type: ignore[arg-type]


#: The one query of the board's position (the last stream sequence it applied).
POSITION_IN = "SELECT seq FROM {}.position WHERE projection = 'board'"
POSITION = POSITION_IN.format(SCHEMA)


def position(conn: Connection, schema: str = SCHEMA) -> int:
    row = conn.execute(sql.SQL(POSITION_IN).format(sql.Identifier(schema))).fetchone()  # type: ignore[arg-type]
    return int(row[0]) if row else 0
