"""Tests judged whole in a test process Q (host side): what Q needs, and its verdict read.

A test whose shape the splitter cannot take apart (``Plan.forgeable``) is not run in the
program's process: its source runs in a test process Q inside the sandbox, forked by
the sandbox's server (which never runs program code), and only calls into the program
cross, by value (see ``acesandbox/_sandbox/testproc.py``). The source travels to the
sandbox apart from the job, so that no process of the program can find it in memory
it inherited from the server. Only Q's verdict comes back; the host parses it bounded.
"""

from __future__ import annotations

import ast
import builtins
import json
import signal
from typing import Any

from . import _wire
from .syntax import parse as parse_ast

__all__ = ["program_names", "q_verdict"]

_BUILTINS = frozenset(dir(builtins))
_MAX_VERDICT = 1 << 16


def _module_bound(tree: ast.Module) -> set[str]:
    """Names the test binds at module level (its globals), in any statement there."""
    bound: set[str] = set()

    def targets(node: ast.AST) -> None:
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
                bound.add(n.id)

    def visit(stmts: list[ast.stmt]) -> None:
        for stmt in stmts:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(stmt.name)
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                for alias in stmt.names:
                    bound.add((alias.asname or alias.name).split(".")[0])
            elif isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                for t in stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]:
                    targets(t)
            elif isinstance(stmt, (ast.For, ast.AsyncFor)):
                targets(stmt.target)
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                for item in stmt.items:
                    if item.optional_vars is not None:
                        targets(item.optional_vars)
            elif isinstance(stmt, ast.Try):
                for h in stmt.handlers:
                    if h.name:
                        bound.add(h.name)
                    visit(h.body)
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list) and not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    visit(inner)

    visit(tree.body)
    for n in ast.walk(tree):  # walrus targets and global declarations bind module names too
        if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name):
            bound.add(n.target.id)
        elif isinstance(n, ast.Global):
            bound.update(n.names)
    return bound


def _scope_bound(node: ast.AST) -> set[str]:
    """Names a function, lambda or comprehension binds in its own scope."""
    bound: set[str] = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = node.args
        bound.update(x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg) if x is not None)
        body: list[ast.AST] = list(node.body) if isinstance(node.body, list) else [node.body]
    else:  # a comprehension: its targets
        assert isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp))
        body = []
        for gen in node.generators:
            bound.update(n.id for n in ast.walk(gen.target) if isinstance(n, ast.Name))
    stack = list(body)
    while stack:  # bindings in this scope, not in nested ones
        n = stack.pop()
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            bound.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(n.name)
            continue
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in n.names)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            bound.add(n.name)
        if isinstance(n, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        stack.extend(ast.iter_child_nodes(n))
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        declared = {x for n in ast.walk(node) if isinstance(n, (ast.Global, ast.Nonlocal)) for x in n.names}
        bound -= declared
    return bound


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _free_loads(tree: ast.AST) -> set[str]:
    """Names loaded anywhere in ``tree`` that no enclosing function scope binds (iterative:
    a test's expression may nest thousands deep)."""
    out: set[str] = set()
    stack: list[tuple[ast.AST, frozenset[str]]] = [(tree, frozenset())]
    while stack:
        node, outer = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _SCOPES):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                    # defaults and decorators are evaluated in the enclosing scope
                    outside = [*child.args.defaults, *(d for d in child.args.kw_defaults if d is not None)]
                    outside += getattr(child, "decorator_list", [])
                    for d in outside:
                        if isinstance(d, ast.Name):
                            out.update([d.id] if d.id not in outer else [])
                        else:
                            stack.append((d, outer))
                stack.append((child, outer | _scope_bound(child)))
            elif isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
                if child.id not in outer:
                    out.add(child.id)
            else:
                stack.append((child, outer))
    return out


def program_names(source: str) -> tuple[str, ...]:
    """The names a test reads that neither its module level nor the function reading them
    binds, and that are not builtins: the program's functions, classes and values it uses,
    fetched from the program's process when the test starts (a name the program lacks
    stays unbound, a NameError where the test reads it)."""
    tree = parse_ast(source, "<test>")
    return tuple(sorted(_free_loads(tree) - _module_bound(tree) - _BUILTINS))


_STATUS = {"fail": "failed", "error": "error", "crashed": "crashed", "memory": "memory", "strict": "failed"}


def q_verdict(raw: dict[str, Any]) -> tuple[str, str] | None:
    """Q's verdict in a raw result as (verdict, message), or None when Q gave none."""
    text = raw.get("q")
    if not isinstance(text, str) or not text or len(text) > _MAX_VERDICT:
        return None
    try:
        _wire.check_depth(text.encode("utf-8", "surrogatepass"), 8)
        verdict = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(verdict, dict):
        return None
    v = verdict.get("v")
    if v not in ("pass", *_STATUS):
        return None
    msg = verdict.get("msg", "")
    return str(v), msg[:4000] if isinstance(msg, str) else ""


def q_death(raw: dict[str, Any]) -> tuple[str, str]:
    """Why Q gave no verdict: (status name, message)."""
    qw = raw.get("qw")
    if type(qw) is int and 0 < qw <= 0xFFFF:
        sig = qw & 0x7F
        if sig == signal.SIGXCPU:
            return "timeout", "the test's own code exceeded the CPU time limit"
        if sig:
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = f"signal {sig}"
            return "crashed", f"the test process was killed ({name})"
    return "crashed", "the test process ended without a verdict"
