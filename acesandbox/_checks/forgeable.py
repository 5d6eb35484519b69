"""Whether part of a plan's verdict is reached in the program's process (:attr:`Plan.forgeable`)."""

from __future__ import annotations

import ast
import builtins
from collections.abc import Sequence, Set
from typing import TYPE_CHECKING

from ..syntax import parse as parse_ast
from acesandbox._sandbox.testproc import (
    LIBRARY_CALLABLES,
    LIBRARY_MODULES,
    called_in,
    library_names,
)

from .literals import _NO, _literal_value
from .names import _TRUSTED_BUILTINS, _TRUSTED_MODULES, _bound_names, _is_name, _walk

if TYPE_CHECKING:
    from .plan import _Collector

_BUILTIN_NAMES = frozenset(dir(builtins))
_LIBRARY = frozenset(LIBRARY_MODULES) | frozenset(LIBRARY_CALLABLES)


def _library_names(source: str, walked: list[ast.AST], bound: Set[str]) -> frozenset[str]:
    """The test's free names that a test process binds to the library's own objects
    (``np``, ``re``, ``Counter``...; ``testproc.library_names``, over the free names the
    test process gets), whatever the program holds there. A hole read through one is not
    the program's value: the program's ``np.allclose`` or ``Counter`` would decide the
    check (and see the expected value), so such a test runs in the test process, where
    the library decides. ``walked``, ``bound``: the (possibly rewritten) test's nodes and
    the names it binds anywhere (``_bound_names``)."""
    loaded = {node.id for node in walked if isinstance(node, ast.Name) and node.id in _LIBRARY}
    if not loaded:
        return frozenset()  # most tests
    called = called_in(walked)
    if loaded.isdisjoint(LIBRARY_CALLABLES):  # module names only: the library's wherever free and not called
        return frozenset(loaded - bound - called)
    # the callables' rule needs every free name the test process gets
    from acesandbox._qtests import program_names

    try:
        names = program_names(source)
    except (SyntaxError, ValueError, RecursionError):
        return frozenset()
    return frozenset(library_names(names, called))


def _program_value(
    node: ast.AST,
    aliases: dict[str, str],
    test_names: Set[str] = frozenset(),
    library: Set[str] = frozenset(),
    data: Set[str] = frozenset(),
) -> bool:
    """Whether a hole only fetches the program's own value (a call into the program, a
    name, attribute or item of its objects): then nothing of the test's logic runs there.
    ``test_names``: names the test binds to its own values or functions (read in the
    program's process, which can overwrite them, and their code runs there). ``library``:
    free names that mean the library's object (:func:`_library_names`), never a program value."""
    names = _value_names(node, aliases, library, data, test_names)
    return names is not None and names.isdisjoint(test_names)


def _value_names(
    node: ast.AST,
    aliases: dict[str, str],
    library: Set[str] = frozenset(),
    data: Set[str] = frozenset(),
    test_names: Set[str] = frozenset(),
) -> set[str] | None:
    """The names a program value is fetched through (it is one unless one of them is a
    test name), or None where ``node`` is not only a fetch of program values. ``data``:
    the test's names bound only to literals (:func:`_data_names`). A call's arguments and
    an index are evaluated in the program's process too: each must be an input that
    decides nothing there (:func:`_argument_names`)."""
    if isinstance(node, ast.Constant):
        return set()
    if isinstance(node, ast.List) and len(node.elts) == 1 and isinstance(node.elts[0], ast.Starred):
        return _value_names(node.elts[0].value, aliases, library, data, test_names)  # [*x]: a consumed argument, listed
    if isinstance(node, ast.Name):
        if node.id in _BUILTIN_NAMES or node.id in aliases or node.id in _TRUSTED_MODULES or node.id in library:
            return None
        return {node.id}
    if isinstance(node, ast.Call):
        names = _value_names(node.func, aliases, library, data, test_names)
        for arg in (*node.args, *(k.value for k in node.keywords)):
            if names is None:
                break
            more = _argument_names(arg, aliases, library, data, test_names)
            names = None if more is None else names | more
        return names
    if isinstance(node, ast.Compare) and all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
        out: set[str] = set()  # identity: unforgeable
        for n in (node.left, *node.comparators):
            names = _value_names(n, aliases, library, data, test_names)
            if names is None:
                return None
            out |= names
        return out
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("__"):  # f.__globals__ reaches the test's own namespace
            return None
        return _value_names(node.value, aliases, library, data, test_names)
    if isinstance(node, ast.Subscript):
        if not _inert(node.slice, aliases, library, data, test_names):  # {3: 1}[f(1)] would compare there
            return None
        return _value_names(node.value, aliases, library, data, test_names)
    return None


