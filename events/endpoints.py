"""The partners' webhook endpoints and their delivery state, in PostgreSQL (schema
``webhooks``, owned by the deliverer's role ``webhooks``; the forum's role may register,
rotate, remove and redeliver for partners through its API: ``coalition.roles``).

One row per endpoint holds everything that must survive a restart: its position on the
shared log (the ``COALITION`` sequence of the last event delivered or passed over), the
failed attempts at the event after it and when to try again, and whether it is disabled.
There is no queue of deliveries: the log is the queue, so an endpoint that is down for a
week resumes from its position, however far the log has moved.

``generation`` is bumped by every change of position made from outside the deliverer (a
redelivery): the deliverer's own writes are guarded by the generation it read,
so a worker that has not yet seen a redelivery can never write its old position over it.
Every such change is announced with ``NOTIFY webhooks, '<endpoint id>'``.

A partner's changes on the log (``events.partnership``) are followed per endpoint:
``revoked_at`` is the revocation in force (nothing is delivered; the position stays
there) and ``partnership`` the position of the last ``partner.changed`` the endpoint
acted on, written with the position they leave it at, in one statement.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import msgspec
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from events.signing import new_secret

SCHEMA = "webhooks"
CHANNEL = "webhooks"

#: How long the secret before a rotation stays valid beside the new one.
ROTATION_OVERLAP = timedelta(hours=24)

DDL = """
CREATE TABLE IF NOT EXISTS webhooks.endpoints (
    id text PRIMARY KEY,
    org text NOT NULL,
    url text NOT NULL,
    types text[] NOT NULL DEFAULT '{}',
    secret text NOT NULL,
    previous_secret text,
    previous_until timestamptz,
    position bigint NOT NULL DEFAULT 0,
    generation integer NOT NULL DEFAULT 0,
    disabled text,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS endpoints_org ON webhooks.endpoints (org);
ALTER TABLE webhooks.endpoints ADD COLUMN IF NOT EXISTS revoked_at bigint;
ALTER TABLE webhooks.endpoints ADD COLUMN IF NOT EXISTS partnership bigint NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS webhooks.failures (
    endpoint text NOT NULL REFERENCES webhooks.endpoints (id) ON DELETE CASCADE,
    position bigint NOT NULL,
    event_id text NOT NULL,
    type text NOT NULL,
    attempts integer NOT NULL,
    last_error text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    PRIMARY KEY (endpoint, position)
);
"""


class Endpoint(msgspec.Struct, frozen=True, kw_only=True):
    """A registered endpoint as its partner sees it (never its secrets)."""

    id: str
    org: str
    url: str
    types: list[str]
    """Event types delivered (``attack.reported``…); empty = every type the policy allows."""
    position: int
    """The last position of the shared log delivered or passed over."""
    disabled: str | None
    """Why deliveries stopped (``410 Gone``, removed from the policy…), or null."""
    attempts: int
    """Failed attempts at the event after ``position``."""
    next_attempt: datetime | None
    last_error: str | None
    rotating_until: datetime | None
    """Until when the secret before the last rotation is still used beside the new one."""
    created_at: datetime
    revoked_at: int | None = None
    """The log position of the partner's revocation that stopped deliveries (nothing after
    it is sent until the partner is added or replayed again), or null."""


class Registered(msgspec.Struct, frozen=True, kw_only=True):
    """A new endpoint, with its secret: shown once."""

    endpoint: Endpoint
    secret: str


class Failure(msgspec.Struct, frozen=True, kw_only=True):
    """An event whose delivery used up the retry schedule (the endpoint goes on trying)."""

    position: int
    event_id: str
    type: str
    attempts: int
    last_error: str
    failed_at: datetime
    delivered_at: datetime | None


class State(msgspec.Struct, frozen=True, kw_only=True):
    """What the deliverer needs of an endpoint."""

    id: str
    org: str
    url: str
    types: list[str]
    secrets: list[str]
    position: int
    generation: int
    attempts: int
    next_attempt: datetime | None
    revoked_at: int | None = None
    partnership: int = 0


_COLUMNS = ("id, org, url, types, position, disabled, attempts, next_attempt, last_error, "
            "CASE WHEN previous_until > now() THEN previous_until END AS rotating_until, created_at, revoked_at")


async def create(conn: AsyncConnection) -> None:
    await conn.execute(DDL)


async def _notify(conn: AsyncConnection, endpoint_id: str) -> None:
    await conn.execute("SELECT pg_notify(%s, %s)", [CHANNEL, endpoint_id])


async def add(conn: AsyncConnection, org: str, url: str, types: list[str], position: int) -> Registered:
    """Register ``url`` for ``org``, delivering what comes after ``position``."""
    endpoint_id = "ep_" + secrets.token_urlsafe(12)
    secret = new_secret()
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"""INSERT INTO webhooks.endpoints (id, org, url, types, secret, position)
                              VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}""",
                          [endpoint_id, org, url, types, secret, position])
        row = await cur.fetchone()
        await _notify(conn, endpoint_id)
    assert row is not None
    return Registered(endpoint=Endpoint(**row), secret=secret)


async def endpoints(conn: AsyncConnection, org: str | None = None) -> list[Endpoint]:
    """Every endpoint (of ``org``), oldest first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {_COLUMNS} FROM webhooks.endpoints WHERE %(org)s::text IS NULL OR org = %(org)s "
                          "ORDER BY created_at, id", {"org": org})
        return [Endpoint(**row) for row in await cur.fetchall()]


