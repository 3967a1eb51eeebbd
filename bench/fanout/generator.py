"""The publisher's side: valid shared events at a steady rate, each stamped when sent.

Subscribers measure lag as receipt − ``Bench-Sent-At``, so the stamp is taken just
before each publish, and the rate is kept by a schedule (event ``i`` is due at
``t0 + i / R``) rather than by sleeping between sends, so that a slow send does not
lower the rate. Each event is a real ``AttackReported`` CloudEvent, so that subscribers
decode what partners decode. Publishes are asynchronous (``publish_async``) on the
publisher's own subjects of ``COALITION``; the phase counts only what the stream
acknowledged.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bench.fanout.cpu import process_cpu
from bench.fanout.options import RUN, SENT, SUBJECT
from contracts import CloudEvent, encode_envelope
from contracts.attacks import AttackReported
from contracts.base import Target


def envelope(i: int) -> bytes:
    """Event number ``i`` of a run, encoded as partners receive it."""
    now = datetime.now(UTC)
    data = AttackReported(
        org="momentum",
        occurred_at=now,
        attack_kind="suspension",
        targets=[Target(kind="member", ref=str(uuid.uuid4()))],
        summary=f"fanout bench event {i}",
        severity="medium",
        region="London",
    )
    return encode_envelope(CloudEvent(
        id=str(uuid.uuid4()), source="/bench/fanout", type="attack.reported.v1",
        subject=str(uuid.uuid4()), time=now, tlp=data.tlp, data=data,
    ))


async def publish(js: Any, run_id: str, rate: float, seconds: float) -> tuple[int, float]:
    """Publish at a steady rate; returns (acknowledged count, publisher CPU share)."""
    count = int(rate * seconds)
    futures = []
    cpu0, t0 = process_cpu(), time.monotonic()
    for i in range(count):
        due = t0 + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        payload = envelope(i)
        headers = {SENT: str(time.time_ns()), RUN: run_id}
        futures.append(await js.publish_async(SUBJECT, payload, headers=headers))
    acks = await asyncio.gather(*futures, return_exceptions=True)
    cpu = (process_cpu() - cpu0) / max(1e-9, time.monotonic() - t0)
    failed = [a for a in acks if isinstance(a, BaseException)]
    if failed:
        raise RuntimeError(f"{len(failed)} publishes failed, first: {failed[0]!r}")
    return len(acks), cpu
