"""Split test asserts so that the verdict is reached in the trusted parent.

For ``assert add(1, 2) == 3`` only ``add(1, 2)`` (a *hole*) runs in the sandbox; its
value comes back through :mod:`acesandbox._wire` and the parent evaluates the
*template* ``_h0 == 3`` with real builtins. The program never sees ``3`` and cannot
answer with an object whose ``__eq__`` is always true.

Each expression node is *const* (the parent can evaluate it alone), *split* (a
trusted operation whose operands include program values) or *dep* (must run in the
sandbox). Holes are the maximal dep nodes. Trusted operations (operators, a fixed set
of pure builtins, ``math``/``cmath``, a safe part of ``operator``) always run in the
parent on rebuilt plain values, so patched builtins and lying dunders decide nothing.
Identity (``is``) is the exception: it cannot be faked, and means nothing on rebuilt
values, so it runs in the sandbox.

Holes that Python would evaluate only conditionally (after ``and``/``or``, in an
``if``-expression branch, later in a comparison chain) are still evaluated in the
sandbox, up front, but one that raises is sent as ``()``; the parent reports an
error only if its own short-circuiting evaluation reaches it.

Before splitting, shapes it could not take apart are normalised (:class:`_Normaliser`,
:func:`_inline_check_function`, :func:`_unroll_loops`): modules reached through
``__import__``/``importlib``, ``unittest.TestCase().assertX(...)``, ``all``/``any``,
comprehensions and top-level loops over literals, a ``check(candidate)`` function
called once. What still runs in the program's process marks the plan ``forgeable``.
"""

from __future__ import annotations

import ast
import builtins
import cmath
import copy
import functools
import math
import operator
import reprlib
import string
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import CodeType, SimpleNamespace
from typing import Any

from acesandbox.errors import TestSyntaxError

__all__ = ["Check", "Plan", "host_safe", "judge", "plan_assert_test", "plan_unittest"]

CHECK_FUNCTION = "__ace_check__"
"""Name the sandbox runtime binds to the function that emits ``(ci, hole_values)``."""

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
_COMBINED = (ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Subscript, ast.Slice, ast.Tuple, ast.List, ast.Set,
             ast.Dict, ast.JoinedStr, ast.FormattedValue)  # fmt: skip
_CONST, _SPLIT, _DEP = 0, 1, 2


@dataclass(frozen=True)
class Check:
    """One judged assertion: the parent evaluates ``template`` over the hole values."""

    source: str
    """The original assert statement (or unittest call), for messages."""
    template: str
    """A Python expression over ``_h0.._hN``, evaluated in the parent."""
    holes: tuple[str, ...]
    """Sandbox-side expression sources, in evaluation order."""
    lazy: tuple[int, ...] = ()
    """Holes the original would evaluate only conditionally (after ``and``/``or``/``if``).
    The sandbox evaluates them anyway but sends ``(value,)``, or ``()`` if they raised;
    the parent fails with an error only if its own evaluation reaches such a hole."""


@dataclass(frozen=True)
class Plan:
    """Rewritten test code for the sandbox plus the checks its ``__ace_check__`` calls report."""

    sandbox_code: str
    checks: tuple[Check, ...]
    required: tuple[int, ...] = ()
    """Checks every completed run must have reported: the asserts at the top level of
    the test (of each test method, for unittest). A test that claims to have finished
    without them was cut short by the program (a forged channel or patched runtime)."""
    forgeable: bool = False
    """Part of the verdict is reached in the program's process: a hole that holds test
    logic (a comparison, ``all(...)``, a library call), a statement that is neither an
    import, a definition nor a plain assignment (a loop, a call of a check function),
    or no check at all. A program that patches builtins, ``math`` or ``unittest`` at
    load can turn such a test into a pass."""


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


def _consumed_args(node: ast.Call) -> range:
    """Positions of ``node``'s arguments that the trusted callee only iterates."""
    func, n = node.func, len(node.args)
    name = func.id if isinstance(func, ast.Name) else None
    str_join = isinstance(func, ast.Attribute) and func.attr == "join" and isinstance(func.value, ast.Constant)
    if name in _CONSUMERS or (name in ("max", "min") and n == 1) or str_join:
        return range(1)
    return range(n if name == "zip" else 0)


