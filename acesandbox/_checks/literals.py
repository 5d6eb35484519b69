"""Literal values of test code (``range``/``zip``/``enumerate`` of literals too), and back into displays."""

from __future__ import annotations

import ast
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from .names import _has_starred, _walk

_UNROLL_MAX = 1000
"""Most elements a comprehension over literals is unrolled into (else it is not split)."""
_ITER_BUILDERS = frozenset({"range", "zip", "enumerate"})


def _literal_value(node: ast.AST) -> Any:
    """A literal's value, or ``_NO``; ``range``/``zip``/``enumerate`` of literals too (bounded)."""
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _ITER_BUILDERS):
        return _NO
    if node.keywords or _has_starred(node.args):
        return _NO
    args = [_literal_value(a) for a in node.args]
    if any(a is _NO for a in args):
        return _NO
    try:
        if node.func.id == "range":
            if not all(type(a) is int for a in args) or len(range(*args)) > _UNROLL_MAX:
                return _NO
            return range(*args)
        if not all(isinstance(a, (tuple, list, str, bytes, range, dict, set, frozenset)) for a in args[:1]):
            return _NO
        if node.func.id == "zip":
            if not all(isinstance(a, (tuple, list, str, bytes, range, dict)) for a in args):
                return _NO
            return list(zip(*args))
        if len(args) == 2 and type(args[1]) is not int:
            return _NO
        return list(enumerate(*args))
    except (TypeError, ValueError, OverflowError):
        return _NO


_NO = object()


def _literal_node(value: Any, depth: int = 0) -> ast.expr | None:
    """The display that evaluates to ``value``, for plain literal data; else None."""
    if depth > 8:
        return None
    if value is None or type(value) in (bool, str, bytes):
        return ast.Constant(value)
    if type(value) in (int, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        if value < 0 or (type(value) is float and math.copysign(1.0, value) < 0):
            return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-value))
        return ast.Constant(value)
    if type(value) in (tuple, list) or (type(value) is set and value):
        elts = _literal_nodes(value, depth + 1)
        if elts is None:
            return None
        if type(value) is set:
            return ast.Set(elts=elts)
        return (ast.Tuple if type(value) is tuple else ast.List)(elts=elts, ctx=ast.Load())
    if type(value) is dict:
        keys = _literal_nodes(value, depth + 1)
        values = _literal_nodes(value.values(), depth + 1)
        if keys is None or values is None:
            return None
        return ast.Dict(keys=list(keys), values=values)
    return None


def _literal_nodes(values: Iterable[Any], depth: int) -> list[ast.expr] | None:
    out: list[ast.expr] = []
    for v in values:
        node = _literal_node(v, depth)
        if node is None:
            return None
        out.append(node)
    return out


def _bind_target(target: ast.expr, value: Any, out: dict[str, ast.expr]) -> bool:
    if isinstance(target, ast.Name):
        node = _literal_node(value)
        if node is None:
            return False
        out[target.id] = node
        return True
    if isinstance(target, (ast.Tuple, ast.List)) and type(value) in (tuple, list):
        if len(target.elts) != len(value) or _has_starred(target.elts):
            return False
        return all(_bind_target(t, v, out) for t, v in zip(target.elts, value))
    return False


def _target_names(target: ast.expr) -> set[str] | None:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        names: set[str] = set()
        for t in target.elts:
            sub = _target_names(t)
            if sub is None:
                return None
            names |= sub
        return names
    return None


def _rebinds(node: ast.AST, names: set[str]) -> bool:
    """Whether ``node`` binds any of ``names`` itself (a nested lambda, comprehension or :=)."""
    for sub in _walk(node):
        if isinstance(sub, (ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(sub, ast.Name) and not isinstance(sub.ctx, ast.Load) and sub.id in names:
            return True
        if isinstance(sub, ast.arg) and sub.arg in names:
            return True
    return False


def _size(node: ast.AST) -> int:
    """Nodes in ``node``'s tree (planning costs about this many visits per pass)."""
    return len(_walk(node))


def _copies_size(parts: Sequence[ast.AST], bindings: Sequence[dict[str, ast.expr]], budget: int) -> int | None:
    """Nodes that one copy of ``parts`` per binding (its names replaced by their
    expressions) would hold, or None past ``budget``: unrolling is budgeted by what it
    makes, since one element may copy a large body or a large literal many times."""
    uses = Counter(n.id for p in parts for n in _walk(p) if isinstance(n, ast.Name))
    base = sum(_size(p) for p in parts)
    total = 0
    for b in bindings:
        total += base + sum(uses[k] * (_size(v) - 1) for k, v in b.items())
        if total > budget:
            return None
    return total
