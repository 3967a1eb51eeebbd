"""The NATS users and what each may do, generated from the configuration.

One function, :func:`authorization`, writes the ``authorization`` block for the embedded
server (``coalition.engines`` writes ``nats.conf`` on every start) and for compose
(``python -m coalition.cli nats-config > deploy/nats.conf``; tests/test_compose.py checks
the committed file is what this module generates). The users:

* ``admin`` — set-up and the CLI (``coalition setup``, ``rebuild``, ``status``, the tests'
  readers): every right; it creates the streams.
* one user per service (``events.settings.SERVICES``), named after it — its relay
  publishes only on ``coalition.<service>.>`` (into ``COALITION``), and reads only the
  last message on those subjects, through the direct-get subject that carries them
  (``$JS.API.DIRECT.GET.COALITION.coalition.<service>.>``: the server refuses any request
  body there, so no sequence or other subject can be asked). It cannot read another
  service's events, core-subscribe to ``coalition.>``, create a consumer, or purge or
  delete a stream.
* ``webhooks`` — the webhook deliverer: reads ``COALITION`` by position (batched direct
  gets, ``events.logread``) and its stream info; nothing else. The ``forum`` user may do
  the same besides its own rights, for the partners' HTTP feed.
* ``board`` — the board projection: only its own durable consumer ``board`` on
  ``COALITION`` (create with its filter, delete, info, fetch, ack in both ack subject
  formats) and ``COALITION``'s stream info. It cannot publish events.
* ``distributor`` — the same on its own consumer ``distributor``, and it publishes on
  ``share.>`` only (into ``SHARE``), reading ``SHARE``'s info and last message (its
  checkpoint). It cannot publish on the log or touch a partner's consumer.
* ``partner-<org>`` per partner (``[[partners]]`` of ``coalition.toml``,
  ``events.sharing.load_partners``) — fetch and ack through its own durable consumer
  ``<org>`` of ``SHARE`` (whose ``filter_subjects`` are the partner's policy,
  ``events.partners``), and read that consumer's info: nothing else. It cannot create,
  change or delete a consumer (set-up made it; so it cannot widen its filters), read
  ``COALITION``, read ``SHARE`` any other way (no stream info, no direct or message get),
  fetch through another partner's consumer, or publish anything.

Every user but the admin subscribes only to its own inbox prefix, ``_INBOX.<user>``
(``events.stream.connect`` sets nats-py's ``inbox_prefix``), so no user hears another's
replies.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from events.partners import durable
from events.settings import SERVICES, STREAM
from events.sharing import SHARE_PREFIX, SHARE_STREAM, Partner, load_partners
from events.stream import inbox_prefix, last_message_subject, subject_filter
from projections.board.projector import DURABLE
from projections.sharing.distributor import DURABLE as DISTRIBUTOR_DURABLE

ADMIN = "admin"
BOARD = "board"
DISTRIBUTOR = "distributor"
WEBHOOKS = "webhooks"
#: The service whose user also reads the shared log by position (the partners' feed).
FEED_SERVICE = "forum"
#: Reading ``COALITION`` by position, as ``events.logread`` does.
READ_LOG = (f"$JS.API.DIRECT.GET.{STREAM}", f"$JS.API.STREAM.INFO.{STREAM}")


@dataclass(frozen=True)
class User:
    name: str
    publish: tuple[str, ...] | None = None
    """Subjects it may publish on (JetStream API calls are publications); None = all."""
    subscribe: tuple[str, ...] | None = None


def service_user(service: str) -> User:
    """A service's relay: publish on its own subjects (into ``COALITION``), and read the
    last message on them through the one direct-get subject that answers nothing else
    (``events.stream.last_message_subject``)."""
    reads = READ_LOG if service == FEED_SERVICE else ()
    return User(service,
                publish=(subject_filter(service), last_message_subject(service), *reads),
                subscribe=(f"{inbox_prefix(service)}.>",))


def log_reader(user: str) -> User:
    """A reader of the shared log by position, nothing else."""
    return User(user, publish=READ_LOG, subscribe=(f"{inbox_prefix(user)}.>",))


def consumer_user(user: str, stream: str, durable: str) -> User:
    """A reader of ``stream`` through its own durable pull consumer ``durable`` only."""
    consumer = f"{stream}.{durable}"
    return User(user, publish=(
        f"$JS.API.STREAM.INFO.{stream}",
        f"$JS.API.CONSUMER.CREATE.{consumer}",
        f"$JS.API.CONSUMER.CREATE.{consumer}.>",  # with its filter subject (checked against the body)
        f"$JS.API.CONSUMER.DURABLE.CREATE.{consumer}",
        f"$JS.API.CONSUMER.DELETE.{consumer}",
        f"$JS.API.CONSUMER.INFO.{consumer}",
        f"$JS.API.CONSUMER.MSG.NEXT.{consumer}",
        f"$JS.ACK.{consumer}.>",
        f"$JS.ACK.*.*.{consumer}.>",  # the 2.14+ ack subject, with domain and account hash
    ), subscribe=(f"{inbox_prefix(user)}.>",))


def distributor_user() -> User:
    """The distributor: its own consumer on ``COALITION``, and ``SHARE``'s subjects."""
    reader = consumer_user(DISTRIBUTOR, STREAM, DISTRIBUTOR_DURABLE)
    assert reader.publish is not None
    return User(DISTRIBUTOR, publish=(*reader.publish, f"{SHARE_PREFIX}.>",
                                      f"$JS.API.STREAM.INFO.{SHARE_STREAM}",
                                      f"$JS.API.STREAM.MSG.GET.{SHARE_STREAM}"),
                subscribe=reader.subscribe)


