"""The whole toolkit type-checks: acesandbox strictly (tests/acesandbox/test_typing.py), the rest as configured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_harness_benchmarks_rm_rl_and_perf_pass_mypy():
    pytest.importorskip("mypy")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "harness", "benchmarks", "rm_rl", "perf"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert proc.stdout.startswith("Success: no issues found"), proc.stdout[-5000:]
