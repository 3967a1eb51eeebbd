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
from coalition.running import admin_urls, running_platform
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

    db, nats = admin_urls(Path(args.data_dir))
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

    db, nats = admin_urls(Path(args.data_dir))
    with psycopg.connect(db, connect_timeout=5) as conn:
        position = schema.position(conn)
        quarantined = schema.rejected(conn)
    try:
        end, shared = asyncio.run(asyncio.wait_for(_log_end(nats), timeout=5))
    except Exception as exc:  # noqa: BLE001 - the board's own state is still worth showing
        end = shared = f"unknown ({exc or type(exc).__name__})"
    print(f"board position {position} (shared log ends at {end})")
    print(f"distributor position {shared} (the log position of the last event on SHARE; "
          "`coalition partners list` for each partner's consumer of it)")
    if not quarantined:
        print("quarantined events: none")
        return 0
    print(f"quarantined events: {len(quarantined)} (the board could not apply them and went on without them)")
    for seq, error, event, at in quarantined:
        print(f"  seq {seq}  {at:%Y-%m-%d %H:%M:%S %Z}  {error}")
        print(f"      {len(event):,} bytes: {_shown(event[:160])}{'…' if len(event) > 160 else ''}")
    return 0


async def _log_end(nats_url: str) -> tuple[int, int | str]:
    """The last stream sequence of the shared log, and how far the distributor has
    put it on SHARE (its checkpoint: the last message there)."""
    from nats.js.errors import NotFoundError

    from events.partners import POSITION
    from events.settings import STREAM
    from events.sharing import SHARE_PREFIX, SHARE_STREAM
    from events.stream import connect

    nc = await connect(nats_url, "coalition-status", persistent=False)
    try:
        js = nc.jetstream()
        end = int((await js.stream_info(STREAM)).state.last_seq)
        try:
            last = await js.get_last_msg(SHARE_STREAM, f"{SHARE_PREFIX}.>")
            shared: int | str = int((last.headers or {}).get(POSITION, "0"))
        except NotFoundError:
            shared = "0 (nothing shared yet)"
        return end, shared
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
    from events.sharing import load_partners

    prepare(database_url(), nats_url(), load_organisations(Path(args.data_dir)), api_keys(),
            roles=database_roles(), coordinators=load_coordinators(Path(args.data_dir)),
            partners=load_partners(Path(args.data_dir)))
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


def cmd_export(args: argparse.Namespace) -> int:
    """``coalition export board|timeline|decisions``: what the board's read side answers,
    as JSON or CSV, to a file or standard output, as an organisation (or the open view)
    may see it."""
    import psycopg

    from events.organisations import load_organisations

    folder = Path(args.data_dir)
    known = {o.id for o in load_organisations(folder)}
    if args.org is not None and args.org not in known:
        sys.exit(f"coalition export: no organisation {args.org!r} (one of {', '.join(sorted(known))})")
    db = _admin_database(folder)
    try:
        text = asyncio.run(_export(db, args))
    except psycopg.OperationalError as exc:
        sys.exit(f"coalition export: cannot reach the platform's database ({str(exc).strip()}): "
                 "is `coalition up` running with this --data-dir?")
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8", newline="")
        print(f"wrote {args.out} ({len(text.encode()):,} bytes)", file=sys.stderr)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0


async def _export(db: str, args: argparse.Namespace) -> str:
    import msgspec
    import psycopg

    from projections.board import queries

    def as_json(value: object) -> str:
        return msgspec.json.format(msgspec.json.encode(value), indent=2).decode() + "\n"

    viewer = args.org
    async with await psycopg.AsyncConnection.connect(db, autocommit=True, connect_timeout=5) as conn:
        if args.what == "board":
            if args.as_of is None:
                board = await queries.read_board(conn, viewer)
                board.digest = queries.board_digest(board)
            else:
                try:
                    board = await queries.board_as_of(conn, viewer, args.as_of)
                except queries.AsOfError as exc:
                    sys.exit(f"coalition export: {exc}")
            return queries.board_csv(board) if args.format == "csv" else as_json(board)
        if args.what == "timeline":
            entries = await queries.item_timeline(conn, args.item, viewer)
            if entries is None:
                shown = "the open view" if viewer is None else viewer
                sys.exit(f"coalition export: no item {args.item} on the board (that {shown} may see)")
            return queries.timeline_csv(entries) if args.format == "csv" else as_json(entries)
        decisions = await queries.list_decisions(conn, viewer)
        return queries.decisions_csv(decisions) if args.format == "csv" else as_json(decisions)


