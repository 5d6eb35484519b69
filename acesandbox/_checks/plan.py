"""Planning: rewrite an assert test or a unittest test into sandbox code that reports checks."""

from __future__ import annotations

import ast
import dataclasses
import functools
import re
import unittest
from collections.abc import Callable, Sequence
from typing import Any

from acesandbox._spec import Limits
from acesandbox.errors import InvalidJobError, TestSyntaxError

from .data import CHECK_FUNCTION, Check, Plan
from .forgeable import _data_names, _forgeable, _library_names, _plain_statement, _test_names
from .host import _compile_template
from .literals import _NO, _literal_value
from ..syntax import parse as parse_ast
from .names import (
    _TRUSTED_NAMES,
    _binders,
    _copy,
    _has_starred,
    _import_aliases,
    _is_name,
    _resolves_to,
    _Substitute,
    _walk,
)
from .normalise import (
    _UNROLL_BUDGET,
    _fold_literals,
    _fold_self_attributes,
    _inline_check_function,
    _Normaliser,
    _rewritable,
    _unroll_loops,
)
from .split import _Splitter


def _load(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


def _check_call(ci: int, values: list[ast.expr]) -> ast.Call:
    return ast.Call(func=_load(CHECK_FUNCTION), args=[ast.Constant(ci), ast.Tuple(values, ast.Load())], keywords=[])


class _Collector:
    """Numbers checks and turns a split assertion into sandbox statements."""

    def __init__(self, source: str, tree: ast.AST, nodes: int, walked: list[ast.AST] | None = None) -> None:
        walked = _walk(tree) if walked is None else walked  # ``_walk(tree)``, where the caller has it
        self.source = source
        other, imported, imports = _binders(walked)
        self.bound = other | imported  # _bound_names(tree)
        self.trusted = _TRUSTED_NAMES - self.bound
        self.aliases = _import_aliases(tree, walked, other) if imports else {}
        self.checks: list[Check] = []
        self.top_level: set[int] = set()  # ids of statements that always run when the test completes
        self.required: list[int] = []
        self.rewritten: set[int] = set()  # ids of statements turned into checks
        self.library = _library_names(source, walked, self.bound)  # free names the test process binds to the library
        self.data = _data_names(walked)  # the test's names bound only to literals
        self.test_names = _test_names(tree, self.aliases, walked, self.bound, self.library, self.data)  # read in a hole: forgeable
        self.unroll_budget = _UNROLL_BUDGET
        self.nodes = nodes  # syntax-tree nodes the normaliser may still make in this test
        self.written: dict[int, tuple[ast.stmt, str]] = {}  # id -> a check statement made, and its source
        self.plain = not _rewritable(tree, walked)  # then no assert in it needs the normaliser
        self.lines: list[str] | None = None  # the source's lines, split once  # elements the normaliser may still unroll in this test

    def emit(self, stmt: ast.stmt, sp: _Splitter, template: ast.expr) -> list[ast.stmt]:
        ci = len(self.checks)
        self.rewritten.add(id(stmt))
        if id(stmt) in self.top_level:
            self.required.append(ci)
        text = self.segment(stmt) or ast.unparse(stmt)
        template_src = ast.unparse(template)
        _compile_template(template_src)  # fail at planning time, not at judging time
        holes = tuple(ast.unparse(h) for h in sp.holes)
        self.checks.append(Check(source=text, template=template_src, holes=holes, lazy=tuple(sp.lazy)))
        # Each hole goes into the sandbox code as its text, not unparsed a second time: a
        # name whose "identifier" is that text unparses to it, and every place a hole goes
        # (a tuple's item, an assignment's value) unparses it as ast.unparse(hole) does.
        placed: list[ast.expr] = [_load(h) for h in holes]
        if not sp.lazy:
            call = ast.copy_location(ast.Expr(_check_call(ci, placed)), stmt)
            # what ast.unparse writes for it (a tuple of one item keeps its comma)
            args = f"{holes[0]}," if len(holes) == 1 else ", ".join(holes)
            self.written[id(call)] = (call, f"{CHECK_FUNCTION}({ci}, ({args}))")
            return [call]
        # Conditional holes are evaluated in order into temporaries; one that raises becomes ().
        out: list[ast.stmt] = []
        for i, h in enumerate(placed):
            var = f"__ace_h{i}__"
            if i in sp.lazy:
                code = f"try:\n    {var} = (_,)\nexcept Exception:\n    {var} = ()"
            else:
                code = f"{var} = _"
            out.append(_Substitute({"_": h}).visit(parse_ast(code).body[0]))
        out.append(ast.Expr(_check_call(ci, [_load(f"__ace_h{i}__") for i in range(len(sp.holes))])))
        return [ast.copy_location(s, stmt) for s in out]

    def segment(self, node: ast.stmt) -> str | None:
        """``ast.get_source_segment``, without splitting the whole source again per
        statement (that made a test of thousands of asserts take minutes to plan)."""
        if self.lines is None:
            self.lines = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", self.source)
        lines, end = self.lines, node.end_lineno
        if end is None or node.end_col_offset is None or end > len(lines):
            return None
        start, first_col, last_col = node.lineno - 1, node.col_offset, node.end_col_offset
        if start == end - 1:
            return lines[start].encode()[first_col:last_col].decode()
        first = lines[start].encode()[first_col:].decode()
        last = lines[end - 1].encode()[:last_col].decode()
        return "".join([first, *lines[start + 1 : end - 1], last])

    def split(self, expr: ast.expr, *, helpers: bool = False, plain: bool = False) -> tuple[_Splitter, ast.expr]:
        """Normalise ``expr`` and split it; where a module name put in by the normaliser
        would land in a hole (a sandbox-side expression), split the original instead.
        ``plain``: ``expr`` is known to hold nothing the normaliser rewrites."""
        if plain or not _rewritable(expr):  # the normaliser would change nothing: split the original
            sp = _Splitter(self.trusted, helpers=helpers)
            return sp, sp.build(expr, False)
        norm = _Normaliser(self.trusted, self.bound, self.aliases, self.unroll_budget, self.nodes)
        sp = _Splitter(self.trusted, helpers=helpers)
        template = sp.build(norm.visit(_copy(expr)), False)
        self.unroll_budget, self.nodes = norm.budget, norm.nodes
        if norm.introduced and any(id(n) in norm.introduced for h in sp.holes for n in _walk(h)):
            sp = _Splitter(self.trusted, helpers=helpers)
            template = sp.build(expr, False)
        return sp, template

    def assert_stmt(self, node: ast.Assert) -> list[ast.stmt]:
        """``assert test, msg``: the message is dropped, never evaluated."""
        sp, template = self.split(node.test, plain=self.plain)  # a part of the tree walked
        return self.emit(node, sp, template)

    def unittest_call(self, node: ast.Expr, call: ast.Call) -> list[ast.stmt] | None:
        """``<case>.assertX(...)`` as the equivalent check, or None for a call it cannot bind."""
        assert isinstance(call.func, ast.Attribute)
        form, params = _UNITTEST_METHODS[call.func.attr]
        args = _bind(call, params.split())
        if args is None:
            return None
        expr = _Substitute(args).visit(parse_ast(form, mode="eval").body)
        sp, template = self.split(expr, helpers=True)
        return self.emit(node, sp, template)


_DEFAULT_NODES = Limits().test_nodes


def _parse(source: str, max_nodes: int) -> tuple[ast.Module, int, list[ast.AST]]:
    """The test's tree, how many more nodes planning may make (``max_nodes`` less its
    size) and its nodes (``_walk``). Planning costs tens of microseconds per node on the host, so a larger test
    is refused before any of it is planned (a client of the reward server could stall it)."""
    try:
        tree = parse_ast(source, "<test>")
    except SyntaxError as e:
        raise TestSyntaxError(f"test does not parse: line {e.lineno}: {e.msg}") from None
    except ValueError as e:  # null bytes, on Python < 3.12
        raise TestSyntaxError(f"test does not parse: line 1: {e}") from None
    walked = _walk(tree, max_nodes)
    if len(walked) > max_nodes:
        raise InvalidJobError(
            f"test has more than {max_nodes:,} syntax-tree nodes, the most planned on the host "
            "(Limits.test_nodes): split it into several tests, or raise the limit"
        )
    return tree, max_nodes - len(walked), walked


_LOCATIONS = ("lineno", "col_offset", "end_lineno", "end_col_offset")


def _fix_missing_locations(tree: ast.AST) -> None:
    """``ast.fix_missing_locations`` without a recursive call per node (``ast.unparse``
    reads a statement's ``lineno``; the nodes planning made have none)."""
    stack: list[tuple[ast.AST, tuple[int, int, int, int]]] = [(tree, (1, 0, 1, 0))]
    while stack:
        node, inherited = stack.pop()
        if "lineno" in node._attributes:  # then all four (statements, expressions, arguments...)
            own, fixed = node.__dict__, []
            for name, parent in zip(_LOCATIONS, inherited):
                value = own.get(name)
                if value is None:  # missing (or None): the parent's
                    own[name] = value = parent
                fixed.append(value)
            inherited = (fixed[0], fixed[1], fixed[2], fixed[3])
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, ast.AST):
                stack.append((value, inherited))
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        stack.append((item, inherited))


