"""Small PostgreSQL helpers shared by services, projections and the CLI."""

from __future__ import annotations

import psycopg
from psycopg import sql


def ensure_schema(database_url: str, schema: str) -> None:
    """Create ``schema`` if it is missing. Set-up creates each service's schema, owned by
    the service's role, which may not create schemas: then there is nothing to do."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone() is None:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
