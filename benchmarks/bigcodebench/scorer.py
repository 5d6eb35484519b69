"""The BigCodeBench benchmark: prompts, calibrated programs, one job per sample, official result files."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from acesandbox import AssertTest, Job, Limits, Report, SandboxConfig, Status

from ..bcb_env import env_nltk_dir
from ..base import Benchmark, Problem, SampleResult, extract_program, needs_extraction
from ..errors import BenchmarkError
from ..margins import margin as _margin
from ..verdicts import PASS, SANDBOX_ERROR
from .data import DEFAULT_VERSION, HUB_HARD_NAME, HUB_NAME, problems_from_records, task_number
from .libs import PRELOAD, missing_libraries, preload_for
from .programs import REPORT, SUITE, sanitize, task_status, test_methods, with_prelude
from .tasks import INSTRUCTION_PREFIX, RESPONSE_PREFIX, STOP_SEQUENCES

__all__ = ["SANDBOX", "TIMEOUT_PER_TASK_S", "BigCodeBench"]

TIMEOUT_PER_TASK_S = 240.0
"""The official ``BIGCODEBENCH_TIMEOUT_PER_TASK`` default (``TIMEOUT_LIMIT``)."""

SANDBOX = SandboxConfig(memory_mb=4096, max_processes=128, preload=PRELOAD)
"""The sandboxes BigCodeBench tasks run in: 4 GiB and 128 processes each, :data:`PRELOAD`
imported once (``verify-official --python`` adds a pinned interpreter)."""


class BigCodeBench(Benchmark):
    """BigCodeBench, scored as ``bigcodebench.evaluate`` does (see the module docstring).

    Options: ``split`` (``complete`` | ``instruct``), ``subset`` (``full`` | ``hard``),
    ``calibrated`` (True), ``version`` (hub split, ``v0.1.4``), ``timeout_per_task_s``
    (240), ``min_time_limit_s`` (1), ``gt_times`` (task id -> canonical seconds),
    ``memory_mb`` (4096), ``check_libs`` (True: skip tasks whose libraries are missing),
    ``nltk_data`` (the NLTK data folder; default: the ``python`` venv's, see :attr:`nltk_data`).
    """

    name: ClassVar[str] = "bigcodebench"
    parts: ClassVar[tuple[str, ...]] = ("pass",)
    default_dataset: ClassVar[str | None] = HUB_NAME
    stop_sequences: ClassVar[tuple[str, ...]] = STOP_SEQUENCES
    response_prefix: ClassVar[str] = RESPONSE_PREFIX

    def __init__(
        self,
        split: str = "complete",
        subset: str = "full",
        *,
        calibrated: bool = True,
        version: str = DEFAULT_VERSION,
        timeout_per_task_s: float = TIMEOUT_PER_TASK_S,
        min_time_limit_s: float = 1.0,
        gt_times: Mapping[str, float] | None = None,
        memory_mb: int = SANDBOX.memory_mb,
        check_libs: bool = True,
        **options: Any,
    ) -> None:
        split = split or "complete"
        subset = subset or "full"
        if split not in ("complete", "instruct"):
            raise BenchmarkError(f"bigcodebench: split must be 'complete' or 'instruct', got {split!r}")
        if subset not in ("full", "hard"):
            raise BenchmarkError(f"bigcodebench: subset must be 'full' or 'hard', got {subset!r}")
        for label, value in (("timeout_per_task_s", timeout_per_task_s), ("min_time_limit_s", min_time_limit_s)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise BenchmarkError(f"bigcodebench: {label} must be a positive number of seconds, got {value!r}")
        super().__init__(split=split, subset=subset, calibrated=calibrated, version=version, **options)
        self.split, self.subset, self.calibrated, self.version = split, subset, bool(calibrated), version
        self.timeout_per_task_s = float(timeout_per_task_s)
        self.min_time_limit_s = float(min_time_limit_s)
        self.gt_times = dict(gt_times or {})
        self.memory_mb = memory_mb
        self.check_libs = check_libs
        self._gt: dict[str, bool] = {}  # canary (canonical solution) verdicts seen by verdicts()

    @property
    def label(self) -> str:
        return f"bigcodebench-{self.split}" + ("-hard" if self.subset == "hard" else "")

    # -- problems
    def load(self, dataset: str | None = None) -> list[Problem]:
        """Problems from the hub (``bigcode/bigcodebench[-hard]``, split ``version``) or a local file."""
        from ..io import is_local, read_records

        hub = dataset is None
        source = dataset or (HUB_HARD_NAME if self.subset == "hard" else HUB_NAME)
        records = read_records(source, split=self.version if (hub or not is_local(source)) else "test")
        return problems_from_records(records, split=self.split, subset=self.subset, where=str(source))

    # -- prompts and programs
    def prompt(self, problem: Problem, *, chat: bool) -> str | list[dict[str, str]]:
        """The official codegen prompt: the task wrapped in the official instruction for chat models.

        The official codegen also pre-fills the assistant turn with :attr:`response_prefix`
        and an open python fence; a chat API without pre-fill gets the user turn alone.
        """
        if not chat:
            if self.split == "instruct":
                raise BenchmarkError("bigcodebench-instruct needs a chat model: base models only continue complete prompts")
            return str(problem.data.get("complete_prompt", problem.prompt))
        text = problem.prompt.strip()
        if self.split == "complete":
            content = f"{INSTRUCTION_PREFIX}\n```\n{text}\n```\n"
        else:
            content = f"{INSTRUCTION_PREFIX}\n{text}\n"
        return [{"role": "user", "content": content}]

    def solution(self, problem: Problem, sample: Mapping[str, Any]) -> str:
        """The calibrated program of one sample (``solution`` or ``complete_prompt + completion``)."""
        if isinstance(sample.get("solution"), str):
            code = sample["solution"]
            if needs_extraction(code):
                code = sanitize(extract_program(code, problem))
        elif isinstance(sample.get("completion"), str):
            text = sample["completion"]
            if needs_extraction(text):
                code = sanitize(extract_program(text, problem))
                if f"def {problem.entry_point}" not in code:
                    code = str(problem.data["complete_prompt"]) + code
            else:
                code = str(problem.data["complete_prompt"]) + text
        else:
            raise BenchmarkError(f"sample for {problem.task_id} has neither a 'solution' nor a 'completion' string")
        if self.calibrated:
            code = str(problem.data["code_prompt"]) + "\n    pass\n" + code
        return code

    @property
    def python(self) -> str | None:
        """The interpreter the sandbox runs programs with (option ``python``; None: the host's)."""
        return self.options.get("python") or None

    @property
    def nltk_data(self) -> str | None:
        """The NLTK data folder programs see as ``NLTK_DATA``: option ``nltk_data``, else the ``python``
        venv's ``nltk_data`` folder (:func:`benchmarks.bcb_env.env_nltk_dir`), else none."""
        if self.options.get("nltk_data"):
            return str(self.options["nltk_data"])
        found = env_nltk_dir(self.python)
        return str(found) if found is not None else None

    def scoring_rules(self) -> str:
        """Which environment scores (option ``environment``, an
        :class:`~benchmarks.bigcodebench.environment.Environment`; "" when not said)."""
        env = self.options.get("environment")
        return f"environment {env.label}" if env is not None else ""

    SANDBOX: ClassVar[SandboxConfig] = SANDBOX

    def sandbox_config(self, *, backend: str | None = None, workers: int | None = None) -> SandboxConfig:
        """:data:`SANDBOX` with the run's backend and workers, this benchmark's memory cap, the ``python``
        option, and only the modules of :data:`PRELOAD` that interpreter has."""
        config = super().sandbox_config(backend=backend, workers=workers)
        return dataclasses.replace(config, memory_mb=self.memory_mb, preload=preload_for(self.python))

    def time_limit_s(self, task_id: str) -> float:
        """The official limit of one task's whole suite, in wall seconds."""
        gt = self.gt_times.get(task_id) or 20.0
        return max(self.timeout_per_task_s, max(self.min_time_limit_s, gt)) + 1.0

    def jobs(self, problem: Problem, solution: str) -> Mapping[str, Job]:
        """One job: the suite, then one report per test method; none when libraries are missing."""
        if self.check_libs and missing_libraries(problem, self.python):
            return {}
        return {"pass": self.job(problem, solution, canary=solution == problem.canonical_solution)}

    def job(self, problem: Problem, program: str, *, canary: bool = False) -> Job:
        """The acesandbox job that runs ``program`` against the task's ``TestCases``."""
        test_source = str(problem.data["test"])
        methods = test_methods(test_source)
        limit = self.time_limit_s(problem.task_id)
        tests = [AssertTest(test_source + "\n" + SUITE % (limit - 1.0, methods))]
        tests += [AssertTest(REPORT % name) for name in methods]
        limits = Limits(
            timeout_s=limit,
            wall_timeout_s=limit,
            job_timeout_s=limit + 1.0,
            max_file_mb=128,
        )
        job_id = problem.task_id + ("#canonical" if canary else "")
        return Job(with_prelude(program, nltk_data=self.nltk_data), tests, limits=limits, mode="shared",
                   compare="compat", job_id=job_id)

    def verdicts(self, problem: Problem, reports: Mapping[str, Report]) -> SampleResult:
        report = reports.get("pass")
        if report is None:
            missing = missing_libraries(problem, self.python)
            reason = (
                f"skipped: missing librar{'y' if len(missing) == 1 else 'ies'} {', '.join(missing)}; "
                "install the bigcodebench extra or run with the docker backend"
            )
            return SampleResult(problem.task_id, 0, "", {"pass": SANDBOX_ERROR}, fail_tests={"pass": [reason]},
                                details={"status": "skipped", "details": {"ALL": reason}})
        methods = test_methods(str(problem.data["test"]))
        status, details = task_status(report, methods)
        if report.job_id and report.job_id.endswith("#canonical"):
            self._gt[problem.task_id] = status == PASS
        return SampleResult(problem.task_id, 0, "", {"pass": status}, reports={"pass": report},
                            fail_tests={"pass": sorted(details)}, details={"status": status, "details": details,
                                                                           "timing": {"pass": self.margin(problem, report)}})

    def margin(self, problem: Problem, report: Report) -> dict[str, Any]:
        """The suite's wall time against the official limit of the whole task (:mod:`benchmarks.margins`)."""
        suite = report.outcomes[0] if report.outcomes else None
        timed_out = suite is not None and suite.status == Status.TIMEOUT
        spent = suite.duration_s if suite is not None else report.duration_s
        return _margin(spent, self.time_limit_s(problem.task_id), timed_out=timed_out)

    # -- official files
    def write_official(self, results: Sequence[SampleResult], out_dir: str, stem: str) -> list[str]:
        """``STEM_eval_results.json`` and ``STEM_pass_at_k.json``, in the official shapes.

        Samples that could not be judged (``sandbox_error``, skipped tasks) are left out of
        both and listed under ``skipped`` in the pass@k file. ``gt_pass_rate`` and
        ``failed_tasks`` come from the canary run (None / [] when it did not run).
        """
        from ..metrics import pass_at_k as estimate

        os.makedirs(out_dir, exist_ok=True)
        by_task: dict[str, list[SampleResult]] = defaultdict(list)
        skipped: dict[str, str] = {}
        for r in results:
            if r.verdicts.get("pass") == SANDBOX_ERROR:
                skipped[r.task_id] = "; ".join(r.fail_tests.get("pass") or []) or "sandbox_error"
                continue
            by_task[r.task_id].append(r)
        evals: dict[str, list[dict[str, Any]]] = {}
        for task_id in sorted(by_task, key=task_number):
            evals[task_id] = [
                {"task_id": task_id, "solution": r.solution, "status": r.verdicts["pass"],
                 "details": dict(r.details.get("details", {}))}
                for r in sorted(by_task[task_id], key=lambda r: r.index)
            ]
        eval_path = os.path.join(out_dir, f"{stem}_eval_results.json")
        with open(eval_path, "w", encoding="utf-8") as f:
            json.dump({"date": time.strftime("%Y-%m-%d %H:%M"), "eval": evals}, f, indent=2)
        pass_at_k: dict[str, Any] = {}
        counts = [(len(v), sum(1 for x in v if x["status"] == PASS)) for v in evals.values()]
        if counts:
            for k in (1, 5, 10):
                if min(n for n, _ in counts) >= k:
                    pass_at_k[f"pass@{k}"] = sum(estimate(n, c, k) for n, c in counts) / len(counts)
        gt = {t: ok for t, ok in self._gt.items() if t in by_task or t in skipped}
        pass_at_k.update(
            model=stem.split("--bigcodebench-")[0],
            split=self.split,
            subset=self.subset,
            calibrated=self.calibrated,
            gt_pass_rate=(sum(gt.values()) / len(gt)) if gt else None,
            failed_tasks=sorted((t for t, ok in gt.items() if not ok), key=task_number),
            skipped=skipped,
        )
        k_path = os.path.join(out_dir, f"{stem}_pass_at_k.json")
        with open(k_path, "w", encoding="utf-8") as f:
            json.dump(pass_at_k, f, indent=2)
        return [eval_path, k_path]
