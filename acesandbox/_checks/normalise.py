"""Rewrites of test shapes the splitter cannot take apart: module lookups, ``all``/``any``,
comprehensions and loops over literals, a ``check(candidate)`` function called once."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from .literals import (
    _ITER_BUILDERS,
    _NO,
    _UNROLL_MAX,
    _bind_target,
    _copies_size,
    _literal_value,
    _rebinds,
    _size,
    _target_names,
)
from .names import (
    _CONSUMERS,
    _TRUSTED_MODULES,
    _TRUSTED_NAMES,
    _bound_names,
    _copy,
    _has_starred,
    _is_name,
    _resolves_to,
    _Substitute,
    _walk,
)

_UNROLL_BUDGET = 1000
"""Most elements unrolled from ``all``/``any``/comprehensions in one test, nested levels included."""


class _Normaliser(ast.NodeTransformer):
    """Rewrites shapes the splitter cannot take apart into equivalent ones it can.

    ``__import__('math')`` and ``importlib.import_module('math')`` become the module;
    ``all``/``any`` over a generator, and comprehensions, whose iterables are literals
    (or ``range``/``zip``/``enumerate`` of literals) are unrolled into one expression
    per element (``all`` into ``and``, ``any`` into ``or``: short-circuiting kept), at
    most :data:`_UNROLL_MAX` elements, and :data:`_UNROLL_BUDGET` across all levels and
    asserts of one test (``budget``: what is left; :attr:`budget` after visiting), and
    at most ``nodes`` syntax-tree nodes made (:attr:`nodes`: what is left after visiting)."""

    def __init__(
        self, trusted: frozenset[str], bound: set[str], aliases: dict[str, str], budget: int, nodes: int
    ) -> None:
        self.trusted = trusted
        self.bound = bound
        self.aliases = aliases
        self.budget = budget
        self.nodes = nodes
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
                if builder not in self.trusted and any(_is_name(n, builder) for n in _walk(gen.iter)):
                    return None
            values = _literal_value(gen.iter)
            if values is _NO or not isinstance(values, (tuple, list, str, bytes, range, dict, set, frozenset)):
                return None
            values = list(values)
            if len(values) * len(bindings) > min(_UNROLL_MAX, self.budget):
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
        made = _copies_size(parts, bindings, self.nodes)
        if made is None:
            return None
        self.budget -= len(bindings)
        self.nodes -= made
        out = []
        for b in bindings:
            done = [_Substitute({k: _copy(v) for k, v in b.items()}).visit(_copy(p)) for p in parts]
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


def _rewritable(expr: ast.AST, walked: list[ast.AST] | None = None) -> bool:
    """Whether :class:`_Normaliser` could rewrite anything in ``expr``: it only ever changes
    a comprehension or generator, or a call with one string literal (``__import__('math')``).
    Most asserts have neither, and then it would only copy and revisit them. ``walked``:
    ``_walk(expr)``, where the caller has it."""
    for node in _walk(expr) if walked is None else walked:
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return True
        if isinstance(node, ast.Call) and len(node.args) == 1 and isinstance(node.args[0], ast.Constant):
            value = node.args[0].value
            if isinstance(value, str) and value in _TRUSTED_MODULES:
                return True
    return False


class _Rename(ast.NodeTransformer):
    """Renames a function's locals (``__ace_<name>``) and puts call arguments for its
    never-rebound parameters, so its body can run as top-level test code."""

    def __init__(self, renamed: set[str], args: dict[str, ast.expr]) -> None:
        self.renamed = renamed
        self.args = args

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id in self.args and isinstance(node.ctx, ast.Load):
            return _copy(self.args[node.id])
        if node.id in self.renamed:
            return ast.copy_location(ast.Name(id=f"__ace_{node.id}", ctx=node.ctx), node)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        if node.arg in self.renamed:
            node.arg = f"__ace_{node.arg}"
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        if node.name in self.renamed:  # the definition, as well as its uses
            node.name = f"__ace_{node.name}"
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef


def _inline_check_function(tree: ast.Module) -> bool:
    """HumanEval's shape: ``def check(candidate): <asserts>`` called once, last, as
    ``check(f)``. The call is replaced by the body (parameters bound to the call's
    names, locals renamed so they touch no program global), so its asserts are checks
    judged outside the program rather than code run in its process. Returns whether it did."""
    if len(tree.body) < 2:
        return False
    call_stmt = tree.body[-1]
    if not (isinstance(call_stmt, ast.Expr) and isinstance(call_stmt.value, ast.Call)):
        return False
    call = call_stmt.value
    if not isinstance(call.func, ast.Name) or call.keywords or _has_starred(call.args):
        return False
    defs = [s for s in tree.body[:-1] if isinstance(s, ast.FunctionDef) and s.name == call.func.id]
    if len(defs) != 1:
        return False
    fn = defs[0]
    a = fn.args
    if fn.decorator_list or a.posonlyargs or a.vararg or a.kwonlyargs or a.kwarg or a.defaults:
        return False
    if len(a.args) != len(call.args) or not all(isinstance(x, (ast.Name, ast.Constant)) for x in call.args):
        return False
    uses = sum(isinstance(n, ast.Name) and n.id == fn.name for n in _walk(tree))
    if uses != 1:
        return False  # called or referenced elsewhere
    stack: list[tuple[ast.AST, bool]] = [(fn, False)]  # (node, inside a nested function or lambda)
    while stack:
        node, nested = stack.pop()
        if isinstance(node, ast.ClassDef):
            return False  # its body's names are attributes, and __ace_ names in it would be mangled
        if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom, ast.Await, ast.Global, ast.Nonlocal)):
            if not (isinstance(node, ast.Return) and nested):
                return False  # the body must run the same from top to bottom
        inner = nested or (node is not fn and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))
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
    return True


_UNROLL_MAX_STATEMENTS = 5000
_UNROLL_SCAN_NODES = 200_000
"""Most nodes :func:`_unroll_loops` walks looking for other uses of loops' targets (each
loop looks at the whole test: thousands of loops would take quadratic time); past it
the remaining loops stay loops, run in the program's process (forgeable)."""