def partner_user_name(org: str) -> str:
    """A partner's NATS user: ``partner-<org>`` (an organisation may also run a service,
    whose user has the service's name)."""
    return f"partner-{org}"


def partner_user(partner: Partner) -> User:
    """Fetch and ack through its own consumer of ``SHARE``, read that consumer's info,
    hear its own inbox: nothing else. The consumer filters ``SHARE`` on the server, so
    what the user may fetch is what the policy grants; the user may not touch the
    consumer's configuration (no CREATE/UPDATE/DELETE), so it cannot widen it."""
    user = partner_user_name(partner.org)
    consumer = f"{SHARE_STREAM}.{durable(partner.org)}"
    return User(user, publish=(
        f"$JS.API.CONSUMER.MSG.NEXT.{consumer}",
        f"$JS.API.CONSUMER.INFO.{consumer}",
        f"$JS.ACK.{consumer}.>",
        f"$JS.ACK.*.*.{consumer}.>",  # the 2.14+ ack subject, with domain and account hash
    ), subscribe=(f"{inbox_prefix(user)}.>",))


def users(services: tuple[str, ...] = SERVICES, partners: tuple[Partner, ...] | None = None) -> list[User]:
    """Every NATS user of the platform, from the configuration (``partners``: those of
    ``coalition.toml`` in the working directory, or every organisation, if not given)."""
    clash = {ADMIN, BOARD, DISTRIBUTOR, WEBHOOKS} & set(services)
    if clash:
        raise ValueError(f"a service may not be named {', '.join(sorted(clash))}: that NATS user is taken")
    partners = load_partners() if partners is None else partners
    return [User(ADMIN), *(service_user(s) for s in services), consumer_user(BOARD, STREAM, DURABLE),
            distributor_user(), log_reader(WEBHOOKS), *(partner_user(p) for p in partners)]


def user_names(services: tuple[str, ...] = SERVICES, partners: tuple[Partner, ...] | None = None) -> list[str]:
    return [user.name for user in users(services, partners)]


def admin_url(endpoint: str, passwords: Mapping[str, str]) -> str:
    """The admin's URL from endpoints.json's ``nats`` and secrets.json's ``nats``."""
    from events.stream import with_credentials

    return with_credentials(endpoint, ADMIN, passwords[ADMIN])


def password_variable(user: str) -> str:
    """The environment variable a compose NATS node reads ``user``'s password from."""
    return f"NATS_PASSWORD_{user.upper().replace('-', '_')}"


