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

from collections import Counter
from collections.abc import Iterator
from typing import Any

from acesandbox.extract import as_program, extract_code

from .config import SampleConfig
from .filtering import runnable_tests
from .generation import Generator, SamplingParams
from .sandbox_warnings import tally_warnings
from .scoring import StageRun, Unit, run_scored_stage, stream_timing

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
    """Sample and score every question of ``config.input`` into ``config.output``; returns the summary.

    ``generators`` / ``executor`` override the ones the config would build; those passed
    in are not closed here.
    """
    gens = generators or [spec.build() for spec in config.models]
    params = SamplingParams(n=config.num_samples, temperature=config.temperature, max_tokens=config.max_tokens)

    def make_units(run: StageRun, batch: list[dict[str, Any]]) -> Iterator[Unit]:
        prompts = [build_sample_prompt(r, config.prompt_tests) for r in batch]
        answers = [g.complete(prompts, params) for g in gens]
        for i, record in enumerate(batch):
            failed = [c.error for per_model in answers if not (c := per_model[i]).ok]
            if failed:
                run.reject(record["id"], "generation_failed", str(failed[0]), retry=True)
                run.tick()
                continue
            given = record.get("tests", record.get("test_cases")) or []
            invalid: Counter[str] = Counter()
            if record.get("num_tests_after") == len(given):
                tests = list(given)  # the filter stage's output: already checked
            else:
                tests, invalid = runnable_tests(given)
            if invalid:
                run.counts["invalid_tests"] += sum(invalid.values())
            completions: list[tuple[str, int, str]] = []
            for g, per_model in zip(gens, answers):
                for cid, text in enumerate(per_model[i].texts):
                    completions.append((g.model_name, cid, text))
            entry = record.get("entry_point") if isinstance(record.get("entry_point"), str) else None
            programs = [as_program(extract_code(text, entry_points=(entry,) if entry else ())) for _, _, text in completions]
            run.counts["completions"] += len(programs)
            run.counts["completions_without_code"] += sum(p is None for p in programs)
            yield Unit(record["id"], programs, tests, (record, prompts[i], completions))

    def write(run: StageRun, unit: Unit, reports: list[Any]) -> bool:
        record, prompt, completions = unit.payload
        denominator = len(unit.tests)
        if config.denominator == "original":
            denominator = int(record.get("num_tests_before") or 0) or denominator
        inferences = [
            {"model_name": model, "completion_id": cid, "completion": text, "pass_rate": pass_rate(rep, denominator)}
            for (model, cid, text), rep in zip(completions, reports)
        ]
        row = {
            "id": record["id"],
            "source": record.get("source", ""),
            "question": record["question"],
            "test_cases": list(unit.tests),
            "inferences": inferences,
            "context_messages": prompt,
        }
        warned = tally_warnings(r.warnings for r in reports if r is not None)
        if warned:  # the pass rates of this row were judged under these warnings
            row["sandbox_warnings"] = warned
        run.store.write(row)
        return True

    def close() -> None:
        if generators is None:
            for g in gens:
                g.close()

    return run_scored_stage(
        "sample",
        config,
        executor,
        make_units,
        write,
        lambda run, elapsed_s, interrupted: _summary(config, run, gens, elapsed_s, interrupted),
        close,
    )


def _summary(
    config: SampleConfig, run: StageRun, gens: list[Generator], elapsed_s: float, interrupted: bool
) -> dict[str, Any]:
    store = run.store
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
        "this_run": dict(run.counts),
        "resumed_items": store.resumed,
        "usage": {g.model_name: g.usage.to_dict() for g in gens},
        "executor": stream_timing(run.stream),
    }
