"""The README's rm_rl section: its snippets run, and print what their comments say."""

from __future__ import annotations

import ast
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Rewards for RL (`rm_rl`)"
BLOCK = re.compile(r"(?:<!-- doc: (?P<tag>[\w-]+) -->\n)?```python\n(?P<code>.*?)```\n", re.DOTALL)


def snippets():
    text = DOC.read_text()
    assert SECTION in text, "the README lost its rm_rl section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return [(m.group("tag") or "run", m.group("code")) for m in BLOCK.finditer(section)]


def run_checking_comments(code: str, namespace: dict) -> int:
    """Execute ``code`` statement by statement; ``expr  # literal`` lines must evaluate to the literal."""
    checked = 0
    lines = code.splitlines()
    for node in ast.parse(code).body:
        source = "\n".join(lines[node.lineno - 1 : node.end_lineno])
        comment = lines[node.end_lineno - 1].partition("  # ")[2].strip()
        expected = None
        if isinstance(node, ast.Expr) and comment:
            try:
                expected = ast.literal_eval(comment)
            except (ValueError, SyntaxError):
                expected = None
        if expected is not None:
            assert eval(compile(ast.Expression(node.value), "<doc>", "eval"), namespace) == expected, source
            checked += 1
        else:
            exec(compile(ast.Module([node], []), "<doc>", "exec"), namespace)
    return checked


def test_every_snippet_compiles_and_its_rm_rl_imports_resolve():
    blocks = snippets()
    assert len(blocks) >= 5
    for _, code in blocks:
        tree = ast.parse(code)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rm_rl"):
                exec(compile(ast.Module([node], []), "<doc>", "exec"), {})


def test_runnable_snippets_do_what_they_say(sandbox):
    ran = [code for tag, code in snippets() if tag == "run"]
    assert ran
    assert sum(run_checking_comments(code, {}) for code in ran) >= 2


def test_server_snippet_against_a_live_server(sandbox):
    from rm_rl.server import RewardServer, ServerConfig, create_app

    [code] = [code for tag, code in snippets() if tag == "needs-server"]
    with RewardServer(create_app(ServerConfig(), executor=sandbox)) as srv:
        assert run_checking_comments(code, {"url": srv.url}) == 1
