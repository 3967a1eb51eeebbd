"""partners: fan-out to the partners → p50/p95/p99 publish-to-receipt delay, nothing lost,
nothing twice; the design we run (one consumer of ``SHARE`` per partner) against the
stock one (a sourced stream per partner) in the same run if asked.

**What runs.** P partners (``--partners``, default 100) are configured in a fresh data
folder's ``coalition.toml``, so the embedded NATS server starts with a user per partner
(``partner-bench-NNN``, ``coalition.natsconf``). The real distributor runs as its own
process (``python -m projections.sharing``, with its own NATS user), reading ``COALITION``
once and publishing each event once onto ``SHARE``. Then, by ``--design``:

* ``consumers`` (the platform's): set-up makes one durable pull consumer of ``SHARE`` per
  partner, named after it, filtered to its policy (``events.partners``); the **server**
  filters and delivers each event to the P partners; it is stored once. Each partner
  connects with its **own credentials** (which may only fetch and ack through its own
  consumer) and acknowledges with ``AckPolicy.ALL``: the last message it has, every
  ``--ack-every`` seconds.
* ``streams`` (the stock approach, the first design): a stream ``PARTNER_<ORG>`` per
  partner **sources** ``SHARE`` through the partner's filters, so the server copies (and,
  with ``sync_interval: always``, fsyncs) each event P more times; each partner reads its
  stream through a durable consumer acking each message. Its readers use the admin's
  credentials (the partners' users may no longer read such streams).
* ``both``: ``consumers`` then ``streams``, each on engines of its own, one report.

Partners are spread over ``--workers`` processes (``events.pull.PullConsumer``, each
CloudEvent decoded, as ``coalition subscribe`` does).

**Measure.** A publisher puts GREEN ``AttackReported`` CloudEvents on the shared log the
way a relay does (on subjects of its own, straight into ``COALITION``) at a steady
rate R for T seconds. The CloudEvent's ``time`` is taken just before the publish and
travels unchanged through the distributor, so each partner's delay is receipt −
``time``: publish into ``COALITION``, the distributor, ``SHARE``, (streams: the
server's copy into the partner's stream,) delivery. Lost = P × published − distinct
events received (by CloudEvent id) within ``--drain-timeout``; duplicates are counted per
partner.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    StorageType,
    StreamConfig,
    StreamSource,
    SubjectTransform,
)

from bench.common import console, engines, percentile, report
from bench.fanout.cpu import process_cpu
from bench.fanout.options import SUBJECT
from bench.fanout.workers import run_loop
from contracts import CloudEvent, decode_envelope, encode_envelope
from contracts.attacks import AttackReported
from contracts.base import Target
from events.migrate import ensure_stream
from events.partners import durable, ensure_partners, ensure_share
from events.sharing import SHARE_STREAM, Partner, filters, load_partners
from events.stream import connect, with_credentials

DESIGNS = ("consumers", "streams")

TARGET_P99_MS = 1000.0


def configure(root: Path, count: int) -> None:
    """``coalition.toml`` with ``count`` partner organisations, each a partner up to GREEN."""
    orgs = [f"bench-{i:03d}" for i in range(count)]
    lines = []
    for org in orgs:
        lines += ["[[organisations]]", f'id = "{org}"', f'name = "Bench partner {org}"', 'kind = "union"',
                  'service = "momentum"', ""]
    for org in orgs:
        lines += ["[[partners]]", f'org = "{org}"', 'max_tlp = "GREEN"', ""]
    (root / "coalition.toml").write_text("\n".join(lines))


def envelope(run_id: str, i: int) -> bytes:
    """Event ``i`` of a run; its ``time`` is the moment it is sent."""
    now = datetime.now(UTC)
    data = AttackReported(org="momentum", occurred_at=now, attack_kind="suspension",
                          targets=[Target(kind="member", ref=str(uuid.uuid4()))],
                          summary=f"partners bench event {i}", severity="medium", region="London")
    return encode_envelope(CloudEvent(id=str(uuid.uuid4()), source=f"/bench/partners/{run_id}",
                                      type="attack.reported.v1", subject=str(uuid.uuid4()), time=now,
                                      tlp=data.tlp, data=data))


async def publish(js: Any, run_id: str, rate: float, seconds: float) -> int:
    count = int(rate * seconds)
    futures = []
    t0 = time.monotonic()
    for i in range(count):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        futures.append(await js.publish_async(SUBJECT, envelope(run_id, i)))
    acks = await asyncio.gather(*futures, return_exceptions=True)
    failed = [a for a in acks if isinstance(a, BaseException)]
    if failed:
        raise RuntimeError(f"{len(failed)} publishes failed, first: {failed[0]!r}")
    return len(acks)


def old_stream(org: str) -> str:
    """The first design's stream of a partner."""
    return "PARTNER_" + org.upper().replace("-", "_")