def _unroll_loops(tree: ast.Module, nodes: int) -> int:
    """Top-level ``for`` loops over literals (or ``range``/``zip``/``enumerate`` of
    literals, at most 1,000 elements) without ``break``/``continue``/``else`` become one
    copy of the body per element, the target replaced by the element's literal; nested
    loops too. Then their asserts are required checks, and the loop no longer runs in the
    program's process (where a patched ``range`` could run it zero times). The copies
    hold at most ``nodes`` syntax-tree nodes; returns what is left of it."""
    if not any(isinstance(s, ast.For) for s in tree.body):
        return nodes  # nothing to unroll (most tests): spare the walks
    trusted = _TRUSTED_NAMES - _bound_names(tree)
    budget = _UNROLL_MAX_STATEMENTS
    scan, size = _UNROLL_SCAN_NODES, sum(_size(s) for s in tree.body)
    out: list[ast.stmt] = []
    pending = list(tree.body)
    while pending:
        stmt = pending.pop(0)
        copies = None
        if isinstance(stmt, ast.For) and size <= scan:
            scan -= size
            copies = _unrolled(stmt, [*out, *pending], trusted, budget, nodes)
        if copies is None:
            out.append(stmt)
            continue
        budget -= len(copies[0])
        nodes -= copies[1]
        size += copies[1] - _size(stmt)
        pending[:0] = copies[0]
    tree.body = out
    return nodes


def _uses(stmt: ast.stmt, names: set[str]) -> bool:
    """Whether ``stmt`` reads or writes one of ``names`` (a loop that binds it itself,
    as a sibling copy of an unrolled loop does, only in its iterable)."""
    if isinstance(stmt, ast.For):
        own = _target_names(stmt.target) or set()
        if names <= own:
            return any(isinstance(n, ast.Name) and n.id in names for n in _walk(stmt.iter))
    return any(isinstance(n, ast.Name) and n.id in names for n in _walk(stmt))


