"""PostgreSQL roles, least privilege, created by set-up as the admin (the superuser).

* one LOGIN role per service, named as the service, owning schema ``<service>`` (so
  eventsourcing creates ``<service>_events`` there on first start) and nothing else;
* the projection's role ``board``, owning schema ``board``; it may create schemas (the
  rebuild's shadow, then renamed to ``board``), each its own, and no right on any other;
* the webhook deliverer's role ``webhooks``, owning schema ``webhooks`` (endpoints and
  their delivery state, ``events.endpoints``); the forum's role may read and write those
  tables too (partners register and manage their endpoints through the forum's API);
* ``coalition_reader`` (NOLOGIN), granted to every service role: may read the board and
  ``coalition.api_keys`` (the forum's role reads ``coalition.coordinators``; the movement's
  role only its own organisations' rows, for its caseworkers' log-in). Default privileges of ``board`` give it whatever the board role
  creates later, so a rebuild's swapped-in schema is readable at once;
* only the admin writes ``coalition.api_keys``; nobody else may connect to the database.

Passwords are set on every run, so a changed secret takes effect at the next set-up.
Objects an earlier version created as the admin in these schemas are handed to their
schema's role. LISTEN/NOTIFY and advisory locks need no grant.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from psycopg import Connection, sql

from events import endpoints as webhook_endpoints
from events.settings import SERVICES
from events.stream import with_credentials
from projections.board import schema as board_schema

BOARD = board_schema.SCHEMA
READER = "coalition_reader"
FORUM = "forum"
"""The service whose role reads the coordinators' accounts."""
CASEWORK = "momentum"
"""The service whose caseworkers log in to read a case: its role reads its own organisations'
accounts, and only those (row-level security)."""
WEBHOOKS = webhook_endpoints.SCHEMA
ROLES = (*SERVICES, BOARD, WEBHOOKS)
"""The login roles, one per process kind: each service, the board projection and the
webhook deliverer."""


def role_url(admin_url: str, role: str, password: str) -> str:
    """``admin_url`` (the server and database) as ``role``."""
    return with_credentials(admin_url, role, password)


def admin_url(endpoint: str, passwords: Mapping[str, str]) -> str:
    """A running platform's admin URL: its ``database`` endpoint (printed without the
    password) with the password kept for that user in secrets.json (``postgres``)."""
    user = unquote(urlsplit(endpoint).username or "")
    return with_credentials(endpoint, user, passwords[user]) if user in passwords else endpoint


def create_roles(conn: Connection, passwords: Mapping[str, str]) -> None:
    """Every role of ``ROLES`` with its password from ``passwords``, and its rights.

    Runs as the admin in autocommit; idempotent. ``conn`` must be on the platform's database."""
    missing = set(ROLES) - set(passwords)
    if missing:
        raise ValueError(f"no PostgreSQL password for {sorted(missing)}")
    ident = sql.Identifier
    database = ident(conn.info.dbname)
    existing = {r for (r,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
                                           [[*ROLES, READER]])}
    if READER not in existing:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(ident(READER)))
    for role in ROLES:
        verb = "ALTER" if role in existing else "CREATE"
        conn.execute(sql.SQL(verb + " ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                             "NOREPLICATION NOBYPASSRLS INHERIT PASSWORD {}").format(
            ident(role), sql.Literal(passwords[role])))
    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(database))
    conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
        database, sql.SQL(", ").join(map(ident, ROLES))))
    conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(database, ident(BOARD)))
    conn.execute(sql.SQL("GRANT {} TO {}").format(ident(READER), sql.SQL(", ").join(map(ident, SERVICES))))
    for role in ROLES:
        _own_schema(conn, role)
    # The board's tables are the board role's own, whoever runs set-up.
    conn.execute(sql.SQL("SET ROLE {}").format(ident(BOARD)))
    try:
        board_schema.create(conn)
    finally:
        conn.execute("RESET ROLE")
    _webhooks(conn)
    for objects in ("SCHEMAS", "TABLES"):
        privilege = "USAGE" if objects == "SCHEMAS" else "SELECT"
        conn.execute(sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT " + privilege + " ON " + objects
                             + " TO {}").format(ident(BOARD), ident(READER)))
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {0} TO {1}; GRANT SELECT ON ALL TABLES IN SCHEMA {0} TO {1}")
                 .format(ident(BOARD), ident(READER)))


def _webhooks(conn: Connection) -> None:
    """The deliverer's tables, its own; the forum's role manages partners' endpoints in them."""
    ident = sql.Identifier
    conn.execute(sql.SQL("SET ROLE {}").format(ident(WEBHOOKS)))
    try:
        conn.execute(webhook_endpoints.DDL)
    finally:
        conn.execute("RESET ROLE")
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {0} TO {1}; "
                         "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {0} TO {1}").format(
        ident(WEBHOOKS), ident(FORUM)))


def grant_keys(conn: Connection) -> None:
    """The services read the API keys' hashes; only the admin (their owner) writes them.
    The coordinators' accounts (their password hashes) are read by the forum alone."""
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA coalition TO {0}; "
                         "GRANT SELECT ON coalition.api_keys TO {0}").format(sql.Identifier(READER)))
    conn.execute(sql.SQL("REVOKE ALL ON coalition.coordinators FROM PUBLIC, {0}; "
                         "GRANT SELECT ON coalition.coordinators TO {1}").format(
        sql.Identifier(READER), sql.Identifier(FORUM)))
    # The movement's caseworkers log in to its service: its role reads the accounts of the
    # organisations that publish through it, no other row (the forum's, all of them).
    conn.execute(sql.SQL(
        "ALTER TABLE coalition.coordinators ENABLE ROW LEVEL SECURITY; "
        "DROP POLICY IF EXISTS forum_reads_all ON coalition.coordinators; "
        "CREATE POLICY forum_reads_all ON coalition.coordinators FOR SELECT TO {0} USING (true); "
        "DROP POLICY IF EXISTS service_reads_its_own ON coalition.coordinators; "
        "CREATE POLICY service_reads_its_own ON coalition.coordinators FOR SELECT TO {1} USING "
        "(org IN (SELECT k.org FROM coalition.api_keys k WHERE k.service = {2})); "
        "GRANT SELECT ON coalition.coordinators TO {1}").format(
        sql.Identifier(FORUM), sql.Identifier(CASEWORK), sql.Literal(CASEWORK)))


def _own_schema(conn: Connection, role: str) -> None:
    """Schema ``role`` owned by ``role``, with every table and type in it."""
    name = sql.Identifier(role)
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {0} AUTHORIZATION {0}; ALTER SCHEMA {0} OWNER TO {0}")
                 .format(name))
    # Tables from before roles (made by the admin): their indexes and sequences follow.
    tables = conn.execute(
        """SELECT c.relname FROM pg_class c
           WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
             AND c.relowner <> %s::regrole""", [role, role]).fetchall()
    for (table,) in tables:
        conn.execute(sql.SQL("ALTER TABLE {}.{} OWNER TO {}").format(name, sql.Identifier(table), name))
    types = conn.execute(
        """SELECT t.typname FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid
           WHERE t.typnamespace = %s::regnamespace AND c.relkind = 'c' AND t.typowner <> %s::regrole""",
        [role, role]).fetchall()
    for (type_,) in types:
        conn.execute(sql.SQL("ALTER TYPE {}.{} OWNER TO {}").format(name, sql.Identifier(type_), name))