def _finish(tree: ast.Module, collector: _Collector, statements: Sequence[ast.stmt] = ()) -> Plan:
    forgeable = _forgeable(collector, statements)
    written = collector.written
    if tree.body and all(written.get(id(s), (None, ""))[0] is s for s in tree.body):
        code = "\n".join(written[id(s)][1] for s in tree.body)  # only checks (most tests): as ast.unparse writes them
    else:
        try:
            code = ast.unparse(tree)  # of locations, it reads only the lineno of an assignment, loop, with or def
        except AttributeError:  # one that planning made (a check function's parameters) has none
            _fix_missing_locations(tree)
            code = ast.unparse(tree)
    try:
        compile(code, "<test>", "exec", dont_inherit=True)
    except SyntaxError as e:
        raise TestSyntaxError(f"test does not compile: line {e.lineno} of the rewritten test: {e.msg}") from None
    checks, required = tuple(collector.checks), tuple(collector.required)
    return Plan(sandbox_code=code, checks=checks, required=required, last=_last_check(tree, written), forgeable=forgeable)


def _last_check(tree: ast.Module, written: dict[int, tuple[ast.stmt, str]]) -> int:
    """The index of the check call planning wrote as the test's last statement, or -1
    (read off the rewritten tree: parsing the code again would build a second tree in the
    host, and CPython 3.11's tree builder keeps its recursion depth per interpreter, not per
    thread, so two threads planning at once could fail it with a SystemError)."""
    if not tree.body:
        return -1
    stmt = tree.body[-1]
    if written.get(id(stmt), (None, ""))[0] is not stmt or not isinstance(stmt, ast.Expr):
        return -1
    call = stmt.value
    if isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Constant) and type(call.args[0].value) is int:
        return call.args[0].value
    return -1


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


