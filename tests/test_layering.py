"""Dependencies run one way: benchmarks, rm_rl -> harness -> acesandbox (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "acesandbox": set(),
    "harness": {"acesandbox"},
    "benchmarks": {"acesandbox", "harness"},
    "rm_rl": {"acesandbox", "harness"},
    "perf": {"acesandbox", "harness", "benchmarks", "rm_rl"},
}
PACKAGES = set(ALLOWED) - {"perf"}


def imported_packages(path: Path) -> set[str]:
    """Toolkit packages ``path`` imports, at any depth (lazy imports inside functions count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & PACKAGES
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_follow_the_drawing(package):
    wrong = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        extra = imported_packages(path) - ALLOWED[package] - {package}
        if extra:
            wrong[path.relative_to(ROOT).as_posix()] = sorted(extra)
    assert not wrong, f"{package} may import only {sorted(ALLOWED[package])}: {wrong}"


def test_the_check_sees_a_wrong_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from rm_rl import rewards\n    import benchmarks.metrics\n")
    assert imported_packages(bad) == {"rm_rl", "benchmarks"}
