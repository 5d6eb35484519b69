"""The public surface: a small, sorted, complete __all__; importing stays light."""

from __future__ import annotations

import subprocess
import sys

import acesandbox
from acesandbox import errors


def test_all_is_sorted_and_resolvable():
    assert acesandbox.__all__ == sorted(acesandbox.__all__)
    for name in acesandbox.__all__:
        assert getattr(acesandbox, name) is not None


def test_every_exception_is_exported_and_in_the_tree():
    for name in errors.__all__:
        exc = getattr(errors, name)
        assert issubclass(exc, errors.AcecoderError)
        assert exc is errors.AcecoderError or issubclass(exc, errors.AcesandboxError)
        assert name in acesandbox.__all__
        assert name in errors.__doc__


def test_import_does_not_pull_heavy_modules():
    code = (
        "import sys, acesandbox; heavy = [m for m in ('docker', 'ray', 'torch', 'numpy', 'acesandbox.executor') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