def _load(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


def _check_call(ci: int, values: list[ast.expr]) -> ast.Call:
    return ast.Call(func=_load(CHECK_FUNCTION), args=[ast.Constant(ci), ast.Tuple(values, ast.Load())], keywords=[])


class _Substitute(ast.NodeTransformer):
    """Replaces placeholder names in a code pattern by expressions (which are not revisited)."""

    def __init__(self, args: dict[str, ast.expr]) -> None:
        self.args = args

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return self.args.get(node.id, node)


_UNROLL_MAX = 1000
"""Most elements a comprehension over literals is unrolled into (else it is not split)."""
_ITER_BUILDERS = frozenset({"range", "zip", "enumerate"})


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
    for sub in ast.walk(node):
        if isinstance(sub, (ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(sub, ast.Name) and not isinstance(sub.ctx, ast.Load) and sub.id in names:
            return True
        if isinstance(sub, ast.arg) and sub.arg in names:
            return True
    return False


class _Normaliser(ast.NodeTransformer):
    """Rewrites shapes the splitter cannot take apart into equivalent ones it can.

    ``__import__('math')`` and ``importlib.import_module('math')`` become the module;
    ``all``/``any`` over a generator, and comprehensions, whose iterables are literals
    (or ``range``/``zip``/``enumerate`` of literals) are unrolled into one expression
    per element (``all`` into ``and``, ``any`` into ``or``: short-circuiting kept), at
    most :data:`_UNROLL_MAX` elements."""

    def __init__(self, trusted: frozenset[str], bound: set[str], aliases: dict[str, str]) -> None:
        self.trusted = trusted
        self.bound = bound
        self.aliases = aliases
        self.introduced: set[int] = set()
        """Ids of the module names it put in: one of them in a hole means a fall back."""

    def module(self, node: ast.Call) -> ast.Name | None:
        if len(node.args) != 1 or node.keywords or not isinstance(node.args[0], ast.Constant):
            return None
        name = node.args[0].value
        if not isinstance(name, str) or name not in _TRUSTED_MODULES or name not in self.trusted:
            return None
        func = node.func
        dunder = isinstance(func, ast.Name) and func.id == "__import__" and func.id not in self.bound
        if not (dunder or _resolves_to(func, "importlib.import_module", self.aliases)):
            return None
        out = ast.Name(id=name, ctx=ast.Load())
        self.introduced.add(id(out))
        return out

    def unroll(self, comp: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> list[Any] | None:
        """One ``{name: literal}`` binding per element, or None where it cannot be unrolled."""
        bindings: list[dict[str, ast.expr]] = [{}]
        names: set[str] = set()
        for gen in comp.generators:
            targets = _target_names(gen.target)
            if gen.is_async or gen.ifs or targets is None:
                return None
            for builder in _ITER_BUILDERS:
                if builder not in self.trusted and any(_is_name(n, builder) for n in ast.walk(gen.iter)):
                    return None
            values = _literal_value(gen.iter)
            if values is _NO or not isinstance(values, (tuple, list, str, bytes, range, dict, set, frozenset)):
                return None
            values = list(values)
            if len(values) * len(bindings) > _UNROLL_MAX:
                return None
            names |= targets
            grown: list[dict[str, ast.expr]] = []
            for b in bindings:
                for v in values:
                    nb = dict(b)
                    if not _bind_target(gen.target, v, nb):
                        return None
                    grown.append(nb)
            bindings = grown
        parts = [comp.key, comp.value] if isinstance(comp, ast.DictComp) else [comp.elt]
        if any(_rebinds(p, names) for p in parts):
            return None
        out = []
        for b in bindings:
            done = [_Substitute({k: copy.deepcopy(v) for k, v in b.items()}).visit(copy.deepcopy(p)) for p in parts]
            out.append(done if isinstance(comp, ast.DictComp) else done[0])
        return out

    def visit_Call(self, node: ast.Call) -> ast.AST:
        func = node.func
        if (
            isinstance(func, ast.Name)
            and func.id in ("all", "any")
            and func.id in self.trusted
            and len(node.args) == 1
            and not node.keywords
            and isinstance(node.args[0], ast.GeneratorExp)
        ):
            elts = self.unroll(node.args[0])
            if elts is not None:
                if not elts:
                    return ast.Constant(func.id == "all")
                op = ast.And() if func.id == "all" else ast.Or()
                joined = elts[0] if len(elts) == 1 else ast.BoolOp(op=op, values=elts)
                out = ast.UnaryOp(op=ast.Not(), operand=ast.UnaryOp(op=ast.Not(), operand=joined))
                return self.generic_visit(out)
        module = self.module(node)
        if module is not None:
            return module
        self.generic_visit(node)
        if (
            isinstance(func, ast.Name)
            and func.id in _CONSUMERS | {"max", "min"}
            and func.id in self.trusted
            and node.args
            and isinstance(node.args[0], ast.GeneratorExp)
        ):
            elts = self.unroll(node.args[0])
            if elts is not None:
                listed = ast.Tuple(elts=elts, ctx=ast.Load())
                self.generic_visit(listed)
                node.args[0] = listed
        return node

    def visit_ListComp(self, node: ast.ListComp) -> ast.AST:
        elts = self.unroll(node)
        return self.generic_visit(node if elts is None else ast.List(elts=elts, ctx=ast.Load()))

    def visit_SetComp(self, node: ast.SetComp) -> ast.AST:
        elts = self.unroll(node)
        return self.generic_visit(node if not elts else ast.Set(elts=elts))

    def visit_DictComp(self, node: ast.DictComp) -> ast.AST:
        pairs = self.unroll(node)
        if pairs is None:
            return self.generic_visit(node)
        return self.generic_visit(ast.Dict(keys=[k for k, _ in pairs], values=[v for _, v in pairs]))


class _Collector:
    """Numbers checks and turns a split assertion into sandbox statements."""

    def __init__(self, source: str, tree: ast.AST) -> None:
        self.source = source
        self.bound = _bound_names(tree)
        self.trusted = _TRUSTED_NAMES - self.bound
        self.aliases = _import_aliases(tree)
        self.checks: list[Check] = []
        self.top_level: set[int] = set()  # ids of statements that always run when the test completes
        self.required: list[int] = []
        self.rewritten: set[int] = set()  # ids of statements turned into checks

    def emit(self, stmt: ast.stmt, sp: _Splitter, template: ast.expr) -> list[ast.stmt]:
        ci = len(self.checks)
        self.rewritten.add(id(stmt))
        if id(stmt) in self.top_level:
            self.required.append(ci)
        text = ast.get_source_segment(self.source, stmt) or ast.unparse(stmt)
        template_src = ast.unparse(template)
        _compile_template(template_src)  # fail at planning time, not at judging time
        holes = tuple(ast.unparse(h) for h in sp.holes)
        self.checks.append(Check(source=text, template=template_src, holes=holes, lazy=tuple(sp.lazy)))
        if not sp.lazy:
            return [ast.copy_location(ast.Expr(_check_call(ci, sp.holes)), stmt)]
        # Conditional holes are evaluated in order into temporaries; one that raises becomes ().
        out: list[ast.stmt] = []
        for i, h in enumerate(sp.holes):
            var = f"__ace_h{i}__"
            if i in sp.lazy:
                code = f"try:\n    {var} = (_,)\nexcept Exception:\n    {var} = ()"
            else:
                code = f"{var} = _"
            out.append(_Substitute({"_": h}).visit(ast.parse(code).body[0]))
        out.append(ast.Expr(_check_call(ci, [_load(f"__ace_h{i}__") for i in range(len(sp.holes))])))
        return [ast.copy_location(s, stmt) for s in out]

    def split(self, expr: ast.expr, *, helpers: bool = False) -> tuple[_Splitter, ast.expr]:
        """Normalise ``expr`` and split it; where a module name put in by the normaliser
        would land in a hole (a sandbox-side expression), split the original instead."""
        norm = _Normaliser(self.trusted, self.bound, self.aliases)
        sp = _Splitter(self.trusted, helpers=helpers)
        template = sp.build(norm.visit(copy.deepcopy(expr)), False)
        if norm.introduced and any(id(n) in norm.introduced for h in sp.holes for n in ast.walk(h)):
            sp = _Splitter(self.trusted, helpers=helpers)
            template = sp.build(expr, False)
        return sp, template

    def assert_stmt(self, node: ast.Assert) -> list[ast.stmt]:
        """``assert test, msg``: the message is dropped, never evaluated."""
        sp, template = self.split(node.test)
        return self.emit(node, sp, template)

    def unittest_call(self, node: ast.Expr, call: ast.Call) -> list[ast.stmt] | None:
        """``<case>.assertX(...)`` as the equivalent check, or None for a call it cannot bind."""
        assert isinstance(call.func, ast.Attribute)
        form, params = _UNITTEST_METHODS[call.func.attr]
        args = _bind(call, params.split())
        if args is None:
            return None
        expr = _Substitute(args).visit(ast.parse(form, mode="eval").body)
        sp, template = self.split(expr, helpers=True)
        return self.emit(node, sp, template)


def _parse(source: str) -> ast.Module:
    try:
        return ast.parse(source, "<test>")
    except SyntaxError as e:
        raise TestSyntaxError(f"test does not parse: line {e.lineno}: {e.msg}") from None
    except ValueError as e:  # null bytes, on Python < 3.12
        raise TestSyntaxError(f"test does not parse: line 1: {e}") from None


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


def _finish(tree: ast.Module, collector: _Collector, statements: Sequence[ast.stmt] = ()) -> Plan:
    forgeable = _forgeable(collector, statements)
    code = ast.unparse(ast.fix_missing_locations(tree))
    try:
        compile(code, "<test>", "exec", dont_inherit=True)
    except SyntaxError as e:
        raise TestSyntaxError(f"test does not compile: line {e.lineno} of the rewritten test: {e.msg}") from None
    checks, required = tuple(collector.checks), tuple(collector.required)
    return Plan(sandbox_code=code, checks=checks, required=required, forgeable=forgeable)


class _AssertRewriter(ast.NodeTransformer):
    def __init__(self, collector: _Collector) -> None:
        self.collector = collector

    def visit_Assert(self, node: ast.Assert) -> list[ast.stmt]:
        return self.collector.assert_stmt(node)

    def visit_Expr(self, node: ast.Expr) -> ast.AST | list[ast.stmt]:
        """``unittest.TestCase().assertEqual(a, b)`` (or ``TestCase()`` imported from
        unittest): judged as the equivalent assert."""
        call = node.value
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr in _UNITTEST_METHODS
            and isinstance(call.func.value, ast.Call)
            and not call.func.value.args
            and not call.func.value.keywords
            and _resolves_to(call.func.value.func, "unittest.TestCase", self.collector.aliases)
        ):
            out = self.collector.unittest_call(node, call)
            if out is not None:
                return out
        return self.generic_visit(node)

    def skip(self, node: ast.AST) -> ast.AST:
        return node  # asserts in def/class bodies run when called, in the sandbox

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = skip


class _Rename(ast.NodeTransformer):
    """Renames a function's locals (``__ace_<name>``) and puts call arguments for its
    never-rebound parameters, so its body can run as top-level test code."""

    def __init__(self, renamed: set[str], args: dict[str, ast.expr]) -> None:
        self.renamed = renamed
        self.args = args

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id in self.args and isinstance(node.ctx, ast.Load):
            return copy.deepcopy(self.args[node.id])
        if node.id in self.renamed:
            return ast.copy_location(ast.Name(id=f"__ace_{node.id}", ctx=node.ctx), node)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        if node.arg in self.renamed:
            node.arg = f"__ace_{node.arg}"
        return node


def _inline_check_function(tree: ast.Module) -> None:
    """HumanEval's shape: ``def check(candidate): <asserts>`` called once, last, as
    ``check(f)``. The call is replaced by the body (parameters bound to the call's
    names, locals renamed so they touch no program global), so its asserts are checks
    judged outside the program rather than code run in its process."""
    if len(tree.body) < 2:
        return
    call_stmt = tree.body[-1]
    if not (isinstance(call_stmt, ast.Expr) and isinstance(call_stmt.value, ast.Call)):
        return
    call = call_stmt.value
    if not isinstance(call.func, ast.Name) or call.keywords or _has_starred(call.args):
        return
    defs = [s for s in tree.body[:-1] if isinstance(s, ast.FunctionDef) and s.name == call.func.id]
    if len(defs) != 1:
        return
    fn = defs[0]
    a = fn.args
    if fn.decorator_list or a.posonlyargs or a.vararg or a.kwonlyargs or a.kwarg or a.defaults:
        return
    if len(a.args) != len(call.args) or not all(isinstance(x, (ast.Name, ast.Constant)) for x in call.args):
        return
    uses = sum(isinstance(n, ast.Name) and n.id == fn.name for n in ast.walk(tree))
    if uses != 1:
        return  # called or referenced elsewhere
    for node in ast.walk(fn):
        if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom, ast.Await, ast.Global, ast.Nonlocal)):
            if not (isinstance(node, ast.Return) and _in_nested(fn, node)):
                return  # the body must run the same from top to bottom
    params = [x.arg for x in a.args]
    body_module = ast.Module(body=fn.body, type_ignores=[])
    stored = _bound_names(body_module, imports=False)
    imported = _bound_names(body_module) - stored
    args = {p: v for p, v in zip(params, call.args) if p not in stored}
    renamed = (stored | {p for p in params if p not in args}) - imported
    prologue = [
        ast.Assign(targets=[ast.Name(id=f"__ace_{p}", ctx=ast.Store())], value=v)
        for p, v in zip(params, call.args)
        if p not in args
    ]
    body = [_Rename(renamed, args).visit(stmt) for stmt in fn.body]
    tree.body = [s for s in tree.body[:-1] if s is not fn] + prologue + body


def _in_nested(fn: ast.FunctionDef, target: ast.AST) -> bool:
    """Whether ``target`` sits inside a function or lambda nested in ``fn``."""
    for node in ast.walk(fn):
        if node is not fn and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            if any(n is target for n in ast.walk(node)):
                return True
    return False


_UNROLL_MAX_STATEMENTS = 5000


def _unroll_loops(tree: ast.Module) -> None:
    """Top-level ``for`` loops over literals (or ``range``/``zip``/``enumerate`` of
    literals, at most 1,000 elements) without ``break``/``continue``/``else`` become one
    copy of the body per element, the target replaced by the element's literal; nested
    loops too. Then their asserts are required checks, and the loop no longer runs in the
    program's process (where a patched ``range`` could run it zero times)."""
    trusted = _TRUSTED_NAMES - _bound_names(tree)
    budget = _UNROLL_MAX_STATEMENTS
    out: list[ast.stmt] = []
    pending = list(tree.body)
    while pending:
        stmt = pending.pop(0)
        rest = [*out, *pending]
        copies = _unrolled(stmt, rest, trusted, budget) if isinstance(stmt, ast.For) else None
        if copies is None:
            out.append(stmt)
            continue
        budget -= len(copies)
        pending[:0] = copies
    tree.body = out


def _uses(stmt: ast.stmt, names: set[str]) -> bool:
    """Whether ``stmt`` reads or writes one of ``names`` (a loop that binds it itself,
    as a sibling copy of an unrolled loop does, only in its iterable)."""
    if isinstance(stmt, ast.For):
        own = _target_names(stmt.target) or set()
        if names <= own:
            return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(stmt.iter))
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(stmt))


