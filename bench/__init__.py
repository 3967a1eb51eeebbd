"""Benchmarks, each against the stock approach in the same run: ``python -m bench <name>``."""