_CALLABLE_MODULES = frozenset({
    "math", "cmath", "numpy", "pandas", "fractions", "decimal", "datetime", "string", "collections", "itertools",
    "heapq", "bisect", "statistics", "random", "re", "json", "copy", "time", "calendar", "os", "array", "struct",
})  # fmt: skip
"""Modules whose functions an input to a program call may call in the program's process:
none reaches the test's own namespace (sys, importlib, inspect, gc, builtins, pickle or
the test's module itself would)."""


def _inert(
    node: ast.AST, aliases: dict[str, str], library: Set[str], data: Set[str], test_names: Set[str]
) -> bool:
    """Whether the program's process may evaluate ``node`` without deciding anything: it
    reads only the test's literals, its imports, library names and builtins (none of the
    program's values, none of the test's code), calls only the trusted builtins, methods
    of such values and functions of :data:`_CALLABLE_MODULES`, and reaches no dunder
    attribute (``[3].index(f(1))`` or ``globals()['check']`` are not inert)."""
    for n in ast.walk(node):
        if isinstance(n, (ast.Lambda, ast.comprehension, ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom)):
            return False
        if isinstance(n, ast.Name):
            own = n.id in data or n.id in aliases or n.id in library
            if not own and (n.id not in _BUILTIN_NAMES or n.id in test_names):
                return False
        elif isinstance(n, ast.Attribute) and n.attr.startswith("__"):
            return False
        elif isinstance(n, ast.Call):
            root: ast.AST = n.func
            while isinstance(root, (ast.Attribute, ast.Call, ast.Subscript)):
                root = root.func if isinstance(root, ast.Call) else root.value
            if root is n.func:  # a bare name called
                if not (isinstance(root, ast.Name) and root.id in _TRUSTED_BUILTINS):
                    return False
            elif isinstance(root, ast.Name) and root.id in aliases:
                if aliases[root.id].split(".")[0] not in _CALLABLE_MODULES:
                    return False
            elif isinstance(root, ast.Name) and root.id not in data:
                return False  # a method of a library name or builtin: only the modules above
    return True


def _argument_names(
    node: ast.AST, aliases: dict[str, str], library: Set[str], data: Set[str], test_names: Set[str]
) -> set[str] | None:
    """The names an input to a program call reads where it is a program value (a name, or a
    fetch or call of one, itself vetted), nothing where it is :func:`_inert`, or None where
    it may decide something in the program's process: a test's own helper called there
    (``g(check(f))``, ``map(check, [f])``), or a program value compared or indexed there."""
    if _inert(node, aliases, library, data, test_names):
        return set()
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.Starred):
        return _argument_names(node.value, aliases, library, data, test_names)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict)):
        out: set[str] = set()
        parts = [*node.keys, *node.values] if isinstance(node, ast.Dict) else node.elts
        for part in parts:
            names = None if part is None else _argument_names(part, aliases, library, data, test_names)
            if names is None:
                return None
            out |= names
        return out
    return _value_names(node, aliases, library, data, test_names)


