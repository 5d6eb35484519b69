"""Whether part of a plan's verdict is reached in the program's process (:attr:`Plan.forgeable`)."""

from __future__ import annotations

import ast
import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .literals import _NO, _literal_value
from .names import _TRUSTED_MODULES, _is_name

if TYPE_CHECKING:
    from .plan import _Collector

_BUILTIN_NAMES = frozenset(dir(builtins))


def _program_value(node: ast.AST, aliases: dict[str, str]) -> bool:
    """Whether a hole only fetches the program's own value (a call into the program, a
    name, attribute or item of its objects): then nothing of the test's logic runs there."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.List) and len(node.elts) == 1 and isinstance(node.elts[0], ast.Starred):
        return _program_value(node.elts[0].value, aliases)  # [*x]: a consumed argument, listed
    if isinstance(node, ast.Name):
        return node.id not in _BUILTIN_NAMES and node.id not in aliases and node.id not in _TRUSTED_MODULES
    if isinstance(node, ast.Call):
        return _program_value(node.func, aliases)
    if isinstance(node, ast.Compare) and all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
        return all(_program_value(n, aliases) for n in (node.left, *node.comparators))  # identity: unforgeable
    if isinstance(node, (ast.Attribute, ast.Subscript)):
        return _program_value(node.value, aliases)
    return False


def _plain_statement(stmt: ast.stmt, aliases: dict[str, str]) -> bool:
    """Statements that decide nothing in the program's process: imports, definitions,
    docstrings, prints, and assignments of literals or program values to names."""
    if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Pass, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(stmt, ast.Expr):  # a docstring, or a print (its value decides nothing)
        value = stmt.value
        return isinstance(value, ast.Constant) or (isinstance(value, ast.Call) and _is_name(value.func, "print"))
    if isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
        if _literal_value(stmt.value) is not _NO:
            return True
        return _program_value(stmt.value, aliases)
    return False


def _forgeable(collector: _Collector, statements: Sequence[ast.stmt]) -> bool:
    if not collector.checks:
        return True
    for check in collector.checks:
        for hole in check.holes:
            if not _program_value(ast.parse(hole, mode="eval").body, collector.aliases):
                return True
    return any(id(s) not in collector.rewritten and not _plain_statement(s, collector.aliases) for s in statements)
