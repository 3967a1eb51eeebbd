"""API keys: ``Authorization: Bearer <key>`` names the organisation. Only hashes are stored."""

from __future__ import annotations

import hashlib
import secrets

import psycopg
from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from events.organisations import Organisation

DDL = """
CREATE SCHEMA IF NOT EXISTS coalition;
CREATE TABLE IF NOT EXISTS coalition.api_keys (
    org text PRIMARY KEY,
    name text NOT NULL,
    kind text NOT NULL,
    service text NOT NULL,
    key_sha256 text NOT NULL
);
"""


def new_key(org: str) -> str:
    return f"coal_{org}_{secrets.token_urlsafe(24)}"


def hash_key(key: str) -> str:
    # Keys are 190-bit random tokens: a plain SHA-256 is enough, no slow KDF needed.
    return hashlib.sha256(key.encode()).hexdigest()


def store_keys(database_url: str, orgs: tuple[Organisation, ...], keys: dict[str, str]) -> None:
    """Record (or rotate) the hash of each organisation's key."""
    with psycopg.connect(database_url) as conn:
        conn.execute(DDL)
        for org in orgs:
            if org.id in keys:
                conn.execute(
                    """INSERT INTO coalition.api_keys VALUES (%s, %s, %s, %s, %s)
                       ON CONFLICT (org) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,
                       service = EXCLUDED.service, key_sha256 = EXCLUDED.key_sha256""",
                    [org.id, org.name, org.kind, org.service, hash_key(keys[org.id])],
                )


def load_keyring(database_url: str) -> dict[str, Organisation]:
    """Every key's hash; set-up created the table (a service's role may only read it)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT org, name, kind, service, key_sha256 FROM coalition.api_keys").fetchall()
    return {h: Organisation(id=o, name=n, kind=k, service=s) for o, n, k, s, h in rows}


def bearer_key(request: Request) -> str | None:
    """The key of ``Authorization: Bearer <key>``, if the request carries one."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None


def _organisation(request: Request, key: str) -> Organisation:
    """The organisation holding ``key``; 401 if none does."""
    keyring: dict[str, Organisation] = request.app.state.keyring
    org = keyring.get(hash_key(key))
    if org is None:
        raise NotAuthorizedException("unknown API key")
    return org


def optional_viewer(request: Request) -> str | None:
    """With a key, the organisation whose view of the board to show (401 if the key is
    wrong: never the open view instead); without, None (the open view: CLEAR and GREEN)."""
    key = bearer_key(request)
    return _organisation(request, key).id if key else None


def authenticate(request: Request) -> Organisation:
    """The calling organisation, or 401. The organisation must publish through this service."""
    key = bearer_key(request)
    if key is None:
        raise NotAuthorizedException("missing API key: send Authorization: Bearer <key>")
    org = _organisation(request, key)
    service: str = request.app.state.service
    if org.service != service:
        raise PermissionDeniedException(f"{org.id} publishes through the {org.service} service, not {service}")
    return org


def check_publisher(org: Organisation, claimed: str | None) -> None:
    """An organisation can only publish as itself."""
    if claimed is not None and claimed != org.id:
        raise PermissionDeniedException(f"{org.id} cannot publish as {claimed}")
