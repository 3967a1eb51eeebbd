"""Configuration by environment, one prefix: ``COALITION_…``.

Every process of the platform (services, relays, projections, the CLI) reads its
settings here, so that compose.yaml, ``coalition up`` and the tests configure them
the same way. Defaults work with nothing set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

#: Every variable the code reads; compose.yaml is checked against this list.
ENVIRONMENT = {
    "COALITION_DATABASE_URL": "PostgreSQL URL; unset = the embedded server in the data folder",
    "COALITION_NATS_URL": "NATS URL (credentials may be in it); unset = the embedded server",
    "COALITION_DATA_DIR": "data folder for embedded engines, endpoints.json and secrets.json",
    "COALITION_SERVICE": "which service a process runs: one of SERVICES",
    "COALITION_HOST": "interface a service listens on",
    "COALITION_PORT": "port a service listens on",
    "COALITION_API_KEYS": "org=key,org=key… to seed API keys (hashed on start; optional)",
    "COALITION_DATABASE_ROLES": "role=password,… of the PostgreSQL login roles set-up creates (one per service, "
                                "and board); set-up only, with the admin's COALITION_DATABASE_URL",
    "COALITION_LOG_LEVEL": "log level: DEBUG, INFO, WARNING",
    "COALITION_HTTP_SERVER": "the services' HTTP server: granian (default; its embedded server, in the "
                             "service's own process) or uvicorn",
    "COALITION_STREAM_REPLICAS": "replicas of the COALITION stream when first created (1 embedded, 3 in compose)",
    "COALITION_SESSION_SECRET": "secret that signs and encrypts the board's session cookies and CSRF tokens: the "
                                "same for every forum process (coalition up generates one in secrets.json; unset "
                                "= a random one per process, so a session lasts as long as its process)",
    "COALITION_ESCALATE_AFTER_MINUTES": "minutes a high or critical attack may stay unacknowledged before the forum "
                                        "escalates it (default 60; fractions allowed, e.g. 0.05 = 3 s)",
    "COALITION_AUTH_FAILURES_PER_MINUTE": "failed authentications a client address (or one key) may make in a "
                                          "minute before it is answered 429 (default 20; 0 = no limit)",
    "COALITION_FORUM_URL": "the forum's URL, where `coalition partners` records each change it makes (unset = "
                           "endpoints.json of the data folder); the forum's key is COALITION_API_KEYS' or secrets.json's",
    "COALITION_ARCHIVE_AFTER_DAYS": "days after which a resolved or closed item leaves the board's live "
                                    "columns for its archive (default 7; may be fractional)",
    "COALITION_BATCH_MAX_COMMANDS": "the most commands one POST /v1/batch may carry (default 500); more is a 400 "
                                    "that gives the limit",
    "COALITION_WEBHOOK_RETRY_SCHEDULE": "seconds before each webhook attempt after a failure, comma-separated "
                                        "(default the Standard Webhooks schedule 0,5,300,1800,7200,18000,36000,"
                                        "36000; after the last, the last again until it is delivered)",
    "COALITION_WEBHOOK_JITTER": "up to this fraction is added at random to each retry delay (default 0.2)",
    "COALITION_WEBHOOK_TIMEOUT": "seconds a webhook endpoint has to answer one delivery (default 15)",
    "COALITION_WEBHOOK_ALLOW_NETWORKS": "comma-separated networks (CIDR) webhook targets may be on although they "
                                        "are not public, e.g. 127.0.0.0/8,::1/128 (default none: private, "
                                        "link-local and loopback targets are refused)",
    "COALITION_PARTNER_FANOUT": "`off`: `coalition up` starts neither the partners' distributor nor the webhook "
                                "deliverer (for benchmarks that measure the platform without the partners' fan-out; "
                                "default `on`)",
}

SERVICES = ("forum", "momentum", "scg", "unions")
"""The one list of services; each declares itself in ``services/<name>.py``. ``coalition
up`` gives them ports in this order from its base port (the forum's, 8400 by default)."""
DEFAULT_PORT_BASE = 8400


def default_port(service: str, base: int | None = None) -> int:
    """Where ``coalition up`` (and compose) puts ``service``: the base port plus its place."""
    return (base or DEFAULT_PORT_BASE) + SERVICES.index(service)
STREAM = "COALITION"


@dataclass(frozen=True)
class DatabaseParams:
    """The parts of a PostgreSQL URL that eventsourcing wants as separate settings."""

    host: str
    port: int
    dbname: str
    user: str
    password: str

    @classmethod
    def from_url(cls, url: str) -> DatabaseParams:
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql"):
            raise ValueError(f"COALITION_DATABASE_URL must be a postgresql:// URL, not {url!r}")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            dbname=(parts.path or "/postgres").lstrip("/") or "postgres",
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
        )

    def eventsourcing_env(self, schema: str) -> dict[str, str]:
        """Settings for an eventsourcing Application stored in ``schema``."""
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_SCHEMA": schema,
            "POSTGRES_POOL_SIZE": "8",
            "POSTGRES_MAX_OVERFLOW": "8",
            # A command waits at most this long (seconds) for a connection, so that with
            # PostgreSQL down it is answered 503 at once rather than after eventsourcing's 30 s,
            # and is not then retried for ten more seconds, as eventsourcing's recorder would.
            "POSTGRES_CONNECT_TIMEOUT": "1",
            # After PostgreSQL restarts, the pool still holds connections to the old server:
            # without a check each would fail one command with a 503 before being replaced.
            # A check is one round trip per checkout (the group committer checks out once per
            # group, not per command).
            "POSTGRES_PRE_PING": "y",
            "APPLICATION_RECORDER_TOPIC": "events.recorder:ServiceRecorder",
            "CREATE_TABLE": "true",
        }