def authorization(password: Callable[[str], str], services: tuple[str, ...] = SERVICES,
                  partners: tuple[Partner, ...] | None = None) -> str:
    """The ``authorization`` block; ``password(user)`` gives each user's password as
    the config should hold it (a quoted literal, or ``$VARIABLE``)."""
    lines = ["authorization {", "  users: ["]
    for user in users(services, partners):
        head = f"    {{ user: {json.dumps(user.name)}, password: {password(user.name)}"
        if user.publish is None and user.subscribe is None:
            lines.append(head + " }")
            continue
        lines += [head, "      permissions: {"]
        for verb, subjects in (("publish", user.publish), ("subscribe", user.subscribe)):
            if subjects is not None:
                lines.append(f"        {verb}: {{ allow: [")
                lines += [f"          {json.dumps(subject)}" for subject in subjects]
                lines.append("        ] }")
        lines += ["      }", "    }"]
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def literal(passwords: Mapping[str, str]) -> Callable[[str], str]:
    return lambda user: json.dumps(passwords[user])


def from_environment(user: str) -> str:
    return f"${password_variable(user)}"


COMPOSE_HEAD = """\
# One node of the compose JetStream cluster. nats-1, nats-2 and nats-3 all mount this
# file; each names itself with `--name` on its command line (see compose.yaml).
# GENERATED by `python -m coalition.cli nats-config > deploy/nats.conf` from the same
# function as the embedded server's nats.conf (coalition/natsconf.py); tests/test_compose.py
# checks this file is what it generates. Same settings as the embedded server, plus the
# cluster block.

listen: 0.0.0.0:4222
http: 0.0.0.0:8222
max_payload: 1MB

jetstream {
  # each node has its own volume at /data (JetStream adds a "jetstream" subfolder)
  store_dir: "/data"
  # fsync every write before acknowledging it, as the embedded server does:
  # an acknowledged event survives a power cut, not only a process crash
  sync_interval: always
}

# Clients: a user per service, the board projection, the distributor, one per partner
# (coalition.toml's [[partners]]; by default every organisation) and the admin (set-up, the CLI).
# Each password comes from the node's NATS_PASSWORD_<USER>, which compose sets (see
# compose.yaml); it must match the password inside that process's NATS URL. Keep them URL-safe (letters, digits, - and _) and not all digits:
# an all-digit value would be read here as a number.
"""

COMPOSE_TAIL = """
# Routes between the three nodes, on the compose network only (6222 is not published).
# Listing a node's own address is harmless: the server detects and drops routes to itself.
cluster {
  name: coalition
  listen: 0.0.0.0:6222
  routes: [
    nats-route://nats-1:6222
    nats-route://nats-2:6222
    nats-route://nats-3:6222
  ]
}
"""


def compose_config() -> str:
    """deploy/nats.conf, as committed."""
    return COMPOSE_HEAD + authorization(from_environment) + COMPOSE_TAIL


def embedded_config(port: int, monitor_port: int, store: str, passwords: Mapping[str, str],
                    partners: tuple[Partner, ...] | None = None, pid_file: str | None = None) -> str:
    """The embedded server's nats.conf (passwords written in: the file is mode 0600).
    ``pid_file``: where the server writes its pid, so that ``coalition partners add`` can
    signal it to reload the users (:func:`with_authorization`) without a restart."""
    pid = f"pid_file: {json.dumps(pid_file)}\n" if pid_file else ""
    return f"""# written by coalition up; regenerated on every start
listen: 127.0.0.1:{port}
http: 127.0.0.1:{monitor_port}
server_name: coalition-embedded
max_payload: 1MB
{pid}jetstream {{
  store_dir: {json.dumps(store)}
  sync_interval: always
}}
{authorization(literal(passwords), partners=partners)}"""


def with_authorization(conf: str, passwords: Mapping[str, str], partners: tuple[Partner, ...]) -> str:
    """An embedded nats.conf with its ``authorization`` block (always last) made anew from
    the configuration; the rest (ports, store) as the running server has it."""
    head, found, _ = conf.partition("\nauthorization {")
    if not found:
        raise ValueError("no authorization block in the NATS configuration")
    return head + "\n" + authorization(literal(passwords), partners=partners)
