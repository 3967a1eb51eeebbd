"""The coordinators' accounts: who they are comes from the configuration
(``events.organisations.load_coordinators``); their passwords are stored in PostgreSQL
(``coalition.coordinators``) as Argon2id hashes only.

Set-up (the admin) creates and fills the table from the configuration; only the forum's
role may read it (``coalition.roles``); ``coalition coordinators add|passwd`` sets a hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import msgspec
import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from events.organisations import Coordinator

DDL = """
CREATE SCHEMA IF NOT EXISTS coalition;
CREATE TABLE IF NOT EXISTS coalition.coordinators (
    username text PRIMARY KEY,
    name text NOT NULL,
    org text NOT NULL,
    role text NOT NULL CHECK (role IN ('coordinator', 'observer')),
    password_argon2 text
);
"""

_hasher = PasswordHasher()  # Argon2id with argon2-cffi's RFC 9106 low-memory profile
#: Checked against when the username is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY = _hasher.hash("no such account")


class Account(msgspec.Struct, frozen=True, kw_only=True):
    username: str
    name: str
    org: str
    role: str
    password_argon2: str | None = None

    @property
    def generation(self) -> str:
        """Changes with the password: a session remembers it, and ends when it changes."""
        return hashlib.sha256((self.password_argon2 or "").encode()).hexdigest()[:16]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(account: Account | None, password: str) -> bool:
    """Whether ``password`` is ``account``'s (an unknown or password-less account never is)."""
    try:
        return _hasher.verify(account.password_argon2 if account and account.password_argon2 else _DUMMY,
                              password) and bool(account and account.password_argon2)
    except (VerificationError, InvalidHashError):
        return False


SELECT = "SELECT username, name, org, role, password_argon2 FROM coalition.coordinators WHERE username = %s"


def account_of(row: tuple[str, str, str, str, str | None] | None) -> Account | None:
    if row is None:
        return None
    username, name, org, role, hashed = row
    return Account(username=username, name=name, org=org, role=role, password_argon2=hashed)


def sync_accounts(conn: psycopg.Connection, coordinators: Iterable[Coordinator],
                  first_passwords: Mapping[str, str] | None = None) -> None:
    """As the admin: one row per configured coordinator (name, organisation and role as
    configured; an account no longer configured is removed), and a first password where
    the account has none yet (the demo's generated ones; never one set since)."""
    conn.execute(DDL)
    wanted = list(coordinators)
    for c in wanted:
        conn.execute(
            """INSERT INTO coalition.coordinators (username, name, org, role) VALUES (%s, %s, %s, %s)
               ON CONFLICT (username) DO UPDATE SET name = EXCLUDED.name, org = EXCLUDED.org,
               role = EXCLUDED.role""", [c.username, c.name, c.organisation, c.role])
        first = (first_passwords or {}).get(c.username)
        if first:
            conn.execute("UPDATE coalition.coordinators SET password_argon2 = %s "
                         "WHERE username = %s AND password_argon2 IS NULL", [hash_password(first), c.username])
    conn.execute("DELETE FROM coalition.coordinators WHERE NOT (username = ANY(%s))", [[c.username for c in wanted]])


def set_password(conn: psycopg.Connection, username: str, password: str, *, new: bool) -> None:
    """As the admin: store ``password``'s hash. ``new`` (``add``) refuses an account that has
    one already; otherwise (``passwd``) the account must have one to change."""
    row = conn.execute("SELECT password_argon2 FROM coalition.coordinators WHERE username = %s",
                       [username]).fetchone()
    if row is None:
        raise LookupError(f"no coordinator {username!r} in the configuration (coalition.toml [[coordinators]])")
    if new and row[0] is not None:
        raise ValueError(f"{username} has a password already: use `coalition coordinators passwd {username}`")
    if not new and row[0] is None:
        raise ValueError(f"{username} has no password yet: use `coalition coordinators add {username}`")
    conn.execute("UPDATE coalition.coordinators SET password_argon2 = %s WHERE username = %s",
                 [hash_password(password), username])