def _unrolled(loop: ast.For, rest: list[ast.stmt], trusted: frozenset[str], budget: int) -> list[ast.stmt] | None:
    """The copies of ``loop``'s body, or None; ``rest`` is the test's other statements."""
    names = _target_names(loop.target)
    if names is None or loop.orelse:
        return None
    if any(isinstance(n, (ast.Break, ast.Continue)) for s in loop.body for n in ast.walk(s)):
        return None
    if any(_is_name(n, b) and b not in trusted for n in ast.walk(loop.iter) for b in _ITER_BUILDERS):
        return None
    if any(_rebinds(s, names) for s in loop.body):
        return None
    if any(_uses(s, names) for s in rest):
        return None  # the target is used outside the loop: it would need its last value
    values = _literal_value(loop.iter)
    if values is _NO or not isinstance(values, (tuple, list, str, bytes, range, dict, set, frozenset)):
        return None
    values = list(values)
    if len(values) > _UNROLL_MAX or len(values) * len(loop.body) > budget:
        return None
    out: list[ast.stmt] = []
    for v in values:
        binding: dict[str, ast.expr] = {}
        if not _bind_target(loop.target, v, binding):
            return None
        for stmt in loop.body:
            new = _Substitute({k: copy.deepcopy(e) for k, e in binding.items()}).visit(copy.deepcopy(stmt))
            out.append(new)
    return out


