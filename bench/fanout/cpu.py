"""Where the machine's time goes during a phase: this process, the embedded nats-server,
and the whole machine.

On a shared 2-core machine the lag's tail is mostly other processes' doing, so beside
the lags the benchmark reports CPU per delivered message (which that noise changes
little) and how many cores others took. Read from ``getrusage`` and ``/proc``; where
Linux does not show them (an external server, another system) the figures are None.
"""

from __future__ import annotations

import os
import resource


def process_cpu() -> float:
    """CPU seconds (user and system) this process has used so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def server_cpu() -> float | None:
    """CPU seconds of the embedded nats-server (a child of this process), if Linux shows it."""
    try:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            comm_end = stat.rindex(")")
            comm, fields = stat[stat.index("(") + 1:comm_end], stat[comm_end + 2:].split()
            if comm.startswith("nats-server") and int(fields[1]) == os.getpid():
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        pass
    return None


def machine() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    hz = os.sysconf("SC_CLK_TCK")
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks[:8]) - idle) / hz, sum(ticks[:8]) / hz