def env(name: str, default: str | None = None) -> str | None:
    assert name in ENVIRONMENT, name
    value = os.environ.get(name)
    return value if value else default


def _number(name: str, default: str, kind: type[int] | type[float], low: float, high: float,
            what: str, *, above_low: bool = False) -> Any:
    """``name`` read as a number between ``low`` and ``high`` (more than ``low`` if
    ``above_low``); a wrong value stops the process at start-up with a message naming the
    variable, rather than running with a limit nobody chose."""
    value = env(name, default) or default
    try:
        number = kind(value)
    except ValueError:
        raise RuntimeError(f"{name} must be {what}, not {value!r}") from None
    if not (low < number if above_low else low <= number) or number > high:
        lowest = f"more than {low:g}" if above_low else f"at least {low:g}"
        raise RuntimeError(f"{name} must be {lowest} and at most {high:g}, not {value}")
    return number


HTTP_SERVERS = ("granian", "uvicorn")


def http_server() -> str:
    """Which HTTP server runs the services (``COALITION_HTTP_SERVER``): granian unless told,
    the faster of the two under the ingest benchmark (BENCHMARKS.md)."""
    value = (env("COALITION_HTTP_SERVER", "granian") or "granian").lower()
    if value not in HTTP_SERVERS:
        raise RuntimeError(f"COALITION_HTTP_SERVER must be one of {', '.join(HTTP_SERVERS)}, not {value!r}")
    return value


def auth_failures_per_minute() -> int:
    """How many failed authentications a client address or a key may make in a minute;
    0 turns the limit off (the benchmarks)."""
    return _number("COALITION_AUTH_FAILURES_PER_MINUTE", "20", int, 0, 10**9, "a whole number")


def escalate_after_minutes() -> float:
    """How long (minutes) a high or critical attack may wait for acknowledgement."""
    return _number("COALITION_ESCALATE_AFTER_MINUTES", "60", float, 0, 10**6, "a number", above_low=True)


#: The Standard Webhooks retry schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
WEBHOOK_SCHEDULE = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


def webhook_schedule() -> tuple[float, ...]:
    """Seconds to wait before each retry of a failed webhook delivery."""
    value = env("COALITION_WEBHOOK_RETRY_SCHEDULE")
    if not value:
        return WEBHOOK_SCHEDULE
    try:
        delays = tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise RuntimeError(f"COALITION_WEBHOOK_RETRY_SCHEDULE must be seconds separated by commas, not {value!r}") from None
    if not delays or any(not 0 <= d <= 7 * 86400 for d in delays):
        raise RuntimeError(f"COALITION_WEBHOOK_RETRY_SCHEDULE needs one or more delays of 0 to 604800 s, not {value!r}")
    return delays


def webhook_jitter() -> float:
    """The share of each retry delay drawn at random, so endpoints that failed together
    are not all retried in the same second."""
    return _number("COALITION_WEBHOOK_JITTER", "0.2", float, 0, 1, "a number")


def webhook_timeout() -> float:
    return _number("COALITION_WEBHOOK_TIMEOUT", "15", float, 0, 300, "a number of seconds", above_low=True)


def webhook_allowed_networks() -> tuple[str, ...]:
    """Networks a webhook target may be on although not public (checked in ``events.targets``)."""
    return tuple(n.strip() for n in (env("COALITION_WEBHOOK_ALLOW_NETWORKS") or "").split(",") if n.strip())


def session_secret() -> str | None:
    return env("COALITION_SESSION_SECRET")


def archive_after_days() -> timedelta:
    """How long a resolved or closed item stays in the board's live columns."""
    return timedelta(days=_number("COALITION_ARCHIVE_AFTER_DAYS", "7", float, 0, 36_500, "a number of days"))


def batch_max_commands() -> int:
    """How many commands a publisher may send in one ``POST /v1/batch``: each is checked,
    and all are committed, before the batch is answered, so the batch holds its connection
    (and its client waits) for all of them."""
    return _number("COALITION_BATCH_MAX_COMMANDS", "500", int, 1, 10_000, "a whole number")


def partner_fanout() -> bool:
    """Whether ``coalition up`` runs the partners' distributor and webhook deliverer: off
    only for a benchmark that measures the rest of the platform without them."""
    value = (env("COALITION_PARTNER_FANOUT", "on") or "on").strip().lower()
    if value not in ("on", "off"):
        raise RuntimeError(f"COALITION_PARTNER_FANOUT must be on or off, not {value!r}")
    return value == "on"


def data_dir() -> Path:
    return Path(env("COALITION_DATA_DIR", ".coalition") or ".coalition").resolve()


def database_url() -> str:
    url = env("COALITION_DATABASE_URL")
    if not url:
        raise RuntimeError("COALITION_DATABASE_URL is not set (coalition up sets it for its children)")
    return url


def nats_url() -> str:
    url = env("COALITION_NATS_URL")
    if not url:
        raise RuntimeError("COALITION_NATS_URL is not set (coalition up sets it for its children)")
    return url


def api_keys() -> dict[str, str]:
    """``COALITION_API_KEYS=momentum=…,rmt=…`` → {org: key} (for compose and managed deployments)."""
    return _pairs("COALITION_API_KEYS")


def database_roles() -> dict[str, str]:
    """``COALITION_DATABASE_ROLES=momentum=…,board=…`` → {role: password}, for set-up."""
    return _pairs("COALITION_DATABASE_ROLES")


def _pairs(name: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in (env(name) or "").split(","):
        key, sep, value = pair.strip().partition("=")
        if sep and key and value:
            found[key.strip()] = value.strip()
    return found
