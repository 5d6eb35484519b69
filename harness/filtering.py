"""Stage 2, test filtering: keep the tests that a strong model's solutions pass.

Synthesized expected values are sometimes wrong. AceCoder runs a strong model's greedy
solution (Qwen2.5-Coder-32B-Instruct) against each question's tests: a test survives if
some solution passes it, and a question left with fewer than ``min_tests`` tests is
dropped. Tests that cannot run at all (not an assert, not parsing) are removed first
and counted, so one bad test never fails a whole job.
"""

from __future__ import annotations

import ast
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from .checkpoint import StageStore
from .config import FilterConfig
from acesandbox.extract import as_program, extract_code
from .generation import Generator, SamplingParams
from .io import count_rows, read_rows
from .scoring import ScoreStream, Unit

__all__ = ["build_solution_prompt", "check_record", "filter_tests", "runnable_tests", "surviving"]

SOLVE_TEMPLATE = """\
{question}

Write the Python function `{entry_point}` that solves this problem. Answer with the complete, \
self-contained function in a single ```python code block."""


def build_solution_prompt(record: dict[str, Any]) -> list[dict[str, str]]:
    """The prompt asking the strong model for a solution."""
    entry = record.get("entry_point") or "the function"
    return [{"role": "user", "content": SOLVE_TEMPLATE.format(question=record["question"].strip(), entry_point=entry)}]


def check_record(data: dict[str, Any] | None, error: str | None) -> tuple[str, str] | None:
    """``(reason, detail)`` when an input row cannot be filtered, else None."""
    if data is None:
        return "bad_row", error or ""
    if not isinstance(data.get("id"), (str, int)):
        return "no_id", "the row has no 'id'"
    if not isinstance(data.get("question"), str) or not data["question"].strip():
        return "no_question", "the row has no 'question' text"
    tests = data.get("tests", data.get("test_cases"))
    if not isinstance(tests, list) or not tests:
        return "no_tests", "the row has no 'tests' list"
    return None


def runnable_tests(tests: list[Any]) -> tuple[list[str], Counter[str]]:
    """The tests that are strings parsing as one ``assert``, and counts of the others' reasons.

    The usual case (every test one line, all fine) is checked with a single parse of
    all of them together; anything else falls back to one parse per test.
    """
    if tests and all(isinstance(t, str) and "\n" not in t and "\r" not in t for t in tests):
        try:
            body = ast.parse("\n".join(tests)).body
        except (SyntaxError, ValueError):
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
            tree = ast.parse(t)
        except (SyntaxError, ValueError):
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
    an executor passed in is not closed here.
    """
    gen = generator or config.generator.build()
    own_executor = executor is None
    ex = executor or config.execution.executor()
    t0 = time.monotonic()
    store = StageStore(config.output, fresh=config.fresh)
    run: Counter[str] = Counter()
    stream = ScoreStream(ex, config.execution.defaults(), retries=config.sandbox_retries)
    params = SamplingParams(n=config.num_solutions, temperature=config.temperature, max_tokens=config.max_tokens)
    bar = None
    if config.progress:
        from tqdm.auto import tqdm  # type: ignore[import-untyped]

        total = count_rows(config.input)
        bar = tqdm(
            total=min(total, config.limit) if total is not None and config.limit is not None else total,
            desc="filter",
            unit="q",
        )

    def make_units(batch: list[dict[str, Any]]) -> Iterator[Unit]:
        done = gen.complete([build_solution_prompt(r) for r in batch], params)
        for record, completion in zip(batch, done):
            if not completion.ok:
                store.reject(record["id"], "generation_failed", completion.error or "", retry=True)
                run["rejected:generation_failed"] += 1
                if bar is not None:
                    bar.update(1)
                continue
            tests_in: list[Any] = record.get("tests", record.get("test_cases")) or []
            if _from_synth(record, tests_in):
                tests, invalid = list(tests_in), Counter[str]()  # synth validated every test already
            else:
                tests, invalid = runnable_tests(tests_in)
            programs: list[str | None] = [
                as_program(extract_code(t, entry_points=(entry,) if (entry := record.get("entry_point")) else ()))
                for t in completion.texts
            ]
            if config.use_reference and isinstance(record.get("program"), str) and record["program"].strip():
                programs.append(record["program"])
            run["solutions"] += len(programs)
            run["solutions_without_code"] += sum(p is None for p in programs)
            yield Unit(record["id"], programs, tests, (record, len(tests_in), invalid))

    def units() -> Iterator[Unit]:
        batch: list[dict[str, Any]] = []
        for row in read_rows(config.input, limit=config.limit):
            run["rows"] += 1
            problem = check_record(row.data, row.error)
            if problem is not None:
                ident = (
                    row.data.get("id")
                    if row.data and isinstance(row.data.get("id"), (str, int))
                    else f"row-{row.index + 1}"
                )
                if not store.done(ident):
                    store.reject(ident, problem[0], problem[1])
                    run[f"rejected:{problem[0]}"] += 1
                if bar is not None:
                    bar.update(1)
                continue
            assert row.data is not None
            if store.done(row.data["id"]):
                run["skipped_done"] += 1
                if bar is not None:
                    bar.update(1)
                continue
            batch.append(row.data)
            if len(batch) >= config.batch_size:
                yield from make_units(batch)
                batch = []
        if batch:
            yield from make_units(batch)

    interrupted = True
    try:
        for unit, reports in stream.run(units()):
            if bar is not None:
                bar.update(1)
            record, n_before, invalid = unit.payload
            if reports is None:
                store.reject(
                    unit.key, "sandbox_error", "the sandbox failed on every retry; rerun to score it", retry=True
                )
                run["unscored:sandbox_error"] += 1
                continue
            alive = surviving(reports, len(unit.tests))
            kept = [t for t, ok in zip(unit.tests, alive) if ok]
            if len(kept) < config.min_tests:
                store.reject(
                    unit.key,
                    "too_few_tests",
                    f"{len(kept)} of {n_before} tests survived, need {config.min_tests}",
                    num_tests_before=n_before,
                    num_tests_after=len(kept),
                )
                run["rejected:too_few_tests"] += 1
                continue
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
            store.write(out)
            run["written"] += 1
        interrupted = False
    finally:
        if bar is not None:
            bar.close()
        if own_executor:
            ex.close()
        if generator is None:
            gen.close()
        summary = _summary(config, store, run, gen, stream, time.monotonic() - t0, interrupted)
        store.finish(summary, complete=not interrupted)
    return summary


def _summary(
    config: FilterConfig,
    store: StageStore,
    run: Counter[str],
    gen: Generator,
    stream: ScoreStream,
    elapsed_s: float,
    interrupted: bool,
) -> dict[str, Any]:
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
        "this_run": dict(run),
        "resumed_items": store.resumed,
        "usage": gen.usage.to_dict(),
        "model": gen.model_name,
        "executor": {
            "wait_s": round(stream.timing.wait_s, 3),
            "jobs": stream.timing.jobs,
            "rounds": stream.timing.rounds,
        },
    }