def plan_assert_test(source: str) -> Plan:
    """Rewrite every top-level-flow ``assert`` in ``source`` into a judged check."""
    tree = _parse(source)
    _inline_check_function(tree)
    _unroll_loops(tree)
    collector = _Collector(source, tree)
    statements = list(tree.body)
    collector.top_level = {id(stmt) for stmt in statements}
    _AssertRewriter(collector).visit(tree)
    return _finish(tree, collector, statements)


# -- unittest --------------------------------------------------------------------------

# method -> (template over the placeholders A, B, P(laces), D(elta), T(ype); parameter names)
_UNITTEST_METHODS: dict[str, tuple[str, str]] = {
    "assertEqual": ("A == B", "first second msg"), "assertEquals": ("A == B", "first second msg"),
    "assertNotEqual": ("A != B", "first second msg"), "assertTrue": ("A", "expr msg"),
    "assertFalse": ("not A", "expr msg"), "assertIs": ("A is B", "expr1 expr2 msg"),
    "assertIsNot": ("A is not B", "expr1 expr2 msg"), "assertIsNone": ("A is None", "obj msg"),
    "assertIsNotNone": ("A is not None", "obj msg"), "assertIn": ("A in B", "member container msg"),
    "assertNotIn": ("A not in B", "member container msg"), "assertGreater": ("A > B", "a b msg"),
    "assertGreaterEqual": ("A >= B", "a b msg"), "assertLess": ("A < B", "a b msg"),
    "assertLessEqual": ("A <= B", "a b msg"), "assertListEqual": ("_typed_equal(A, B, 'list')", "list1 list2 msg"),
    "assertTupleEqual": ("_typed_equal(A, B, 'tuple')", "tuple1 tuple2 msg"),
    "assertDictEqual": ("_typed_equal(A, B, 'dict')", "d1 d2 msg"),
    "assertSetEqual": ("_typed_equal(A, B, 'set')", "set1 set2 msg"),
    "assertSequenceEqual": ("_sequence_equal(A, B, T)", "seq1 seq2 msg seq_type"),
    "assertCountEqual": ("_count_equal(A, B)", "first second msg"),
    "assertAlmostEqual": ("_almost_equal(A, B, P, D)", "first second places msg delta"),
    "assertNotAlmostEqual": ("not _almost_equal(A, B, P, D)", "first second places msg delta"),
}  # fmt: skip
_OPTIONAL = {"places": "P", "delta": "D", "seq_type": "T"}


