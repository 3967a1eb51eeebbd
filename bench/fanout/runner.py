"""A run of the benchmark: for each mode a phase of S subscribers and a steady publisher,
the modes alternating from run to run.

Each phase starts its consumers at the stream's next sequence and deletes them at its
end (a :func:`cleanup` catches what a dead worker left), so phases do not see each
other's events or leave load behind; alternating the order gives neither mode the
warmer, or noisier, slot every time. A phase's figures are per mode; ``report`` takes
their medians over the runs.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from array import array
from typing import Any

from nats.js.errors import NotFoundError

from bench.common import console, percentile
from bench.fanout import cpu
from bench.fanout.generator import publish
from bench.fanout.options import Job, Options
from bench.fanout.workers import Group, Remote
from events.migrate import ensure_stream
from events.settings import STREAM
from events.stream import connect


async def phase(url: str, js: Any, mode: str, run: int, opts: Options) -> dict[str, Any]:
    """S subscribers of one ``mode`` from the stream's next sequence, a steady publisher,
    then the wait for everything to arrive: this phase's figures."""
    run_id = f"{run}-{mode}-{uuid.uuid4().hex[:8]}"
    start_seq = (await js.stream_info(STREAM)).state.last_seq + 1
    names = [f"bench-fanout-{run_id}-{i:03d}" for i in range(opts.subscribers)]
    parts = max(1, opts.workers)
    jobs = [Job(url, mode, names[k::parts], run_id, start_seq, opts) for k in range(parts)]
    groups: list[Any] = [Remote(j) for j in jobs] if opts.workers > 0 else [Group(jobs[0])]
    try:
        await asyncio.gather(*(g.start() for g in groups))
        server0, machine0, t0 = cpu.server_cpu(), cpu.machine(), time.monotonic()
        published, pub_cpu = await publish(js, run_id, opts.rate, opts.seconds)
        results = await asyncio.gather(*(g.finish(published) for g in groups))
        server1, machine1, wall = cpu.server_cpu(), cpu.machine(), time.monotonic() - t0
    finally:
        for g in groups:
            if isinstance(g, Remote):
                g.abort()
        await cleanup(js, run_id)
    lags = array("d")
    for r in results:
        part = array("d")
        part.frombytes(r["lags"])
        lags.extend(part)
    values = lags.tolist()
    distinct = sum(r["distinct"] for r in results)
    delivered = sum(r["received"] for r in results)
    client_cpu = sum(r["cpu_s"] for r in results)
    server_cpu = server1 - server0 if server0 is not None and server1 is not None else None
    busy = None
    if machine0 is not None and machine1 is not None:
        busy = (machine1[0] - machine0[0]) / max(1e-9, machine1[1] - machine0[1])
    ours = (client_cpu + (server_cpu or 0.0)) / wall + pub_cpu
    cores, per_msg = os.cpu_count() or 1, max(1, delivered) / 1e6
    return {
        "mode": mode,
        "published": published,
        "delivered": delivered,
        "lost": opts.subscribers * published - distinct,
        "duplicates": sum(r["duplicates"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "complete_subscribers": sum(r["complete"] for r in results),
        "p50_ms": round(percentile(values, 50), 2),
        "p95_ms": round(percentile(values, 95), 2),
        "p99_ms": round(percentile(values, 99), 2),
        "max_ms": round(max(values), 2) if values else 0.0,
        "drain_s": round(max(r["drain_s"] for r in results), 2),
        "subscriber_cpu": [round(r["cpu_s"] / max(1e-9, r["wall_s"]), 2) for r in results],
        "publisher_cpu": round(pub_cpu, 2),
        "server_cpu": round(server_cpu / wall, 2) if server_cpu is not None else None,
        # how busy the whole machine was (0..1 of all cores), and the cores others took
        "machine_busy": round(busy, 2) if busy is not None else None,
        "others_cores": None if busy is None else round(max(0.0, busy * cores - ours), 2),
        # CPU per delivered message: what the machine's noise does not change much.
        "subscriber_us_per_msg": round(client_cpu / per_msg, 1),
        "server_us_per_msg": None if server_cpu is None else round(server_cpu / per_msg, 1),
    }


async def cleanup(js: Any, run_id: str) -> None:
    """Delete whatever consumer this run left (ordered consumers are ephemeral; durables
    are deleted by their subscribers, this catches a worker that died)."""
    description = f"bench fanout {run_id}"
    try:
        infos = await js.consumers_info(STREAM)
    except Exception:  # noqa: BLE001
        return
    for info in infos:
        if info.config.description == description:
            try:
                await js.delete_consumer(STREAM, info.name)
            except NotFoundError:
                pass


async def bench(url: str, opts: Options) -> list[dict[str, dict[str, Any]]]:
    """Every run, each a phase per mode: ``[{mode: figures}]``."""
    nc = await connect(url, "bench-fanout-publisher", persistent=False)
    try:
        js = nc.jetstream(timeout=30)
        await ensure_stream(js)  # the publisher writes on coalition.bench.> straight into COALITION, as a relay does
        runs = []
        for run in range(opts.runs):
            # Alternate the order so neither mode always gets the warmer (or noisier) slot.
            order = opts.modes if run % 2 == 0 else tuple(reversed(opts.modes))
            results = {}
            for mode in order:
                results[mode] = await phase(url, js, mode, run, opts)
                r = results[mode]
                console.print(
                    f"run {run + 1}/{opts.runs} {mode:>8}: p50 {r['p50_ms']:.1f} ms, "
                    f"p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms, lost {r['lost']}, "
                    f"dup {r['duplicates']}; cores: subs {r['subscriber_cpu']} "
                    f"pub {r['publisher_cpu']} nats-server {r['server_cpu']}; µs/msg: subs "
                    f"{r['subscriber_us_per_msg']} server {r['server_us_per_msg']}; "
                    f"machine busy {r['machine_busy']}, others {r['others_cores']} cores",
                    soft_wrap=True)
            runs.append(results)
        return runs
    finally:
        await nc.close()
