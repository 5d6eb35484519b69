"""Score samples on a benchmark: build every job, run them on one executor, collect verdicts.

One pass over the executor runs the samples' jobs and, unless turned off, the canary:
every task's canonical solution, which must pass. A canary failure means the host or
the harness is wrong (a missing library, a broken sandbox), not the model, so it is
reported loudly next to the scores, as BigCodeBench's ground-truth check does.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from acesandbox import Job, Report
from harness.sandbox_warnings import WarningTally

from .base import PASS, SANDBOX_ERROR, Benchmark, BenchmarkError, Problem, SampleResult, longest_first

__all__ = ["Canary", "Evaluation", "evaluate"]


@dataclass(frozen=True)
class Canary:
    """The canonical solutions' run: every one must pass."""

    total: int
    passed: int
    failures: tuple[tuple[str, str], ...] = ()
    """``(task_id, verdicts)`` of each canonical solution that did not pass."""

    @property
    def ok(self) -> bool:
        return self.passed == self.total


@dataclass(frozen=True)
class Evaluation:
    """Everything one scoring run produced."""

    benchmark: str
    parts: tuple[str, ...]
    results: tuple[SampleResult, ...]
    canary: Canary | None = None
    warnings: tuple[str, ...] = ()
    duration_s: float = 0.0
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sandbox_errors(self) -> int:
        return sum(1 for r in self.results if SANDBOX_ERROR in r.verdicts.values())

    def pass_at_k(self, ks: Sequence[int] = (1, 10, 100)) -> Any:
        """pass@k per part as a pandas DataFrame (sandbox errors left out of the denominators)."""
        from .metrics import pass_at_k_table

        return pass_at_k_table(list(self.results), self.parts, ks=ks)


def _verdict_text(result: SampleResult) -> str:
    return " ".join(f"{part}={verdict}" for part, verdict in result.verdicts.items())