def stored_at(msg: Any) -> float:
    """When the message was stored in the stream it is read from (ms since the epoch), from
    its ack subject's timestamp token: ``SHARE`` for a consumer of it, the partner's own
    stream (after the server's copy) for the first design."""
    tokens = msg.reply.split(".")
    return int(tokens[7] if len(tokens) == 9 else tokens[9]) / 1e6


class Reader:
    """One partner: its own connection, reading through its own durable consumer —
    of ``SHARE`` (``consumers``: acking the last message it has every ``ack_every``
    seconds, ``AckPolicy.ALL``) or of its own stream (``streams``: acking each)."""

    def __init__(self, org: str, url: str, run_id: str, design: str, ack_every: float) -> None:
        self.org, self.url, self.run_id, self.design, self.ack_every = org, url, run_id, design, ack_every
        self.source = f"/bench/partners/{run_id}"
        self.ids: set[str] = set()
        self.lags = array("d")
        self.stored = array("d")
        self.duplicates = 0
        self.pump: Any = None
        self.nc: Any = None
        self.last: Any = None
        self.acker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        from events.pull import PullConsumer

        self.nc = await connect(self.url, f"bench-{self.org}")
        stream = SHARE_STREAM if self.design == "consumers" else old_stream(self.org)
        self.pump = PullConsumer(self.nc, stream, durable(self.org), batch=256, heartbeat=5.0,
                                 on_message=self.on_message)
        await self.pump.start()
        if self.design == "consumers":
            self.acker = asyncio.create_task(self._ack_last())

    async def _ack_last(self) -> None:
        while True:
            await asyncio.sleep(self.ack_every)
            last, self.last = self.last, None
            if last is not None:
                await last.ack()  # AckPolicy.ALL: every message before it too

    async def on_message(self, msg: Any) -> None:
        now = datetime.now(UTC)
        event = decode_envelope(msg.data)
        if self.design == "consumers":
            self.last = msg
        else:
            await msg.ack()
        if event.source != self.source:
            return  # an earlier run's event
        if event.id in self.ids:
            self.duplicates += 1
            return
        self.ids.add(event.id)
        self.lags.append((now - event.time).total_seconds() * 1000)
        self.stored.append(stored_at(msg) - event.time.timestamp() * 1000)

    async def stop(self) -> None:
        if self.acker is not None:
            self.acker.cancel()
        if self.last is not None:
            await self.last.ack()
        await self.pump.stop()
        await self.nc.close()


