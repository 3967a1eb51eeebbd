"""Where a command's time goes, stage by stage, from the times the platform writes down as
it runs (``events.trace``): the benchmark adds only what its own client saw (the ``201``
and the moment it read the feed's event) and reads the rest afterwards from the streams
themselves (``COALITION``: each message's own store time, and the ``Coalition-Trace``
header the relay set) and from the feed's events (the projection's
batches and when the feed made the event).

Every time is the wall clock in nanoseconds (``time.time_ns``): the stages happen in
different processes of one machine, which share that clock and no other.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from bench.common import percentile
from events.settings import STREAM
from events.trace import HEADER, parse_header

#: (name, from, to): each stage's interval, in the order a command goes through them; the
#: names of the moments are the keys of :class:`Trail`'s ``at``
STAGES: list[tuple[str, str, str]] = [
    ("request received → group commit done", "received", "committed"),
    ("commit done → taken by the relay", "committed", "relayed"),
    ("relay → stored in COALITION", "relayed", "coalition"),
    ("COALITION → taken by the projection", "coalition", "taken"),
    ("taken → board rows written", "taken", "written"),
    ("written → COMMIT + NOTIFY woke the forum", "written", "woken"),
    ("forum woken → feed made the SSE event", "woken", "sent"),
    ("SSE event made → read by the client", "sent", "read"),
]
#: intervals beside the chain: the 201 (in parallel with everything after the commit)
ASIDE: list[tuple[str, str, str]] = [
    ("request received → 201 at the client", "received", "acked"),
    ("batch arrived at the projection → taken (its wait)", "arrived", "taken"),
    ("201 → read from the SSE feed (the headline)", "acked", "read"),
]


@dataclass
class Trail:
    """The moments one command was seen at, by name (``received``, ``committed``, …)."""

    item: str
    at: dict[str, int] = field(default_factory=dict)


def stamp_ns(value: str) -> int:
    """A ``Nats-Time-Stamp`` (RFC 3339, nanoseconds) → nanoseconds since the epoch."""
    head, _, frac = value.rstrip("Z").partition(".")
    digits = (frac + "000000000")[:9]
    seconds = datetime.fromisoformat(head + "+00:00").timestamp()
    return int(seconds) * 1_000_000_000 + int(digits)


async def read_stream(nc: NATS, stream: str, after: int = 0, timeout: float = 10.0) -> list[tuple[int, dict, bytes]]:
    """Every message of ``stream`` after ``after``: (sequence, headers, data), by batched
    direct gets (the headers include the server's ``Nats-Time-Stamp``)."""
    out: list[tuple[int, dict, bytes]] = []
    while True:
        inbox = nc.new_inbox()
        got: list[tuple[int, dict, bytes]] = []
        done = asyncio.get_running_loop().create_future()

        async def on_msg(msg: Msg, got: list = got, done: asyncio.Future = done) -> None:
            headers = msg.headers or {}
            if "Status" not in headers:
                got.append((int(headers["Nats-Sequence"]), headers, msg.data))
            elif not done.done():
                done.set_result(None)

        sub = await nc.subscribe(inbox, cb=on_msg)
        try:
            request = {"seq": after + 1, "batch": 1000, "max_bytes": 8 * 1024 * 1024}
            await nc.publish(f"$JS.API.DIRECT.GET.{stream}", json.dumps(request).encode(), reply=inbox)
            await asyncio.wait_for(done, timeout)
        finally:
            await sub.unsubscribe()
        if not got:
            return out
        out += got
        after = got[-1][0]


async def from_the_log(nc: NATS, since: int) -> dict[str, Trail]:
    """Per item created after position ``since``: the moments its first event was received,
    committed, relayed (its ``Coalition-Trace``), stored in ``COALITION`` (the stream's own
    time), and its position."""
    trails: dict[str, Trail] = {}
    for seq, headers, data in await read_stream(nc, STREAM, since):
        item = json.loads(data).get("subject")
        if not item or item in trails:
            continue
        trail = trails[item] = Trail(item, {"coalition": stamp_ns(headers["Nats-Time-Stamp"]), "position": seq})
        stages = parse_header(headers.get(HEADER))
        if stages:
            for name, value in zip(("received", "committed", "relayed"), stages, strict=True):
                if value:
                    trail.at[name] = value
    return trails


def from_the_feed(trail: Trail, read: int, stages: dict) -> None:
    """The moments the feed's event that first showed the item tells: its projection batch
    (the first at or past its position) and when the event was made; and when it was read."""
    trail.at["read"] = read
    if stages.get("sent"):
        trail.at["sent"] = int(stages["sent"])
    position = trail.at.get("position")
    if position is None:
        return
    for batch in sorted(stages.get("batches") or [], key=lambda b: b[0]):
        if batch[0] >= position:
            trail.at["batch"] = int(batch[0])
            for name, value in zip(("arrived", "taken", "written", "woken"), batch[1:], strict=False):
                trail.at[name] = int(value)
            return


def slowest_batches(trails: list[Trail], top: int = 3) -> list[tuple[int, float]]:
    """The projection's slowest batches (taken → written), as (the position it reached, ms):
    a batch that also wrote a snapshot of the board, say, holds every event behind it."""
    return [(b.position, b.ms) for b in batch_spans(trails)[:top]]


@dataclass(frozen=True)
class Batch:
    """One projection batch the run's commands went through: the positions it covered
    (after ``after``, up to ``position``; ``after`` is the batch before it that the run
    saw, so the span may be wider than the batch if the feed never showed one) and how
    long it took from taken to written."""

    after: int
    position: int
    ms: float

    def crosses(self, every: int) -> bool:
        """Whether the batch passed a multiple of ``every`` (where the board writes a snapshot)."""
        return every > 0 and self.position // every > self.after // every


def batch_spans(trails: list[Trail]) -> list[Batch]:
    """Every projection batch the trails name, slowest first."""
    taken: dict[int, float] = {}
    for t in trails:
        if "taken" in t.at and "written" in t.at and "batch" in t.at:
            taken[t.at["batch"]] = round((t.at["written"] - t.at["taken"]) / 1e6, 2)
    ends = sorted(taken)
    # the first batch seen: from the first position the run saw in it
    first = min((t.at["position"] for t in trails if t.at.get("batch") == ends[0] and "position" in t.at),
                default=ends[0]) if ends else 0
    spans = [Batch(ends[i - 1] if i else first - 1, end, taken[end]) for i, end in enumerate(ends)]
    return sorted(spans, key=lambda b: -b.ms)


#: the headline's stage and target (issue 10): 201 → read from the SSE feed, p99
HEADLINE = ASIDE[-1][0]
TARGET_P99_MS = 25.0
#: the stage whose wait a slow batch is, and the stage a batch's own time is
WAITS_FOR_BATCH, BATCH_TIME = STAGES[3][0], STAGES[4][0]


def what_holds_it(figures: dict[str, dict[str, float | int]], batches: list[Batch], p99: float,
                  snapshot_every: int = 0, target_ms: float = TARGET_P99_MS, top: int = 3) -> dict:
    """The verdict on the latency target from the run's own stage table: met or not, and
    if not, the chain's stage with the largest p99 and the one with the largest p50, and
    the projection's slowest batches, those slower than the p95 of a batch's own stage
    (``BATCH_TIME``, over the commands; each holds
    every event behind it), with whether each passed a multiple of ``snapshot_every``.
    ``p99``: the headline's, as the benchmark measured it."""
    verdict: dict = {"target_p99_ms": target_ms, "p99_ms": p99, "met": p99 <= target_ms}
    chain = {name: row for name, _, _ in STAGES if (row := figures.get(name)) and row["n"]}
    if verdict["met"] or not chain:
        return verdict
    largest_p99 = max(chain, key=lambda name: chain[name]["p99_ms"])
    largest_p50 = max(chain, key=lambda name: chain[name]["p50_ms"])
    over = float(figures.get(BATCH_TIME, {}).get("p95_ms", 0.0))
    slow = sorted((b for b in batches if b.ms > over), key=lambda b: -b.ms)[:top]
    verdict.update({
        "largest_p99": {"stage": largest_p99, "p99_ms": chain[largest_p99]["p99_ms"]},
        "largest_p50": {"stage": largest_p50, "p50_ms": chain[largest_p50]["p50_ms"]},
        "batch_p95_ms": over,
        "slow_batches": [{"after": b.after, "position": b.position, "ms": b.ms,
                          "crossed_snapshot": b.crosses(snapshot_every)} for b in slow],
        "snapshot_every": snapshot_every,
    })
    return verdict


def verdict_rows(verdict: dict) -> list[tuple[str, str, str]]:
    """The verdict as rows of the benchmark's table: (measure, value, note)."""
    rows = [(f"target: SSE p99 ≤ {verdict['target_p99_ms']:g} ms", "met" if verdict["met"] else "missed",
             f"p99 {verdict['p99_ms']:.1f} ms")]
    if verdict["met"]:
        return rows
    if "largest_p99" not in verdict:
        return rows + [("what holds it", "unknown", "no stage measured")]
    big99, big50 = verdict["largest_p99"], verdict["largest_p50"]
    rows += [("what holds it: the largest p99", f"{big99['p99_ms']:.1f} ms", big99["stage"]),
             ("what holds it: the largest p50", f"{big50['p50_ms']:.1f} ms", big50["stage"])]
    every = verdict["snapshot_every"]
    for b in verdict["slow_batches"]:
        rows.append((f"a batch over the p95 of '{BATCH_TIME}' ({verdict['batch_p95_ms']:.1f} ms)", f"{b['ms']:.1f} ms",
                     f"positions {b['after'] + 1:,}–{b['position']:,}"
                     + (f", passed a multiple of {every:,} (the board's snapshot)" if b["crossed_snapshot"] else "")
                     + f"; the events behind it wait in '{WAITS_FOR_BATCH}'"))
    return rows


def table(trails: list[Trail]) -> dict[str, dict[str, float | int]]:
    """Per stage (and per cumulative moment since the request was received): p50, p95, p99
    in ms and how many commands it was measured for."""
    out: dict[str, dict[str, float | int]] = {}

    def row(name: str, start: str, end: str) -> None:
        spans = [(t.at[end] - t.at[start]) / 1e6 for t in trails if start in t.at and end in t.at]
        out[name] = {"n": len(spans), **{f"p{q}_ms": round(percentile(spans, q), 2) for q in (50, 95, 99)}}

    for name, start, end in STAGES:
        row(name, start, end)
        row(f"cumulative: received → {end}", "received", end)
    for name, start, end in ASIDE:
        row(name, start, end)
    return out
