"""Stage times of one command on its way from a partner's request to the board's screen.

Always on and cheap (a clock read per stage, a few bytes per message), so that the
latency benchmark can say where the time goes on the platform as it runs, not on a
build made for measuring. Every time is ``time.time_ns()`` (CLOCK_REALTIME): the stages
happen in different processes of one machine, and only the wall clock is shared by them.

Where each stage is written down:

* the service: **received** (the request reached the app: :data:`RECEIVED`, set per
  request), **committed** (its group commit returned) and **relayed** (the relay took it
  to publish) travel with the message on the log, in the :data:`HEADER` header;
* JetStream: **stored** in ``COALITION`` is the stream's own message time;
* the board's projection: **arrived** (the first message of a batch reached it),
  **taken** (it began applying the batch) and **written** (its rows written, the
  ``COMMIT`` next) travel in the payload of the ``board`` NOTIFY (:func:`note`);
* the forum: **woken** (the NOTIFY reached it) and **sent** (the feed's event made),
  in the SSE event itself (``timing``).
"""

from __future__ import annotations

import time
from contextvars import ContextVar

#: the NATS header the relay sets: ``<received> <committed> <relayed>``, nanoseconds
HEADER = "Coalition-Trace"

#: when the request being handled reached the service (0: not in a request)
RECEIVED: ContextVar[int] = ContextVar("coalition_received", default=0)

now = time.time_ns


def header(received: int, committed: int, relayed: int) -> str:
    """The :data:`HEADER` value of a message (0 for a stage not known, e.g. an event the
    relay read back from the store after a restart)."""
    return f"{received} {committed} {relayed}"


def parse_header(value: str | None) -> tuple[int, int, int] | None:
    """``(received, committed, relayed)`` from a :data:`HEADER` value, or None."""
    parts = (value or "").split()
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    received, committed, relayed = (int(p) for p in parts)
    return received, committed, relayed


def note(position: int, arrived: int, taken: int, written: int) -> str:
    """The payload of the projection's ``board`` NOTIFY: the position first (what every
    listener reads), then the batch's stage times."""
    return f"{position} {arrived} {taken} {written}"


def parse_note(payload: str) -> tuple[int, tuple[int, ...]]:
    """``(position, stage times)`` from a ``board`` NOTIFY payload (a bare position, as a
    rebuild sends, has no stage times)."""
    position, *times = payload.split()
    return int(position), tuple(int(t) for t in times if t.isdigit())
