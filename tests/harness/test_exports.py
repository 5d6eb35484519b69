"""The public surface of ``harness``: sorted, complete, and cheap to import."""

from __future__ import annotations

import subprocess
import sys

import harness


def test_all_is_sorted_and_resolvable():
    assert harness.__all__ == sorted(harness.__all__)
    for name in harness.__all__:
        assert getattr(harness, name) is not None


def test_import_is_light():
    code = (
        "import sys, harness, harness.cli; "
        "print([m for m in ('acesandbox.executor', 'pandas', 'matplotlib', 'httpx', 'torch', 'datasets', 'pyarrow') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
