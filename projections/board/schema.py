"""The board's read tables, in their own schema (``board`` or a shadow for rebuilds)."""

from __future__ import annotations

from datetime import datetime

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
    people_wanted bigint,
    people_pledged bigint NOT NULL DEFAULT 0,
    pledge_count bigint NOT NULL DEFAULT 0,
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
    people bigint NOT NULL,
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
CREATE TABLE IF NOT EXISTS {schema}.tasks (
    id text PRIMARY KEY,
    item text,
    assignee text NOT NULL,
    task text NOT NULL,
    due timestamptz,
    done boolean NOT NULL DEFAULT false,
    done_at timestamptz,
    done_seq bigint,
    org text NOT NULL,
    tlp text NOT NULL,
    audience jsonb,
    created_at timestamptz NOT NULL,
    seq bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_item ON {schema}.tasks (item);
CREATE TABLE IF NOT EXISTS {schema}.decisions (
    id text PRIMARY KEY,
    question text NOT NULL,
    method text NOT NULL,
    options jsonb NOT NULL,
    evidence jsonb NOT NULL,
    board_position bigint NOT NULL,
    board_digest text,
    review_on date,
    status text NOT NULL,
    proposed_by text,
    proposed_at timestamptz NOT NULL,
    seq bigint NOT NULL,
    outcome text,
    rationale text,
    decided_by jsonb,
    decided_position bigint,
    decided_digest text,
    decided_actor text,
    decided_at timestamptz,
    decided_seq bigint,
    org text NOT NULL,
    tlp text NOT NULL,
    audience jsonb
);
CREATE TABLE IF NOT EXISTS {schema}.decision_positions (
    decision text NOT NULL,
    org text NOT NULL,
    position text NOT NULL,
    reason text,
    actor text,
    at timestamptz NOT NULL,
    seq bigint PRIMARY KEY
);
CREATE INDEX IF NOT EXISTS decision_positions_decision ON {schema}.decision_positions (decision);
-- the board's own copy of the log it applied: what as-of, timelines and decisions read
CREATE TABLE IF NOT EXISTS {schema}.log (
    seq bigint PRIMARY KEY,
    kind text NOT NULL,
    org text NOT NULL,
    subject text NOT NULL,
    items text[] NOT NULL,
    time timestamptz NOT NULL,
    tlp text NOT NULL,
    audience text[],
    raw bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS log_items ON {schema}.log USING gin (items);
CREATE INDEX IF NOT EXISTS log_time ON {schema}.log (time);
-- the in-memory board every few thousand events, to replay an as-of view from
CREATE TABLE IF NOT EXISTS {schema}.snapshots (
    position bigint PRIMARY KEY,
    body bytea NOT NULL
);
ALTER TABLE {schema}.snapshots ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS {schema}.rejected (
    seq bigint PRIMARY KEY,
    error text NOT NULL,
    event bytea NOT NULL,
    rejected_at timestamptz NOT NULL DEFAULT now()
);
"""

#: Boards created before the head counts were ``bigint`` are widened once (a sum of
#: pledges overflowed ``integer``); a no-op on a board that has them already.
WIDEN = """
DO $$ BEGIN
    IF EXISTS (SELECT FROM information_schema.columns WHERE table_schema = {name}
               AND table_name = 'items' AND column_name = 'people_pledged' AND data_type = 'integer') THEN
        ALTER TABLE {schema}.items ALTER COLUMN people_wanted TYPE bigint,
            ALTER COLUMN people_pledged TYPE bigint, ALTER COLUMN pledge_count TYPE bigint;
        ALTER TABLE {schema}.pledges ALTER COLUMN people TYPE bigint;
    END IF;
END $$;
"""


def create(conn: Connection, schema: str = SCHEMA) -> None:
    conn.execute(sql.SQL(DDL).format(schema=sql.Identifier(schema)))  # type: ignore[arg-type]
    conn.execute(sql.SQL(WIDEN).format(schema=sql.Identifier(schema), name=sql.Literal(schema)))  # type: ignore[arg-type]


#: The one query of the board's position (the last stream sequence it applied).
POSITION_IN = "SELECT seq FROM {}.position WHERE projection = 'board'"
POSITION = POSITION_IN.format(SCHEMA)


def position(conn: Connection, schema: str = SCHEMA) -> int:
    row = conn.execute(sql.SQL(POSITION_IN).format(sql.Identifier(schema))).fetchone()  # type: ignore[arg-type]
    return int(row[0]) if row else 0


def set_position(conn: Connection, seq: int, schema: str = SCHEMA) -> None:
    conn.execute(sql.SQL("UPDATE {}.position SET seq = %s WHERE projection = 'board'").format(
        sql.Identifier(schema)), [seq])


def rejected(conn: Connection, schema: str = SCHEMA) -> list[tuple[int, str, bytes, datetime]]:
    """The quarantined events: stream sequence, error, raw event and when, in log order."""
    return conn.execute(sql.SQL("SELECT seq, error, event, rejected_at FROM {}.rejected ORDER BY seq").format(
        sql.Identifier(schema))).fetchall()


def reject(conn: Connection, seq: int, error: str, event: bytes, schema: str = SCHEMA) -> None:
    """Quarantine the event at ``seq``: the board cannot apply it, and goes on without it."""
    conn.execute(sql.SQL("INSERT INTO {}.rejected (seq, error, event) VALUES (%s, %s, %s) "
                         "ON CONFLICT (seq) DO NOTHING").format(sql.Identifier(schema)),
                 [seq, error, event])
