"""The house's arrows point down: contracts ← events ← services | projections ← coalition.

import-linter checks the contracts in pyproject.toml (``[tool.importlinter]``), so a
back-arrow fails the suite, not just a reviewer's eye."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_import_runs_back_up_a_layer() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_benchmarks_stay_out_of_the_package() -> None:
    """``bench`` runs from a checkout: nothing shipped imports it, and the wheel leaves it out."""
    shipped = ("contracts", "events", "services", "projections", "coalition")
    for package in shipped:
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            assert "from bench" not in text and "import bench" not in text, path
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"bench"' not in pyproject.split("[tool.hatch.build.targets.wheel]")[1].split("\n[")[0]
