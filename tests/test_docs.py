"""Every code block in README.md and docs/*.md runs, or says why it does not.

A fenced block carries a language. ``python`` blocks of a page run in order in one
namespace (``expr  # literal`` lines must evaluate to the literal); ``bash`` blocks run
in a scratch folder with this interpreter's ``bin`` first on PATH; ``toml`` and ``json``
blocks must parse; ``text`` blocks are output or drawings, not code. A block is kept
from running only by a marker on the line before it:

- ``<!-- doc: compile-only -->``: python that must compile, whose toolkit imports must resolve;
- ``<!-- doc: needs-server -->``: python run against a live reward server (``url``);
- ``<!-- doc: not-run: REASON -->``: anything else, with the reason written out.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(
    r"(?:<!-- doc: (?P<tag>[\w-]+)(?::(?P<why>[^>]*))? -->\n)?^```(?P<lang>[\w+-]*)[^\n]*\n(?P<code>.*?)^```[ \t]*$",
    re.DOTALL | re.MULTILINE,
)
LANGS = {"python", "bash", "toml", "json", "text"}
TOOLKIT = ("acesandbox", "harness", "benchmarks", "rm_rl")


def blocks(page: Path) -> list[tuple[str, str, str, str]]:
    """``(lang, tag, why, code)`` of every fenced block of ``page``, in order."""
    return [
        (m.group("lang"), m.group("tag") or "run", (m.group("why") or "").strip(), m.group("code"))
        for m in BLOCK.finditer(page.read_text())
    ]


def run_checking_comments(code: str, namespace: dict) -> int:
    """Execute ``code`` statement by statement; ``expr  # literal`` lines must equal the literal."""
    checked = 0
    lines = code.splitlines()
    for node in ast.parse(code).body:
        source = "\n".join(lines[node.lineno - 1 : node.end_lineno])
        comment = lines[node.end_lineno - 1].partition("  # ")[2].strip()
        expected: object = None
        if isinstance(node, ast.Expr) and comment:
            try:
                expected = ast.literal_eval(comment)
            except (ValueError, SyntaxError):
                expected = None
        if expected is not None:
            got = eval(compile(ast.Expression(node.value), "<doc>", "eval"), namespace)
            assert got == expected, f"{source}\n  gave {got!r}, the page says {expected!r}"
            checked += 1
        else:
            exec(compile(ast.Module([node], []), "<doc>", "exec"), namespace)
    return checked


def _ids(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("page", PAGES, ids=_ids)
def test_every_block_is_tagged_and_every_skip_says_why(page):
    for lang, tag, why, code in blocks(page):
        assert lang in LANGS, f"{page.name}: a block without a known language ({lang!r}):\n{code[:200]}"
        assert tag in ("run", "compile-only", "needs-server", "not-run"), f"{page.name}: unknown marker {tag!r}"
        if tag == "not-run":
            assert len(why) > 10, f"{page.name}: a not-run block must say why:\n{code[:200]}"


@pytest.mark.parametrize("page", PAGES, ids=_ids)
def test_python_blocks_compile_and_their_imports_resolve(page):
    for lang, _tag, _why, code in blocks(page):
        if lang != "python":
            continue
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in TOOLKIT:
                exec(compile(ast.Module([node], []), "<doc>", "exec"), {})


@pytest.mark.parametrize("page", PAGES, ids=_ids)
def test_toml_and_json_blocks_parse(page):
    for lang, tag, _why, code in blocks(page):
        if tag == "run" and lang == "toml":
            tomllib.loads(code)
        elif tag == "run" and lang == "json":
            json.loads(code)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=_ids)
def test_python_blocks_run_and_do_what_they_say(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__doc__"}
    for lang, tag, _why, code in blocks(page):
        if lang == "python" and tag == "run":
            run_checking_comments(code, namespace)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=_ids)
def test_bash_blocks_run(page, tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "ACECODER_CHECKOUT": str(ROOT)}
    for lang, tag, _why, code in blocks(page):
        if lang != "bash" or tag != "run":
            continue
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"{page.name}:\n{code}\nexit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


def test_server_blocks_run_against_a_live_server():
    from rm_rl.server import RewardServer, ServerConfig, create_app

    found = [(page, code) for page in PAGES for lang, tag, _w, code in blocks(page) if lang == "python" and tag == "needs-server"]
    assert found, "the reward server's example is gone from the docs"
    with RewardServer(create_app(ServerConfig())) as srv:
        for _page, code in found:
            assert run_checking_comments(code, {"url": srv.url}) >= 1