def _rewrite_errors(plan: Callable[[str, int], Plan]) -> Callable[..., Plan]:
    """A test that cannot be written back (``ast.unparse`` of an int literal over Python's
    digit limit raises ValueError) or nests too deeply for the parser or the planner's
    recursive walks is an invalid job, not a sandbox error."""

    @functools.wraps(plan)
    def wrapper(source: str, max_nodes: int = _DEFAULT_NODES) -> Plan:
        try:
            return plan(source, max_nodes)
        except InvalidJobError:
            raise
        except ValueError as e:
            raise InvalidJobError(f"test cannot be rewritten into checks: {e}") from None
        except RecursionError:  # a chain of thousands of operators parses, but nests too deep to walk
            raise InvalidJobError("test nests too deeply to be planned (a chain of thousands of operators?)") from None

    return wrapper


@_rewrite_errors
def plan_assert_test(source: str, max_nodes: int = _DEFAULT_NODES) -> Plan:
    """Rewrite every top-level-flow ``assert`` in ``source`` into a judged check, handling
    at most ``max_nodes`` syntax-tree nodes (``Limits.test_nodes``), copies included."""
    tree, spare, walked = _parse(source, max_nodes)
    # Each pass walks the tree; while none has changed it, they share the parse's walk.
    body = tree.body
    changed = _inline_check_function(tree)
    spare = _unroll_loops(tree, spare)
    changed = changed or tree.body is not body
    before = spare
    spare = _fold_literals(tree, spare, None if changed else walked)
    changed = changed or spare != before  # a fold makes at least one node
    collector = _Collector(source, tree, spare, None if changed else walked)
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
_JUDGED_METHODS = frozenset(_UNITTEST_METHODS) - {"assertIs", "assertIsNot"}
"""Calls a folded ``self.<attr>`` literal may reach (identity would differ on a copy)."""


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


