"""Rebuild ``seeds.jsonl`` and ``replay.jsonl`` from ``seeds_src.py``: ``python -m harness.data.build``.

The recorded answers imitate real LLM output, imperfections included, so that the demo
exercises every path of the pipeline: fenced, bare, Python-literal and trailing-comma
JSON with ``<think>`` traces; tests that are not asserts, do not parse, do not call
the function or repeat another; wrong expected values that filtering removes; one
answer malformed on the first try, one malformed every time, one question repeating
another, one question whose tests are mostly wrong; and policy completions that are
correct, subtly wrong (single-site mutations of the reference), raising, or prose
without code. Everything is deterministic.
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import json
import random
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from acesandbox.syntax import parse as parse_ast

from ..filtering import build_solution_prompt, runnable_tests
from ..generation.replay import prompt_key
from ..sampling import build_sample_prompt
from ..synth import build_prompt, parse_answer, validate_tests
from .seeds_src import SEEDS, Seed

__all__ = ["build", "main"]

HERE = Path(__file__).parent
NUM_TESTS = 20
PROMPT_TESTS = 3
SAMPLES = 16
RETRY_SEED = "evol-0013"  # first synthesis answer is malformed; the retry succeeds
MOSTLY_WRONG = "stack-0017"  # most expected values wrong: dropped by filtering
GARBAGE = {"id": "oss-0032", "source": "oss", "code": "import os\nprint(os.getcwd())\n"}  # never a usable answer
EMPTY = {"id": "oss-0033", "source": "oss", "code": ""}  # a seed row without code


def _rng(*parts: Any) -> random.Random:
    return random.Random(int(hashlib.sha256(repr(parts).encode()).hexdigest()[:16], 16))


def _load(program: str, entry: str) -> Callable[..., Any]:
    ns: dict[str, Any] = {}
    exec(compile(program, "<seed>", "exec"), ns)  # noqa: S102 - our own authored code
    return ns[entry]


def _wrong(value: Any) -> Any:
    """A plausible but wrong expected value."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 1.0
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return value[:-1] if value else [0]
    if isinstance(value, dict):
        return {**value, "?": 0}
    return 0


def _call(entry: str, args: tuple[Any, ...]) -> str:
    return f"{entry}({', '.join(repr(a) for a in args)})"


def _tests(seed: Seed) -> tuple[list[str], set[int]]:
    """The seed's asserts and the positions whose expected value is wrong on purpose."""
    f = _load(seed.program, seed.entry)
    rng = _rng("wrong", seed.id)
    inputs = seed.inputs[:NUM_TESTS]
    if seed.id == MOSTLY_WRONG:
        wrong = set(range(3, len(inputs)))
    else:
        wrong = set(rng.sample(range(len(inputs)), SEEDS.index(seed) % 3))
    tests = []
    for i, args in enumerate(inputs):
        expected = f(*copy.deepcopy(args))
        tests.append(f"assert {_call(seed.entry, args)} == {_wrong(expected) if i in wrong else expected!r}")
    return tests, wrong


def _noise(seed: Seed, tests: list[str]) -> list[str]:
    """Add the kind of broken test an LLM writes (validation removes it)."""
    kind = SEEDS.index(seed) % 5
    first_args = _call(seed.entry, seed.inputs[0])
    if kind == 0:
        return tests + [f"print({first_args})"]
    if kind == 1:
        return tests + [tests[0]]
    if kind == 2:
        return tests[:1] + [f"assert {first_args[:-1]} == "] + tests[1:]
    if kind == 3:
        return tests + ["assert True == True"]
    return tests


def _synth_answer(seed: Seed, tests: list[str]) -> str:
    data = {"question": seed.question, "entry_point": seed.entry, "program": seed.program, "tests": tests}
    style = SEEDS.index(seed) % 4
    if style == 0:
        return "Here is the exercise.\n\n```json\n" + json.dumps(data, indent=2) + "\n```\n"
    if style == 1:
        body = json.dumps(data, indent=2).replace('"\n  ]', '",\n  ]')  # a trailing comma
        return "<think>\nI need one function, a question and twenty asserts.\n</think>\n```json\n" + body + "\n```"
    if style == 2:
        return "Sure! " + repr(data)  # Python literal: single quotes
    return "```\n" + json.dumps(data) + "\n```\nEach test is independent."