def _worker(conn: Any, readers: list[tuple[str, str]], run_id: str, drain: float, design: str,
            ack_every: float) -> None:
    async def serve() -> None:
        group = [Reader(org, url, run_id, design, ack_every) for org, url in readers]
        sem = asyncio.Semaphore(20)

        async def start(r: Reader) -> None:
            async with sem:
                await r.start()

        await asyncio.gather(*(start(r) for r in group))
        cpu0, wall0 = process_cpu(), time.monotonic()
        conn.send("ready")
        expected = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        deadline = time.monotonic() + drain
        while time.monotonic() < deadline and not all(len(r.ids) >= expected for r in group):
            await asyncio.sleep(0.05)
        cpu, wall = process_cpu() - cpu0, time.monotonic() - wall0
        await asyncio.gather(*(r.stop() for r in group), return_exceptions=True)
        lags, stored = array("d"), array("d")
        for r in group:
            lags.extend(r.lags)
            stored.extend(r.stored)
        conn.send({"lags": lags.tobytes(), "stored": stored.tobytes(), "distinct": sum(len(r.ids) for r in group),
                   "duplicates": sum(r.duplicates for r in group),
                   "complete": sum(1 for r in group if len(r.ids) >= expected), "cpu_s": cpu, "wall_s": wall})

    try:
        run_loop(serve(), "uvloop")
    except BaseException as exc:
        conn.send(f"error: {exc!r}")
        raise


async def run_once(admin_url: str, urls: dict[str, str], opts: argparse.Namespace, run: int,
                   design: str) -> dict[str, Any]:
    run_id = f"{run}-{uuid.uuid4().hex[:8]}"
    orgs = sorted(urls)
    ctx = mp.get_context("spawn")
    workers = []
    for k in range(max(1, opts.workers)):
        parent, child = ctx.Pipe()
        mine = [(org, urls[org]) for org in orgs[k::max(1, opts.workers)]]
        proc = ctx.Process(target=_worker, args=(child, mine, run_id, opts.drain_timeout, design, opts.ack_every),
                           daemon=True)
        proc.start()
        workers.append((parent, proc))
    loop = asyncio.get_running_loop()

    async def answer(conn: Any, timeout: float) -> Any:
        if not await loop.run_in_executor(None, conn.poll, timeout):
            raise TimeoutError("a partners worker did not answer")
        got = conn.recv()
        if isinstance(got, str) and got.startswith("error"):
            raise RuntimeError(got)
        return got

    nc = await connect(admin_url, "bench-partners-publisher", persistent=False)
    try:
        for conn, _ in workers:
            await answer(conn, 180)
        published = await publish(nc.jetstream(timeout=30), run_id, opts.rate, opts.seconds)
        for conn, _ in workers:
            conn.send(published)
        results = [await answer(conn, opts.drain_timeout + 120) for conn, _ in workers]
    finally:
        await nc.close()
        for _, proc in workers:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    lags, stored = array("d"), array("d")
    for r in results:
        for name, into in (("lags", lags), ("stored", stored)):
            part = array("d")
            part.frombytes(r[name])
            into.extend(part)
    values = lags.tolist()
    stored_values = stored.tolist()
    return {"published": published, "expected": published * len(orgs),
            "delivered": sum(r["distinct"] for r in results),
            "lost": published * len(orgs) - sum(r["distinct"] for r in results),
            "duplicates": sum(r["duplicates"] for r in results),
            "complete_partners": sum(r["complete"] for r in results),
            "p50_ms": round(percentile(values, 50), 1), "p95_ms": round(percentile(values, 95), 1),
            "p99_ms": round(percentile(values, 99), 1), "max_ms": round(max(values, default=0.0), 1),
            "stored_p50_ms": round(percentile(stored_values, 50), 1),
            "stored_p99_ms": round(percentile(stored_values, 99), 1),
            "subscriber_cpu_s": round(sum(r["cpu_s"] for r in results), 2),
            "subscriber_wall_s": round(max(r["wall_s"] for r in results), 2)}


