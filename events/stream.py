"""The shared log: one stream ``COALITION`` that every service's relay publishes into, and connections.

Each service publishes on its own subjects ``coalition.<service>.>``, straight into
``COALITION``; readers (the board, the rebuild, the distributor, the feed) read it, and
its sequence is their position everywhere.

Why one stream, written directly. The first trust round gave each service a stream of
its own (``LOG_<SERVICE>``) that ``COALITION`` *sourced*, because the relay's checkpoint
("the last message on ``coalition.<service>.>``") was a ``STREAM.MSG.GET`` whose subject
names only the stream: on a shared stream the right to ask it was the right to read every
service's events. The NATS server copies a sourced message on its own, with an fsync each
(``sync_interval: always``): about 4 ms on this kind of disk, so the copy held the whole
platform to about 250 events/s (an strace of a scratch server: 1,044 fsyncs for 1,000
messages sourced, 42 for the same published in atomic batches). Now:

* the checkpoint is a **direct get of the last message by subject** with the subject in
  the API subject, ``$JS.API.DIRECT.GET.COALITION.coalition.<service>.>``: the server
  answers with the last message on the service's own subjects and refuses any request
  body (no sequence, no other subject), and a service's NATS user may publish to that one
  API subject, so it reads its own last message and nothing else (``coalition.natsconf``);
* the order guard is the atomic batch's ``Nats-Expected-Last-Subject-Sequence`` with the
  subject ``coalition.<service>.>`` (``events.publish``), on ``COALITION`` itself;
* the relay does not set ``Nats-Msg-Id``: on a shared stream another service could
  publish that id first and have the server drop the real event as a duplicate. The
  event's id travels as ``Coalition-Id`` (``<service>:<notification id>``); the order
  guard, not deduplication, keeps a retry from publishing twice.

Data folders of the sourced layout are moved back by set-up (``events.migrate``).
"""

from __future__ import annotations

import logging
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import nats
from nats.aio.client import Client as NATS
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from events.settings import STREAM, env

log = logging.getLogger("coalition.stream")


def subject_filter(service: str) -> str:
    """Every subject one service publishes on: ``coalition.<service>.>``."""
    return f"coalition.{service}.>"


def inbox_prefix(user: str) -> str:
    """Where a NATS user's replies come: ``_INBOX.<user>``, the one subject tree it may
    subscribe to, so that no user can listen to another's replies."""
    return f"_INBOX.{user}"


def stream_config(replicas: int = 1) -> StreamConfig:
    """``COALITION``: every service's subjects; atomic batches (a relay's batch is stored
    whole or not at all) and direct gets (the relays' checkpoint look-up)."""
    return StreamConfig(
        name=STREAM,
        description="The coalition's shared log: every event the organisations publish",
        subjects=["coalition.>"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        num_replicas=replicas,
        allow_atomic=True,
        allow_direct=True,
        duplicate_window=120.0,
    )


def last_message_subject(service: str) -> str:
    """The direct-get API subject that answers the last message on ``service``'s own
    subjects, and nothing else: the one read of the log a service's user may make."""
    return f"$JS.API.DIRECT.GET.{STREAM}.{subject_filter(service)}"


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
