"""What a fan-out run is told: the options of the command line, and each worker's share
of the subscribers.

Plain dataclasses and constants, apart from the code that uses them, because a
:class:`Job` (with its :class:`Options`) is pickled to every spawned worker process:
a worker imports this small module, not the publisher's.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the publisher is a service of its own as far as the shared log goes: it publishes on
#: ``coalition.bench.…`` into ``COALITION``, as every service does; subscribers read it
PUBLISHER = "bench"
SUBJECT = f"coalition.{PUBLISHER}.attack.reported"
#: what each subscriber reads: the whole log
FILTER = "coalition.>"
#: headers: when the event was sent (``time.time_ns()``), and which run it belongs to
SENT = "Bench-Sent-At"
RUN = "Bench-Run"
#: ours (a durable pull consumer each), and the baseline (an ordered push consumer each)
MODES = ("durable", "ordered")
TARGET_P99_MS = 100.0
ACK_EVERY = 0.1  # seconds between cumulative acks with --ack all
#: idle heartbeat a durable subscriber asks for: the benchmark's figures were taken with
#: 5 s (the projection runs ``PullConsumer``'s default, 1 s; a busy consumer sends none)
HEARTBEAT = 5.0


@dataclass
class Options:
    """The command line, parsed (``bench.fanout.cli.parse``)."""

    subscribers: int
    rate: float
    seconds: float
    runs: int
    workers: int
    batch: int
    drain_timeout: float
    modes: tuple[str, ...] = MODES
    ack: str = "explicit"
    reader: str = "consume"
    loop: str = "uvloop"


@dataclass
class Job:
    """What one group of subscribers is to do."""

    url: str
    mode: str
    names: list[str]
    run_id: str
    start_seq: int
    opts: Options
