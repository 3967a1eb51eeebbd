"""compose.yaml runs the same processes as ``coalition up``, configured the same way.

Docker is not needed: these tests read compose.yaml, deploy/ and the Python sources, so
the compose file cannot drift from the code (a renamed variable, a new service, a lost
``sync_interval: always``) without a test failing.
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from coalition import natsconf
from coalition.roles import BOARD, ROLES, WEBHOOKS
from events.settings import ENVIRONMENT, SERVICES, DatabaseParams, default_port
from events.sharing import load_partners
from events.stream import servers_and_credentials

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "compose.yaml"
CODE = ("contracts", "events", "services", "projections", "webhooks", "coalition")
VARIABLE = re.compile(r"\bCOALITION_[A-Z0-9_]*[A-Z0-9]")
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")

#: Read by Compose only, to fill in ``${…}``: the code gets these passwords inside
#: COALITION_DATABASE_URL, COALITION_DATABASE_ROLES and COALITION_NATS_URL, so they are
#: not in ENVIRONMENT. One NATS password per user (coalition.natsconf), one PostgreSQL
#: password per role (coalition.roles).
COMPOSE_INPUTS = {"COALITION_POSTGRES_PASSWORD",
                  *(f"COALITION_{natsconf.password_variable(user)}" for user in natsconf.user_names()),
                  *(f"COALITION_POSTGRES_PASSWORD_{role.upper()}" for role in ROLES)}

#: Whose PostgreSQL role each process connects as; "setup" is the admin.
DATABASE_ROLE = {**{name: name for name in SERVICES}, "board": BOARD, "webhooks": WEBHOOKS}

#: Whose NATS user each process connects as.
NATS_USER = {**{name: name for name in SERVICES}, "board": natsconf.BOARD, "setup": natsconf.ADMIN,
             "distributor": natsconf.DISTRIBUTOR, "webhooks": natsconf.WEBHOOKS}

#: The partners' users: for their own clients, outside compose (``coalition subscribe``).
PARTNER_USERS = {natsconf.partner_user_name(p.org) for p in load_partners()}


@cache
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def service(name: str) -> dict:
    services = compose()["services"]
    assert name in services, f"compose.yaml has no {name!r} service"
    return services[name]


def command(name: str) -> list[str]:
    cmd = service(name).get("command", [])
    return shlex.split(cmd) if isinstance(cmd, str) else [str(part) for part in cmd]


def environment(name: str) -> dict[str, str]:
    env = service(name).get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def interpolate(value: str) -> str:
    """``value`` as Compose fills it in with nothing set in the shell: defaults only."""
    return INTERPOLATION.sub(lambda m: m.group(2) or "", value)


def runs(cmd: list[str], *module: str) -> bool:
    """Whether ``cmd`` runs ``python -m <module…>``."""
    needle = ["-m", *module]
    return any(cmd[i:i + len(needle)] == needle for i in range(len(cmd)))


def nats_nodes() -> list[str]:
    return sorted(name for name in compose()["services"] if name.startswith("nats"))


def mounted_config(name: str) -> Path:
    """The host file mounted as a NATS node's ``--config``."""
    cmd = command(name)
    flag = next(f for f in ("--config", "-c") if f in cmd)
    target = cmd[cmd.index(flag) + 1]
    for volume in service(name).get("volumes", []):
        source, _, rest = volume.partition(":")
        if rest.split(":")[0] == target:
            return (ROOT / source).resolve()
    raise AssertionError(f"{name}: {target} is not mounted from the repository")


def conf_block(text: str, name: str) -> str:
    """The body of ``name { … }`` in a NATS config (comments removed)."""
    text = re.sub(r"(?m)^\s*(#|//).*$", "", text)
    match = re.search(rf"(?m)^\s*{name}\s*:?\s*\{{", text)
    assert match, f"no {name} block"
    depth, start = 1, match.end()
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i]
    raise AssertionError(f"unbalanced {name} block")


def strings(node: object) -> list[str]:
    """Every key and value of a parsed YAML document, as text."""
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in (str(key), *strings(value))]
    if isinstance(node, list):
        return [text for item in node for text in strings(item)]
    return [] if node is None else [str(node)]


