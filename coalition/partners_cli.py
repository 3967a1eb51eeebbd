"""``coalition partners list|add|revoke|replay`` (the admin's) and ``coalition subscribe``
(a partner's own client, with the partner's own NATS credentials only).

The partners themselves are configuration (``[[partners]]`` in ``coalition.toml``; by
default every organisation): their NATS users are generated from it when the engines
start, or — for a partner added to ``coalition.toml`` while the platform runs — by
``partners add``, which makes the partner's NATS user and has the embedded server reload
its users (no restart; ``coalition.engines.new_nats_users``). These commands change what a
configured partner's consumer of ``SHARE`` delivers, through ``events.partners``; they act
on the NATS server directly with the admin's user, then have the forum record the change
on the log (``coalition.partner_record``: why in that order, and how a re-run records it
once).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

import msgspec

from events.sharing import Partner, load_partners


def _partner(folder: Path, org: str) -> Partner:
    found = {p.org: p for p in load_partners(folder)}
    if org not in found:
        sys.exit(f"no partner {org!r} in the configuration (partners: {', '.join(sorted(found)) or 'none'}); "
                 "add it to [[partners]] in coalition.toml, then `coalition partners add` makes its NATS user")
    return found[org]


def cmd_partners(args: argparse.Namespace) -> int:
    from coalition.running import admin_urls

    folder = Path(args.data_dir)
    _, nats_url = admin_urls(folder)
    return asyncio.run(_partners(args, folder, nats_url))


async def _partners(args: argparse.Namespace, folder: Path, nats_url: str) -> int:
    from coalition.partner_record import ForumRecord, NotRecorded, change_left, idempotency_key
    from events import partners
    from events.sharing import SHARE_STREAM

    forum = ForumRecord.of(folder) if args.action != "list" else None
    if args.action == "add":
        _nats_user(folder, args.org)
    from events.stream import connect

    nc = await connect(nats_url, "coalition-partners", persistent=False)
    js = nc.jetstream(timeout=10)
    try:
        if args.action == "list":
            configured = load_partners(folder)
            print(f"{'partner':<12} {'up to':<13} {'consumer of ' + SHARE_STREAM:<20} {'state':<8} "
                  f"{'pending':>9} {'acked to':>9}")
            for p, state in zip(configured, await partners.states(js, configured), strict=True):
                shown = "active" if state.active else "revoked" if state.revoked else "none"
                print(f"{p.org:<12} {p.max_tlp:<13} {state.consumer:<20} {shown:<8} {state.pending:>9} "
                      f"{state.acked:>9}")
            return 0
        partner = _partner(folder, args.org)
        assert forum is not None
        try:
            await forum.check(partner.org)  # before anything changes: see coalition.partner_record
            if args.action == "add":
                change, position = "added", None
                states = await partners.states(js, (partner,))
                if states[0].active:
                    print(f"{partner.org}: already receiving (its consumer of {SHARE_STREAM}); `replay` to start again")
                else:
                    await partners.add(js, partner)
                    print(f"{partner.org}: its consumer of {SHARE_STREAM} delivers everything it may receive, "
                          "from the start of the log")
            elif args.action == "revoke":
                change, position = "revoked", None
                await partners.revoke(js, partner)
                print(f"{partner.org}: revoked; its consumer of {SHARE_STREAM} is deleted (nothing was stored for it)")
            else:
                change, position = "replayed", args.position
                start = await partners.replay(js, partner, args.position)
                print(f"{partner.org}: its consumer of {SHARE_STREAM} starts again from log position "
                      f"{args.position} (SHARE seq {start})")
            body = {"change": change, "from_position": position, **({"note": args.note} if args.note else {})}
            key = idempotency_key(partner.org, change, position, await change_left(js, partner))
            recorded = await forum.record(partner.org, body, key)
        except NotRecorded as exc:
            print(f"coalition partners {args.action} {partner.org}: {exc}", file=sys.stderr)
            return 1
        print(f"{partner.org}: recorded on the log as partner.changed ({change}), attributed to the forum "
              f"(partnership {recorded['id']}, change {recorded['version']})")
        return 0
    finally:
        await nc.close()


def _nats_user(folder: Path, org: str) -> None:
    """Before ``add``: a partner configured since the NATS server started has no user yet.
    The embedded server gets one at once (a reload, no restart); for an external server,
    say what its operator must do (the consumer is made all the same)."""
    from coalition.engines import new_nats_users
    from coalition.natsconf import partner_user_name
    from events.settings import env

    partner = _partner(folder, org)
    user = partner_user_name(partner.org)
    secrets = folder / "secrets.json"
    if secrets.exists() and user in json.loads(secrets.read_text()).get("nats", {}):
        return
    if env("COALITION_NATS_URL"):
        print(f"{org}: the NATS server is external (COALITION_NATS_URL): give it the user {user} — regenerate "
              "its configuration (`coalition nats-config`, with NATS_PASSWORD_"
              f"{user.upper().replace('-', '_')} set on each node) and reload it (`nats-server --signal "
              "reload=<pid>` or SIGHUP); the partner's consumer is made now")
        return
    try:
        made = new_nats_users(folder)
    except LookupError as exc:
        sys.exit(f"{org}: no NATS user yet, and {exc}; restart the platform (`coalition up`) to make it")
    if made:
        print(f"{org}: NATS user {user} made (password in {secrets}); the server reloaded its users, no restart")


def add_parsers(sub: argparse._SubParsersAction, default_dir: str) -> None:
    from coalition.running import running_platform

    parser = sub.add_parser(
        "partners", help="list partners' consumers of SHARE; add, revoke or replay one",
        description="Partners are coalition.toml's [[partners]] (org, max_tlp, people; by default every "
                    "organisation up to AMBER+STRICT). Each reads SHARE through its own durable consumer, named "
                    "after it, filtered on the server to what it may receive. add: make it (and the partner's NATS "
                    "user, if it is new to coalition.toml: the embedded server reloads, no restart), backfilled "
                    "from the start of the log; revoke: delete it (nothing was stored for the partner); replay: "
                    "make it again from a log position. Each change is then "
                    "recorded on the log (partner.changed) by the running forum, with the forum's key; if the "
                    "forum is not running nothing is changed, and if it goes away before recording, the command "
                    "exits 1: run it again to record the change (once).")
    parser.add_argument("action", choices=["list", "add", "revoke", "replay"])
    parser.add_argument("org", nargs="?", help="the partner (not for list)")
    parser.add_argument("--from", dest="position", type=int, default=1, metavar="POSITION",
                        help="replay: the shared log's position (COALITION sequence) to start from (default 1)")
    parser.add_argument("--note", default=None, help="why, recorded with the change (the same on a re-run)")
    running_platform(parser, default_dir)
    parser.set_defaults(func=_checked)

    subscribe = sub.add_parser(
        "subscribe", help="a partner's client: print the events it receives as they arrive",
        description="Connect with the partner's own NATS credentials (secrets.json of a running platform's data "
                    "folder, or COALITION_NATS_URL with them in it) and print each event its consumer of SHARE "
                    "delivers as it arrives; each is acknowledged once printed, so a restart resumes after the last one (the "
                    "durable consumer keeps the position). At least once: an event printed just before a crash "
                    "may be printed again (its CloudEvent id tells).")
    subscribe.add_argument("--org", required=True, help="the partner organisation")
    subscribe.add_argument("--json", action="store_true", help="one CloudEvent (JSON) a line, as received")
    subscribe.add_argument("--limit", type=int, default=0, help="stop after this many events (default: never)")
    running_platform(subscribe, default_dir)
    subscribe.set_defaults(func=cmd_subscribe)


def _checked(args: argparse.Namespace) -> int:
    if args.action != "list" and not args.org:
        sys.exit(f"coalition partners {args.action}: which partner? (an organisation id)")
    return cmd_partners(args)


def partner_url(folder: Path, org: str) -> str:
    """The partner's own NATS URL: COALITION_NATS_URL if set, else the running platform's."""
    from coalition.natsconf import partner_user_name
    from events.settings import env
    from events.stream import with_credentials

    given = env("COALITION_NATS_URL")
    if given:
        return given
    endpoints, secrets = folder / "endpoints.json", folder / "secrets.json"
    if not endpoints.exists():
        sys.exit(f"no {endpoints}: start the platform with `coalition up` or set COALITION_NATS_URL")
    user = partner_user_name(org)
    passwords = json.loads(secrets.read_text())["nats"]
    if user not in passwords:
        sys.exit(f"no NATS credentials for {user} in {secrets}: is {org} a partner (coalition.toml [[partners]])?")
    return with_credentials(json.loads(endpoints.read_text())["nats"], user, passwords[user])


def summary(raw: bytes) -> str:
    """One readable line for a CloudEvent: when, marking, kind, who, what."""
    try:
        event = msgspec.json.decode(raw)
        data = event.get("data") or {}
        what = data.get("summary") or data.get("title") or data.get("question") or data.get("plan") or ""
        what = " ".join(str(what).split())
        return (f"{str(event.get('time', ''))[:19]:<19}  TLP:{event.get('tlp', '?'):<12}  {event.get('type', '?'):<26}  "
                f"{data.get('org', '?'):<9}  {event.get('subject', '')}  {what[:100]}").rstrip()
    except (msgspec.DecodeError, AttributeError, TypeError):
        return f"(not a CloudEvent: {len(raw)} bytes)"


def cmd_subscribe(args: argparse.Namespace) -> int:
    url = partner_url(Path(args.data_dir), args.org)
    return asyncio.run(_subscribe(url, args.org, args.json, args.limit))


async def _subscribe(url: str, org: str, as_json: bool, limit: int) -> int:
    from events.partners import durable
    from events.pull import PullConsumer, stream_seq
    from events.sharing import SHARE_STREAM
    from events.stream import connect

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    nc = await connect(url, f"coalition-subscribe-{org}")
    pump = PullConsumer(nc, SHARE_STREAM, durable(org), batch=100)
    await pump.start()
    shown = 0
    try:
        while not stop.is_set():
            msgs = await pump.next_batch(timeout=1.0)
            for i, msg in enumerate(msgs):
                if stop.is_set() or (limit and shown >= limit):
                    for left in msgs[i:]:
                        await left.nak()  # back at once, ahead of newer ones, for the next run
                    stop.set()
                    break
                line = msg.data.decode("utf-8", "replace") if as_json else f"{stream_seq(msg):>7}  {summary(msg.data)}"
                print(line, flush=True)
                await msg.ack()
                shown += 1
            if limit and shown >= limit:
                break
    finally:
        await pump.stop()
        await nc.flush()
        await nc.close()
    return 0
