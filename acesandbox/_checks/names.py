"""What the parent trusts (builtins, ``math``/``cmath``, part of ``operator``) and small AST helpers."""

from __future__ import annotations

import ast
import cmath
import copy
import math
import operator
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

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


def _bound_names(tree: ast.AST, *, imports: bool = True) -> set[str]:
    """Names the test binds itself (``sum = 0``): there they are test variables, not builtins.
    ``imports=False`` leaves out the names bound by import statements."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif not imports and isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        elif isinstance(node, ast.Import):  # `import math` binds the real module: still trusted
            names.update(
                a.asname or a.name.split(".")[0] for a in node.names if a.asname or a.name not in _TRUSTED_MODULES
            )
        elif isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names


def _has_starred(nodes: Sequence[ast.expr]) -> bool:
    return any(isinstance(n, ast.Starred) for n in nodes)


class _Substitute(ast.NodeTransformer):
    """Replaces placeholder names in a code pattern by expressions (which are not revisited)."""

    def __init__(self, args: dict[str, ast.expr], *, copy_values: bool = False) -> None:
        self.args = args
        self.copy_values = copy_values

    def visit_Name(self, node: ast.Name) -> ast.expr:
        value = self.args.get(node.id, node)
        return copy.deepcopy(value) if self.copy_values and value is not node else value


def _import_aliases(tree: ast.AST) -> dict[str, str]:
    """Names the test binds only by importing, and the dotted object each names:
    ``import unittest`` -> unittest, ``from unittest import TestCase`` -> unittest.TestCase."""
    targets: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                name = a.asname or a.name.split(".")[0]
                targets.setdefault(name, set()).add(a.name if a.asname else a.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for a in node.names:
                targets.setdefault(a.asname or a.name, set()).add(f"{node.module}.{a.name}")
    other = _bound_names(tree, imports=False)
    return {n: next(iter(t)) for n, t in targets.items() if len(t) == 1 and n not in other}


def _resolves_to(node: ast.AST, dotted: str, aliases: dict[str, str]) -> bool:
    """Whether ``node`` (a name or attribute chain) names the imported object ``dotted``."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id) == dotted
    if isinstance(node, ast.Attribute):
        head, _, last = dotted.rpartition(".")
        return node.attr == last and bool(head) and _resolves_to(node.value, head, aliases)
    return False