@_rewrite_errors
def plan_unittest(source: str, max_nodes: int = _DEFAULT_NODES) -> Plan:
    """Rewrite ``self.assertX(...)`` calls (and asserts) in TestCase methods into judged
    checks, handling at most ``max_nodes`` syntax-tree nodes (``Limits.test_nodes``)."""
    tree, spare, walked = _parse(source, max_nodes)
    before = spare
    spare = _fold_self_attributes(tree, spare, _JUDGED_METHODS)
    collector = _Collector(source, tree, spare, walked if spare == before else None)  # a fold makes nodes
    classes = [cls for cls in tree.body if isinstance(cls, ast.ClassDef)]
    methods = [
        method
        for cls in classes
        for method in cls.body
        if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) and method.name.startswith("test")
    ]
    # A decorated test method's asserts are required and its statements judged like any
    # other's: left out, a program raising unittest.SkipTest from a call skipped the method
    # (neither an error nor a failure) and passed. ``@patch(...)`` still runs the method
    # once; any other decorator (skip, expectedFailure, the test's own) or an async method
    # may not run it as written: such a test runs whole in a test process.
    other = any(
        not _patch_decorator(d, collector.aliases)
        for node in (*classes, *methods)
        for d in node.decorator_list
    ) or any(isinstance(m, ast.AsyncFunctionDef) for m in methods)
    statements = [stmt for method in methods for stmt in method.body]
    outside = _decides_outside(tree, collector.aliases, collector.library, collector.test_names, collector.data)
    collector.top_level = {id(stmt) for stmt in statements}
    _UnittestRewriter(collector).visit(tree)
    settings = {id(stmt) for method in methods for stmt in _mock_settings(method, collector.aliases)}
    plan = _finish(tree, collector, [s for s in statements if id(s) not in settings])
    # A check outside a test method's top level (in setUp, a helper) is required by none:
    # a program that patched unittest's TestCase._callSetUp ran the methods without it.
    other = other or len(plan.required) != len(plan.checks) or outside
    return dataclasses.replace(plan, forgeable=True) if other else plan


@functools.cache
def _implicit() -> tuple[frozenset[str], frozenset[str]]:
    """Methods unittest (or Python) calls without the test naming them (setUp, setUpClass,
    tearDown, dunders...), and of those the ones called, not maxDiff or failureException
    (``setUp = check`` decides). Made at the first unittest test: IsolatedAsyncioTestCase
    imports asyncio, 25 ms of every run's start for tests that are plain asserts."""
    case = unittest.IsolatedAsyncioTestCase
    implicit = frozenset(n for n in {*dir(unittest.TestCase), *dir(case)} if not n.startswith("test"))
    called = frozenset(n for n in implicit if not isinstance(v := getattr(case, n), type) and callable(v))
    return implicit, called


