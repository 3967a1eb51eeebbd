"""People on the board: log in with a session cookie, log out, and who a request is.

* **Session**: Litestar's client-side session (``CookieBackendConfig``): the cookie holds
  the session encrypted and authenticated with AES-256-GCM, HttpOnly, SameSite=Lax,
  eight hours. Chosen over a server-side store because a forum may run as several
  processes and restart at any time: they share nothing but ``COALITION_SESSION_SECRET``.
  A cookie cannot be revoked before it expires, so every command loads the account
  again: an account removed from the configuration, made an observer, or given a new
  password (the session remembers a digest of the password's hash) takes effect at once.
* **CSRF**: Litestar's ``CSRFConfig`` (a double-submit token signed with the secret):
  every unsafe request needs the token of the ``coalition_csrf`` cookie in the form field
  ``_csrf_token`` or the ``X-CSRFToken`` header (403 without). The JSON API under
  ``/v1/`` is exempt: it is authenticated by ``Authorization: Bearer`` alone, which a
  browser never adds on its own, and never by the session.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_401_UNAUTHORIZED

from events.settings import session_secret
from services.accounts import SELECT, Account, account_of, verify
from services.auth import FailedAuthentications, bearer_key, session_of
from services.domain.people import Actor

log = logging.getLogger("coalition.forum.sessions")

SESSION_COOKIE = "coalition_session"
CSRF_COOKIE = "coalition_csrf"
SESSION_HOURS = 8
#: Paths the CSRF check leaves alone: the JSON API (Bearer keys only), health, the schema.
NOT_FORMS = ["^/v1/", "^/health$", "^/schema"]


def _secret() -> str:
    secret = session_secret()
    if secret is None:
        log.warning("COALITION_SESSION_SECRET is not set: sessions last only as long as this process")
        secret = secrets.token_hex(32)
    return secret


def forum_app_options() -> dict[str, Any]:
    """The forum app's session middleware and CSRF protection (``services.registry.Service``)."""
    secret = _secret()
    session = CookieBackendConfig(secret=hashlib.sha256(b"session\0" + secret.encode()).digest(),
                                  key=SESSION_COOKIE, max_age=SESSION_HOURS * 3600, httponly=True,
                                  samesite="lax", exclude=NOT_FORMS[1:])
    csrf = CSRFConfig(secret=hashlib.sha256(b"csrf\0" + secret.encode()).hexdigest(), cookie_name=CSRF_COOKIE,
                      cookie_samesite="strict", exclude=NOT_FORMS)
    return {"middleware": [session.middleware], "csrf_config": csrf}


async def _account(request: Request, username: str) -> Account | None:
    async with request.app.state.pool.connection() as conn:
        row = await (await conn.execute(SELECT, [username])).fetchone()
    return account_of(row)


async def person(request: Request) -> Actor:
    """The logged-in person, as their account stands now; 401 if nobody is logged in, or
    the account is gone or its password changed since."""
    session = session_of(request)
    username = session.get("user") if session else None
    if not username:
        raise NotAuthorizedException("log in first: POST /login")
    account = await _account(request, username)
    if account is None or account.generation != session.get("generation"):  # type: ignore[union-attr]
        request.clear_session()
        raise NotAuthorizedException("the session has ended: log in again")
    return Actor(org=account.org, name=account.name, role=account.role)  # type: ignore[arg-type]


def _local(target: str | None) -> str:
    """Where to go after logging in: a path of this site only, never another site."""
    if not target:
        return "/"
    parts = urlsplit(target)
    return target if target.startswith("/") and not target.startswith("//") and not parts.netloc else "/"


class SessionController(Controller):
    """Log in and out of the board (forms, protected against CSRF)."""

    path = "/"
    tags = ["people"]

    @get("/login", operation_id="loginPage", include_in_schema=False)
    async def login_page(self, next: str | None = None) -> Template:
        return Template(template_name="login.html.j2", context={"next": _local(next), "error": None, "username": ""})

    @post("/login", operation_id="logIn", status_code=303, include_in_schema=False)
    async def login(self, request: Request) -> Response[Any]:
        """Check a username and password (Argon2) and start a session; wrong ones are a
        401, and too many failures from one address or for one username a 429."""
        form = await request.form()
        username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
        address = request.client.host if request.client else "unknown"
        who = (f"address {address}", f"user {username}")
        failures: FailedAuthentications = request.app.state.failed_authentications
        wait = failures.retry_after(*who)
        if wait is not None:
            raise TooManyRequestsException("too many failed log-ins: try again later",
                                           headers={"Retry-After": str(wait)})
        account = await _account(request, username) if username else None
        if not await anyio.to_thread.run_sync(verify, account, password):
            failures.failed(*who)
            return Template(template_name="login.html.j2", status_code=HTTP_401_UNAUTHORIZED,
                            context={"next": _local(str(form.get("next", ""))), "username": username,
                                     "error": "Wrong username or password."})
        assert account is not None
        request.set_session({"user": account.username, "name": account.name, "org": account.org,
                             "role": account.role, "generation": account.generation})
        log.info("%s (%s) logged in", account.username, account.org)
        return Redirect(_local(str(form.get("next", ""))), status_code=303)

    @post("/logout", operation_id="logOut", status_code=303, include_in_schema=False)
    async def logout(self, request: Request) -> Redirect:
        """End the session (the cookie is cleared)."""
        request.clear_session()
        return Redirect("/", status_code=303)

    @get("/api/me", operation_id="whoAmI")
    async def me(self, request: Request) -> dict[str, Any]:
        """Who the session is (username, name, organisation, role), or ``{}`` if nobody
        is logged in; a request with an API key is its organisation."""
        if bearer_key(request):
            return {}
        session = session_of(request) or {}
        return {k: session[k] for k in ("user", "name", "org", "role") if k in session}

