"""The command line of ``python -m bench fanout``: options in, engines up, runs, report.

The engines are the platform's own start-up (``bench.common.engines``, i.e.
``coalition.engines.Engines``): embedded NATS in a temporary folder unless
COALITION_NATS_URL names a server. The runs go on uvloop unless ``--loop asyncio``, as
in the worker processes, so that both sides of the measure run on the same kind of loop.
"""

from __future__ import annotations

import argparse
import sys

from bench.common import engines
from bench.fanout.options import ACK_EVERY, MODES, Options
from bench.fanout.report import report_runs
from bench.fanout.runner import bench
from bench.fanout.workers import run_loop


def parse(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench fanout", description=sys.modules[__package__].__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subscribers", type=int, default=100, help="S partners (default 100)")
    p.add_argument("--rate", type=float, default=200.0, help="events/s published (default 200)")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds of publishing (default 10)")
    p.add_argument("--runs", type=int, default=3, help="runs; medians are reported (default 3)")
    p.add_argument("--workers", type=int, default=2,
                   help="processes for the subscribers (default 2; 0 = the publisher's)")
    p.add_argument("--batch", type=int, default=256,
                   help="messages a durable subscriber asks for at a time (default 256)")
    p.add_argument("--drain-timeout", type=float, default=60.0,
                   help="seconds to wait after publishing for every subscriber to get everything")
    p.add_argument("--ack", choices=("explicit", "all"), default="explicit",
                   help="durable acks: every message (explicit, default) or, with AckPolicy.ALL, "
                        f"the last one handled every {ACK_EVERY:g} s (all)")
    p.add_argument("--reader", choices=("consume", "fetch"), default="consume",
                   help="durable reader: continuous pull with a callback (default) or a fetch loop")
    p.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop",
                   help="event loop of the subscribers and the publisher (default uvloop)")
    p.add_argument("--only", choices=MODES, help="run one mode only (for profiling; no ratio)")
    p.add_argument("--quick", action="store_true", help="smoke run: S=10, R=100, T=2, one run")
    a = p.parse_args(argv)
    if a.quick:
        a.subscribers, a.rate, a.seconds, a.runs = 10, 100.0, 2.0, 1
    if a.subscribers < 1 or a.rate <= 0 or a.seconds <= 0 or a.runs < 1 or a.workers < 0:
        p.error("subscribers, rate, seconds and runs must be positive, workers not negative")
    modes = (a.only,) if a.only else MODES
    return Options(a.subscribers, a.rate, a.seconds, a.runs, a.workers, a.batch,
                   a.drain_timeout, modes, a.ack, a.reader, a.loop)



def main(argv: list[str]) -> int:
    opts = parse(argv)
    with engines() as eng:
        runs = run_loop(bench(eng.nats_url, opts), opts.loop)
    report_runs(runs, opts)
    return 0
