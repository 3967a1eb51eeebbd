"""The shared log: the JetStream stream ``COALITION`` and connections to it."""

from __future__ import annotations

import logging
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from events.settings import STREAM, env

log = logging.getLogger("coalition.stream")

SUBJECTS = ["coalition.>"]


def subject_filter(service: str) -> str:
    """Every subject one service publishes on: ``coalition.<service>.>``."""
    return f"coalition.{service}.>"


def stream_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=STREAM,
        description="The coalition's shared log: every event the organisations publish",
        subjects=SUBJECTS,
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        num_replicas=replicas,
        allow_atomic=True,
        allow_direct=True,
        duplicate_window=120.0,
    )


def servers_and_credentials(url: str) -> tuple[list[str], str | None, str | None]:
    """``nats://user:pass@a:4222,nats://b:4222`` → servers without credentials, user, password.

    Credentials travel as options, not in the URL, so that they also apply to the cluster
    nodes the client discovers and fails over to."""
    servers, user, password = [], None, None
    for part in url.split(","):
        parts = urlsplit(part.strip())
        if parts.username:
            user, password = unquote(parts.username), unquote(parts.password or "")
        servers.append(urlunsplit(parts._replace(netloc=f"{parts.hostname}:{parts.port or 4222}")))
    return servers, user, password


def with_credentials(url: str, user: str, password: str) -> str:
    """``nats://host:port`` → ``nats://user:password@host:port``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{quote(user)}:{quote(password)}@{parts.hostname}:{parts.port}"))


def without_password(url: str) -> str:
    """A URL fit for endpoints.json and the console: the user stays, the password goes."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}{parts.hostname}:{parts.port}"))


async def connect(url: str, name: str, *, persistent: bool = True) -> NATS:
    """Connect; a persistent client (services, projections) reconnects forever, since the
    engines may restart under a supervisor; a command-line client gives up after a few tries."""
    servers, user, password = servers_and_credentials(url)
    return await nats.connect(
        servers=servers,
        user=user,
        password=password,
        name=name,
        max_reconnect_attempts=-1 if persistent else 3,
        reconnect_time_wait=0.2,
        connect_timeout=5,
    )


def replicas() -> int:
    return int(env("COALITION_STREAM_REPLICAS", "1") or 1)


async def ensure_stream(js: JetStreamContext) -> None:
    """Create the stream if it is missing; an existing stream's settings (replicas set by
    operators, say) are left as they are."""
    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(stream_config(replicas()))
        log.info("created stream %s with %d replica(s)", STREAM, replicas())
