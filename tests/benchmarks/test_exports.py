"""The public surface of ``benchmarks``: sorted, complete, and cheap to import."""

from __future__ import annotations

import subprocess
import sys

import benchmarks


def test_all_is_sorted_and_resolvable():
    assert benchmarks.__all__ == sorted(benchmarks.__all__)
    for name in benchmarks.__all__:
        assert getattr(benchmarks, name) is not None


def test_import_is_light():
    code = (
        "import sys, benchmarks, benchmarks.cli; "
        "print([m for m in ('acesandbox.executor', 'pandas', 'matplotlib', 'torch', 'datasets', 'evalplus', 'numpy') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
