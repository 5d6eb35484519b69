"""Stage 3, sampling: N completions per question from policy models, scored by pass rate.

Each model answers the question with its first tests shown as examples (AceCoder: 16
samples at temperature 0.7). The code extracted from every completion runs against the
question's kept tests, and the record takes the AceCode-87K schema: ``id``, ``source``,
``question``, ``test_cases``, ``inferences`` (``model_name``, ``completion_id``,
``completion``, ``pass_rate``) and ``context_messages``.

Pass-rate denominator: by default the tests kept by filtering (what was run). The
released AceCode-87K divides by the number of tests *before* filtering;
``denominator="original"`` reproduces that, using the record's ``num_tests_before``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from .checkpoint import StageStore
from .config import SampleConfig
from acesandbox.extract import as_program, extract_code
from .filtering import check_record, runnable_tests
from .generation import Generator, SamplingParams
from .io import count_rows, read_rows
from .scoring import ScoreStream, Unit

__all__ = ["build_sample_prompt", "pass_rate", "sample"]

SAMPLE_TEMPLATE = """\
{question}

Your code should pass these tests:
```python
{tests}
```

Write a self-contained Python solution in a single ```python code block."""


def build_sample_prompt(record: dict[str, Any], prompt_tests: int) -> list[dict[str, str]]:
    """The policy prompt: the question and its first ``prompt_tests`` tests."""
    tests = record.get("tests", record.get("test_cases")) or []
    shown = "\n".join(tests[:prompt_tests])
    text = (
        record["question"].strip()
        if not shown
        else SAMPLE_TEMPLATE.format(question=record["question"].strip(), tests=shown)
    )
    if not shown:
        text += "\n\nWrite a self-contained Python solution in a single ```python code block."
    return [{"role": "user", "content": text}]


def pass_rate(report: Any, denominator: int) -> float:
    """passed / denominator (0.0 for a program with no code or no tests)."""
    if report is None or denominator <= 0:
        return 0.0
    return min(1.0, report.passed / denominator)


def sample(config: SampleConfig, generators: list[Generator] | None = None, executor: Any = None) -> dict[str, Any]:
    """Sample and score every question of ``config.input`` into ``config.output``; returns the summary."""
    gens = generators or [spec.build() for spec in config.models]
    own_executor = executor is None
    ex = executor or config.execution.executor()
    t0 = time.monotonic()
    store = StageStore(config.output, fresh=config.fresh)
    run: Counter[str] = Counter()
    stream = ScoreStream(ex, config.execution.defaults(), retries=config.sandbox_retries)
    params = SamplingParams(n=config.num_samples, temperature=config.temperature, max_tokens=config.max_tokens)
    bar = None
    if config.progress:
        from tqdm.auto import tqdm  # type: ignore[import-untyped]

        total = count_rows(config.input)
        bar = tqdm(
            total=min(total, config.limit) if total is not None and config.limit is not None else total,
            desc="sample",
            unit="q",
        )

    def tick() -> None:
        if bar is not None:
            bar.update(1)

    def make_units(batch: list[dict[str, Any]]) -> Iterator[Unit]:
        prompts = [build_sample_prompt(r, config.prompt_tests) for r in batch]
        answers = [g.complete(prompts, params) for g in gens]
        for i, record in enumerate(batch):
            failed = [c.error for per_model in answers if not (c := per_model[i]).ok]
            if failed:
                store.reject(record["id"], "generation_failed", str(failed[0]), retry=True)
                run["rejected:generation_failed"] += 1
                tick()
                continue
            given = record.get("tests", record.get("test_cases")) or []
            invalid: Counter[str] = Counter()
            if record.get("num_tests_after") == len(given):
                tests = list(given)  # the filter stage's output: already checked
            else:
                tests, invalid = runnable_tests(given)
            if invalid:
                run["invalid_tests"] += sum(invalid.values())
            completions: list[tuple[str, int, str]] = []
            for g, per_model in zip(gens, answers):
                for cid, text in enumerate(per_model[i].texts):
                    completions.append((g.model_name, cid, text))
            entry = record.get("entry_point") if isinstance(record.get("entry_point"), str) else None
            programs = [as_program(extract_code(text, entry_points=(entry,) if entry else ())) for _, _, text in completions]
            run["completions"] += len(programs)
            run["completions_without_code"] += sum(p is None for p in programs)
            yield Unit(record["id"], programs, tests, (record, prompts[i], completions))

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
                tick()
                continue
            assert row.data is not None
            if store.done(row.data["id"]):
                run["skipped_done"] += 1
                tick()
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
            tick()
            record, prompt, completions = unit.payload
            if reports is None:
                store.reject(
                    unit.key, "sandbox_error", "the sandbox failed on every retry; rerun to score it", retry=True
                )
                run["unscored:sandbox_error"] += 1
                continue
            denominator = len(unit.tests)
            if config.denominator == "original":
                denominator = int(record.get("num_tests_before") or 0) or denominator
            inferences = [
                {
                    "model_name": model,
                    "completion_id": cid,
                    "completion": text,
                    "pass_rate": pass_rate(rep, denominator),
                }
                for (model, cid, text), rep in zip(completions, reports)
            ]
            store.write(
                {
                    "id": record["id"],
                    "source": record.get("source", ""),
                    "question": record["question"],
                    "test_cases": list(unit.tests),
                    "inferences": inferences,
                    "context_messages": prompt,
                }
            )
            run["written"] += 1
        interrupted = False
    finally:
        if bar is not None:
            bar.close()
        if own_executor:
            ex.close()
        if generators is None:
            for g in gens:
                g.close()
        summary = _summary(config, store, run, gens, stream, time.monotonic() - t0, interrupted)
        store.finish(summary, complete=not interrupted)
    return summary


def _summary(
    config: SampleConfig,
    store: StageStore,
    run: Counter[str],
    gens: list[Generator],
    stream: ScoreStream,
    elapsed_s: float,
    interrupted: bool,
) -> dict[str, Any]:
    questions = completions = 0
    total_rate = 0.0
    for r in store.records():
        questions += 1
        for inf in r.get("inferences", ()):
            completions += 1
            total_rate += float(inf.get("pass_rate", 0.0))
    return {
        "stage": "sample",
        "input": config.input,
        "output": config.output,
        "interrupted": interrupted,
        "elapsed_s": round(elapsed_s, 3),
        "questions": questions,
        "completions": completions,
        "mean_pass_rate": round(total_rate / completions, 4) if completions else 0.0,
        "denominator": config.denominator,
        "rejected_items": dict(store.reject_counts()),
        "this_run": dict(run),
        "resumed_items": store.resumed,
        "usage": {g.model_name: g.usage.to_dict() for g in gens},
        "executor": {
            "wait_s": round(stream.timing.wait_s, 3),
            "jobs": stream.timing.jobs,
            "rounds": stream.timing.rounds,
        },
    }
