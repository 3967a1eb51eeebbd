"""The top floor: the ``coalition`` command, set-up, the supervisor and the processes it
runs (the embedded engines among them), the launcher tests and benchmarks use, the demo."""