def _bind(call: ast.Call, params: list[str]) -> dict[str, ast.expr] | None:
    """Placeholder -> argument for a plain, valid call (the message is dropped); else None."""
    if len(call.args) > len(params) or _has_starred(call.args):
        return None
    bound = dict(zip(params, call.args))
    for kw in call.keywords:
        if kw.arg is None or kw.arg not in params or kw.arg in bound:
            return None
        bound[kw.arg] = kw.value
    required = [p for p in params if p != "msg" and p not in _OPTIONAL]
    if any(p not in bound for p in required):
        return None
    out: dict[str, ast.expr] = {"AB"[i]: bound[p] for i, p in enumerate(required)}
    for param, letter in _OPTIONAL.items():
        out[letter] = bound.get(param, ast.Constant(None))
    return out


class _UnittestRewriter(ast.NodeTransformer):
    def __init__(self, collector: _Collector) -> None:
        self.collector = collector
        self.self_name: str | None = None

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        outer, body = self.self_name, list[ast.stmt]()
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                params = [*stmt.args.posonlyargs, *stmt.args.args]
                self.self_name = params[0].arg if params else None  # whatever the method calls self
                stmt.body = [s for b in stmt.body for s in _as_list(self.visit(b))]
                body.append(stmt)
            else:
                self.self_name = None
                body.extend(_as_list(self.visit(stmt)))
        node.body, self.self_name = body, outer
        return node

    def visit_Assert(self, node: ast.Assert) -> ast.AST | list[ast.stmt]:
        return node if self.self_name is None else self.collector.assert_stmt(node)

    def visit_Expr(self, node: ast.Expr) -> ast.AST | list[ast.stmt]:
        call = node.value
        if (
            self.self_name is None
            or not isinstance(call, ast.Call)
            or not isinstance(call.func, ast.Attribute)
            or not isinstance(call.func.value, ast.Name)
            or call.func.value.id != self.self_name
            or call.func.attr not in _UNITTEST_METHODS
        ):
            return self.generic_visit(node)
        out = self.collector.unittest_call(node, call)
        return node if out is None else out


