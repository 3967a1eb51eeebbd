"""Process hygiene shared by the supervisor and the engines."""

from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def child_preexec() -> None:
    """Run in a child before exec: its own process group (so a terminal's Ctrl-C reaches
    only the supervisor, which stops children in order) and SIGTERM if the parent dies,
    so that even a killed supervisor leaves no orphan."""
    os.setpgrp()
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass
