"""acesandbox.syntax: the host builds one syntax tree at a time (CPython 3.11's tree builder
keeps its recursion depth per interpreter: two threads at once could fail one)."""

from __future__ import annotations

import ast
import threading
import time

import pytest

from acesandbox import syntax
from acesandbox._checks import plan_assert_test


def test_trees_are_built_one_at_a_time_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    inside, overlaps = [0], [0]
    real = ast.parse

    def slow_parse(*args: object, **kwargs: object) -> ast.AST:
        inside[0] += 1
        if inside[0] > 1:
            overlaps[0] += 1
        time.sleep(0.002)  # lets the other threads run, as a finalizer mid-build can
        try:
            return real(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            inside[0] -= 1

    monkeypatch.setattr(ast, "parse", slow_parse)
    # The planner, from several threads at once, as the executor's workers plan jobs.
    sources = [f"assert f({i}) == {i}\nassert g(x={i}) in [1, 2]" for i in range(40)]
    threads = [threading.Thread(target=lambda s=s: plan_assert_test(s)) for s in sources]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps[0] == 0


def test_parse_is_ast_parse() -> None:
    assert ast.dump(syntax.parse("x = f(1)")) == ast.dump(ast.parse("x = f(1)"))
    assert isinstance(syntax.parse("f(1)", mode="eval"), ast.Expression)
    with pytest.raises(SyntaxError):
        syntax.parse("def (")


def test_no_host_module_of_the_project_builds_a_tree_without_the_lock() -> None:
    """Every package of the project that runs beside the executor's planning threads
    (the consumers too: a reward function, a filter, a benchmark loader) parses through
    ``acesandbox.syntax.parse``; only the sandbox's own test process, single-threaded,
    calls ``ast.parse``."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    direct = re.compile(r"\bast\.parse\(|PyCF_ONLY_AST")
    found = []
    for package in ("acesandbox", "harness", "benchmarks", "rm_rl"):
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if rel in ("acesandbox/syntax.py", "acesandbox/_sandbox/testproc.py"):
                continue
            for lineno, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#", 1)[0]
                if direct.search(code) and not code.lstrip().startswith(('"', "'")):
                    found.append(f"{rel}:{lineno}: {line.strip()}")
    assert found == []
