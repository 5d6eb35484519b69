"""LiveCodeBench scored as lcb_runner does: one job per sample, official results and result files.

A problem passes when every test's result is ``True`` (:data:`~benchmarks.verdicts.PASS`);
any error code is ``fail``; a sandbox failure is ``sandbox_error``.

Time limits are lcb_runner's: each test runs under a ``signal.alarm(timeout)`` of
``timeout_s`` (6 s; no calibration against a reference solution), the whole problem under
``(timeout + 1) x tests + 5`` s. Each test is timed alone in the sandbox, and
``details["timing"]["pass"]`` gives the slowest test's margin to its limit
(:mod:`benchmarks.margins`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from acesandbox import CallBatchTest, Job, Limits, Report, SandboxConfig, Status
from acesandbox.extract import last_fenced_span

from ..base import Benchmark, Problem, SampleResult
from ..errors import BenchmarkError
from ..margins import SLOW_FRACTION
from ..margins import margin as _margin
from ..verdicts import FAIL, PASS, SANDBOX_ERROR
from .data import DATASET, LcbTest, parse_date, read_hub, read_local, record_problem, release_files
from .judge import JUDGE, PACK, SLOW_CALLS, truncate
from .programs import call_program, call_target, stdio_program, timed
from .prompts import BASE_STOP, SYSTEM_MESSAGE, base_prompt, load_examples

__all__ = ["DEFAULT_TIMEOUT_S", "K_LIST", "SANDBOX", "LiveCodeBench", "official_result"]

DEFAULT_TIMEOUT_S = 6
"""lcb_runner's ``--timeout`` default: each test's wall-clock alarm, in seconds."""

SANDBOX = SandboxConfig(memory_mb=4096)
"""The sandboxes LiveCodeBench programs run in: 4 GiB each (the ``memory_mb`` option overrides it)."""

K_LIST = (1, 5, 10, 20, 40, 50, 75, 100, 125, 150, 200, 500, 1000)
"""The k values lcb_runner reports pass@k for (those every problem has enough samples for)."""


class LiveCodeBench(Benchmark):
    """LiveCodeBench code generation (``release=``, ``start_date=``, ``end_date=``, ``timeout_s=``).

    ``stdin_mock``: ``"buffered"`` (lcb_runner since 2025-05-23, the default) or
    ``"stringio"`` (the earlier harness that graded the published leaderboard runs).
    """

    name = "livecodebench"
    parts = ("pass",)
    default_dataset = DATASET

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        known = {"release", "version_tag", "start_date", "end_date", "timeout_s", "memory_mb", "stdin_mock", "platform", "difficulty",
                 "few_shot_dir"}
        unknown = set(options) - known
        if unknown:
            raise BenchmarkError(f"unknown livecodebench option(s) {sorted(unknown)}; known: {sorted(known)}")
        self.release = str(options.get("release") or options.get("version_tag") or "release_latest")
        self.files = release_files(self.release)
        self.start = parse_date(options["start_date"], "start_date") if options.get("start_date") else None
        self.end = parse_date(options["end_date"], "end_date") if options.get("end_date") else None
        if self.start and self.end and self.start > self.end:
            raise BenchmarkError(f"start_date {options['start_date']} is after end_date {options['end_date']}")
        self.timeout_s = options.get("timeout_s", DEFAULT_TIMEOUT_S)
        if isinstance(self.timeout_s, bool) or not isinstance(self.timeout_s, (int, float)) or self.timeout_s <= 0:
            raise BenchmarkError(f"timeout_s must be a positive number of seconds, got {self.timeout_s!r}")
        self.memory_mb = int(options.get("memory_mb", SANDBOX.memory_mb))
        self.stdin_mock = str(options.get("stdin_mock", "buffered"))
        if self.stdin_mock not in ("buffered", "stringio"):
            raise BenchmarkError(f"stdin_mock must be 'buffered' or 'stringio', got {self.stdin_mock!r}")
        self.examples = load_examples(options.get("few_shot_dir"))
        self.platform = options.get("platform")
        self.difficulty = options.get("difficulty")

    SANDBOX: ClassVar[SandboxConfig] = SANDBOX
    stop_sequences: ClassVar[tuple[str, ...]] = BASE_STOP
    """Where a base model's answer ends (``--prompt-style base``)."""

    def sandbox_config(self, *, backend: str | None = None, workers: int | None = None) -> SandboxConfig:
        """:data:`SANDBOX` with the run's backend and workers and this benchmark's memory cap."""
        return dataclasses.replace(super().sandbox_config(backend=backend, workers=workers), memory_mb=self.memory_mb)

    @property
    def label(self) -> str:
        parts = [self.name, self.release]
        if self.start or self.end:
            parts.append(f"{self.start.date() if self.start else ''}..{self.end.date() if self.end else ''}")
        return "-".join(parts)

    # -- problems

    def load(self, dataset: str | None = None) -> list[Problem]:
        """Problems of the release (hub files fetched lazily) or a local file, date-filtered, by question_id."""
        from ..io import is_local

        source = dataset or DATASET
        if is_local(source):
            pairs = read_local(os.path.expanduser(str(source)))
        else:
            pairs = read_hub(str(source), self.files)
        problems = sorted(self.select([record_problem(r, where) for where, r in pairs]), key=lambda p: p.task_id)
        self.remember(problems)
        return problems

    def select(self, problems: Sequence[Problem]) -> list[Problem]:
        """The problems inside the date window (inclusive, official rule) and platform/difficulty filters."""
        out = []
        for p in problems:
            date = p.data["date"]
            if self.start is not None and date < self.start:
                continue
            if self.end is not None and date > self.end:
                continue
            if self.platform and p.data.get("platform") != self.platform:
                continue
            if self.difficulty and p.data.get("difficulty") != self.difficulty:
                continue
            out.append(p)
        return out

    def prompt(self, problem: Problem, *, chat: bool) -> str | list[dict[str, str]]:
        """The official prompts: for chat models the system message, then the question template;
        for base models the one-shot format (:func:`~benchmarks.livecodebench.prompts.base_prompt`)."""
        if chat:
            return [{"role": "system", "content": SYSTEM_MESSAGE}, {"role": "user", "content": problem.prompt}]
        return base_prompt(problem, self.examples)

    def solution(self, problem: Problem, sample: Mapping[str, Any]) -> str:
        """Plain code as given; a model answer is reduced by the official rule (last fenced block)."""
        for key in ("solution", "completion", "output"):
            text = sample.get(key)
            if isinstance(text, str):
                if "```" in text:
                    return last_fenced_span(text)
                low = text.lower()
                if "<think>" in low or "</think>" in low:
                    return ""  # officially: no fenced block, no code
                return text
        raise BenchmarkError(f"sample for {problem.task_id} has neither a 'solution' nor a 'completion' string")

    # -- jobs and verdicts

    def jobs(self, problem: Problem, solution: str) -> Mapping[str, Job]:
        return {"pass": self.job_for(problem, solution, problem.data["tests"])}

    def job_for(self, problem: Problem, code: str, tests: Sequence[LcbTest]) -> Job:
        """One job that runs ``tests`` in order in one process, as the official harness does.

        Each test goes through the timing wrapper (:func:`~.programs.timed`) with its index."""
        n = len(tests)
        job_id = f"{problem.task_id}#{uuid.uuid4().hex[:16]}"
        limit_s = float(self.timeout_s)
        SLOW_CALLS.expect(job_id)
        budget = self.budget_s(n)
        limits = Limits(
            timeout_s=budget, wall_timeout_s=budget, job_timeout_s=budget + 10, output_bytes=64 * 1024,
        )
        fn_name = problem.data.get("func_name") or ""
        if fn_name:
            calls, expected = [], []
            for i, t in enumerate(tests):
                try:
                    calls.append((i, *(json.loads(line) for line in t.input.split("\n"))))
                    expected.append(json.loads(t.output))
                except ValueError as exc:
                    raise BenchmarkError(f"{problem.task_id}: test {i} is not JSON lines ({str(exc)[:80]})") from None
            test = CallBatchTest(
                "__lcb_timed__", tuple(calls), tuple(expected), judge=JUDGE,
                judge_options={"mode": "call", "limit_s": limit_s}, call_timeout_s=limit_s,
            )
            program = timed(call_program(code), call_target(code, fn_name), job_id, SLOW_FRACTION * limit_s)
        else:
            test = CallBatchTest(
                "__lcb_timed__", tuple((i, t.input, self.stdin_mock) for i, t in enumerate(tests)),
                tuple(t.output for t in tests), judge=JUDGE, judge_options={"mode": "stdio", "limit_s": limit_s},
                call_timeout_s=limit_s,
            )
            program = timed(stdio_program(code), "__lcb_stdio__", job_id, SLOW_FRACTION * limit_s)
        return Job(program, (test,), limits=limits, mode="shared", stop_on_failure=True, job_id=job_id)

    def verdicts(self, problem: Problem, reports: Mapping[str, Report]) -> SampleResult:
        report = reports["pass"]
        results, meta = official_result(problem, report, problem.data["tests"])
        if meta.get("error_code") == "sandbox_error":
            verdict = SANDBOX_ERROR
        else:
            verdict = PASS if all(r is True for r in results) else FAIL
        fail_tests = [] if verdict != FAIL else [meta.get("inputs", "")]
        return SampleResult(
            problem.task_id, 0, "", {"pass": verdict}, reports=dict(reports), fail_tests={"pass": fail_tests},
            details={"results": results, "metadata": meta, "timing": {"pass": self.margin(report, len(problem.data["tests"]))}},
        )

    def margin(self, report: Report, n_tests: int) -> dict[str, Any]:
        """The slowest test's time against lcb_runner's per-test alarm (:func:`benchmarks.margins.margin`)."""
        out = SLOW_CALLS.tightest(report.job_id)
        outcome = report.outcomes[0] if report.outcomes else None
        if outcome is not None and outcome.status == Status.TIMEOUT:
            if outcome.call_index is not None:  # the test's alarm
                return _margin(None, float(self.timeout_s), call=outcome.call_index, timed_out=True)
            return _margin(report.duration_s, self.budget_s(n_tests), timed_out=True)
        return out

    def budget_s(self, n_tests: int) -> float:
        """lcb_runner's wait for the whole problem: ``(timeout + 1) x tests + 5`` seconds."""
        return float((self.timeout_s + 1) * max(n_tests, 1) + 5)

    def write_official(self, results: Sequence[SampleResult], out_dir: str, stem: str) -> list[str]:
        """``{stem}_eval_all.json`` (per-problem records) and ``{stem}_eval.json`` (pass@k, results, metadata)."""
        from ..metrics import pass_at_k

        problems = getattr(self, "_written_problems", None) or {}
        by_task: dict[str, list[SampleResult]] = {}
        for r in results:
            by_task.setdefault(r.task_id, []).append(r)
        for rs in by_task.values():
            rs.sort(key=lambda r: r.index)
        eval_all, res_map, meta_list, totals, corrects = [], {}, [], [], []
        for idx, task_id in enumerate(sorted(by_task)):
            rs = [r for r in by_task[task_id] if r.verdicts.get("pass") != SANDBOX_ERROR]
            record = dict(problems.get(task_id, {"question_id": task_id}))
            graded = [r.verdicts["pass"] == PASS for r in rs]
            record.update(
                output_list=[r.details.get("output", r.solution) for r in rs],
                code_list=[r.solution for r in rs],
                graded_list=graded,
                **{"pass@1": graded.count(True) / len(graded) if graded else 0.0},
                metadata=[json.dumps(r.details.get("metadata", {})) for r in rs],
            )
            eval_all.append(record)
            res_map[str(idx)] = [list(r.details.get("results", [])) for r in rs]
            meta_list.append([json.dumps(r.details.get("metadata", {})) for r in rs])
            totals.append(len(graded))
            corrects.append(graded.count(True))
        metrics: dict[str, Any] = {}
        detail: dict[str, dict[str, float]] = {}
        for k in K_LIST:
            if totals and all(n >= k for n in totals):
                per = [pass_at_k(n, c, k) for n, c in zip(totals, corrects)]
                metrics[f"pass@{k}"] = sum(per) / len(per)
                detail[f"pass@{k}"] = {str(i): v for i, v in enumerate(per)}
        metrics["detail"] = detail
        os.makedirs(out_dir, exist_ok=True)
        paths = [os.path.join(out_dir, f"{stem}_eval_all.json"), os.path.join(out_dir, f"{stem}_eval.json")]
        with open(paths[0], "w") as f:
            json.dump(eval_all, f, indent=4)
        with open(paths[1], "w") as f:
            json.dump([metrics, res_map, meta_list], f, indent=4)
        return paths

    def remember(self, problems: Sequence[Problem]) -> None:
        """Keep the problems' fields for :meth:`write_official` (the eval_all records carry them)."""
        keys = ("question_title", "question_content", "platform", "question_id", "contest_id",
                "contest_date", "starter_code", "difficulty")
        self._written_problems = {p.task_id: {k: p.data.get(k, "") for k in keys} for p in problems}


