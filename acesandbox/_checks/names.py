"""What the parent trusts (builtins, ``math``/``cmath``, part of ``operator``) and small AST helpers."""

from __future__ import annotations

import ast
import cmath
import math
import operator
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, TypeVar

_N = TypeVar("_N", bound=ast.AST)

_TRUSTED_BUILTINS = frozenset({
    "abs", "all", "any", "bool", "bytes", "chr", "complex", "dict", "divmod", "enumerate", "float", "frozenset",
    "hex", "int", "len", "list", "max", "min", "oct", "ord", "pow", "range", "repr", "reversed", "round", "set",
    "sorted", "str", "sum", "tuple", "zip",
})  # fmt: skip
# Pure operator functions only: no attrgetter/methodcaller/call, nothing that mutates.
_OPERATOR_FUNCS = frozenset({
    "abs", "add", "and_", "concat", "contains", "countOf", "eq", "floordiv", "ge", "getitem", "gt", "index",
    "indexOf", "inv", "invert", "is_", "is_not", "le", "length_hint", "lshift", "lt", "matmul", "mod", "mul", "ne",
    "neg", "not_", "or_", "pos", "pow", "rshift", "sub", "truediv", "truth", "xor",
})  # fmt: skip
_TRUSTED_MODULES: dict[str, Any] = {
    "math": math,
    "cmath": cmath,
    "operator": SimpleNamespace(**{name: getattr(operator, name) for name in _OPERATOR_FUNCS}),
}
_TRUSTED_NAMES = _TRUSTED_BUILTINS | frozenset(_TRUSTED_MODULES) | {"isinstance"}
# Trusted calls that only iterate an argument: a generator there is listed in the sandbox.
_CONSUMERS = frozenset({"all", "any", "enumerate", "frozenset", "list", "set", "sorted", "sum", "tuple"})
# Operators, subscripts and displays: split or const according to their operands.
def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _is_module(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id in _TRUSTED_MODULES


def _walk(tree: ast.AST, most: int | None = None) -> list[ast.AST]:
    """``list(ast.walk(tree))``, in the same order, at a third of the cost: planning walks
    each test's tree several times, on the host's critical path (issue 10). With ``most``,
    it stops once it holds more than ``most`` nodes."""
    out = [tree]
    append = out.append
    for node in out:  # grows while it is read: breadth first, as ast.walk
        if most is not None and len(out) > most:
            break
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, ast.AST):
                append(value)
            elif value.__class__ is list:
                for item in value:
                    if isinstance(item, ast.AST):
                        append(item)
    return out


def _copy(node: _N) -> _N:
    """``copy.deepcopy`` of a syntax tree at a quarter of the cost: every node and list is
    new, the stateless ``Load``/``Store``/``Del`` contexts are shared, other values kept."""
    cls = node.__class__
    new = cls.__new__(cls)
    fields = new.__dict__
    for key, value in node.__dict__.items():
        if isinstance(value, ast.AST):
            fields[key] = value if isinstance(value, ast.expr_context) else _copy(value)
        elif value.__class__ is list:
            fields[key] = [_copy(v) if isinstance(v, ast.AST) else v for v in value]
        else:
            fields[key] = value
    return new


def _bound_names(tree: ast.AST, *, imports: bool = True, walked: list[ast.AST] | None = None) -> set[str]:
    """Names the test binds itself (``sum = 0``): there they are test variables, not builtins.
    ``imports=False`` leaves out the names bound by import statements. ``walked``:
    ``_walk(tree)``, where the caller has it."""
    other, imported, _ = _binders(_walk(tree) if walked is None else walked)
    return other | imported if imports else other


_BINDERS = (ast.Name, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.arg, ast.Import, ast.ImportFrom,
            ast.ExceptHandler, ast.MatchAs, ast.MatchStar, ast.MatchMapping)  # fmt: skip


def _binders(walked: list[ast.AST]) -> tuple[set[str], set[str], bool]:
    """The names :func:`_bound_names` finds in ``walked`` (a tree's nodes): those bound other
    than by an import statement, and those an import binds, in one pass; and whether there
    is an import statement at all."""
    names: set[str] = set()
    imported: set[str] = set()
    imports = False
    for node in walked:
        if not isinstance(node, _BINDERS):
            continue  # most nodes: one check
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Load):
                names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Import):  # `import math` binds the real module: still trusted
            imports = True
            imported.update(
                a.asname or a.name.split(".")[0] for a in node.names if a.asname or a.name not in _TRUSTED_MODULES
            )
        elif isinstance(node, ast.ImportFrom):
            imports = True
            imported.update(a.asname or a.name for a in node.names)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names, imported, imports


def _has_starred(nodes: Sequence[ast.expr]) -> bool:
    return any(isinstance(n, ast.Starred) for n in nodes)


class _Substitute(ast.NodeTransformer):
    """Replaces placeholder names in a code pattern by expressions (which are not revisited)."""

    def __init__(self, args: dict[str, ast.expr], *, copy_values: bool = False) -> None:
        self.args = args
        self.copy_values = copy_values

    def visit_Name(self, node: ast.Name) -> ast.expr:
        value = self.args.get(node.id, node)
        return _copy(value) if self.copy_values and value is not node else value


def _import_aliases(
    tree: ast.AST, walked: list[ast.AST] | None = None, other: set[str] | None = None
) -> dict[str, str]:
    """Names the test binds only by importing, and the dotted object each names:
    ``import unittest`` -> unittest, ``from unittest import TestCase`` -> unittest.TestCase.
    ``walked``, ``other``: ``_walk(tree)`` and ``_bound_names(tree, imports=False)``, where
    the caller has them."""
    targets: dict[str, set[str]] = {}
    walked = _walk(tree) if walked is None else walked
    for node in walked:
        if isinstance(node, ast.Import):
            for a in node.names:
                name = a.asname or a.name.split(".")[0]
                targets.setdefault(name, set()).add(a.name if a.asname else a.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for a in node.names:
                targets.setdefault(a.asname or a.name, set()).add(f"{node.module}.{a.name}")
    if other is None:
        other = _bound_names(tree, imports=False, walked=walked)
    return {n: next(iter(t)) for n, t in targets.items() if len(t) == 1 and n not in other}


def _resolves_to(node: ast.AST, dotted: str, aliases: dict[str, str]) -> bool:
    """Whether ``node`` (a name or attribute chain) names the imported object ``dotted``."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id) == dotted
    if isinstance(node, ast.Attribute):
        head, _, last = dotted.rpartition(".")
        return node.attr == last and bool(head) and _resolves_to(node.value, head, aliases)
    return False