async def prepare(admin_url: str, partners: tuple[Partner, ...], design: str) -> None:
    nc = await connect(admin_url, "bench-partners-setup", persistent=False)
    try:
        js = nc.jetstream(timeout=60)
        await ensure_stream(js)
        if design == "consumers":
            await ensure_partners(js, partners)  # what set-up does
            return
        await ensure_share(js)
        for partner in partners:  # the first design, as it was
            await js.add_stream(StreamConfig(
                name=old_stream(partner.org), subjects=[], storage=StorageType.FILE,
                sources=[StreamSource(name=SHARE_STREAM, subject_transforms=[
                    SubjectTransform(src=f, dest=f) for f in filters(partner)])]))
            await js.add_consumer(old_stream(partner.org), ConsumerConfig(
                durable_name=durable(partner.org), deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.EXPLICIT,
                ack_wait=30, max_ack_pending=10_000))
    finally:
        await nc.close()


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench partners", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--partners", type=int, default=100, help="P partners, each its own user and consumer (default 100)")
    p.add_argument("--design", choices=[*DESIGNS, "both"], default="consumers",
                   help="consumers (the platform's), streams (a sourced stream per partner), or both in one run")
    p.add_argument("--rate", type=float, default=500.0, help="events/s published (default 500)")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds of publishing (default 10)")
    p.add_argument("--runs", type=int, default=1, help="runs (default 1)")
    p.add_argument("--workers", type=int, default=2, help="processes for the partners (default 2)")
    p.add_argument("--ack-every", type=float, default=0.1,
                   help="consumers: seconds between a partner's acks of the last message it has (default 0.1)")
    p.add_argument("--drain-timeout", type=float, default=180.0,
                   help="seconds to wait after publishing for every partner to get everything")
    p.add_argument("--quick", action="store_true", help="smoke run: P=5, R=50, T=2")
    a = p.parse_args(argv)
    if a.quick:
        a.partners, a.rate, a.seconds, a.runs, a.workers = 5, 50.0, 2.0, 1, 1
    if a.partners < 1 or a.rate <= 0 or a.seconds <= 0 or a.runs < 1:
        p.error("partners, rate, seconds and runs must be positive")
    return a


def run_design(opts: argparse.Namespace, design: str) -> dict[str, Any]:
    """Every run of one design, on engines of its own; its figures (the worst run's delays)."""
    with tempfile.TemporaryDirectory(prefix=f"coalition-bench-partners-{design}-") as tmp:
        root = Path(tmp)
        configure(root, opts.partners)
        with engines(root) as eng:
            assert eng.nats is not None
            partners = load_partners(root)
            asyncio.run(prepare(eng.nats_url, partners, design))
            from coalition.natsconf import ADMIN, DISTRIBUTOR, partner_user_name

            def user(org: str) -> str:
                return partner_user_name(org) if design == "consumers" else ADMIN

            urls = {p.org: with_credentials(eng.nats.url, user(p.org), eng.nats.passwords[user(p.org)])
                    for p in partners}
            env = dict(os.environ, COALITION_NATS_URL=eng.nats_url_for(DISTRIBUTOR), COALITION_DATA_DIR=str(root),
                       COALITION_LOG_LEVEL="WARNING")
            distributor = subprocess.Popen([sys.executable, "-m", "projections.sharing"], env=env)
            try:
                runs = []
                for run in range(opts.runs):
                    r = run_loop(run_once(eng.nats_url, urls, opts, run, design), "uvloop")
                    console.print(f"{design} run {run + 1}/{opts.runs}: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
                                  f"max {r['max_ms']} ms, lost {r['lost']}, dup {r['duplicates']}", soft_wrap=True)
                    runs.append(r)
            finally:
                distributor.terminate()
                distributor.wait(15)
            store = sum(f.stat().st_size for f in (root / "nats").rglob("*") if f.is_file())
    worst = max(runs, key=lambda r: r["p99_ms"])
    held = what_holds_it(worst["p99_ms"], worst["stored_p99_ms"], worst["subscriber_cpu_s"],
                         worst["subscriber_wall_s"], opts.workers, os.cpu_count() or 1)
    return {"design": design, "published": sum(r["published"] for r in runs),
            "expected": sum(r["expected"] for r in runs), "delivered": sum(r["delivered"] for r in runs),
            "lost": sum(r["lost"] for r in runs), "duplicates": sum(r["duplicates"] for r in runs),
            "p50_ms": worst["p50_ms"], "p95_ms": worst["p95_ms"], "p99_ms": worst["p99_ms"],
            "max_ms": max(r["max_ms"] for r in runs), "stored_p50_ms": worst["stored_p50_ms"],
            "stored_p99_ms": worst["stored_p99_ms"], "nats_store_bytes": store, "per_run": runs,
            "what_holds_it": held}