def _data_names(walked: list[ast.AST]) -> frozenset[str]:
    """The names the test binds only to literals, each binding a plain ``name = <literal>``
    (``xs = [1, 2]``): data, never the test's code, wherever the program's process reads
    them. ``walked``: the test's nodes (``_walk``)."""
    literal: dict[str, int] = {}
    stores: dict[str, int] = {}
    other: set[str] = set()
    for node in walked:
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Load):
                stores[node.id] = stores.get(node.id, 0) + 1
        elif isinstance(node, ast.Assign):
            if all(isinstance(t, ast.Name) for t in node.targets) and _literal_value(node.value) is not _NO:
                for t in node.targets:
                    assert isinstance(t, ast.Name)
                    literal[t.id] = literal.get(t.id, 0) + 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            other.add(node.name)
        elif isinstance(node, ast.arg):
            other.add(node.arg)
        elif isinstance(node, ast.alias):
            other.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            other.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            other.add(node.rest)
    return frozenset(n for n, k in literal.items() if stores.get(n) == k and n not in other)


def _test_names(
    tree: ast.AST,
    aliases: dict[str, str],
    walked: list[ast.AST] | None = None,
    bound: set[str] | None = None,
    library: Set[str] = frozenset(),
    data: Set[str] = frozenset(),
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
            names = None if _literal_value(value) is not _NO else _value_names(value, aliases, library, data)
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


def _plain_statement(
    stmt: ast.stmt,
    aliases: dict[str, str],
    library: Set[str] = frozenset(),
    test_names: Set[str] = frozenset(),
    data: Set[str] = frozenset(),
) -> bool:
    """Statements that decide nothing in the program's process: imports, definitions,
    docstrings, prints, and assignments of literals, inputs or program values to names.
    What such a statement evaluates there (a print's arguments, a def's defaults and
    annotations, a class's bases and keywords) is a program value or an input that decides
    nothing (:func:`_argument_names`): a test's own ``check(f)`` called there, ``map(check,
    [f])``, ``globals()['check'](f)`` or ``[3].index(f(1))`` would decide on the program's
    lying values. A decorator runs there, so a decorated definition is not plain; nor is a
    print the test binds itself, nor a star import, whose names the planner cannot tell
    from the program's (``from math import *`` then ``fabs(f(1) - 0.3)``)."""

    def decides_nothing(nodes: Sequence[ast.expr | None]) -> bool:
        for node in nodes:
            if node is not None:
                names = _argument_names(node, aliases, library, data, test_names)
                if names is None or not names.isdisjoint(test_names):
                    return False
        return True

    if isinstance(stmt, ast.ImportFrom):
        return all(alias.name != "*" for alias in stmt.names)
    if isinstance(stmt, (ast.Import, ast.Pass)):
        return True
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = stmt.args
        evaluated = [*a.defaults, *a.kw_defaults, stmt.returns]
        evaluated += [arg.annotation for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg) if arg is not None]
        return not stmt.decorator_list and decides_nothing(evaluated)
    if isinstance(stmt, ast.ClassDef):  # its body runs with the class statement, in the program's process
        return (
            not stmt.decorator_list
            # the class statement calls its metaclass, and a test base's __init_subclass__
            and decides_nothing([*stmt.bases, *(k.value for k in stmt.keywords)])
            and all(_plain_statement(s, aliases, library, test_names, data) for s in stmt.body)
        )
    if isinstance(stmt, ast.Expr):  # a docstring, or a print (its value decides nothing)
        value = stmt.value
        if isinstance(value, ast.Constant):
            return True
        return (
            isinstance(value, ast.Call)
            and _is_name(value.func, "print")
            and "print" not in test_names
            and decides_nothing([*value.args, *(k.value for k in value.keywords)])
        )
    if isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
        if _literal_value(stmt.value) is not _NO or _inert(stmt.value, aliases, library, data, test_names):
            return True
        return _program_value(stmt.value, aliases, test_names, library, data)
    return False


def _forgeable(collector: _Collector, statements: Sequence[ast.stmt]) -> bool:
    if not collector.checks:
        return True
    for check in collector.checks:
        for hole in check.holes:
            hole_node = parse_ast(hole, mode="eval").body
            if not _program_value(hole_node, collector.aliases, collector.test_names, collector.library, collector.data):
                return True
    return any(
        id(s) not in collector.rewritten
        and not _plain_statement(s, collector.aliases, collector.library, collector.test_names, collector.data)
        for s in statements
    )