def _export_parser(sub: argparse._SubParsersAction, default_dir: str) -> None:
    from projections.board.columns import BOARD_FIELDS, DECISION_FIELDS, TIMELINE_FIELDS

    export = sub.add_parser(
        "export", help="the board (now or as of), an item's timeline or the decisions as JSON or CSV",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Read a running platform's board (its database: `coalition up` in --data-dir, or "
                    "COALITION_DATABASE_URL) and write what the forum's API answers, as the open view "
                    "(TLP:CLEAR and GREEN) or, with --org, as that organisation may see it.",
        epilog=f"CSV columns ({CSV_NOTE}):\n\n"
               f"  board:      {', '.join(BOARD_FIELDS)}\n"
               "              (one item a line, newest change first; position and digest are the board's:\n"
               "              its position and the SHA-256 board_digest that decisions record)\n"
               f"  timeline:   {', '.join(TIMELINE_FIELDS)}\n"
               "              (one event a line, in log order)\n"
               f"  decisions:  {', '.join(DECISION_FIELDS)}\n"
               "              (one decision a line, newest first; positions: every position taken)\n\n"
               "JSON is the API's: GET /api/board[?as_of=], /api/items/{id}/timeline, /api/decisions.")
    what = export.add_subparsers(dest="what", required=True, metavar="WHAT")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--format", choices=["json", "csv"], default="json", help="(default: %(default)s)")
        p.add_argument("--out", metavar="FILE", help="write to FILE (default: standard output)")
        p.add_argument("--org", metavar="ORG", help="as this organisation may see it (default: the open view)")
        running_platform(p, default_dir)
        p.set_defaults(func=cmd_export)

    def columns(name: str, fields: tuple[str, ...], note: str) -> str:
        return (f"CSV columns ({CSV_NOTE}):\n  {', '.join(fields)}\n{note}")

    board = what.add_parser(
        "board", help="every item and decision, archive included, with the board's digest",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The whole board (archive included) with its position and SHA-256 digest (board_digest, "
                    "what decisions record); with --as-of, exactly as it stood then, replayed from the "
                    "board's log. JSON: GET /api/board's answer.",
        epilog=columns("board", BOARD_FIELDS, "One item a line, newest change first; position and digest are "
                                              "the board's, on every line."))
    board.add_argument("--as-of", metavar="P|ISO-TIME",
                       help="a board position, or an ISO 8601 time (UTC if no offset): the board as it stood then")
    common(board)
    timeline = what.add_parser(
        "timeline", help="every event that concerns an item, in log order",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Every event that concerns the item (its own and those that refer to it). "
                    "JSON: GET /api/items/{id}/timeline's answer.",
        epilog=columns("timeline", TIMELINE_FIELDS, "One event a line, in log order."))
    timeline.add_argument("item", metavar="ITEM-ID")
    common(timeline)
    decisions = what.add_parser(
        "decisions", help="the forum's decisions with evidence, positions and outcome",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Every decision with its evidence, the board position and digest it was proposed and "
                    "made on, each position taken and the outcome. JSON: GET /api/decisions's answer.",
        epilog=columns("decisions", DECISION_FIELDS, "One decision a line, newest first; positions: every "
                                                     "position taken, in log order (org, position, reason, "
                                                     "actor, at, seq)."))
    common(decisions)


CSV_NOTE = "a header line first; nothing as an empty cell, lists and objects as compact JSON, instants in ISO 8601"


def cmd_webhooks(args: argparse.Namespace) -> int:
    """Partners' webhook endpoints, managed by an operator (the admin's database)."""
    return asyncio.run(_webhooks(args))


async def _webhooks(args: argparse.Namespace) -> int:
    import msgspec
    import psycopg

    from events import endpoints as store
    from events.logread import log_end
    from events.sharing import load_partners
    from events.stream import connect
    from events.targets import TargetRefused, check_target

    db, nats = admin_urls(Path(args.data_dir))
    show = msgspec.json.Encoder()
    async with await psycopg.AsyncConnection.connect(db, autocommit=True, connect_timeout=5) as conn:
        if args.action == "add":
            if args.org not in {p.org for p in load_partners(Path(args.data_dir))}:
                sys.exit(f"{args.org} is not a partner in the sharing policy")
            from contracts.registry import CONTRACTS, kind_of

            unknown = sorted(set(args.type) - {kind_of(c) for c in CONTRACTS})
            if unknown:
                sys.exit(f"unknown event types: {', '.join(unknown)}")
            try:
                await check_target(args.url)
            except TargetRefused as exc:
                sys.exit(f"url refused: {exc}")
            after = args.after
            if after is None:
                nc = await connect(nats, "coalition-webhooks-cli", persistent=False)
                try:
                    after = await log_end(nc)
                finally:
                    await nc.close()
            registered = await store.add(conn, args.org, args.url, list(dict.fromkeys(args.type)), after)
            print(show.encode(registered).decode())
            return 0
        if args.action == "list":
            for endpoint in await store.endpoints(conn, args.org):
                print(show.encode(endpoint).decode())
            return 0
        if args.action == "failed":
            found = await store.failures(conn, args.endpoint)
            if found is None:
                sys.exit(f"no endpoint {args.endpoint}")
            for failure in found:
                print(show.encode(failure).decode())
            return 0
        if args.action == "rotate":
            secret = await store.rotate(conn, args.endpoint)
            if secret is None:
                sys.exit(f"no endpoint {args.endpoint}")
            print(json.dumps({"id": args.endpoint, "secret": secret}))
            return 0
        if args.action == "remove":
            if not await store.remove(conn, args.endpoint):
                sys.exit(f"no endpoint {args.endpoint}")
            print(f"removed {args.endpoint}")
            return 0
        if not await store.redeliver(conn, args.endpoint, args.from_position):
            sys.exit(f"no endpoint {args.endpoint}")
        print(f"{args.endpoint}: delivering again everything after position {args.from_position}")
        return 0


def cmd_asyncapi(args: argparse.Namespace) -> int:
    from events.asyncapi import document
    from events.sharing import load_partners

    text = json.dumps(document(load_partners(Path(args.data_dir))), indent=2, ensure_ascii=False) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _webhooks_parser(sub: argparse._SubParsersAction, default_dir: str) -> None:
    hooks = sub.add_parser(
        "webhooks", help="partners' webhook endpoints: add, list, rotate, remove, failed, redeliver",
        description="Manage the partners' webhook endpoints as an operator (partners do the same through "
                    "the forum's /v1/webhooks with their own key). Needs a running `coalition up` in "
                    "--data-dir, or COALITION_DATABASE_URL and COALITION_NATS_URL (the admin's).")
    actions = hooks.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="register an endpoint for a partner; prints it with its secret")
    add.add_argument("org", help="the partner organisation")
    add.add_argument("url", help="where to POST its events (a public address unless "
                                 "COALITION_WEBHOOK_ALLOW_NETWORKS allows it)")
    add.add_argument("--type", action="append", default=[], metavar="TYPE",
                     help="deliver only this event type (e.g. attack.reported.v1); repeat for more")
    add.add_argument("--after", type=int, default=None, metavar="POSITION",
                     help="deliver what comes after this position (default: the end of the log; 0: everything)")
    listing = actions.add_parser("list", help="the endpoints (JSON lines) with their positions and state")
    listing.add_argument("--org", default=None, help="only this partner's")
    for name, text in (("rotate", "a new secret; the old one stays valid beside it for 24 hours"),
                       ("remove", "remove an endpoint"),
                       ("failed", "deliveries that used up the retry schedule (JSON lines)")):
        one = actions.add_parser(name, help=text)
        one.add_argument("endpoint", help="the endpoint's id (ep_…)")
    again = actions.add_parser("redeliver", help="deliver again everything after a position (enables the endpoint)")
    again.add_argument("endpoint", help="the endpoint's id (ep_…)")
    again.add_argument("--from", dest="from_position", type=int, required=True, metavar="POSITION",
                       help="deliver again what comes after this position")
    for parser in (add, listing, *actions.choices.values()):
        if not any(a.dest == "data_dir" for a in parser._actions):
            running_platform(parser, default_dir)
    hooks.set_defaults(func=cmd_webhooks)

    spec = sub.add_parser("asyncapi", help="write the AsyncAPI 3.0 document of the NATS channels",
                          description="The AsyncAPI 3.0 document generated from the contracts: the shared log's "
                                      "channel and SHARE as each partner reads it through its own consumer (from "
                                      "coalition.toml's [[partners]]), "
                                      "every contract as a CloudEvent message. The forum serves the same at "
                                      "/asyncapi.json.")
    spec.add_argument("--output", "-o", default=None, metavar="FILE", help="write it here (default: stdout)")
    spec.add_argument("--data-dir", default=default_dir, help="folder with coalition.toml, if any (default: %(default)s)")
    spec.set_defaults(func=cmd_asyncapi)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coalition",
        description="Coalition coordination platform: a shared, auditable event log for a movement, "
                    "a parliamentary caucus and trade unions to respond together.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    default_dir = str(data_dir())

    up = sub.add_parser("up", help="start the engines, the four services, the board projection and the distributor",
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
    running_platform(rebuild, default_dir)
    rebuild.set_defaults(func=cmd_rebuild)

    status = sub.add_parser("status", help="the board's position and the events it quarantined",
                            description="Print how far the board has read the shared log and list the events "
                                        "it could not apply (stream sequence, error, first bytes).")
    running_platform(status, default_dir)
    status.set_defaults(func=cmd_status)

    demo = sub.add_parser("demo", help="drive the demo scenario against a running platform")
    running_platform(demo, default_dir)
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

    _export_parser(sub, default_dir)
    _webhooks_parser(sub, default_dir)

    from coalition.partners_cli import add_parsers

    add_parsers(sub, default_dir)

    bench = sub.add_parser("bench", help="run a benchmark against the stock approach (see python -m bench --help)",
                           description="Run one benchmark on its own embedded engines; options after the name "
                                       "are the benchmark's own (e.g. --quick).")
    bench.add_argument("name", choices=["ingest", "latency", "rebuild", "fanout", "partners", "startup", "webhooks"])
    bench.add_argument("options", nargs=argparse.REMAINDER, help="the benchmark's options")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging("coalition")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