def _unrolled(
    loop: ast.For, rest: list[ast.stmt], trusted: frozenset[str], budget: int, nodes: int
) -> tuple[list[ast.stmt], int] | None:
    """The copies of ``loop``'s body and their size in nodes, or None (also where they
    would hold more than ``nodes``); ``rest`` is the test's other statements."""
    names = _target_names(loop.target)
    if names is None or loop.orelse:
        return None
    if any(isinstance(n, (ast.Break, ast.Continue)) for s in loop.body for n in _walk(s)):
        return None
    if any(_is_name(n, b) and b not in trusted for n in _walk(loop.iter) for b in _ITER_BUILDERS):
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
    bindings: list[dict[str, ast.expr]] = []
    for v in values:
        binding: dict[str, ast.expr] = {}
        if not _bind_target(loop.target, v, binding):
            return None
        bindings.append(binding)
    made = _copies_size(loop.body, bindings, nodes)
    if made is None:
        return None
    out: list[ast.stmt] = []
    for binding in bindings:
        for stmt in loop.body:
            new = _Substitute({k: _copy(e) for k, e in binding.items()}).visit(_copy(stmt))
            out.append(new)
    return out, made


def _bindings(tree: ast.AST, walked: list[ast.AST]) -> tuple[dict[str, int], set[str]]:
    """How often each name is stored or deleted, and the names bound any other way
    (definitions, parameters, imports, ``global``/``nonlocal``, handlers, patterns).
    ``walked``: ``_walk(tree)``."""
    stores: dict[str, int] = {}
    other: set[str] = set()
    for node in walked:
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] = stores.get(node.id, 0) + 1
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            other.update(node.names)
    other |= _bound_names(tree, walked=walked) - set(stores)
    for node in walked:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            other.add(node.name)
        elif isinstance(node, ast.arg):
            other.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            other.update((a.asname or a.name).split(".")[0] for a in node.names)
    return stores, other


def _fold_literals(tree: ast.Module, nodes: int, walked: list[ast.AST] | None = None) -> int:
    """``expected = [1, 2, 3]`` (a literal bound once, at top level) read only in later
    asserts, in trusted positions: those reads become the literal itself, so the template
    holds it and the program's process, which could overwrite the variable, never reads it.
    The copies hold at most ``nodes`` syntax-tree nodes (past it a name stays a hole,
    forgeable, never a host stall); returns what is left of it. ``walked``: ``_walk(tree)``,
    where the caller has it."""
    if not any(isinstance(s, ast.Assert) for s in tree.body) or not any(
        isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) for s in tree.body
    ):
        return nodes  # no literal to fold, or no assert to fold it into (most tests): spare the walks
    walked = _walk(tree) if walked is None else walked
    stores, other = _bindings(tree, walked)
    trusted = _TRUSTED_NAMES - _bound_names(tree, walked=walked)
    parents = {id(c): p for p in walked for c in ast.iter_child_nodes(p)}
    uses: dict[str, list[ast.Name]] = {}
    for n in walked:
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            uses.setdefault(n.id, []).append(n)
    in_assert = {  # id of a node in a top-level assert's test -> the assert's position
        id(n): index
        for index, s in enumerate(tree.body)
        if isinstance(s, ast.Assert)
        for n in _walk(s.test)
    }
    folded: dict[str, ast.expr] = {}
    bindings: set[int] = set()  # ids of the folded names' assignments
    budget = nodes
    for index, stmt in enumerate(tree.body):
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            continue
        name, value = stmt.targets[0].id, stmt.value
        if stores.get(name) != 1 or name in other or any(isinstance(n, ast.Name) for n in _walk(value)):
            continue
        read = uses.get(name, [])
        if not read or not all(in_assert.get(id(u), -1) > index and _only_read(u, parents, trusted) for u in read):
            continue
        size = _size(value) * len(read)
        if size > budget or _literal_value(value) is _NO:
            continue  # copies past the budget: left as a hole (forgeable), never a host stall
        budget -= size
        folded[name] = value
        bindings.add(id(stmt))
    if folded:
        for s in tree.body:
            if isinstance(s, ast.Assert):
                s.test = _Substitute(folded, copy_values=True).visit(s.test)
        # Nothing reads the names now: left in, the binding ran in the program's process,
        # whose functions read the expected value from their globals and returned it.
        tree.body = [s for s in tree.body if id(s) not in bindings]
    return budget