def _as_list(result: Any) -> list[ast.stmt]:
    return result if isinstance(result, list) else [result]


def plan_unittest(source: str) -> Plan:
    """Rewrite ``self.assertX(...)`` calls (and asserts) in TestCase methods into judged checks."""
    tree = _parse(source)
    collector = _Collector(source, tree)
    statements = [
        stmt
        for cls in tree.body
        if isinstance(cls, ast.ClassDef)
        for method in cls.body
        if isinstance(method, ast.FunctionDef) and method.name.startswith("test") and not method.decorator_list
        for stmt in method.body
    ]
    collector.top_level = {id(stmt) for stmt in statements}
    _UnittestRewriter(collector).visit(tree)
    return _finish(tree, collector, statements)


# -- judging (parent) --------------------------------------------------------------------


def _count_equal(first: Any, second: Any) -> bool:
    """assertCountEqual: the same elements, the same number of times, in any order."""
    a, b = list(first), list(second)
    try:
        return Counter(a) == Counter(b)
    except TypeError:  # unhashable elements: match pairwise
        rest = list(b)
        for x in a:
            for j, y in enumerate(rest):
                if x is y or x == y:
                    del rest[j]
                    break
            else:
                return False
        return not rest


def _almost_equal(first: Any, second: Any, places: int | None = None, delta: Any = None) -> bool:
    """assertAlmostEqual's rule: equal, or within ``delta``, or ``round(diff, places) == 0``."""
    if places is not None and delta is not None:
        raise TypeError("specify delta or places not both")
    if first == second:
        return True
    diff = abs(first - second)
    if delta is not None:
        return bool(diff <= delta)
    return bool(round(diff, 7 if places is None else places) == 0)


