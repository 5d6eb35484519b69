"""The benchmark interface: one small ABC, implementations registered by name and imported lazily.

A benchmark turns its problems and a model's solutions into acesandbox jobs, and the
sandbox's reports back into the official evaluator's verdicts. Everything else (sample
loading, the canary run on canonical solutions, pass@k, result files, the CLI) is shared
and lives in :mod:`benchmarks.runner`.

Verdicts are :class:`~benchmarks.verdicts.Verdict` values, equal to the official strings
of each benchmark (``"pass"``, ``"fail"``, ``"timeout"``), plus ``sandbox_error``, which
means *we* could not judge the sample: it is kept out of every denominator and reported
with a warning. Exceptions are drawn in :mod:`benchmarks.errors`.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from acesandbox import Job, Report, SandboxConfig
from acesandbox.registry import Registry

from .errors import BenchmarkError, BenchmarkNotFoundError
from .verdicts import FAIL, PASS, SANDBOX_ERROR, TIMEOUT, Verdict

__all__ = [
    "BENCHMARKS",
    "PASS",
    "FAIL",
    "TIMEOUT",
    "SANDBOX_ERROR",
    "Benchmark",
    "BenchmarkError",
    "BenchmarkNotFoundError",
    "Problem",
    "SampleResult",
    "Verdict",
    "available_benchmarks",
    "extract_program",
    "get_benchmark",
    "longest_first",
    "needs_extraction",
    "register_benchmark",
]


@dataclass(frozen=True)
class Problem:
    """One task of a benchmark.

    ``prompt`` is what a completion model continues (the official prompt); ``data`` holds
    the raw record with every field the benchmark's own code needs (inputs, tests, ...).
    """

    task_id: str
    prompt: str
    entry_point: str = ""
    canonical_solution: str = ""
    """A complete program that must pass (the canary run checks it on every scoring call)."""
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class SampleResult:
    """The verdicts of one sample (one solution of one task).

    ``verdicts`` maps each of the benchmark's parts (:attr:`Benchmark.parts`, e.g.
    ``base`` and ``plus``) to a :class:`~benchmarks.verdicts.Verdict` (the official string).
    ``reports`` holds the acesandbox report of each part's job, for per-test detail.
    ``fail_tests`` lists, per part, the inputs or test names that failed (official shape).
    """

    task_id: str
    index: int
    solution: str
    verdicts: Mapping[str, Verdict]
    reports: Mapping[str, Report] = field(default_factory=dict, repr=False)
    fail_tests: Mapping[str, list[Any]] = field(default_factory=dict, repr=False)
    details: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def passed(self, part: str) -> bool | None:
        """True/False for the part's verdict; None when the sandbox could not judge it."""
        verdict = self.verdicts[part]
        if verdict == SANDBOX_ERROR:
            return None
        return verdict == PASS