def code_variables() -> dict[str, set[str]]:
    """Every ``COALITION_…`` name in the Python sources, and the files naming it."""
    found: dict[str, set[str]] = {}
    for package in CODE:
        for path in (ROOT / package).rglob("*.py"):
            for name in VARIABLE.findall(path.read_text()):
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_compose_file_is_plain_compose_specification() -> None:
    """No obsolete ``version:`` key; services and named volumes declared."""
    assert "version" not in compose()
    assert compose()["services"]
    for name, spec in compose()["services"].items():
        for volume in spec.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                declared = compose().get("volumes") or {}
                assert source in declared, f"{name}: volume {source} not declared"


def test_every_service_runs_in_its_own_container() -> None:
    """Each of SERVICES has a compose service running ``python -m services <name>``."""
    for name in SERVICES:
        assert runs(command(name), "services", name), command(name)


def test_service_name_matches_the_container() -> None:
    """COALITION_SERVICE in each service container is that service's name."""
    for name in SERVICES:
        assert environment(name).get("COALITION_SERVICE") == name


def test_board_projection_runs() -> None:
    """A ``board`` service runs ``python -m projections.board``."""
    assert runs(command("board"), "projections.board"), command("board")


def test_webhook_deliverer_runs() -> None:
    """A ``webhooks`` service runs ``python -m webhooks``."""
    assert runs(command("webhooks"), "webhooks"), command("webhooks")


def test_compose_names_only_variables_the_code_reads() -> None:
    """Every COALITION_* name in compose.yaml is in ENVIRONMENT (no stale variables),
    except the two password inputs, which are only ever interpolated."""
    text = COMPOSE.read_text()
    named = set(VARIABLE.findall(text))
    stale = named - set(ENVIRONMENT) - COMPOSE_INPUTS
    assert not stale, f"compose.yaml names variables the code does not read: {sorted(stale)}"
    for name in COMPOSE_INPUTS:
        assert name in named, f"{name} is no longer used: drop it from COMPOSE_INPUTS"
        for value in strings(compose()):
            uses = len(re.findall(rf"\b{name}\b", value))
            bare = uses - len(re.findall(rf"\$\{{{name}\b", value))
            assert bare == 0, f"{name} may only appear as ${{{name}…}}: {value!r}"
        assert name not in code_variables(), f"the code reads {name}: add it to ENVIRONMENT"


def test_code_reads_only_documented_variables() -> None:
    """Every COALITION_* name in the Python sources is documented in ENVIRONMENT."""
    found = code_variables()
    assert "COALITION_DATABASE_URL" in found  # the scan sees the sources
    undocumented = {name: sorted(files) for name, files in found.items() if name not in ENVIRONMENT}
    assert not undocumented, f"add to events.settings.ENVIRONMENT: {undocumented}"


def test_every_process_gets_the_engines() -> None:
    """Services and board get COALITION_DATABASE_URL (the postgres service, as their own
    role: see the next test) and COALITION_NATS_URL (every NATS node, as their own NATS user with the password the
    nodes accept for it)."""
    pg = environment("postgres")
    for name in (*SERVICES, "board"):
        env = environment(name)
        assert "COALITION_DATABASE_URL" in env and "COALITION_NATS_URL" in env, name
        db = DatabaseParams.from_url(interpolate(env["COALITION_DATABASE_URL"]))
        assert db.host == "postgres" and db.port == 5432
        assert db.dbname == pg["POSTGRES_DB"]
        servers, user, password = servers_and_credentials(interpolate(env["COALITION_NATS_URL"]))
        hosts = {urlsplit(s).hostname for s in servers}
        assert hosts == set(nats_nodes()), "every NATS node, for fail-over"
        assert all(urlsplit(s).scheme == "nats" and urlsplit(s).port == 4222 for s in servers)
        assert user == NATS_USER[name]
        variable = natsconf.password_variable(user)
        assert all(password == interpolate(environment(h)[variable]) for h in hosts)
        assert env.get("COALITION_STREAM_REPLICAS") == "3", name
        assert env.get("COALITION_LOG_LEVEL"), name