def what_holds_it(p99_ms: float, stored_p99_ms: float, cpu_s: float, wall_s: float, workers: int, cores: int,
                  target_ms: float = TARGET_P99_MS) -> str | None:
    """For a delay p99 above ``target_ms``, the part of the path that holds it, from the
    run's own figures: publish → stored in the stream read (the distributor and the
    server's store) against the rest, which is delivery to the partners; and how much of
    the machine's cores the subscribers' processes took meanwhile. None when the target is met."""
    if p99_ms <= target_ms:
        return None
    rest = max(0.0, p99_ms - stored_p99_ms)
    part = "storing (publish → stored)" if stored_p99_ms >= rest else "delivery (stored → received)"
    busy = cpu_s / wall_s if wall_s > 0 else 0.0
    return (f"p99 {p99_ms:,.0f} ms > {target_ms:,.0f} ms, held by {part}: publish → stored p99 "
            f"{stored_p99_ms:,.0f} ms, the rest {rest:,.0f} ms; the subscribers ({workers} process(es)) used "
            f"{cpu_s:.1f} CPU-s in {wall_s:.1f} s, {busy:.2f} of the {cores} cores")


def main(argv: list[str]) -> int:
    opts = parse(argv)
    if os.environ.get("COALITION_NATS_URL"):
        sys.exit("bench partners configures its own partners' users: run it on the embedded engines")
    designs = DESIGNS if opts.design == "both" else (opts.design,)
    results = {design: run_design(opts, design) for design in designs}
    main_figures = results[designs[0]]
    figures: dict[str, Any] = {"partners": opts.partners, "rate": opts.rate, "seconds": opts.seconds,
                               "runs": opts.runs, "workers": opts.workers, "cpus": os.cpu_count(),
                               "load": os.getloadavg(), **main_figures, "target_p99_ms": TARGET_P99_MS}
    if "streams" in results and designs[0] != "streams":
        figures["streams"] = results["streams"]
    rows = [("setup", f"P={opts.partners} R={opts.rate:g}/s T={opts.seconds:g}s",
             f"{opts.runs} run(s), {opts.workers} worker process(es); each partner its own user and durable")]
    for design, r in results.items():
        how = ("one consumer of SHARE per partner, stored once" if design == "consumers"
               else "a stream per partner sourcing SHARE, stored P+3 times")
        rows += [
            (f"{design}", "", how),
            ("  delivered", f"{r['delivered']:,}", f"expected {r['expected']:,} (P × published)"),
            ("  lost", str(r["lost"]), "not received within --drain-timeout; goal: 0"),
            ("  duplicates", str(r["duplicates"]), "received again; goal: 0"),
            ("  delay p50", f"{r['p50_ms']} ms", "publish → partner's receipt, through the distributor and SHARE"),
            ("  delay p95", f"{r['p95_ms']} ms", ""),
            ("  delay p99", f"{r['p99_ms']} ms", "the worst run's"),
            ("  delay max", f"{r['max_ms']} ms", ""),
            ("  to stored p50/p99", f"{r['stored_p50_ms']} / {r['stored_p99_ms']} ms",
             "publish → stored in the stream read (SHARE; streams: the partner's copy); the rest is delivery"),
            ("  NATS store", f"{r['nats_store_bytes'] / 1e6:.1f} MB", "the server's files after the run(s)"),
            ("  p99 target", "met" if r["what_holds_it"] is None else "missed",
             r["what_holds_it"] or f"p99 ≤ {TARGET_P99_MS:,.0f} ms"),
        ]
    report("partners", rows, figures)
    return 0 if all(r["lost"] == 0 and r["duplicates"] == 0 for r in results.values()) else 1
