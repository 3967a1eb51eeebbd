"""API keys: ``Authorization: Bearer <key>`` names the organisation. Only hashes are stored.

Wrong keys are throttled: after ``COALITION_AUTH_FAILURES_PER_MINUTE`` failed attempts in a
minute from one client address, or with one key, further requests that carry a key get
``429`` with ``Retry-After`` until the oldest failure is a minute old, without their key
being looked at.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import psycopg
from litestar import Request
from litestar.exceptions import (
    NotAuthorizedException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.openapi.spec import SecurityRequirement, SecurityScheme

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


#: How the OpenAPI documents name the key: ``Authorization: Bearer <key>``.
SECURITY_SCHEMES = {"apiKey": SecurityScheme(
    type="http", scheme="bearer", description="The organisation's API key: `Authorization: Bearer <key>`"),
    "caseworker": SecurityScheme(
    type="http", scheme="basic",
    description="A caseworker's own account of the movement (username and password), named on the case")}
#: A route that needs a key (``authenticate``).
KEY_REQUIRED: list[SecurityRequirement] = [{"apiKey": []}]
#: A route that takes a key if given (``optional_viewer``): without, the open view.
KEY_OPTIONAL: list[SecurityRequirement] = [{}, {"apiKey": []}]
#: A route for one person, who logs in with their own account (the movement's casework).
CASEWORKER_REQUIRED: list[SecurityRequirement] = [{"caseworker": []}]


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


class FailedAuthentications:
    """A sliding window of failed authentications per client address and per key hash.

    Our own, not Litestar's ``RateLimitConfig``: that middleware counts every request
    before the handler runs and cannot count only the failures, while a partner's good
    requests must never use up its allowance. One window per service process, in memory
    (a restart forgets it); used on the event loop only, so it needs no lock. At most
    ``max_tracked`` addresses and keys are remembered, the oldest forgotten first, so
    that guesses from many addresses cannot exhaust memory."""

    def __init__(self, per_minute: int, window: float = 60.0, max_tracked: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.window = window
        self.max_tracked = max_tracked
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, *who: str) -> int | None:
        """Seconds until each of ``who`` may try again, or None if none of them is throttled."""
        if not self.per_minute:
            return None
        now = self._clock()
        waits = [times[0] + self.window - now for times in (self._recent(w, now) for w in who)
                 if len(times) >= self.per_minute]
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, *who: str) -> None:
        """Count one failed attempt against each of ``who``."""
        if not self.per_minute:
            return
        now = self._clock()
        for w in who:
            times = self._recent(w, now)
            times.append(now)
            self._failures[w] = times
            if len(times) > self.per_minute:
                times.popleft()  # the window need hold no more than decides a refusal
        if len(self._failures) > self.max_tracked:
            for stale in list(self._failures)[: len(self._failures) - self.max_tracked]:
                del self._failures[stale]

    def _recent(self, who: str, now: float) -> deque[float]:
        times = self._failures.get(who, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            self._failures.pop(who, None)
        return times


def _organisation(request: Request, key: str) -> Organisation:
    """The organisation holding ``key``; 401 if none does, 429 if this address or this key
    failed too often of late."""
    hashed = hash_key(key)
    address = request.client.host if request.client else "unknown"
    who = (f"address {address}", f"key {hashed}")
    failures: FailedAuthentications = request.app.state.failed_authentications
    wait = failures.retry_after(*who)
    if wait is not None:
        raise TooManyRequestsException("too many failed authentications: try again later",
                                       headers={"Retry-After": str(wait)})
    keyring: dict[str, Organisation] = request.app.state.keyring
    org = keyring.get(hashed)
    if org is None:
        failures.failed(*who)
        raise NotAuthorizedException("unknown API key")
    return org


def session_of(request: Request) -> dict[str, Any] | None:
    """The logged-in person's session (the forum's board), or None: no session middleware,
    or nobody logged in."""
    session = request.scope.get("session")
    return session if isinstance(session, dict) and session.get("user") else None


def optional_viewer(request: Request) -> str | None:
    """With a key, the organisation whose view of the board to show (401 if the key is
    wrong: never the open view instead); without, the logged-in person's organisation;
    else None (the open view: CLEAR and GREEN)."""
    key = bearer_key(request)
    if key:
        return _organisation(request, key).id
    session = session_of(request)
    return str(session["org"]) if session else None


def claimant(request: Request) -> str:
    """Whose command this is, for its Idempotency-Key: the key's organisation, else the
    logged-in person's; 401 if neither."""
    session = session_of(request)
    if bearer_key(request) is None and session:
        return str(session["org"])
    return authenticate(request).id


def authenticate(request: Request) -> Organisation:
    """The calling organisation, or 401. The organisation must publish through this service.

    Found once per request: a command with an ``Idempotency-Key`` asks before its handler
    (:func:`claimant`) and again as the handler's ``caller``."""
    known: Organisation | None = request.state.get("caller")
    if known is not None:
        return known
    key = bearer_key(request)
    if key is None:
        raise NotAuthorizedException("missing API key: send Authorization: Bearer <key>")
    org = _organisation(request, key)
    service: str = request.app.state.service
    if org.service != service:
        raise PermissionDeniedException(f"{org.id} publishes through the {org.service} service, not {service}")
    request.state.caller = org
    return org


def check_publisher(org: Organisation, claimed: str | None) -> None:
    """An organisation can only publish as itself."""
    if claimed is not None and claimed != org.id:
        raise PermissionDeniedException(f"{org.id} cannot publish as {claimed}")


def partner_organisation(request: Request) -> Organisation:
    """The calling partner organisation, by its own API key, on whichever service: the
    partners' feed and webhooks are the forum's, but each partner holds only its
    organisation's key. 401 without a key or with a wrong one."""
    key = bearer_key(request)
    if key is None:
        raise NotAuthorizedException("missing API key: send Authorization: Bearer <key>")
    return _organisation(request, key)