_TYPES: dict[str, type | tuple[type, ...]] = {"list": list, "tuple": tuple, "dict": dict, "set": (set, frozenset)}


def _typed_equal(first: Any, second: Any, kind: str) -> bool:
    """assertListEqual and friends: both of the type, and equal."""
    types = _TYPES[kind]
    return isinstance(first, types) and isinstance(second, types) and bool(first == second)


def _sequence_equal(first: Any, second: Any, seq_type: type | None = None) -> bool:
    """assertSequenceEqual: same length and pairwise-equal items (list vs tuple is fine)."""
    if seq_type is not None and not (isinstance(first, seq_type) and isinstance(second, seq_type)):
        return False
    try:
        return len(first) == len(second) and all(first[i] == second[i] for i in range(len(first)))
    except TypeError:  # not sequences
        return False


def _import_loaded(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
    """Only for C code (numpy) that imports through the current builtins: loaded modules only."""
    if level != 0 or name not in sys.modules:
        raise ImportError(f"cannot import {name!r} while judging")
    return builtins.__import__(name, globals, locals, fromlist, level)


_SAFE_BUILTINS: dict[str, Any] = {name: getattr(builtins, name) for name in _TRUSTED_BUILTINS}
_SAFE_BUILTINS.update(isinstance=isinstance, __import__=_import_loaded)
_HELPERS: dict[str, Any] = {f.__name__: f for f in (_almost_equal, _count_equal, _sequence_equal, _typed_equal)}


@functools.lru_cache(maxsize=4096)
def _compile_template(template: str) -> CodeType:
    """Compile once; planning never puts underscore names other than holes and helpers in a template."""
    code = compile(template, "<check>", "eval", dont_inherit=True)
    for name in code.co_names:
        if name.startswith("_") and name not in _HELPERS and not (name[:2] == "_h" and name[2:].isdigit()):
            raise ValueError(f"template uses the forbidden name {name!r}")
    return code


# -- what the parent may evaluate itself ----------------------------------------------

# Templates whose cost is bounded by the size of the values and of the template itself:
# comparisons, truth tests, + and -, indexing, displays, and a few calls. Anything else
# (a sum over a range, sorting, repetition, powers, formatting...) runs in a judge
# process under a time budget (see ``_judge_proc``), never in the host.
_HOST_NODES = (
    ast.Expression, ast.Compare, ast.BoolOp, ast.UnaryOp, ast.IfExp, ast.Constant, ast.Name, ast.Tuple,
    ast.List, ast.Set, ast.Dict, ast.Subscript, ast.Slice, ast.Call, ast.BinOp, ast.Attribute, ast.Load,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn, ast.And,
    ast.Or, ast.Not, ast.USub, ast.UAdd, ast.Add, ast.Sub, ast.keyword,
)  # fmt: skip
_HOST_CALLS = frozenset({"abs", "bool", "isinstance", "len"})
_HOST_MATH = frozenset({"isclose", "isnan", "isinf", "isfinite", "fabs"})
_HOST_MAX_TEMPLATE = 4096


@functools.lru_cache(maxsize=4096)
def host_safe(template: str) -> bool:
    """Whether the parent may evaluate ``template`` itself: every node is one whose cost
    is linear in the values and the template (``_h0 == [1, 2]``, ``abs(_h0 - 0.5) < 1e-6``,
    ``math.isclose(_h0, 2.0)``, ``len(_h0) == 3``), and the template is short."""
    if len(template) > _HOST_MAX_TEMPLATE:
        return False
    try:
        tree = ast.parse(template, mode="eval")
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if not isinstance(node, _HOST_NODES):
            return False
        if isinstance(node, ast.Call):
            func = node.func
            named = isinstance(func, ast.Name) and func.id in _HOST_CALLS
            mathy = isinstance(func, ast.Attribute) and _is_name(func.value, "math") and func.attr in _HOST_MATH
            if not (named or mathy) or node.keywords and not mathy:
                return False
        elif isinstance(node, ast.Attribute):
            if not (_is_name(node.value, "math") and node.attr in _HOST_MATH):
                return False
        elif isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) and len(node.value) > 1024:
            return False
    return True


