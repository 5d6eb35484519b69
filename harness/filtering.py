"""Stage 2, test filtering: keep the tests that a strong model's solutions pass.

Synthesized expected values are sometimes wrong. AceCoder runs a strong model's greedy
solution (Qwen2.5-Coder-32B-Instruct) against each question's tests: a test survives if
some solution passes it, and a question left with fewer than ``min_tests`` tests is
dropped. Tests that cannot run at all (not an assert, not parsing) are removed first
and counted, so one bad test never fails a whole job.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator
from typing import Any

from acesandbox.extract import as_program, extract_code
from acesandbox.syntax import parse as parse_ast

from .config import FilterConfig
from .generation import Generator, SamplingParams
from .sandbox_warnings import tally_warnings
from .scoring import StageRun, Unit, check_record, run_scored_stage, stream_timing

__all__ = ["build_solution_prompt", "filter_tests", "runnable_tests", "surviving"]

SOLVE_TEMPLATE = """\
{question}

Write the Python function `{entry_point}` that solves this problem. Answer with the complete, \
self-contained function in a single ```python code block."""


def build_solution_prompt(record: dict[str, Any]) -> list[dict[str, str]]:
    """The prompt asking the strong model for a solution."""
    entry = record.get("entry_point") or "the function"
    return [{"role": "user", "content": SOLVE_TEMPLATE.format(question=record["question"].strip(), entry_point=entry)}]


def runnable_tests(tests: list[Any]) -> tuple[list[str], Counter[str]]:
    """The tests that are strings parsing as one ``assert``, and counts of the others' reasons.

    The usual case (every test one line, all fine) is checked with a single parse of
    all of them together; anything else falls back to one parse per test.
    """
    if tests and all(isinstance(t, str) and "\n" not in t and "\r" not in t for t in tests):
        try:
            body = parse_ast("\n".join(tests)).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            body = []
        if len(body) == len(tests) and all(
            isinstance(node, ast.Assert) and node.lineno == node.end_lineno == i + 1 for i, node in enumerate(body)
        ):
            return list(tests), Counter()
    kept: list[str] = []
    reasons: Counter[str] = Counter()
    for t in tests:
        if not isinstance(t, str):
            reasons["not_a_string"] += 1
            continue
        try:
            tree = parse_ast(t)
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # nested too deep: unusable too
            reasons["syntax_error"] += 1
            continue
        if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assert):
            reasons["not_assert"] += 1
            continue
        kept.append(t)
    return kept, reasons


def _from_synth(record: dict[str, Any], tests: list[Any]) -> bool:
    """True for a record written by the synth stage, whose tests were validated there.

    A cheap look at every test still guards against hand edits: each must be one line
    starting with ``assert`` (one that does not parse then fails in the sandbox, so it
    cannot survive filtering).
    """
    diagnostics = record.get("diagnostics")
    return (
        isinstance(diagnostics, dict)
        and "rejected_tests" in diagnostics
        and isinstance(record.get("seed_code"), str)
        and all(isinstance(t, str) and t.startswith("assert ") and "\n" not in t for t in tests)
    )


def surviving(reports: list[Any], n_tests: int) -> list[bool]:
    """Per test: did any solution pass it?"""
    alive = [False] * n_tests
    for r in reports:
        if r is None:
            continue
        for j, o in enumerate(r.outcomes):
            if o.status.value == "passed":
                alive[j] = True
    return alive


def filter_tests(config: FilterConfig, generator: Generator | None = None, executor: Any = None) -> dict[str, Any]:
    """Run filtering over ``config.input`` into ``config.output``; returns the summary.

    ``generator`` / ``executor`` override the ones the config would build (tests, reuse);
    those passed in are not closed here.
    """
    gen = generator or config.generator.build()
    params = SamplingParams(n=config.num_solutions, temperature=config.temperature, max_tokens=config.max_tokens)

    def make_units(run: StageRun, batch: list[dict[str, Any]]) -> Iterator[Unit]:
        done = gen.complete([build_solution_prompt(r) for r in batch], params)
        for record, completion in zip(batch, done):
            if not completion.ok:
                run.reject(record["id"], "generation_failed", completion.error or "", retry=True)
                run.tick()
                continue
            tests_in: list[Any] = record.get("tests", record.get("test_cases")) or []
            if _from_synth(record, tests_in):
                tests, invalid = list(tests_in), Counter[str]()  # synth validated every test already
            else:
                tests, invalid = runnable_tests(tests_in)
            entry = record.get("entry_point")
            programs: list[str | None] = [
                as_program(extract_code(t, entry_points=(entry,) if entry else ())) for t in completion.texts
            ]
            if config.use_reference and isinstance(record.get("program"), str) and record["program"].strip():
                programs.append(record["program"])
            run.counts["solutions"] += len(programs)
            run.counts["solutions_without_code"] += sum(p is None for p in programs)
            yield Unit(record["id"], programs, tests, (record, len(tests_in), invalid))

    def write(run: StageRun, unit: Unit, reports: list[Any]) -> bool:
        record, n_before, invalid = unit.payload
        alive = surviving(reports, len(unit.tests))
        kept = [t for t, ok in zip(unit.tests, alive) if ok]
        if len(kept) < config.min_tests:
            run.reject(
                unit.key,
                "too_few_tests",
                f"{len(kept)} of {n_before} tests survived, need {config.min_tests}",
                num_tests_before=n_before,
                num_tests_after=len(kept),
            )
            return False
        out = {k: v for k, v in record.items() if k not in ("tests", "test_cases")}
        out["tests"] = kept
        out["num_tests_before"] = n_before
        out["num_tests_after"] = len(kept)
        out["filter_diagnostics"] = {
            "invalid_tests": dict(invalid),
            "failed_tests": len(unit.tests) - len(kept),
            "solutions": len(reports),
            "solution_pass_rates": [None if r is None else round(r.pass_rate, 4) for r in reports],
        }
        warned = tally_warnings(r.warnings for r in reports if r is not None)
        if warned:  # e.g. "judged in the program's process: forgeable (2 tests in 9 jobs)"
            out["filter_diagnostics"]["sandbox_warnings"] = warned
        run.store.write(out)
        return True

    def close() -> None:
        if generator is None:
            gen.close()

    return run_scored_stage(
        "filter",
        config,
        executor,
        make_units,
        write,
        lambda run, elapsed_s, interrupted: _summary(config, run, gen, elapsed_s, interrupted),
        close,
    )


def _summary(
    config: FilterConfig, run: StageRun, gen: Generator, elapsed_s: float, interrupted: bool
) -> dict[str, Any]:
    store = run.store
    kept_q = before = after = 0
    invalid: Counter[str] = Counter()
    for r in store.records():
        kept_q += 1
        before += int(r.get("num_tests_before", 0))
        after += int(r.get("num_tests_after", 0))
        invalid.update((r.get("filter_diagnostics") or {}).get("invalid_tests", {}))
    rejects = store.reject_counts()
    dropped = rejects.get("too_few_tests", 0)
    return {
        "stage": "filter",
        "input": config.input,
        "output": config.output,
        "interrupted": interrupted,
        "elapsed_s": round(elapsed_s, 3),
        "questions_before": kept_q + dropped,
        "questions_after": kept_q,
        "tests_before_kept_questions": before,
        "tests_after": after,
        "avg_tests_before": round(before / kept_q, 3) if kept_q else 0.0,
        "avg_tests_after": round(after / kept_q, 3) if kept_q else 0.0,
        "invalid_tests": dict(invalid),
        "rejected_items": dict(rejects),
        "this_run": dict(run.counts),
        "resumed_items": store.resumed,
        "usage": gen.usage.to_dict(),
        "model": gen.model_name,
        "executor": stream_timing(run.stream),
    }