def _only_read(
    node: ast.AST,
    parents: dict[int, ast.AST],
    trusted: frozenset[str],
    judged_call: Callable[[ast.Call], bool] | None = None,
) -> bool:
    """Whether the value at ``node`` only reaches trusted calls and operators (no method,
    no program or test function, no ``:=``), so a fresh copy of it means the same.
    ``judged_call``: calls also allowed (a unittest ``self.assertEqual``, itself judged)."""
    child, parent = node, parents.get(id(node))
    while parent is not None and not isinstance(parent, ast.stmt):
        if isinstance(parent, (ast.Attribute, ast.NamedExpr, ast.Lambda, ast.Starred)):
            return False
        if isinstance(parent, ast.Call) and child is not parent.func:
            func = parent.func
            judged = judged_call is not None and judged_call(parent)
            if not ((isinstance(func, ast.Name) and func.id in trusted) or _is_module_call(func) or judged):
                return False
        if isinstance(parent, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return False
        child, parent = parent, parents.get(id(parent))
    return True


def _is_module_call(func: ast.expr) -> bool:
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in _TRUSTED_MODULES


def _fold_self_attributes(tree: ast.Module, nodes: int, assert_methods: frozenset[str]) -> int:
    """unittest's ``self.expected = [1, 2, 3]`` (a literal assigned once, at the top of
    ``setUp``, never stored or named elsewhere) read only in the checks of test methods,
    in trusted positions: those reads become the literal, as :func:`_fold_literals` does
    for names, so the program cannot overwrite the attribute before its hole is read.
    Copies past ``nodes`` are not made (the read stays a forgeable hole); returns what is
    left of it. ``assert_methods``: the ``self.assertX`` calls the planner judges."""
    trusted = _TRUSTED_NAMES - _bound_names(tree)
    derived = {b.id for c in _walk(tree) if isinstance(c, ast.ClassDef) for b in c.bases if isinstance(b, ast.Name)}
    strings = {n.value for n in _walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    parents = {id(c): p for p in _walk(tree) for c in ast.iter_child_nodes(p)}
    for cls in tree.body:
        if isinstance(cls, ast.ClassDef) and cls.name not in derived:
            nodes = _fold_class_attributes(cls, nodes, trusted, strings, parents, assert_methods)
    return nodes


def _self_name(method: ast.stmt) -> str | None:
    if not isinstance(method, ast.FunctionDef) or method.decorator_list:
        return None
    params = [*method.args.posonlyargs, *method.args.args]
    return params[0].arg if params else None


def _fold_class_attributes(
    cls: ast.ClassDef,
    nodes: int,
    trusted: frozenset[str],
    strings: set[str],
    parents: dict[int, ast.AST],
    assert_methods: frozenset[str],
) -> int:
    setups = [m for m in cls.body if isinstance(m, ast.FunctionDef) and m.name == "setUp"]
    me = _self_name(setups[0]) if len(setups) == 1 else None
    if me is None:
        return nodes
    values: dict[str, ast.expr] = {}
    twice: set[str] = set()
    targets: set[int] = set()
    for stmt in setups[0].body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Attribute):
            target, value = stmt.targets[0], stmt.value
            if not _is_name(target.value, me) or any(isinstance(n, ast.Name) for n in _walk(value)):
                continue
            if _literal_value(value) is not _NO:
                (twice if target.attr in values else set()).add(target.attr)
                values[target.attr] = value
                targets.add(id(target))
    # Named any other way (stored or deleted elsewhere, a class attribute or local, a string
    # that getattr/setattr could use), or assigned twice: left alone.
    bound = _bound_names(cls)
    named = {
        n.attr
        for n in _walk(cls)
        if isinstance(n, ast.Attribute) and not isinstance(n.ctx, ast.Load) and id(n) not in targets
    }
    for name in [*values]:
        if name in twice or name in named or name in strings or name in bound:
            del values[name]
    reads: dict[str, list[ast.Attribute]] = {name: [] for name in values}
    for method in cls.body:
        own = _self_name(method)
        test = isinstance(method, ast.FunctionDef) and method.name.startswith("test") and own is not None
        if isinstance(method, ast.FunctionDef) and own in _bound_names(ast.Module(body=method.body, type_ignores=[])):
            test = False  # self rebound: its attributes are another object's
        for node in _walk(method):
            if not (isinstance(node, ast.Attribute) and node.attr in reads and id(node) not in targets):
                continue
            if (
                test
                and isinstance(method, ast.FunctionDef)
                and own is not None
                and _is_name(node.value, own)
                and _in_check(node, method, own, parents, trusted, assert_methods)
            ):
                reads[node.attr].append(node)
            else:
                values.pop(node.attr, None)
    folded: dict[int, ast.expr] = {}
    gone: set[str] = set()  # the attributes folded
    for name, value in values.items():
        size = _size(value) * len(reads[name])
        if not reads[name] or size > nodes:
            continue
        nodes -= size
        folded.update((id(r), value) for r in reads[name])
        gone.add(name)
    if folded:
        _ReplaceNodes(folded).visit(cls)
        # Nothing reads them now: left in, setUp ran in the program's process, where a
        # program function found the expected value on the caller's ``self`` and returned it.
        setup = setups[0]
        kept = [s for s in setup.body if not (isinstance(s, ast.Assign) and _set_attribute(s, targets) in gone)]
        setup.body = kept or [ast.copy_location(ast.Pass(), setup.body[0])]
    return nodes


def _set_attribute(stmt: ast.Assign, targets: set[int]) -> str | None:
    """The attribute ``stmt`` sets, where it is one of the ``targets`` (ids of nodes)."""
    target = stmt.targets[0] if len(stmt.targets) == 1 else None
    return target.attr if isinstance(target, ast.Attribute) and id(target) in targets else None


def _in_check(
    node: ast.AST,
    method: ast.FunctionDef,
    me: str,
    parents: dict[int, ast.AST],
    trusted: frozenset[str],
    assert_methods: frozenset[str],
) -> bool:
    """Whether ``node`` is read, in trusted positions only, by an ``assert`` or a judged
    ``self.assertX(...)`` statement directly in ``method``'s body."""

    def judged(call: ast.Call) -> bool:
        func = call.func
        return isinstance(func, ast.Attribute) and _is_name(func.value, me) and func.attr in assert_methods

    stmt = parents.get(id(node))
    while stmt is not None and not isinstance(stmt, ast.stmt):
        stmt = parents.get(id(stmt))
    if stmt is None or not any(s is stmt for s in method.body):
        return False
    call = stmt.value if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) else None
    if not (isinstance(stmt, ast.Assert) or (call is not None and judged(call))):
        return False
    return _only_read(node, parents, trusted, judged)


class _ReplaceNodes(ast.NodeTransformer):
    """Replaces the nodes with the given ids by fresh copies of their expressions."""

    def __init__(self, by_id: dict[int, ast.expr]) -> None:
        self.by_id = by_id

    def visit(self, node: ast.AST) -> Any:
        if id(node) in self.by_id:
            return _copy(self.by_id[id(node)])
        return super().visit(node)
