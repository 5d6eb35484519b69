"""Whether part of a plan's verdict is reached in the program's process (:attr:`Plan.forgeable`)."""

from __future__ import annotations

import ast
import builtins
from collections.abc import Sequence, Set
from typing import TYPE_CHECKING

from .literals import _NO, _literal_value
from .names import _TRUSTED_MODULES, _bound_names, _is_name, _walk

if TYPE_CHECKING:
    from .plan import _Collector

_BUILTIN_NAMES = frozenset(dir(builtins))


def _program_value(node: ast.AST, aliases: dict[str, str], test_names: Set[str] = frozenset()) -> bool:
    """Whether a hole only fetches the program's own value (a call into the program, a
    name, attribute or item of its objects): then nothing of the test's logic runs there.
    ``test_names``: names the test binds to its own values or functions (read in the
    program's process, which can overwrite them, and their code runs there)."""
    names = _value_names(node, aliases)
    return names is not None and names.isdisjoint(test_names)


def _value_names(node: ast.AST, aliases: dict[str, str]) -> set[str] | None:
    """The names a program value is fetched through (it is one unless one of them is a
    test name), or None where ``node`` is not only a fetch of program values."""
    if isinstance(node, ast.Constant):
        return set()
    if isinstance(node, ast.List) and len(node.elts) == 1 and isinstance(node.elts[0], ast.Starred):
        return _value_names(node.elts[0].value, aliases)  # [*x]: a consumed argument, listed
    if isinstance(node, ast.Name):
        if node.id in _BUILTIN_NAMES or node.id in aliases or node.id in _TRUSTED_MODULES:
            return None
        return {node.id}
    if isinstance(node, ast.Call):
        return _value_names(node.func, aliases)
    if isinstance(node, ast.Compare) and all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
        out: set[str] = set()  # identity: unforgeable
        for n in (node.left, *node.comparators):
            names = _value_names(n, aliases)
            if names is None:
                return None
            out |= names
        return out
    if isinstance(node, (ast.Attribute, ast.Subscript)):
        return _value_names(node.value, aliases)
    return None


def _test_names(
    tree: ast.AST, aliases: dict[str, str], walked: list[ast.AST] | None = None, bound: set[str] | None = None
) -> frozenset[str]:
    """Names the test binds other than only by ``name = <program value>`` (a call into the
    program, or its name): literals, its own functions and classes, parameters, loop targets.
    ``walked``, ``bound``: ``_walk(tree)`` and ``_bound_names(tree)``, where the caller has them."""
    walked = _walk(tree) if walked is None else walked
    if bound is None:
        bound = _bound_names(tree, walked=walked)
    if not bound:
        return frozenset()  # binds nothing (most tests): no test name, and nothing assigned
    assigned: dict[str, list[ast.expr]] = {}
    direct: dict[str, int] = {}
    stores: dict[str, int] = {}
    defined: set[str] = set()
    for node in walked:  # one pass for what ast.walk found in four
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Load):
                stores[node.id] = stores.get(node.id, 0) + 1
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            for t in node.targets:
                assert isinstance(t, ast.Name)
                assigned.setdefault(t.id, []).append(node.value)
                direct[t.id] = direct.get(t.id, 0) + 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
    test = {n for n in bound if n not in assigned or stores.get(n) != direct.get(n) or n in defined}
    # A name assigned from a literal or a test name is a test name too: propagated along
    # "assigned from" edges once each (a chain of thousands of names was quadratic).
    readers: dict[str, list[str]] = {}
    for name, values in assigned.items():
        if name in test:
            continue
        for value in values:
            names = None if _literal_value(value) is not _NO else _value_names(value, aliases)
            if names is None:
                test.add(name)
                break
            for source in names:
                readers.setdefault(source, []).append(name)
    pending = list(test)
    while pending:
        for name in readers.get(pending.pop(), ()):
            if name not in test:
                test.add(name)
                pending.append(name)
    return frozenset(test)


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
            if not _program_value(ast.parse(hole, mode="eval").body, collector.aliases, collector.test_names):
                return True
    return any(id(s) not in collector.rewritten and not _plain_statement(s, collector.aliases) for s in statements)
