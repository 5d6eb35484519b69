"""Which libraries a BigCodeBench task needs, and whether the sandbox's interpreter can import them."""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import os
import subprocess
import sys

from acesandbox.syntax import parse as parse_ast

from ..base import Problem
from ..errors import BenchmarkError
from .data import record_libs

__all__ = ["PRELOAD", "importable", "is_host_python", "missing_libraries", "preload_for"]

PRELOAD: tuple[str, ...] = ("numpy", "pandas", "matplotlib", "matplotlib.pyplot", "scipy.stats", "sklearn", "seaborn")
"""Modules worth importing once in the fork server (``SandboxConfig(preload=PRELOAD)``).

Together about 210 MB resident: a fork costs ~20 ms more, a job saves ~2.5 s of imports
(most tasks use pandas, matplotlib or sklearn)."""


@functools.lru_cache(maxsize=None)
def _importable(name: str) -> bool:
    if name in sys.stdlib_module_names or name in sys.builtin_module_names:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _top_level_imports(source: str) -> list[str]:
    try:
        tree = parse_ast(source)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.extend(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module.split(".")[0])
    return names


_LIST_TOP_LEVEL = r"""
import importlib.machinery, json, os, sys
names = set(sys.builtin_module_names) | set(sys.stdlib_module_names)
suffixes = tuple(importlib.machinery.all_suffixes())
for entry in sys.path:
    try:
        items = os.listdir(entry or ".")
    except OSError:
        continue
    for item in items:
        if os.path.isdir(os.path.join(entry or ".", item)):
            if item.isidentifier():
                names.add(item)  # a package, or a namespace package
        elif item.endswith(suffixes):
            names.add(item.split(".")[0])
print(json.dumps(sorted(names)))
"""


@functools.cache
def _top_level_modules(python: str) -> frozenset[str]:
    """The top-level module names that ``python`` can import (one subprocess per interpreter).

    ``-I`` keeps out the user site and ``PYTHONPATH``, as the sandbox does: it sees only
    the interpreter's own site-packages.
    """
    try:
        done = subprocess.run([python, "-I", "-c", _LIST_TOP_LEVEL], capture_output=True, text=True, timeout=120,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BenchmarkError(f"cannot run the sandbox interpreter {python}: {exc}") from exc
    if done.returncode != 0:
        raise BenchmarkError(f"the sandbox interpreter {python} failed to list its modules: {done.stderr.strip()[-300:]}")
    return frozenset(json.loads(done.stdout))


def is_host_python(python: str | None) -> bool:
    """Whether ``python`` (None: the host's) is this process's own interpreter."""
    return not python or os.path.abspath(python) == os.path.abspath(sys.executable)


def importable(name: str, python: str | None = None) -> bool:
    """Whether top-level module ``name`` imports on the host, or in the interpreter ``python``."""
    if is_host_python(python):
        return _importable(name)
    return name.split(".")[0] in _top_level_modules(str(python))


def missing_libraries(problem: Problem, python: str | None = None) -> list[str]:
    """The task's libraries (``libs`` plus the tests' imports) that the interpreter cannot import.

    ``python``: the interpreter the sandbox runs programs with (None: this one).
    """
    wanted = dict.fromkeys(record_libs(problem.data) + _top_level_imports(str(problem.data.get("test", ""))))
    return [name for name in wanted if not importable(name, python)]


def preload_for(python: str | None = None) -> tuple[str, ...]:
    """:data:`PRELOAD` less the modules that ``python`` lacks (each would be a start-up warning)."""
    return tuple(name for name in PRELOAD if importable(name, python))