def test_each_process_connects_to_postgres_as_its_own_role() -> None:
    """Set-up alone is the admin (the postgres container's POSTGRES_USER); it creates a
    role per service and the board's (COALITION_DATABASE_ROLES), and each process
    connects as its own role with the password set-up gave that role, no two alike."""
    pg = environment("postgres")
    setup = environment("setup")
    admin = DatabaseParams.from_url(interpolate(setup["COALITION_DATABASE_URL"]))
    assert admin.user == pg.get("POSTGRES_USER", "postgres")
    assert admin.password == interpolate(pg["POSTGRES_PASSWORD"])
    assert (admin.host, admin.port, admin.dbname) == ("postgres", 5432, pg["POSTGRES_DB"])
    pairs = [pair.partition("=") for pair in interpolate(setup["COALITION_DATABASE_ROLES"]).split(",")]
    created = {role.strip(): password.strip() for role, _, password in pairs}
    assert set(created) == set(ROLES) == set(DATABASE_ROLE.values())
    for name, role in DATABASE_ROLE.items():
        url = environment(name)["COALITION_DATABASE_URL"]
        db = DatabaseParams.from_url(interpolate(url))
        assert db.user == role, f"{name} connects as {db.user}, not as its own role {role}"
        assert db.password == created[role], f"{name}: not the password set-up gives {role}"
        assert re.search(rf"\$\{{COALITION_POSTGRES_PASSWORD_{role.upper()}:-", url), name
    passwords = [admin.password, *created.values()]
    assert len(set(passwords)) == len(passwords), "each role its own password"


def test_services_listen_where_coalition_up_puts_them() -> None:
    """Each service listens on all interfaces, on its `coalition up` port, published as is."""
    for name in SERVICES:
        env = environment(name)
        port = default_port(name)
        assert env.get("COALITION_HOST") == "0.0.0.0"
        assert env.get("COALITION_PORT") == str(port)
        published = [str(p) for p in service(name).get("ports", [])]
        assert f"{port}:{port}" in published, published


def test_setup_runs_once_before_every_process() -> None:
    """As `coalition up` does (coalition/setup.py): a one-shot container creates the stream
    and the board tables and seeds the API keys; every process starts once it finished."""
    assert runs(command("setup"), "coalition.cli") and command("setup")[-1] == "setup"
    env = environment("setup")
    assert "COALITION_API_KEYS" in env and "COALITION_DATABASE_URL" in env and "COALITION_NATS_URL" in env
    assert "COALITION_DATABASE_ROLES" in env
    for name in (*SERVICES, "board"):
        assert "COALITION_API_KEYS" not in environment(name), f"{name}: keys are seeded once, by setup"
        assert "COALITION_DATABASE_ROLES" not in environment(name), f"{name}: roles are set up once, by setup"
        depends = service(name).get("depends_on") or {}
        assert depends.get("setup", {}).get("condition") == "service_completed_successfully", name


def test_processes_wait_for_healthy_engines() -> None:
    """Services and board start once PostgreSQL and every NATS node are healthy."""
    for name in (*SERVICES, "board"):
        depends = service(name).get("depends_on") or {}
        for engine in ("postgres", *nats_nodes()):
            assert depends.get(engine, {}).get("condition") == "service_healthy", (name, engine)


def test_postgres() -> None:
    """PostgreSQL 18 with a pg_isready healthcheck, a volume, POSTGRES_DB=coalition and
    a password from the environment with a local default."""
    pg = service("postgres")
    assert pg["image"].split(":")[0] == "postgres" and pg["image"].split(":")[1].startswith("18")
    assert "pg_isready" in " ".join(map(str, pg["healthcheck"]["test"]))
    assert environment("postgres")["POSTGRES_DB"] == "coalition"
    password = environment("postgres")["POSTGRES_PASSWORD"]
    assert re.fullmatch(r"\$\{COALITION_POSTGRES_PASSWORD:-.+\}", password)
    # 18+ images keep PGDATA in /var/lib/postgresql/18/docker: the volume goes on the parent
    assert any(v.split(":")[1] == "/var/lib/postgresql" for v in pg["volumes"])


