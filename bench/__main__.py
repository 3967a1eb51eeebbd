"""``python -m bench <name> [options]``: run one benchmark; ``--quick`` for a smoke run."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

BENCHES = {
    "ingest": "HTTP commands/s over the three publishers vs one eventsourcing save per command",
    "latency": "publisher 201 → visible through GET /api/board, at a steady rate: p50/p95/p99",
    "rebuild": "board rebuild events/s vs the stock eventsourcing ProjectionRunner",
    "fanout": "S durable subscribers of the shared log: p99 lag, nothing lost",
    "partners": "P partners each on its own stream and user, fed by the distributor and SHARE: p99 delay",
    "startup": "seconds from `coalition up` to ready, and resident memory of all its processes",
    "asof": "the board as of any position of a long log, from its snapshots and log: seconds per query",
    "webhooks": "E partners' webhook endpoints at a steady rate: p99 201 → receipt, none lost or duplicated",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(f"  {k:<9} {v}" for k, v in BENCHES.items()))
    parser.add_argument("name", choices=sorted(BENCHES), help="which benchmark")
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in BENCHES:
        parser.parse_args(argv)  # prints the help or names the problem
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    module = importlib.import_module(f"bench.{argv[0]}")
    return int(module.main(argv[1:]) or 0)  # the benchmark's own options, --help included


if __name__ == "__main__":
    sys.exit(main())