def _mutants(program: str, entry: str, inputs: list[tuple[Any, ...]]) -> list[str]:
    """Single-site mutations of the reference that terminate and differ on some input."""
    tree = parse_ast(program)
    sites: list[tuple[int, str]] = []
    for idx, node in enumerate(ast.walk(tree)):
        if isinstance(node, ast.Compare):
            sites.append((idx, "compare"))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Mod, ast.FloorDiv)):
            sites.append((idx, "binop"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            sites.append((idx, "const"))
        elif isinstance(node, ast.Return) and node.value is not None:
            sites.append((idx, "return"))
    swap_cmp = {
        ast.Lt: ast.LtE,
        ast.LtE: ast.Lt,
        ast.Gt: ast.GtE,
        ast.GtE: ast.Gt,
        ast.Eq: ast.NotEq,
        ast.NotEq: ast.Eq,
        ast.In: ast.NotIn,
        ast.NotIn: ast.In,
    }
    swap_bin = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add, ast.Mod: ast.FloorDiv, ast.FloorDiv: ast.Mod}
    reference = _load(program, entry)
    expected = []
    for a in inputs:
        expected.append(reference(*copy.deepcopy(a)))
    out: list[str] = []
    for idx, kind in sites:
        t = parse_ast(program)
        node = list(ast.walk(t))[idx]
        if kind == "compare":
            op = node.ops[0]  # type: ignore[attr-defined]
            if type(op) not in swap_cmp:
                continue
            node.ops[0] = swap_cmp[type(op)]()  # type: ignore[attr-defined]
        elif kind == "binop":
            node.op = swap_bin[type(node.op)]()  # type: ignore[attr-defined]
        elif kind == "const":
            node.value = node.value + 1  # type: ignore[attr-defined]
        else:
            node.value = ast.Constant(None)  # type: ignore[attr-defined]
        src = ast.unparse(t) + "\n"
        if _behaves_differently(src, entry, inputs, expected):
            out.append(src)
    return out


class _Slow(Exception):
    pass


def _behaves_differently(src: str, entry: str, inputs: list[tuple[Any, ...]], expected: list[Any]) -> bool:
    def alarm(*_: Any) -> None:
        raise _Slow

    old = signal.signal(signal.SIGALRM, alarm)
    try:
        f = _load(src, entry)
        differs = False
        for a, e in zip(inputs, expected):
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            try:
                got = f(*copy.deepcopy(a))
            except _Slow:
                return False
            except Exception:  # noqa: BLE001 - a raising mutant is a fine wrong program
                got = object()
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            differs = differs or got != e or type(got) is not type(e)
        return differs
    except _Slow:
        return False
    finally:
        signal.signal(signal.SIGALRM, old)


def _fence(code: str, rng: random.Random) -> str:
    intro = rng.choice(["Here is a solution:", "Sure.", "The function below solves it.", ""])
    outro = rng.choice(["", "\nIt runs in linear time.", "\nExample: see the tests above."])
    return f"{intro}\n\n```python\n{code.rstrip()}\n```\n{outro}".lstrip()


def _completions(seed: Seed, visible_tests: list[str]) -> list[str]:
    rng = _rng("sample", seed.id)
    mutants = _mutants(seed.program, seed.entry, seed.inputs)
    rng.shuffle(mutants)
    correct = seed.program
    usage = f"\n\n```python\n{visible_tests[0]}\nprint('ok')\n```" if visible_tests else ""
    out: list[str] = []
    plan = [
        "correct",
        "mutant",
        "think",
        "prose",
        "mutant",
        "same",
        "mutant",
        "raise",
        "correct",
        "mutant",
        "usage",
        "mutant",
        "correct",
        "mutant",
        "raise",
        "mutant",
    ]
    m = 0
    for kind in plan:
        if kind == "mutant" and mutants:
            out.append(_fence(mutants[m % len(mutants)], rng))
            m += 1
        elif kind == "think":
            out.append("<think>\nLet me reason step by step about edge cases.\n</think>\n" + _fence(correct, rng))
        elif kind == "prose":
            out.append("I would loop over the input and build the answer, taking care of the edge cases.")
        elif kind == "same":
            out.append(out[0] + "\nHope this helps!")  # the same program as the first: de-duplicated in pairs
        elif kind == "raise":
            header = seed.program.splitlines()[0]
            out.append(_fence(f"{header}\n    raise NotImplementedError\n", rng))
        elif kind == "usage":
            out.append(_fence(correct, rng) + usage)
        else:
            out.append(_fence(correct, rng))
    return out


def build(out_dir: Path = HERE) -> dict[str, int]:
    """Write ``seeds.jsonl`` and ``replay.jsonl`` under ``out_dir``; returns counts."""
    seeds_rows: list[dict[str, Any]] = []
    replay: list[dict[str, Any]] = []
    for seed in SEEDS:
        seeds_rows.append({"id": seed.id, "source": seed.source, "code": seed.snippet})
        tests, wrong = _tests(seed)
        answer = _synth_answer(seed, _noise(seed, tests))
        synth_prompt = build_prompt(seed.snippet, NUM_TESTS)
        responses = [answer]
        if seed.id == RETRY_SEED:
            responses = ['{"question": "' + seed.question[:60], answer]  # truncated JSON first
        replay.append({"prompt": synth_prompt, "responses": responses})
        parsed = parse_answer(answer)
        valid, _ = validate_tests(parsed["tests"], parsed["entry_point"])
        record = {"question": parsed["question"], "entry_point": parsed["entry_point"]}
        strong = _rng("strong", seed.id)
        replay.append({"prompt": build_solution_prompt(record), "responses": [_fence(seed.program, strong)]})
        runnable, _ = runnable_tests(valid)
        wrong_tests = {t for i, t in enumerate(tests) if i in wrong}
        kept = [t for t in runnable if t not in wrong_tests]
        sample_prompt = build_sample_prompt({"question": parsed["question"], "tests": kept}, PROMPT_TESTS)
        replay.append({"prompt": sample_prompt, "responses": _completions(seed, kept[:PROMPT_TESTS])})
    seeds_rows.append(GARBAGE)
    replay.append(
        {
            "prompt": build_prompt(GARBAGE["code"], NUM_TESTS),
            "responses": ["I cannot turn this into an exercise.", "{'question': }", '```json\n{"tests": []}\n```'],
        }
    )
    seeds_rows.append(EMPTY)
    for name, rows in (("seeds.jsonl", seeds_rows), ("replay.jsonl", replay)):
        with open(out_dir / name, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    return {
        "seeds": len(seeds_rows),
        "replay_prompts": len(replay),
        "keys": len({prompt_key(r["prompt"]) for r in replay}),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.data.build", description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=HERE)
    args = parser.parse_args(argv)
    print(json.dumps(build(args.out_dir)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
