"""When to try a failed delivery again: the Standard Webhooks schedule, with jitter, and
``Retry-After`` where the endpoint gave one."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: The longest ``Retry-After`` honoured (an endpoint cannot park itself for a year).
MAX_RETRY_AFTER = 86400.0


def delay(failures: int, schedule: tuple[float, ...], jitter: float, rng: random.Random = random._inst) -> float:
    """Seconds to wait after the ``failures``-th failed attempt (1 = the first): the
    schedule's next delay (after its last, the last again), plus up to ``jitter`` of it."""
    base = schedule[min(failures, len(schedule) - 1)]
    return base * (1 + jitter * rng.random())


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (a number of seconds or an HTTP date), None if absent or
    unreadable; never below 0 nor above :data:`MAX_RETRY_AFTER`."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(MAX_RETRY_AFTER, max(0.0, seconds))