async def endpoint(conn: AsyncConnection, endpoint_id: str, org: str | None = None) -> Endpoint | None:
    """One endpoint; None if there is none, or it is not ``org``'s."""
    found = [e for e in await endpoints(conn, org) if e.id == endpoint_id]
    return found[0] if found else None


async def rotate(conn: AsyncConnection, endpoint_id: str, org: str | None = None,
                 overlap: timedelta = ROTATION_OVERLAP) -> str | None:
    """A new secret for the endpoint; the current one stays valid beside it for ``overlap``.
    None if there is no such endpoint (of ``org``)."""
    secret = new_secret()
    async with conn.transaction():
        cur = await conn.execute(
            """UPDATE webhooks.endpoints SET previous_secret = secret, previous_until = now() + %s,
                   secret = %s
               WHERE id = %s AND (%s::text IS NULL OR org = %s) RETURNING id""",
            [overlap, secret, endpoint_id, org, org])
        if await cur.fetchone() is None:
            return None
        await _notify(conn, endpoint_id)
    return secret


async def remove(conn: AsyncConnection, endpoint_id: str, org: str | None = None) -> bool:
    async with conn.transaction():
        cur = await conn.execute("DELETE FROM webhooks.endpoints WHERE id = %s AND (%s::text IS NULL OR org = %s) "
                                 "RETURNING id", [endpoint_id, org, org])
        if await cur.fetchone() is None:
            return False
        await _notify(conn, endpoint_id)
    return True


async def redeliver(conn: AsyncConnection, endpoint_id: str, after: int, org: str | None = None) -> bool:
    """Deliver again everything after position ``after`` (the endpoint is enabled again and
    its retries start afresh); False if there is no such endpoint (of ``org``)."""
    async with conn.transaction():
        cur = await conn.execute(
            """UPDATE webhooks.endpoints SET position = %s, disabled = NULL, attempts = 0, next_attempt = NULL,
                   last_error = NULL, generation = generation + 1
               WHERE id = %s AND (%s::text IS NULL OR org = %s) RETURNING id""",
            [after, endpoint_id, org, org])
        if await cur.fetchone() is None:
            return False
        await _notify(conn, endpoint_id)
    return True