@functools.lru_cache(maxsize=4096)
def _is_call(source: str) -> bool:
    try:
        return isinstance(ast.parse(source, mode="eval").body, ast.Call)
    except SyntaxError:
        return False


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 4, 120, 120, 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdict = 20
_MAX_REPR = 200


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


def _short_repr(value: Any) -> str:
    try:
        return _clip(_REPR.repr(value))
    except ValueError:  # an int beyond the str-digits limit
        return f"<int of {value.bit_length()} bits>" if isinstance(value, int) else "<unprintable>"
    except Exception:  # noqa: BLE001 - a message must never fail the verdict
        return f"<unprintable {type(value).__name__}>"


def judge(check: Check, values: Sequence[object]) -> tuple[bool, str]:
    """Evaluate ``check.template`` over rebuilt hole values with real builtins only.

    Returns ``(passed, message)``; the message is empty on a pass. Exceptions raised by
    the template propagate: the caller reports them as an error, as Python would.
    """
    if len(values) != len(check.holes):
        raise ValueError(f"{check.source!r} has {len(check.holes)} holes but got {len(values)} values")
    env: dict[str, Any] = {"__builtins__": _SAFE_BUILTINS, **_TRUSTED_MODULES, **_HELPERS}
    shown: list[tuple[str, object]] = []
    lazy = set(check.lazy)
    for i, value in enumerate(values):
        if i in lazy:
            if type(value) is not tuple or len(value) > 1:
                raise ValueError(f"conditional hole {i} must come as a tuple of at most one value")
            if not value:
                continue  # it raised in the sandbox; unbound, so reaching it is a NameError
            value = value[0]
        env[f"_h{i}"] = value
        shown.append((check.holes[i], value))
    try:
        result = eval(_compile_template(check.template), env)
    except NameError as e:
        name = getattr(e, "name", None) or ""
        if name.startswith("_h") and name[2:].isdigit():
            raise RuntimeError(f"{check.holes[int(name[2:])]} raised an exception in the sandbox") from None
        raise
    if bool(result):
        return True, ""
    parts: list[str] = []
    for src, value in shown:
        part = f"{src} {'returned' if _is_call(src) else '='} {_short_repr(value)}"
        if part not in parts:
            parts.append(part)
    source = _clip(" ".join(check.source.split()) if "\n" in check.source else check.source)
    return False, f"{source} failed" + (": " + "; ".join(parts[:4]) if parts else "")
