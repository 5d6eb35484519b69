"""Splitting one expression into a template the parent evaluates and holes the sandbox evaluates."""

from __future__ import annotations

import ast
import string
from collections.abc import Sequence
from typing import Any

from .host import _HELPERS
from .names import _CONSUMERS, _OPERATOR_FUNCS, _has_starred, _is_module, _is_name

_COMBINED = (ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Subscript, ast.Slice, ast.Tuple, ast.List, ast.Set,
             ast.Dict, ast.JoinedStr, ast.FormattedValue)  # fmt: skip
_CONST, _SPLIT, _DEP = 0, 1, 2


class _Splitter:
    """Classifies expression nodes and builds one check's template and holes."""

    def __init__(self, trusted: frozenset[str], *, helpers: bool = False) -> None:
        self.trusted = trusted
        self.helpers = helpers
        self.memo: dict[int, int] = {}
        self.holes: list[ast.expr] = []
        self.lazy: list[int] = []

    def kind(self, node: ast.AST) -> int:
        k = self.memo.get(id(node))
        if k is None:
            k = self.memo[id(node)] = self.classify(node)
        return k

    def combine(self, children: Sequence[ast.AST | None]) -> int:
        return _CONST if all(self.kind(c) == _CONST for c in children if c is not None) else _SPLIT

    def classify(self, node: ast.AST) -> int:
        if isinstance(node, ast.Constant):
            return _CONST
        if isinstance(node, ast.Name):
            return _CONST if node.id in self.trusted else _DEP
        if isinstance(node, ast.Attribute):
            if _unsafe_attr(node.attr) or (_is_name(node.value, "operator") and node.attr not in _OPERATOR_FUNCS):
                return _DEP
            if node.attr in _FORMAT_METHODS and not _plain_format_string(node.value):
                return _DEP  # "{0.__self__...}".format(abs) walks attributes: never in the parent
            return self.kind(node.value)
        if isinstance(node, ast.Call):
            return self.classify_call(node)
        if isinstance(node, ast.Compare):
            if any(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
                const = self.combine([node.left, *node.comparators]) == _CONST
                return _CONST if const else _DEP  # identity: unforgeable, only meaningful here
            return self.combine([node.left, *node.comparators])
        if isinstance(node, _COMBINED):
            if isinstance(node, ast.Dict) and None in node.keys:
                return _DEP  # ** unpacking
            children = [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)]
            return _DEP if _has_starred(children) else self.combine(children)
        return _DEP  # names of the program or test, comprehensions, lambdas, :=, await, ...

    def classify_call(self, node: ast.Call) -> int:
        func = node.func
        receiver: ast.expr | None = None
        if isinstance(func, ast.Name):
            if func.id == "isinstance" and func.id in self.trusted:  # a program class is not a value
                if len(node.args) != 2 or node.keywords or self.kind(node.args[1]) != _CONST:
                    return _DEP
            elif not (self.kind(func) == _CONST or (self.helpers and func.id in _HELPERS)):
                return _DEP
        elif isinstance(func, ast.Attribute) and self.kind(func) != _DEP:
            if not _is_module(func.value):
                receiver = func.value  # a method of a computed value: f(x).count(1) is split on f(x)
        else:
            return _DEP  # program functions, and methods of program objects: Solution().twoSum(...)
        callables = (ast.GeneratorExp, ast.Lambda)
        if _has_starred(node.args) or any(isinstance(a, callables) for a in node.args):
            return _DEP
        for kw in node.keywords:
            if kw.arg is None or isinstance(kw.value, callables):
                return _DEP
            if kw.arg == "key" and self.kind(kw.value) == _DEP:
                return _DEP  # a program function: must be called in the sandbox
        return self.combine([receiver, *node.args, *(kw.value for kw in node.keywords)])

    def build(self, node: ast.expr, lazy: bool) -> ast.expr:
        """The template for ``node``; dep parts become ``_hN`` names and are recorded as holes."""
        k = self.kind(node)
        if k == _CONST:
            return node
        if k == _DEP:
            return self.hole(node, lazy)
        if isinstance(node, ast.BoolOp):
            return ast.BoolOp(op=node.op, values=[self.build(v, lazy or i > 0) for i, v in enumerate(node.values)])
        if isinstance(node, ast.IfExp):
            test = self.build(node.test, lazy)
            return ast.IfExp(test=test, body=self.build(node.body, True), orelse=self.build(node.orelse, True))
        if isinstance(node, ast.Compare):
            left = self.build(node.left, lazy)
            comps = [self.build(c, lazy or i > 0) for i, c in enumerate(node.comparators)]
            return ast.Compare(left=left, ops=node.ops, comparators=comps)
        if isinstance(node, ast.Dict):
            keys, values = [], []
            for key, value in zip(node.keys, node.values):  # evaluation order: k1, v1, k2, ...
                keys.append(self.build(key, lazy) if key is not None else None)
                values.append(self.build(value, lazy))
            return ast.Dict(keys=keys, values=values)
        if isinstance(node, ast.Call):
            return self.build_call(node, lazy)
        fields: dict[str, Any] = {}
        for name, value in ast.iter_fields(node):
            if isinstance(value, ast.expr):
                fields[name] = self.build(value, lazy)
            elif isinstance(value, list):
                fields[name] = [self.build(v, lazy) if isinstance(v, ast.expr) else v for v in value]
            else:
                fields[name] = value
        return type(node)(**fields)

    def build_call(self, node: ast.Call, lazy: bool) -> ast.Call:
        func = node.func
        if isinstance(func, ast.Attribute) and not _is_module(func.value):
            func = ast.Attribute(value=self.build(func.value, lazy), attr=func.attr, ctx=ast.Load())
        consumed = _consumed_args(node)
        args = [
            self.hole(a, lazy, materialize=True) if i in consumed and self.kind(a) == _DEP else self.build(a, lazy)
            for i, a in enumerate(node.args)
        ]
        keywords = [ast.keyword(arg=kw.arg, value=self.build(kw.value, lazy)) for kw in node.keywords]
        return ast.Call(func=func, args=args, keywords=keywords)

    def hole(self, node: ast.expr, lazy: bool, *, materialize: bool = False) -> ast.Name:
        expr: ast.expr = node
        if materialize:  # [*it] lists a generator without naming a (patchable) builtin
            expr = ast.List(elts=[ast.Starred(value=node, ctx=ast.Load())], ctx=ast.Load())
        index = len(self.holes)
        self.holes.append(expr)
        if lazy and not isinstance(expr, (ast.Name, ast.Constant)):
            self.lazy.append(index)
        return ast.Name(id=f"_h{index}", ctx=ast.Load())


