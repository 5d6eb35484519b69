"""Whether part of a plan's verdict is reached in the program's process (:attr:`Plan.forgeable`)."""

from __future__ import annotations

import ast
import builtins
from collections.abc import Sequence, Set
from typing import TYPE_CHECKING

from acesandbox._sandbox.testproc import (
    LIBRARY_CALLABLES,
    LIBRARY_MODULES,
    called_in,
    library_names,
)

from .literals import _NO, _literal_value
from .names import _TRUSTED_MODULES, _bound_names, _is_name, _walk

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
    names = _value_names(node, aliases, library, data)
    return names is not None and names.isdisjoint(test_names)


def _value_names(
    node: ast.AST, aliases: dict[str, str], library: Set[str] = frozenset(), data: Set[str] = frozenset()
) -> set[str] | None:
    """The names a program value is fetched through (it is one unless one of them is a
    test name), or None where ``node`` is not only a fetch of program values. ``data``:
    the test's names bound only to literals (:func:`_data_names`)."""
    if isinstance(node, ast.Constant):
        return set()
    if isinstance(node, ast.List) and len(node.elts) == 1 and isinstance(node.elts[0], ast.Starred):
        return _value_names(node.elts[0].value, aliases, library, data)  # [*x]: a consumed argument, listed
    if isinstance(node, ast.Name):
        if node.id in _BUILTIN_NAMES or node.id in aliases or node.id in _TRUSTED_MODULES or node.id in library:
            return None
        return {node.id}
    if isinstance(node, ast.Call):
        # The arguments are evaluated in the program's process too: a name of the test's own
        # code they read counts (``check(f)``, or ``map(check, [f])``, there would run its
        # asserts on the program's values); the test's literals and its imports only feed
        # the program's call.
        names = _value_names(node.func, aliases, library, data)
        if names is not None:
            names |= _read_names([*node.args, *(k.value for k in node.keywords)]) - aliases.keys() - data
        return names
    if isinstance(node, ast.Compare) and all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
        out: set[str] = set()  # identity: unforgeable
        for n in (node.left, *node.comparators):
            names = _value_names(n, aliases, library, data)
            if names is None:
                return None
            out |= names
        return out
    if isinstance(node, (ast.Attribute, ast.Subscript)):
        return _value_names(node.value, aliases, library, data)
    return None


def _read_names(nodes: Sequence[ast.AST | None]) -> set[str]:
    """Every name ``nodes`` read, anywhere inside them (lambdas and comprehensions included)."""
    return {n.id for node in nodes if node is not None for n in ast.walk(node) if isinstance(n, ast.Name)}


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
    docstrings, prints, and assignments of literals or program values to names. What such
    a statement evaluates there (a print's arguments, a def's defaults and annotations, a
    class's bases) reads no name of the test's own code (``test_names`` less its imports
    and ``data``, its literals): a test's own ``check(f)`` called there, or ``map(check,
    [f])``, would run its asserts on the program's lying values. A decorator runs there, so a
    decorated definition is not plain; nor is a star import, whose names the planner
    cannot tell from the program's (``from math import *`` then ``fabs(f(1) - 0.3)``)."""
    code = test_names - aliases.keys() - data  # the test's own functions, classes, lambdas, computed values
    if isinstance(stmt, ast.ImportFrom):
        return all(alias.name != "*" for alias in stmt.names)
    if isinstance(stmt, (ast.Import, ast.Pass)):
        return True
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = stmt.args
        evaluated = [*a.defaults, *a.kw_defaults, stmt.returns]
        evaluated += [arg.annotation for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg) if arg is not None]
        return not stmt.decorator_list and _read_names(evaluated).isdisjoint(code)
    if isinstance(stmt, ast.ClassDef):  # its body runs with the class statement, in the program's process
        return (
            not stmt.decorator_list
            # the class statement calls its metaclass, and a test base's __init_subclass__
            and _read_names([*stmt.bases, *(k.value for k in stmt.keywords)]).isdisjoint(code)
            and all(_plain_statement(s, aliases, library, test_names, data) for s in stmt.body)
        )
    if isinstance(stmt, ast.Expr):  # a docstring, or a print (its value decides nothing)
        value = stmt.value
        if isinstance(value, ast.Constant):
            return True
        return (
            isinstance(value, ast.Call)
            and _is_name(value.func, "print")
            and _read_names([*value.args, *(k.value for k in value.keywords)]).isdisjoint(code)
        )
    if isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
        if _literal_value(stmt.value) is not _NO:
            return True
        return _program_value(stmt.value, aliases, test_names, library, data)
    return False


def _forgeable(collector: _Collector, statements: Sequence[ast.stmt]) -> bool:
    if not collector.checks:
        return True
    for check in collector.checks:
        for hole in check.holes:
            hole_node = ast.parse(hole, mode="eval").body
            if not _program_value(hole_node, collector.aliases, collector.test_names, collector.library, collector.data):
                return True
    return any(
        id(s) not in collector.rewritten
        and not _plain_statement(s, collector.aliases, collector.library, collector.test_names, collector.data)
        for s in statements
    )
