"""The ``coalition`` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from coalition.process import child_preexec
from events.logs import setup_logging
from events.settings import SERVICES, data_dir

log = logging.getLogger("coalition")


def cmd_up(args: argparse.Namespace) -> int:
    from coalition.supervisor import Platform

    started = time.perf_counter()
    platform = Platform(Path(args.data_dir).resolve(), port_base=args.port_base, spawn=args.spawn)
    stop_requested = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop_requested.set()
        platform.stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        endpoints = platform.start()
        secrets_path = platform.data_dir / "secrets.json"
        print("\nCoalition platform")
        for name in SERVICES:
            print(f"  {name:<9} {endpoints[name]}   (API docs: {endpoints[name]}/schema)")
        print(f"  board     {endpoints['forum']}/")
        print(f"  nats      {endpoints['nats']}")
        print(f"  database  {endpoints['database']}")
        print(f"  API keys, NATS and PostgreSQL credentials: {secrets_path} (mode 0600)")
        if platform.new_passwords:
            print("  coordinators' accounts (shown once; kept in secrets.json; change with "
                  "`coalition coordinators passwd <username>`):")
            for username, password in platform.new_passwords.items():
                print(f"    {username:<22} {password}")
        print(f"  logs: {platform.data_dir / 'logs'}")
        print(f"ready in {time.perf_counter() - started:.2f}s", flush=True)
        demo = None
        if args.demo and not stop_requested.is_set():
            # its own process: the supervisor forks children and must stay single-threaded
            demo = subprocess.Popen([sys.executable, "-m", "coalition.cli", "demo", "--data-dir",
                                     str(platform.data_dir)], preexec_fn=child_preexec)
        platform.supervise()
        if demo is not None and demo.poll() is None:
            demo.terminate()
    except Exception as exc:  # noqa: BLE001 - reported, then everything is stopped
        log.error("start-up failed: %s", exc)
        platform.stop()
        return 1
    platform.stop()
    print("stopped", flush=True)
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from projections.board.rebuild import rebuild

    db, nats = _urls(Path(args.data_dir))
    with Progress(TextColumn("rebuilding the board"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), transient=False) as bar:
        task = bar.add_task("rebuild", total=None, rate="")
        began = time.perf_counter()

        def progress(done: int, total: int) -> None:
            rate = done / max(time.perf_counter() - began, 1e-9)
            bar.update(task, completed=done, total=total, rate=f"{rate:,.0f} events/s")

        result = asyncio.run(rebuild(db, nats, progress))
    print(f"board rebuilt: {result.events:,} events in {result.seconds:.2f}s "
          f"({result.rate:,.0f} events/s), position {result.position}")
    print(json.dumps({"events": result.events, "seconds": round(result.seconds, 3),
                      "events_per_second": round(result.rate), "position": result.position}))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    import psycopg

    from projections.board import schema

    db, nats = _urls(Path(args.data_dir))
    with psycopg.connect(db, connect_timeout=5) as conn:
        position = schema.position(conn)
        quarantined = schema.rejected(conn)
    try:
        end: int | str = asyncio.run(asyncio.wait_for(_log_end(nats), timeout=5))
    except Exception as exc:  # noqa: BLE001 - the board's own state is still worth showing
        end = f"unknown ({exc or type(exc).__name__})"
    print(f"board position {position} (shared log ends at {end})")
    if not quarantined:
        print("quarantined events: none")
        return 0
    print(f"quarantined events: {len(quarantined)} (the board could not apply them and went on without them)")
    for seq, error, event, at in quarantined:
        print(f"  seq {seq}  {at:%Y-%m-%d %H:%M:%S %Z}  {error}")
        print(f"      {len(event):,} bytes: {_shown(event[:160])}{'…' if len(event) > 160 else ''}")
    return 0


async def _log_end(nats_url: str) -> int:
    """The last stream sequence of the shared log."""
    from events.settings import STREAM
    from events.stream import connect

    nc = await connect(nats_url, "coalition-status", persistent=False)
    try:
        return int((await nc.jetstream().stream_info(STREAM)).state.last_seq)
    finally:
        await nc.close()


def _shown(raw: bytes) -> str:
    """Bytes as a terminal can show them: text as it is, anything else escaped."""
    text = bytes(raw).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def cmd_demo(args: argparse.Namespace) -> int:
    from coalition.demo import run_demo

    run_demo(Path(args.data_dir).resolve())
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    from coalition.setup import prepare
    from events.organisations import load_coordinators, load_organisations
    from events.settings import api_keys, database_roles, database_url, nats_url

    prepare(database_url(), nats_url(), load_organisations(Path(args.data_dir)), api_keys(),
            roles=database_roles(), coordinators=load_coordinators(Path(args.data_dir)))
    print("set up: stream, board tables, API keys and PostgreSQL roles")
    return 0


def cmd_coordinators(args: argparse.Namespace) -> int:
    """``coalition coordinators add|passwd <username>``: store the hash of a password read
    from the terminal (twice) or, with ``--password-stdin``, from standard input."""
    import getpass

    import psycopg

    from events.organisations import load_coordinators
    from services.accounts import set_password, sync_accounts

    folder = Path(args.data_dir)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.username}: ")
        if getpass.getpass("again: ") != password:
            sys.exit("the passwords differ; nothing changed")
    if len(password) < 10:
        sys.exit("a password has at least 10 characters; nothing changed")
    db = _admin_database(folder)
    with psycopg.connect(db, autocommit=True) as conn:
        sync_accounts(conn, load_coordinators(folder))
        try:
            set_password(conn, args.username, password, new=args.action == "add")
        except (LookupError, ValueError) as exc:
            sys.exit(str(exc))
    print(f"{args.username}: password {'set' if args.action == 'add' else 'changed'} (only its Argon2 hash is stored)")
    return 0


def _admin_database(folder: Path) -> str:
    from events.settings import env

    db = env("COALITION_DATABASE_URL")
    if db:
        return db
    endpoints = folder / "endpoints.json"
    if not endpoints.exists():
        sys.exit(f"no {endpoints}: start the platform with `coalition up` or set COALITION_DATABASE_URL (the admin's)")
    from coalition.roles import admin_url

    secrets = json.loads((folder / "secrets.json").read_text())
    return admin_url(json.loads(endpoints.read_text())["database"], secrets.get("postgres", {}))


def cmd_nats_config(args: argparse.Namespace) -> int:
    from coalition.natsconf import compose_config

    sys.stdout.write(compose_config())
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    # The benchmarks live in the repository, not in the installed package: run them there.
    checkout = Path(__file__).resolve().parent.parent
    if not (checkout / "bench" / "__main__.py").exists():
        sys.exit("the benchmarks come with a checkout of the repository: run `uv run python -m bench` there")
    return subprocess.call([sys.executable, "-m", "bench", args.name, *args.options], cwd=checkout)


def _urls(folder: Path) -> tuple[str, str]:
    """Database and NATS URLs, the admin's: from the environment, or from a running `coalition up`."""
    from events.settings import env

    db, nats = env("COALITION_DATABASE_URL"), env("COALITION_NATS_URL")
    if db and nats:
        return db, nats
    endpoints = folder / "endpoints.json"
    if not endpoints.exists():
        sys.exit(f"no {endpoints}: start the platform with `coalition up` or set COALITION_DATABASE_URL and COALITION_NATS_URL")
    from coalition import natsconf
    from coalition.roles import admin_url

    ep = json.loads(endpoints.read_text())
    secrets = json.loads((folder / "secrets.json").read_text())
    return (db or admin_url(ep["database"], secrets.get("postgres", {})),
            nats or natsconf.admin_url(ep["nats"], secrets["nats"]))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coalition",
        description="Coalition coordination platform: a shared, auditable event log for a movement, "
                    "a parliamentary caucus and trade unions to respond together.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    default_dir = str(data_dir())

    up = sub.add_parser("up", help="start the engines, the four services and the board projection",
                        description="Start embedded PostgreSQL and NATS JetStream (unless COALITION_DATABASE_URL / "
                                    f"COALITION_NATS_URL are set), the {', '.join(SERVICES)} services "
                                    "with their relays, and the board projection. Ctrl-C stops everything.")
    up.add_argument("--data-dir", default=default_dir, help="data folder (default: %(default)s)")
    up.add_argument("--demo", action="store_true", help="drive a demo scenario through the HTTP APIs once ready")
    up.add_argument("--port-base", type=int, default=None,
                    help=f"{SERVICES[0]} on this port, {'/'.join(SERVICES[1:])} on the next ones "
                         "(default 8400; 0 = any free ports)")
    up.add_argument("--spawn", action="store_true",
                    help="start each process as a fresh interpreter instead of forking the warm supervisor "
                         "(slower; for debugging and for the start-up benchmark's comparison)")
    up.set_defaults(func=cmd_up)

    rebuild = sub.add_parser("rebuild", help="drop a projection and replay it from the shared log")
    rebuild.add_argument("projection", choices=["board"])
    rebuild.add_argument("--data-dir", default=default_dir, help="data folder of a running platform (default: %(default)s)")
    rebuild.set_defaults(func=cmd_rebuild)

    status = sub.add_parser("status", help="the board's position and the events it quarantined",
                            description="Print how far the board has read the shared log and list the events "
                                        "it could not apply (stream sequence, error, first bytes).")
    status.add_argument("--data-dir", default=default_dir, help="data folder of a running platform (default: %(default)s)")
    status.set_defaults(func=cmd_status)

    demo = sub.add_parser("demo", help="drive the demo scenario against a running platform")
    demo.add_argument("--data-dir", default=default_dir, help="data folder of a running platform (default: %(default)s)")
    demo.set_defaults(func=cmd_demo)

    setup = sub.add_parser("setup", help="create the stream, the board tables and the API keys, then exit",
                           description="What `coalition up` does before starting any process, for deployments "
                                       "that run the processes themselves (compose's one-shot setup container): "
                                       "needs COALITION_DATABASE_URL (the admin's) and COALITION_NATS_URL; "
                                       "keys come from COALITION_API_KEYS, the services' and the board's "
                                       "PostgreSQL roles from COALITION_DATABASE_ROLES.")
    setup.add_argument("--data-dir", default=default_dir, help="folder with coalition.toml, if any (default: %(default)s)")
    setup.set_defaults(func=cmd_setup)

    people = sub.add_parser("coordinators", help="set a coordinator's password (only its Argon2 hash is stored)",
                            description="Accounts come from coalition.toml [[coordinators]] (username, name, "
                                        "organisation, role); `add` sets the first password of one, `passwd` "
                                        "changes it (ending its sessions). Needs the admin's database: a running "
                                        "`coalition up` in --data-dir, or COALITION_DATABASE_URL.")
    people.add_argument("action", choices=["add", "passwd"])
    people.add_argument("username")
    people.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    people.add_argument("--data-dir", default=default_dir, help="data folder (default: %(default)s)")
    people.set_defaults(func=cmd_coordinators)

    nats_config = sub.add_parser("nats-config", help="print deploy/nats.conf (compose's NATS nodes) with its users",
                                 description="The NATS configuration of the compose cluster, its users and their "
                                             "rights generated from the configuration as for the embedded server: "
                                             "`python -m coalition.cli nats-config > deploy/nats.conf`.")
    nats_config.set_defaults(func=cmd_nats_config)

    bench = sub.add_parser("bench", help="run a benchmark against the stock approach (see python -m bench --help)",
                           description="Run one benchmark on its own embedded engines; options after the name "
                                       "are the benchmark's own (e.g. --quick).")
    bench.add_argument("name", choices=["ingest", "latency", "rebuild", "fanout", "startup"])
    bench.add_argument("options", nargs=argparse.REMAINDER, help="the benchmark's options")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging("coalition")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