def _decides_outside(
    tree: ast.Module, aliases: dict[str, str], library: frozenset[str], test_names: frozenset[str], data: frozenset[str]
) -> bool:
    """Whether code the test runs outside its test methods (module level, class bodies,
    setUp, setUpClass, tearDown and other methods unittest calls itself) does more than
    plain statements and ``self.x = <literal or program value>``: unlike a test method's
    statements it was never vetted, and an ``if f(0) != 1: self.fail()`` there compared
    the program's value in the program's process (a forged ``__ne__`` passed).
    setUpModule/tearDownModule count too, and so do a class's bases and keywords."""

    def plain(stmt: ast.stmt, me: str | None = None) -> bool:
        if (
            me is not None
            and isinstance(stmt, ast.Assign)
            and all(isinstance(t, ast.Attribute) and _is_name(t.value, me) for t in stmt.targets)
        ):
            stmt = ast.Assign(targets=[ast.Name("_", ast.Store())], value=stmt.value)
        return _plain_statement(stmt, aliases, library, test_names, data)

    implicit, called = _implicit()

    def class_decides(cls: ast.ClassDef) -> bool:
        # bases run with the class statement: class T(base(f(0) == 1)) decided there
        if not all(_dotted(b) for b in [*cls.bases, *(k.value for k in cls.keywords)]):
            return True
        for m in cls.body:
            if isinstance(m, ast.ClassDef):  # its body runs with the class statement
                if class_decides(m):
                    return True
            elif isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if m.name in implicit or (m.name.startswith("__") and m.name.endswith("__")):
                    params = [*m.args.posonlyargs, *m.args.args]
                    me = params[0].arg if params else None
                    if not all(plain(s, me) for s in m.body):
                        return True
            elif not plain(m) or _binds(m, called.__contains__):
                return True  # setUp = check: unittest calls it as it calls a def setUp
        return False

    for stmt in tree.body:
        if isinstance(stmt, ast.If) and ast.unparse(stmt.test) in ("__name__ == '__main__'", "'__main__' == __name__"):
            continue  # unittest.main() where the test is run as a script: not here
        if isinstance(stmt, ast.ClassDef):
            if class_decides(stmt):
                return True
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name in _MODULE_HOOKS:
            if not all(plain(s) for s in stmt.body):  # unittest calls them, as setUpClass
                return True
        elif not plain(stmt) or _binds(stmt, _MODULE_HOOKS.__contains__):
            return True
    return False


def _binds(stmt: ast.stmt, hook: Callable[[str], bool]) -> bool:
    """Whether an assignment binds a name unittest calls (``setUpModule = check``)."""
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
    return any(isinstance(n, ast.Name) and hook(n.id) for t in targets if t is not None for n in ast.walk(t))


_MODULE_HOOKS = ("setUpModule", "tearDownModule")


def _dotted(node: ast.expr) -> bool:
    """A name or a dotted name (unittest.TestCase): a base class that runs nothing."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def _mock_settings(method: ast.FunctionDef | ast.AsyncFunctionDef, aliases: dict[str, str]) -> list[ast.stmt]:
    """A ``@patch``-decorated method's ``mock_x.return_value = <literal>`` statements: they
    set up a mock the decorator passed in and decide nothing (BigCodeBench's tests)."""
    if not method.decorator_list or not all(_patch_decorator(d, aliases) for d in method.decorator_list):
        return []
    params = {a.arg for a in [*method.args.posonlyargs, *method.args.args][1:]}
    out: list[ast.stmt] = []
    for stmt in method.body:
        if isinstance(stmt, ast.Assign) and _literal_value(stmt.value) is not _NO:
            roots = []
            for target in stmt.targets:
                if not isinstance(target, ast.Attribute):
                    break
                while isinstance(target, ast.Attribute):
                    target = target.value
                roots.append(target)
            else:
                if all(isinstance(r, ast.Name) and r.id in params for r in roots):
                    out.append(stmt)
    return out


_PATCHERS = tuple(f"unittest.mock.patch{a}" for a in ("", ".object", ".dict", ".multiple"))


def _patch_decorator(node: ast.expr, aliases: dict[str, str]) -> bool:
    """``@patch(...)`` (``.object``, ``.dict``, ``.multiple``) of unittest.mock: the
    decorated method runs once, with its mocks."""
    return isinstance(node, ast.Call) and any(_resolves_to(node.func, p, aliases) for p in _PATCHERS)


# -- judging (parent) --------------------------------------------------------------------
