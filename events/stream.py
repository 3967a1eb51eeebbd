"""The shared log: one stream per service, ``COALITION`` sourcing them all, and connections.

Each service publishes into its own stream ``LOG_<SERVICE>`` (subjects ``coalition.<service>.>``),
and ``COALITION``, which has no subjects of its own, **sources** every ``LOG_*`` stream:
the NATS server copies each message across, in each source's order, with its subject and
``Nats-Msg-Id`` (and a ``Nats-Stream-Source`` header), and resumes after a restart from
the last message it copied. Readers (the board, the rebuild, partners) read ``COALITION``;
its sequence is their position.

Why not one stream: NATS permissions see a request's subject, not its body. The relay's
checkpoint, "the last message on ``coalition.<service>.>``", is a ``STREAM.MSG.GET`` whose
subject names only the stream; on a shared stream the right to ask it is the right to
read every service's events. On its own stream the look-up
(``$JS.API.STREAM.MSG.GET.LOG_<SERVICE>``) and the order guard are the service's alone,
so a service's NATS user may publish its own subjects and read its own stream, nothing
else (``coalition.natsconf``).
"""

from __future__ import annotations

import logging
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import nats
from nats.aio.client import Client as NATS
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamSource

from events.settings import SERVICES, STREAM, env

log = logging.getLogger("coalition.stream")


def subject_filter(service: str) -> str:
    """Every subject one service publishes on: ``coalition.<service>.>``."""
    return f"coalition.{service}.>"


def log_stream(service: str) -> str:
    """The stream one service publishes into: ``LOG_<SERVICE>``."""
    return f"LOG_{service.upper()}"


def inbox_prefix(user: str) -> str:
    """Where a NATS user's replies come: ``_INBOX.<user>``, the one subject tree it may
    subscribe to, so that no user can listen to another's replies."""
    return f"_INBOX.{user}"


def log_stream_config(service: str, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=log_stream(service),
        description=f"The events {service} publishes, in its store's order (sourced into {STREAM})",
        subjects=[subject_filter(service)],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        num_replicas=replicas,
        allow_atomic=True,
        duplicate_window=120.0,
    )


def stream_config(replicas: int = 1, services: tuple[str, ...] = SERVICES,
                  start: dict[str, int] | None = None) -> StreamConfig:
    """``COALITION``: no subjects, a source per service stream (from ``start[service]``,
    if given: a migrated stream skips what it already holds)."""
    start = start or {}
    return StreamConfig(
        name=STREAM,
        description="The coalition's shared log: every event the organisations publish",
        subjects=[],
        sources=[StreamSource(name=log_stream(s), opt_start_seq=start.get(s)) for s in services],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        num_replicas=replicas,
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
        inbox_prefix=inbox_prefix(user) if user else "_INBOX",
        max_reconnect_attempts=-1 if persistent else 3,
        reconnect_time_wait=0.2,
        connect_timeout=5,
    )


def replicas() -> int:
    return int(env("COALITION_STREAM_REPLICAS", "1") or 1)