def evaluate(
    bench: Benchmark,
    problems: Sequence[Problem],
    samples: Sequence[Mapping[str, Any]] = (),
    *,
    executor: Any = None,
    backend: str | None = None,
    workers: int | None = None,
    canary: bool = True,
    progress: bool = False,
    dedupe: bool = True,
) -> Evaluation:
    """Judge every sample (records with ``task_id`` and ``solution`` or ``completion``).

    Samples naming an unknown task are left out with a warning; the rest of the batch
    goes on. Without an ``executor``, one is opened (``backend``, ``workers``) and closed.
    With ``dedupe`` a program given for the same task more than once (common with many
    samples per task) runs once and every copy gets its verdicts. The sandbox's warnings
    (an unisolated backend, tests judged in the program's process) are listed once each,
    with their test and job counts, in ``Evaluation.warnings`` (so the summary and report).
    """
    started = time.monotonic()
    by_id = {p.task_id: p for p in problems}
    warnings: list[str] = []
    unknown = [s.get("task_id") for s in samples if str(s.get("task_id")) not in by_id]
    if unknown:
        warnings.append(f"{len(unknown)} sample(s) name tasks that are not in {bench.label} (first: {unknown[0]!r}); left out")
    # pass@k averages over the tasks that have samples: say so when some have none (a cut-short
    # generation run), or a score over 10 tasks would read as the benchmark's (the official tools refuse).
    sampled = {str(s.get("task_id")) for s in samples}
    unsampled = [p.task_id for p in problems if p.task_id not in sampled] if samples else []
    if unsampled:
        warnings.append(
            f"{len(unsampled)} of {len(problems)} task(s) of {bench.label} have no sample (first: {unsampled[0]!r}); "
            f"pass@k is over the {len(problems) - len(unsampled)} task(s) with samples, not the whole benchmark"
        )

    # (problem, index, solution, is_canary) for every program to judge
    items: list[tuple[Problem, int, str, bool]] = []
    counts: dict[str, int] = defaultdict(int)
    for s in samples:
        problem = by_id.get(str(s.get("task_id")))
        if problem is None:
            continue
        index = counts[problem.task_id]
        counts[problem.task_id] += 1
        items.append((problem, index, bench.solution(problem, s), False))
    if canary:
        items.extend((p, -1, p.canonical_solution, True) for p in problems if p.canonical_solution)

    own = executor is None
    if own:
        from acesandbox import Executor

        executor = Executor(bench.sandbox_config(backend=backend, workers=workers))
    reports: dict[int, dict[str, Report]] = defaultdict(dict)
    sandbox = WarningTally()  # the sandbox's warnings (process backend, forgeable tests), once each
    first: dict[tuple[str, str, bool], int] = {}
    same_as: dict[int, int] = {}  # item -> the earlier item with the same task and program
    try:
        bench.prepare(problems, executor=executor, progress=progress)
        flat: list[tuple[int, str, Job]] = []
        failed_build: dict[int, str] = {}
        for i, (problem, _index, solution, is_canary) in enumerate(items):
            if dedupe:
                j = first.setdefault((problem.task_id, solution, is_canary), i)
                if j != i:
                    same_as[i] = j
                    continue
            try:
                for part, job in bench.jobs(problem, solution).items():
                    flat.append((i, part, job))
            except BenchmarkError as exc:
                failed_build[i] = str(exc)
        flat.sort(key=longest_first, reverse=True)  # longest first: no lone long job at the end
        for k, report in executor.imap((job for _, _, job in flat), ordered=False, progress=progress, total=len(flat)):
            i, part, _ = flat[k]
            reports[i][part] = report
            sandbox.add(report.warnings)
    finally:
        if own:
            executor.close()

    for i, j in same_as.items():
        if j in failed_build:
            failed_build[i] = failed_build[j]
        else:
            reports[i] = reports[j]
    results: list[SampleResult] = []
    canary_results: list[SampleResult] = []
    for i, (problem, index, solution, is_canary) in enumerate(items):
        if i in failed_build:
            result = SampleResult(problem.task_id, index, solution, {p: SANDBOX_ERROR for p in bench.parts},
                                  details={"error": failed_build[i]})
        else:
            result = bench.verdicts(problem, reports[i])
            result = dataclasses.replace(result, task_id=problem.task_id, index=index, solution=solution)
        (canary_results if is_canary else results).append(result)

    errors = sum(1 for r in results if SANDBOX_ERROR in r.verdicts.values())
    if errors:
        warnings.append(
            f"{errors} sample(s) could not be judged (sandbox_error); they are left out of every denominator"
        )
    if failed_build:
        first_error = next(iter(failed_build.values()))
        warnings.append(f"{len(failed_build)} program(s) could not be turned into jobs (first: {first_error})")
    warnings.extend(f"sandbox: {line}" for line in sandbox.lines())
    canary_value = None
    if canary:
        bad = tuple((r.task_id, _verdict_text(r)) for r in canary_results if any(v != PASS for v in r.verdicts.values()))
        canary_value = Canary(total=len(canary_results), passed=len(canary_results) - len(bad), failures=bad)
        if bad:
            shown = ", ".join(f"{t} ({v})" for t, v in bad[:5])
            warnings.append(
                f"canary: {len(bad)} of {len(canary_results)} canonical solutions did not pass: {shown}"
                + (" ..." if len(bad) > 5 else "")
                + " -- scores of those tasks are not trustworthy on this host"
            )
    return Evaluation(
        benchmark=bench.label,
        parts=tuple(bench.parts),
        results=tuple(results),
        canary=canary_value,
        warnings=tuple(warnings),
        duration_s=time.monotonic() - started,
        meta={"backend": getattr(getattr(executor, "backend", None), "name", backend or ""), "tasks": len(problems),
              "tasks_without_samples": len(unsampled), "duplicates": len(same_as), **({"rules": bench.scoring_rules()} if bench.scoring_rules() else {})},
    )
