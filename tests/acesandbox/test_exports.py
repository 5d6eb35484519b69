"""The public surface: a small, sorted, complete __all__; importing stays light."""

from __future__ import annotations

import enum
import inspect
import subprocess
import sys

import pytest

import acesandbox
from acesandbox import _result, _spec, errors, executor

# Every public name: the module that defines it and what kind of object it is.
EXPORTS = {
    "AcecoderError": (errors, "exception"),
    "AcesandboxError": (errors, "exception"),
    "AssertTest": (_spec, "class"),
    "BackendNotFoundError": (errors, "exception"),
    "CallBatchTest": (_spec, "class"),
    "CallTest": (_spec, "class"),
    "Executor": (executor, "class"),
    "IOTest": (_spec, "class"),
    "InvalidJobError": (errors, "exception"),
    "Job": (_spec, "class"),
    "Limits": (_spec, "class"),
    "Outcome": (_result, "class"),
    "Report": (_result, "class"),
    "SandboxConfig": (_spec, "class"),
    "SandboxCrashedError": (errors, "exception"),
    "SandboxError": (errors, "exception"),
    "SandboxTimeoutError": (errors, "exception"),
    "SandboxUnavailableError": (errors, "exception"),
    "Status": (_result, "enum"),
    "TestSyntaxError": (errors, "exception"),
    "UnittestTest": (_spec, "class"),
    "iter_batch": (acesandbox, "function"),
    "run_batch": (acesandbox, "function"),
    "run_tests": (acesandbox, "function"),
}


def _kind(obj: object) -> str:
    if isinstance(obj, type) and issubclass(obj, BaseException):
        return "exception"
    if isinstance(obj, type) and issubclass(obj, enum.Enum):
        return "enum"
    if isinstance(obj, type):
        return "class"
    if inspect.isfunction(obj):
        return "function"
    return type(obj).__name__


def test_all_is_sorted_and_is_exactly_the_public_surface():
    assert acesandbox.__all__ == sorted(acesandbox.__all__)
    assert set(acesandbox.__all__) == set(EXPORTS)


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_each_export_is_its_defining_modules_object(name):
    module, kind = EXPORTS[name]
    obj = getattr(acesandbox, name)
    assert obj is getattr(module, name)
    assert _kind(obj) == kind
    assert obj.__module__ == module.__name__
    if module is not acesandbox:
        assert name in module.__all__


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