_FORMAT_METHODS = frozenset({"format", "format_map"})


def _plain_format_string(node: ast.AST) -> bool:
    """A literal format string whose fields only number or name arguments: no ``.attr``
    or ``[key]`` walks (which reach from any object to its module's globals)."""
    if not isinstance(node, ast.Constant) or type(node.value) is not str:
        return False
    return _plain_fields(node.value, 2)


def _plain_fields(text: str, depth: int) -> bool:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return False
    for _literal, field, spec, _conversion in parsed:
        if field is None:
            continue
        if "." in field or "[" in field:
            return False
        if spec and "{" in spec and (depth == 0 or not _plain_fields(spec, depth - 1)):
            return False
    return True


def _unsafe_attr(attr: str) -> bool:
    """Attributes never used in the parent: private ones, and numpy's file and memory access."""
    return attr.startswith("_") or attr in ("ctypes", "dump", "tofile")


def _consumed_args(node: ast.Call) -> range:
    """Positions of ``node``'s arguments that the trusted callee only iterates."""
    func, n = node.func, len(node.args)
    name = func.id if isinstance(func, ast.Name) else None
    str_join = isinstance(func, ast.Attribute) and func.attr == "join" and isinstance(func.value, ast.Constant)
    if name in _CONSUMERS or (name in ("max", "min") and n == 1) or str_join:
        return range(1)
    return range(n if name == "zip" else 0)