def _call_message(message: str) -> str:
    """An outcome message without its ``call N: `` prefix."""
    return re.sub(r"^call \d+: ", "", message, count=1)


def _error_repr(message: str) -> str:
    """``Type: text`` (first line of an outcome message) as the official ``repr(e)``."""
    head = _call_message(message).split("\n", 1)[0]
    kind, sep, text = head.partition(": ")
    if sep and kind.isidentifier():
        return f"{kind}({text!r})"
    return head


def official_result(problem: Problem, report: Report, tests: Sequence[LcbTest]) -> tuple[list[Any], dict[str, Any]]:
    """The official result list (``True`` per passed test, then an error code) and metadata."""
    outcome = report.outcomes[0]
    status = outcome.status
    if status == Status.SANDBOX_ERROR:
        return [], {"error_code": "sandbox_error", "error_message": outcome.message}
    if status == Status.PASSED:
        return [True] * len(tests), {"execution time": outcome.duration_s}
    i = outcome.call_index
    call_based = bool(problem.data.get("func_name"))

    def shown_inputs(k: int) -> str:
        t = tests[k]
        if call_based:
            try:
                return truncate([json.loads(line) for line in t.input.split("\n")])
            except ValueError:
                return truncate(t.input)
        return truncate(t.input)

    def shown_expected(k: int) -> str:
        t = tests[k]
        if call_based:
            try:
                return truncate(json.loads(t.output))
            except ValueError:
                return truncate(t.output)
        return truncate(t.output)

    if status == Status.FAILED and i is not None:
        message = _call_message(outcome.message)
        info: dict[str, Any] = {}
        if message.startswith(PACK):
            try:
                info = json.loads(message[len(PACK):])
            except ValueError:
                info = {}
        meta = {
            "output": info.get("output", ""),
            "inputs": shown_inputs(i),
            "expected": shown_expected(i),
            "error_code": -2,
            "error_message": info.get("error_message", "Wrong Answer"),
        }
        return [True] * i + [-2], meta
    if status == Status.TIMEOUT and i is not None:
        return [True] * i + [-3], {
            "error": "TimeoutException()", "error_code": -3, "error_message": "Time Limit Exceeded",
            "inputs": shown_inputs(i), "expected": shown_expected(i),
        }
    if status in (Status.ERROR, Status.MEMORY) and i is not None:
        return [True] * i + [-4], {
            "error": _error_repr(outcome.message) if status == Status.ERROR else "MemoryError()",
            "error_code": -4, "error_message": "Runtime Error",
            "inputs": shown_inputs(i), "expected": shown_expected(i),
        }
    if status in (Status.ERROR, Status.MEMORY, Status.FAILED):
        # the program did not load (or the function could not be found): officially -4
        return [-4], {"error_code": -4, "error_message": f"Error during testing: {outcome.message.splitlines()[0] if outcome.message else ''}"}
    # the whole-problem budget, or the process died (exit in a call, os._exit, a crash)
    return [-1] * len(tests), {"error": outcome.message, "error_code": -5, "error_message": "TestRunnerError"}