class Benchmark(abc.ABC):
    """One benchmark: load problems, build jobs, turn reports into official verdicts.

    Subclasses set :attr:`name` and :attr:`parts`, and implement :meth:`load`,
    :meth:`jobs` and :meth:`verdicts`. A part is one headline number: HumanEval+ has
    ``("base", "plus")`` where ``plus`` means base *and* plus passed, as EvalPlus scores it.
    """

    name: ClassVar[str] = ""
    parts: ClassVar[tuple[str, ...]] = ("pass",)
    default_dataset: ClassVar[str | None] = None
    """Where :meth:`load` reads with no argument: a hub name, a package, or None (required)."""
    SANDBOX: ClassVar[SandboxConfig] = SandboxConfig()
    """The family's per-sandbox settings (memory, processes, preload), one value; see :meth:`sandbox_config`."""

    def __init__(self, **options: Any) -> None:
        self.options = dict(options)

    @property
    def label(self) -> str:
        """The name with the options that change the problem set (``bigcodebench-instruct-hard``)."""
        return self.name

    @abc.abstractmethod
    def load(self, dataset: str | None = None) -> list[Problem]:
        """Problems from a hub name, an official release file or a local path (``None``: the default)."""

    def prompt(self, problem: Problem, *, chat: bool) -> str | list[dict[str, str]]:
        """What to send a model: the official prompt (``chat`` selects the instruct form)."""
        if chat:
            return [{"role": "user", "content": problem.prompt}]
        return problem.prompt

    def solution(self, problem: Problem, sample: Mapping[str, Any]) -> str:
        """The program to run for one sample record.

        ``solution`` is a whole program and ``completion`` continues the prompt, as in the
        official formats. A markdown answer or one with a ``<think>`` block is reduced to
        its best Python block first (:func:`extract_program`); plain code runs as given.
        """
        if isinstance(sample.get("solution"), str):
            text = sample["solution"]
            return extract_program(text, problem) if needs_extraction(text) else text
        if isinstance(sample.get("completion"), str):
            text = sample["completion"]
            if not needs_extraction(text):
                return problem.prompt + text
            code = extract_program(text, problem)
            if problem.entry_point and f"def {problem.entry_point}" not in code:
                return problem.prompt + code  # a body-only block continues the prompt
            return code
        raise BenchmarkError(f"sample for {problem.task_id} has neither a 'solution' nor a 'completion' string")

    def scoring_rules(self) -> str:
        """Which version of the official evaluator's rules score this run ("" when there is one only)."""
        return ""

    def sandbox_config(self, *, backend: str | None = None, workers: int | None = None) -> SandboxConfig:
        """The sandbox this benchmark is scored in: the family's :attr:`SANDBOX` value with a run's
        ``backend`` and ``workers``, and the ``python`` option (an interpreter with pinned libraries)."""
        python = self.options.get("python") or self.SANDBOX.python
        return dataclasses.replace(self.SANDBOX, backend=backend, workers=workers, python=python)

    def prepare(self, problems: Sequence[Problem], *, executor: Any = None, progress: bool = False) -> None:
        """Compute what jobs need before scoring (EvalPlus's expected outputs), on ``executor``."""

    @abc.abstractmethod
    def jobs(self, problem: Problem, solution: str) -> Mapping[str, Job]:
        """The acesandbox jobs that judge one solution, by name (e.g. ``base``, ``plus``)."""

    @abc.abstractmethod
    def verdicts(self, problem: Problem, reports: Mapping[str, Report]) -> SampleResult:
        """Official verdicts from the reports of :meth:`jobs` (task_id/index/solution filled in later)."""

    def write_official(self, results: Sequence[SampleResult], out_dir: str, stem: str) -> list[str]:
        """Write the official result files for these results; returns their paths."""
        return []

    def close(self) -> None:
        """Release what :meth:`load` or :meth:`jobs` acquired (caches, images)."""


def longest_first(item: Any) -> float:
    """Sort key for a batch of jobs, or of tuples ending in a job: its CPU time limit.

    Benchmarks derive limits from the ground truth's run time, so sorting by it in reverse
    starts the long jobs first and no lone long job keeps one worker busy at the end."""
    job = item[-1] if isinstance(item, tuple) else item
    return float(job.limits.timeout_s)


def needs_extraction(text: str) -> bool:
    """Model output rather than code: a markdown fence or a reasoning block."""
    return "```" in text or "<think>" in text.lower() or "</think>" in text.lower()


def extract_program(text: str, problem: Problem | None = None) -> str:
    """The best Python block of a model answer (``<think>`` dropped); "" when it has none."""
    from acesandbox.extract import as_program, extract_code

    entry = (problem.entry_point,) if problem is not None and problem.entry_point else ()
    return as_program(extract_code(text, entry_points=entry)) or ""


BENCHMARKS: Registry[type[Benchmark]] = Registry(
    "benchmark",
    {
        "humaneval": "benchmarks.evalplus:HumanEval",
        "humaneval+": "benchmarks.evalplus:HumanEvalPlus",
        "mbpp": "benchmarks.evalplus:Mbpp",
        "mbpp+": "benchmarks.evalplus:MbppPlus",
        "bigcodebench": "benchmarks.bigcodebench:BigCodeBench",
        "livecodebench": "benchmarks.livecodebench:LiveCodeBench",
    },
    error=BenchmarkNotFoundError,
)
"""Benchmark classes by name (case-insensitive), imported only when chosen."""


def register_benchmark(name: str, target: str | type[Benchmark]) -> None:
    """Register a Benchmark subclass under ``name`` (a ``"module:Class"`` string or the class)."""
    BENCHMARKS.register(name, target)


def available_benchmarks() -> list[str]:
    return BENCHMARKS.names()


def get_benchmark(name: str, **options: Any) -> Benchmark:
    """Instantiate the benchmark registered as ``name`` with its options (``split=``, ``subset=`` ...)."""
    return BENCHMARKS.load(name)(**options)
