"""webhooks: the partners' webhook fan-out. E endpoints (20 by default) registered through
the forum's API, a steady rate of commands (500/s by default) through the three
publishers; each endpoint is an HTTP receiver on loopback (one process of its own, so the
receiving does not slow the publishing), and every delivery's delay is measured from the
publisher's ``201`` to the receipt. Nothing may be lost, nothing duplicated (by
``webhook-id``). The deliverer is the platform's own (``python -m webhooks``, supervised
by ``coalition up``), its targets on loopback allowed for the run.

``--idle SECONDS`` measures instead what the deliverer costs when nothing happens: the
endpoints registered, nothing published, the messages it sends the NATS server (the
server's own count, ``/connz`` on its monitoring port) and the CPU it uses in that time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

import msgspec

from bench.common import percentile, report
from bench.platform import ENVIRONMENT, send, session
from coalition.launcher import Running, launch, stop

SETTINGS = {**ENVIRONMENT, "COALITION_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
            "COALITION_WEBHOOK_RETRY_SCHEDULE": "0,0.5,1,2", "COALITION_LOG_LEVEL": "WARNING"}


class _Subject(msgspec.Struct):
    subject: str


def _receive(port: int, ready: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    """The receivers: one server, one path per endpoint; records (path, id, subject, when)."""
    from aiohttp import web

    records: list[tuple[str, str, str, float]] = []
    decode = msgspec.json.Decoder(_Subject).decode

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        records.append((request.path, request.headers["webhook-id"], decode(body).subject, time.monotonic()))
        return web.Response(status=204)

    async def count(_: web.Request) -> web.Response:
        return web.Response(text=str(len(records)))

    async def dump(_: web.Request) -> web.Response:
        return web.Response(body=json.dumps(records).encode(), content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/_count", count)
        app.router.add_get("/_dump", dump)
        app.router.add_post("/{endpoint}", hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
        ready.set()
        await asyncio.Event().wait()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


async def measure(p: Running, receiver: str, endpoints: int, rate: float, seconds: float,
                  drain: float) -> dict[str, object]:
    orgs = ["rmt", "fbu", "momentum", "scg", "bfawu", "forum"]
    acked: dict[str, float] = {}
    async with session(256) as s:
        paths = []
        for i in range(endpoints):
            org = orgs[i % len(orgs)]
            async with s.post(p.url("forum", "/v1/webhooks"), json={"url": f"{receiver}/ep{i}"},
                              headers=p.headers(org)) as resp:
                if resp.status != 201:
                    raise RuntimeError(f"register → {resp.status}: {await resp.text()}")
            paths.append(f"/ep{i}")

        async def one(i: int) -> None:
            item = await send(s, p, i)
            acked[item] = time.monotonic()

        tasks = []
        began = time.monotonic()
        total = int(rate * seconds)
        for i in range(total):
            wait = began + i / rate - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        sent_for = time.monotonic() - began
        deadline = time.monotonic() + drain
        while time.monotonic() < deadline:
            async with s.get(f"{receiver}/_count") as resp:
                if int(await resp.text()) >= total * endpoints:
                    break
            await asyncio.sleep(0.2)
        async with s.get(f"{receiver}/_dump") as resp:
            records = await resp.json()
    delays: list[float] = []
    lost = duplicated = 0
    span = max((r[3] for r in records), default=began) - began
    for path in paths:
        mine = [r for r in records if r[0] == path]
        ids = Counter(r[1] for r in mine)
        duplicated += sum(n - 1 for n in ids.values())
        first: dict[str, float] = {}
        for _, _, subject, at in mine:
            first.setdefault(subject, at)
        lost += sum(1 for item in acked if item not in first)
        delays += [(first[item] - t) * 1000 for item, t in acked.items() if item in first]
    return {"endpoints": endpoints, "rate": rate, "seconds": seconds, "published": len(acked),
            "sent_rate": round(len(acked) / sent_for, 1), "expected": len(acked) * endpoints,
            "delivered": len(records), "lost": lost, "duplicated": duplicated,
            "deliveries_per_second": round(len(records) / span) if span > 0 else None,
            "p50_ms": round(percentile(delays, 50), 1), "p95_ms": round(percentile(delays, 95), 1),
            "p99_ms": round(percentile(delays, 99), 1), "max_ms": round(max(delays, default=0), 1)}


def _nats_messages_in(p: Running, name: str) -> int:
    """How many messages the connection called ``name`` has sent the NATS server."""
    found = re.search(r"^http: 127\.0\.0\.1:(\d+)", (p.data_dir / "nats.conf").read_text(), re.M)
    assert found is not None, "the embedded NATS server's monitoring port"
    with urllib.request.urlopen(f"http://127.0.0.1:{found.group(1)}/connz?limit=1024", timeout=10) as resp:
        connections = json.load(resp)["connections"]
    return sum(c["in_msgs"] for c in connections if c.get("name") == name)


def idle(p: Running, receiver: str, endpoints: int, seconds: float) -> dict[str, object]:
    """The deliverer's cost while nothing is published, with ``endpoints`` registered."""
    import httpx

    for i in range(endpoints):
        org = ["rmt", "fbu", "momentum", "scg", "bfawu", "forum"][i % 6]
        resp = httpx.post(p.url("forum", "/v1/webhooks"), json={"url": f"{receiver}/ep{i}"}, headers=p.headers(org),
                          timeout=30)
        assert resp.status_code == 201, resp.text
    time.sleep(5.0)  # settled: every worker started and waiting
    deliverer = p.child("webhooks")
    messages, cpu = _nats_messages_in(p, "coalition-webhooks"), deliverer.cpu_times()
    time.sleep(seconds)
    messages, after = _nats_messages_in(p, "coalition-webhooks") - messages, deliverer.cpu_times()
    used = (after.user + after.system) - (cpu.user + cpu.system)
    return {"endpoints": endpoints, "idle_seconds": seconds, "nats_messages": messages,
            "nats_messages_per_second": round(messages / seconds, 1), "cpu_seconds": round(used, 2),
            "cpu_share": round(used / seconds, 4)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench webhooks", description=__doc__)
    parser.add_argument("--endpoints", type=int, default=20, help="webhook endpoints (default %(default)s)")
    parser.add_argument("--rate", type=float, default=500, help="commands/s published (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=10, help="seconds of publishing (default %(default)s)")
    parser.add_argument("--drain", type=float, default=120, help="seconds to wait for every delivery afterwards")
    parser.add_argument("--quick", action="store_true", help="smoke run: 4 endpoints, 50/s for 2 s")
    parser.add_argument("--idle", type=float, default=None, metavar="SECONDS",
                        help="publish nothing: the deliverer's NATS messages and CPU over SECONDS, endpoints registered")
    args = parser.parse_args(argv)
    if args.quick:
        args.endpoints, args.rate, args.seconds = 4, 50, 2
    from coalition.engines import free_port

    port = free_port()
    ready = multiprocessing.get_context("spawn").Event()
    receiver = multiprocessing.get_context("spawn").Process(target=_receive, args=(port, ready), daemon=True)
    receiver.start()
    ready.wait(30)
    saved = {k: os.environ.get(k) for k in SETTINGS}
    os.environ.update(SETTINGS)
    try:
        with tempfile.TemporaryDirectory(prefix="coalition-bench-") as tmp:
            p = launch(Path(tmp) / "data")
            try:
                if args.idle is not None:
                    figures = idle(p, f"http://127.0.0.1:{port}", args.endpoints, args.idle)
                else:
                    figures = asyncio.run(measure(p, f"http://127.0.0.1:{port}", args.endpoints, args.rate,
                                                  args.seconds, args.drain))
            finally:
                stop(p)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        receiver.kill()
    if args.idle is not None:
        report("webhooks --idle", [
            ("endpoints", str(figures["endpoints"]), "registered, nothing published"),
            ("NATS messages", f"{figures['nats_messages']} ({figures['nats_messages_per_second']}/s)",
             f"sent by the deliverer in {args.idle:g} s (the server's count)"),
            ("CPU", f"{figures['cpu_seconds']} s", f"the deliverer's, in {args.idle:g} s"),
        ], figures)
        return 0
    report("webhooks", [
        ("endpoints", str(figures["endpoints"]), "each receives every event (all GREEN/CLEAR)"),
        ("published", f"{figures['published']} at {figures['sent_rate']}/s", f"asked {args.rate:g}/s for {args.seconds:g}s"),
        ("p50 201 → received", f"{figures['p50_ms']} ms", "per delivery, every endpoint"),
        ("p95", f"{figures['p95_ms']} ms", ""),
        ("p99", f"{figures['p99_ms']} ms", ""),
        ("deliveries/s", str(figures["deliveries_per_second"]), "from the first publish to the last receipt"),
        ("lost", str(figures["lost"]), "must be 0"),
        ("duplicated", str(figures["duplicated"]), "by webhook-id; must be 0"),
    ], figures)
    return 0 if figures["lost"] == 0 and figures["duplicated"] == 0 else 1