async def failures(conn: AsyncConnection, endpoint_id: str, org: str | None = None) -> list[Failure] | None:
    """The endpoint's failed deliveries, by position; None if there is no such endpoint."""
    if await endpoint(conn, endpoint_id, org) is None:
        return None
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("""SELECT position, event_id, type, attempts, last_error, failed_at, delivered_at
                             FROM webhooks.failures WHERE endpoint = %s ORDER BY position""", [endpoint_id])
        return [Failure(**row) for row in await cur.fetchall()]


# --- the deliverer's side -----------------------------------------------------------------

async def active(conn: AsyncConnection) -> list[State]:
    """Every endpoint to deliver to, with its valid secrets (newest first)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """SELECT id, org, url, types, position, generation, attempts, next_attempt, revoked_at, partnership,
                      CASE WHEN previous_until > now() THEN ARRAY[secret, previous_secret] ELSE ARRAY[secret] END
                      AS secrets
               FROM webhooks.endpoints WHERE disabled IS NULL ORDER BY id""")
        return [State(**row) for row in await cur.fetchall()]


async def moved(conn: AsyncConnection, positions: dict[tuple[str, int], int]) -> None:
    """Record how far each endpoint (id, generation) got; a stale generation writes nothing."""
    if not positions:
        return
    async with conn.transaction(), conn.cursor() as cur:
        await cur.executemany(
            """UPDATE webhooks.endpoints SET position = GREATEST(position, %s), attempts = 0, next_attempt = NULL,
                   last_error = NULL
               WHERE id = %s AND generation = %s""",
            [(position, endpoint_id, generation) for (endpoint_id, generation), position in positions.items()])
        await cur.executemany("UPDATE webhooks.failures SET delivered_at = now() "
                              "WHERE endpoint = %s AND position <= %s AND delivered_at IS NULL",
                              [(endpoint_id, position) for (endpoint_id, _), position in positions.items()])


async def attempt_failed(conn: AsyncConnection, state: State, position: int, attempts: int,
                         next_attempt: datetime, error: str) -> None:
    """A failed attempt at the event after ``position``, and when to try again."""
    await conn.execute(
        """UPDATE webhooks.endpoints SET position = GREATEST(position, %s), attempts = %s, next_attempt = %s,
               last_error = %s WHERE id = %s AND generation = %s""",
        [position, attempts, next_attempt, error[:500], state.id, state.generation])


async def delivery_failed(conn: AsyncConnection, state: State, position: int, event_id: str, type_: str,
                          attempts: int, error: str) -> None:
    """The event at ``position`` used up the retry schedule: listed among the failures."""
    await conn.execute(
        """INSERT INTO webhooks.failures (endpoint, position, event_id, type, attempts, last_error)
           VALUES (%s, %s, %s, %s, %s, %s)
           ON CONFLICT (endpoint, position) DO UPDATE SET attempts = EXCLUDED.attempts,
               last_error = EXCLUDED.last_error, failed_at = now(), delivered_at = NULL""",
        [state.id, position, event_id, type_, attempts, error[:500]])


async def disable(conn: AsyncConnection, state: State, position: int, reason: str) -> None:
    await conn.execute("UPDATE webhooks.endpoints SET disabled = %s, position = GREATEST(position, %s) "
                       "WHERE id = %s AND generation = %s", [reason, position, state.id, state.generation])


async def partnership(conn: AsyncConnection, state: State, position: int, revoked_at: int | None,
                      applied: int) -> None:
    """The endpoint acted on its partner's change at ``applied``: its position is now
    ``position`` exactly (a replay may move it back) and ``revoked_at`` the revocation in
    force; its retries start afresh."""
    await conn.execute(
        """UPDATE webhooks.endpoints SET position = %s, revoked_at = %s, partnership = %s, attempts = 0,
               next_attempt = NULL, last_error = NULL WHERE id = %s AND generation = %s""",
        [position, revoked_at, applied, state.id, state.generation])
