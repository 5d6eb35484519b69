"""``ast.parse`` for every host-side module of the project, one call at a time (the
consumers, ``harness``, ``benchmarks`` and ``rm_rl``, parse through it too)."""

from __future__ import annotations

import ast
import threading
from typing import Literal, overload

_LOCK = threading.RLock()


@overload
def parse(source: str, filename: str = "<unknown>", mode: Literal["exec"] = "exec") -> ast.Module: ...
@overload
def parse(source: str, filename: str = "<unknown>", *, mode: Literal["eval"]) -> ast.Expression: ...


def parse(source: str, filename: str = "<unknown>", mode: str = "exec") -> ast.AST:
    """``ast.parse``, one call at a time in this process.

    CPython 3.11 keeps the tree builder's recursion depth per interpreter, not per thread:
    when a garbage collection during one build runs a finalizer, another thread may build
    a tree meanwhile, and one of them fails with ``SystemError: AST constructor recursion
    depth mismatch`` (python/cpython#106905). The executor plans jobs in several threads,
    and a soak run got that as a job's ``sandbox_error``."""
    with _LOCK:
        return ast.parse(source, filename, mode)