def test_three_nats_nodes_for_r3() -> None:
    """Three NATS nodes (2.12+ for atomic batches), each its own name and volume, one
    config file with routes to all three."""
    nodes = nats_nodes()
    assert len(nodes) == 3, nodes
    names, volumes = set(), set()
    for node in nodes:
        spec = service(node)
        image, _, tag = spec["image"].partition(":")
        assert image == "nats"
        major, minor = (int(part) for part in re.match(r"(\d+)\.(\d+)", tag).groups())
        assert (major, minor) >= (2, 12), spec["image"]
        cmd = command(node)
        names.add(cmd[cmd.index("--name") + 1])
        volumes.update(v.split(":")[0] for v in spec["volumes"] if ":/data" in v)
        assert mounted_config(node) == ROOT / "deploy" / "nats.conf"
        assert spec.get("healthcheck"), node
    assert names == set(nodes)
    assert len(volumes) == 3
    cluster = conf_block((ROOT / "deploy" / "nats.conf").read_text(), "cluster")
    routes = set(re.findall(r"nats-route://([\w.-]+):6222", cluster))
    assert routes == set(nodes)


def test_nats_jetstream_is_durable_and_authenticated() -> None:
    """The nodes' config: JetStream file storage on the node's volume with
    ``sync_interval: always``, and a password per user from NATS_PASSWORD_<USER>, which
    each node gets from COALITION_NATS_PASSWORD_<USER> with a local default."""
    text = (ROOT / "deploy" / "nats.conf").read_text()
    jetstream = conf_block(text, "jetstream")
    assert re.search(r"(?m)^\s*sync_interval\s*:\s*always\s*$", jetstream)
    store = re.search(r"store_dir\s*:\s*\"?([^\"\s]+)", jetstream).group(1)
    for node in nats_nodes():
        assert any(v.split(":")[1] == store for v in service(node)["volumes"]), node
        for user in natsconf.user_names():
            variable = natsconf.password_variable(user)
            password = environment(node)[variable]
            assert re.fullmatch(rf"\$\{{COALITION_{variable}:-.+\}}", password)
    auth = conf_block(text, "authorization")
    for user in natsconf.user_names():
        assert re.search(rf'user\s*:\s*"{user}",\s*password\s*:\s*\${natsconf.password_variable(user)}\b', auth)


def test_nats_conf_is_generated_from_the_configuration() -> None:
    """deploy/nats.conf is exactly what ``python -m coalition.cli nats-config`` writes: the
    same users and rights as the embedded server's (coalition/natsconf.py)."""
    committed = (ROOT / "deploy" / "nats.conf").read_text()
    assert committed == natsconf.compose_config(), \
        "deploy/nats.conf is stale: python -m coalition.cli nats-config > deploy/nats.conf"
    for process, user in NATS_USER.items():
        _, named, _ = servers_and_credentials(interpolate(environment(process)["COALITION_NATS_URL"]))
        assert named == user, process
    assert set(NATS_USER.values()) | PARTNER_USERS == set(natsconf.user_names())


def test_interpolation_defaults_agree() -> None:
    """A variable used in several places has one default (the passwords must match)."""
    defaults: dict[str, set[str]] = {}
    for name, default in INTERPOLATION.findall(COMPOSE.read_text()):
        defaults.setdefault(name, set()).add(default)
    for name, values in defaults.items():
        assert len(values) == 1, f"{name} has different defaults: {values}"


def test_image_builds_from_the_repository() -> None:
    """The apps build from the repository with deploy/Dockerfile, which installs the
    locked dependencies and copies every package the processes import."""
    builds = {str(service(name).get("build")) for name in (*SERVICES, "board")}
    assert len(builds) == 1
    build = service("board")["build"]
    assert build["context"] == "."
    dockerfile = ROOT / build["dockerfile"]
    text = dockerfile.read_text()
    assert "uv sync --frozen --no-dev" in text
    ignore = dockerfile.with_name(dockerfile.name + ".dockerignore").read_text().split()
    for package in CODE:
        assert f"COPY {package} " in text, package
        assert f"!{package}" in ignore, package
