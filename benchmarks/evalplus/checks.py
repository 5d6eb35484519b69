"""HumanEval+ and MBPP+ checks: jobs from the ground truth, EvalPlus's statuses from the reports.

Statuses follow EvalPlus, refining :meth:`~benchmarks.verdicts.Verdict.from_status`: one
call past its own limit is ``fail`` (EvalPlus's TimeoutException inside the process),
the check past its overall limit or its process dying is ``timeout``.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from acesandbox import CallBatchTest, Job, Limits, Report, SandboxConfig, Status
from acesandbox.judges import register_judge

from ..base import Benchmark, Problem, SampleResult
from ..errors import BenchmarkError
from ..verdicts import FAIL, PASS, SANDBOX_ERROR, TIMEOUT, Verdict
from . import judge as _judge
from . import timing as _timing
from .data import cache_root, plus_problems, records_and_hash, release_file, task_number
from .ground_truth import DIGEST_SOURCE, SANDBOX, ground_truth, has_digests, is_digest
from .releases import release_of_profile, resolve_release

__all__ = ["CHUNK_BYTES", "GT_TIME_LIMIT_FACTOR", "MAX_CALLS_PER_TEST", "EvalPlusBase", "HumanEvalPlus", "MbppPlus",
           "status_of"]

JUDGE_NAME = "evalplus"
register_judge(JUDGE_NAME, _judge.judge, notes=_judge.timing_note)  # slow calls' times come back as notes

GT_TIME_LIMIT_FACTOR = 4.0
"""EvalPlus's ``--gt-time-limit-factor`` default (every version)."""

INSTRUCTION_PREFIX = "Please provide a self-contained Python script that solves the following problem in a markdown code block:"
RESPONSE_PREFIX = "Below is a Python script with a self-contained function that solves the problem and passes corresponding tests:"


MAX_CALLS_PER_TEST = 4096
"""Calls per test of a check at most (a test may send acesandbox 10,000 result frames)."""
CHUNK_BYTES = 2 * 2**20
"""Expected-output bytes per test of a check: one test's result data is capped (16 MiB by
default), so a check with large outputs is split into several tests of one shared process."""


# ---------------------------------------------------------------- verdicts


_CALL_WRAPPER = """
import time as __evalplus_time__
__evalplus_job__ = {job_id!r}

def __evalplus_call__(__call, __digested, __limit, *args):
    __start = __evalplus_time__.perf_counter()
    out = {entry}(*args)
    __spent = __evalplus_time__.perf_counter() - __start
    if {not_none}:
        out = out if out is None or type(out) in (bool, int, float, str) else "<not None>"
    if __digested:
        out = __evalplus_digest__(out)
    if __spent > {slow} * __limit or type(out) is tuple and len(out) == 5 and out[:1] == ({mark!r},):
        return ({mark!r}, __evalplus_job__, __call, __spent, out)
    return out
"""
"""Every check calls the solution through this wrapper, with ``(call index, digested, limit_s)``
before the arguments. It times the call alone (the official limit's scope); MBPP's "output is
not None" tasks send only whether it is None (their ``re.Match`` cannot leave the sandbox);
a call whose expected output is a digest sends its output's digest; a slow call sends its
time beside the value (:mod:`benchmarks.evalplus.timing`)."""


def _compiled_alone(program: str) -> str:
    """The program, compiled without inheriting any ``__future__`` flags, as EvalPlus's plain
    ``exec`` compiles it: an annotation naming an unimported ``List`` fails with NameError.
    acesandbox compiles every program so too now (its runtime's ``from __future__ import
    annotations`` once reached them); the check keeps saying so itself.
    """
    return f"exec(compile({program!r}, '<program>', 'exec', dont_inherit=True))\n"


def status_of(report: Report | None) -> Verdict:
    """EvalPlus's status of one check from its acesandbox report."""
    if report is None or not report.outcomes:
        return SANDBOX_ERROR
    o = _first_bad(report)
    if o is None:
        return PASS
    if o.status == Status.SANDBOX_ERROR:
        return SANDBOX_ERROR
    if o.status == Status.TIMEOUT:
        # one call past its own limit: EvalPlus's TimeoutException inside the process -> fail
        return FAIL if o.call_index is not None else TIMEOUT
    if o.status == Status.CRASHED and "called exit" not in o.message:
        return TIMEOUT  # the process died: EvalPlus's parent never hears back
    return FAIL  # wrong value, exception (SystemExit and MemoryError included)


def _first_bad(report: Report) -> Any:
    for o in report.outcomes:
        if o.status != Status.PASSED:
            return o
    return None


def _approx_bytes(value: Any) -> int:
    """A cheap estimate of ``value``'s size on the wire (within a small factor).

    ``repr`` runs in C; an int too long for it (Python's 4300-digit cap) is sized by bits."""
    try:
        return len(repr(value))
    except ValueError:
        pass
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    if isinstance(value, (list, tuple, set, frozenset)):
        return 2 + sum(_approx_bytes(v) + 1 for v in value)
    if isinstance(value, dict):
        return 2 + sum(_approx_bytes(k) + _approx_bytes(v) + 2 for k, v in value.items())
    return 24


def _failed_call(report: Report | None, bounds: Sequence[tuple[int, int]]) -> int | None:
    """Index (in the whole check) of the first call that did not pass."""
    if report is None:
        return None
    for k, o in enumerate(report.outcomes):
        if o.status != Status.PASSED:
            if o.call_index is None or k >= len(bounds):
                return None
            return bounds[k][0] + o.call_index
    return None


def _fail_tests(report: Report | None, raw_inputs: Sequence[Any], status: str, bounds: Sequence[tuple[int, int]]) -> list[Any]:
    if status == PASS:
        return []
    i = _failed_call(report, bounds)
    return [raw_inputs[i]] if i is not None and 0 <= i < len(raw_inputs) else []


class EvalPlusBase(Benchmark):
    """Shared machinery of the four EvalPlus benchmarks."""

    dataset_kind: ClassVar[str] = "humaneval"
    SANDBOX: ClassVar[SandboxConfig] = SANDBOX
    release_name: ClassVar[str] = ""
    hub_name: ClassVar[str] = ""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if options.get("evalplus_release") and options.get("profile"):
            raise BenchmarkError("give an evalplus release or a judge profile, not both")
        if options.get("evalplus_release"):
            self.release = resolve_release(str(options["evalplus_release"]))
            profile = self.release.profile
            self.options["judge_flags"] = {**self.release.judge_flags, **dict(options.get("judge_flags") or {})}
        else:
            profile = str(options.get("profile", _judge.DEFAULT_PROFILE))
            if profile not in _judge.PROFILES:
                raise BenchmarkError(f"unknown evalplus profile {profile!r}; choose one of {sorted(_judge.PROFILES)}")
            self.release = release_of_profile(profile)
        self.profile = profile
        flags = _judge.PROFILES[profile]
        self.min_time_limit = float(options.get("min_time_limit", flags["min_time_limit"]))
        self.gt_factor = float(options.get("gt_time_limit_factor", GT_TIME_LIMIT_FACTOR))
        self.timeout_cap = options.get("timeout_per_task_s", flags["timeout_cap"])
        self.cache_dir = options.get("cache_dir")
        self.workers = options.get("workers")
        self._gt: dict[str, dict[str, list[Any]]] = {}
        self._loaded: list[Problem] = []
        self._bounds_cache: dict[tuple[str, str], list[tuple[int, int]]] = {}
        self._tests_cache: dict[tuple[str, str, str, str], tuple[tuple[CallBatchTest, ...], Limits]] = {}
        self._digest_cache: dict[tuple[str, str, str], bool] = {}
        self._limits_cache: dict[tuple[str, str, str], tuple[list[float], float]] = {}
        self._gt_lock = threading.Lock()


    def scoring_rules(self) -> str:
        """Which evalplus rules score this run (printed by ``acecoder bench`` and kept in the summary)."""
        return self.release.describe(dict(self.options.get("judge_flags") or {}))

    # ---- loading
    def load(self, dataset: str | None = None) -> list[Problem]:
        """A local file (``.jsonl``, ``.jsonl.gz``, ``.json``, parquet), a release version
        (``v0.1.10``: downloaded once), or a hub name (read with ``datasets``)."""
        source = dataset or self.default_dataset
        if source is None:
            raise BenchmarkError(f"{self.name} needs a dataset")
        if source.startswith("v") and source[1:2].isdigit() and self.release_name:
            source = release_file(self.release_name, source, cache_root(self.cache_dir))
        records, digest = records_and_hash(source)
        problems = plus_problems(records, digest, self.dataset_kind, str(source))
        self._loaded = problems
        self.options.setdefault("dataset_hash", digest)
        return problems

    def prompt(self, problem: Problem, *, chat: bool) -> str | list[dict[str, str]]:
        """EvalPlus codegen's prompt: the raw prompt for base models; for chat models the
        instruction prefix and the task in a fence (the official codegen also pre-fills
        the assistant turn with :data:`RESPONSE_PREFIX` and an open python fence)."""
        if not chat:
            return problem.prompt
        return [{"role": "user", "content": f"{INSTRUCTION_PREFIX}\n```\n{problem.prompt.strip()}\n```\n"}]

    def solution(self, problem: Problem, sample: Mapping[str, Any]) -> str:
        """As EvalPlus: ``solution`` as given, else ``prompt + completion``; markdown answers extracted."""
        return super().solution(problem, sample)

    # ---- jobs
    def ground_truth_for(self, problem: Problem) -> dict[str, list[Any]]:
        gt = self._gt.get(problem.task_id)
        if gt is None:
            raise BenchmarkError(f"no ground truth for {problem.task_id}: call prepare() first")
        return gt

    def prepare(self, problems: Sequence[Problem], *, executor: Any = None, progress: bool = False) -> None:
        """Compute (or read from the cache) the expected outputs of these problems."""
        with self._gt_lock:
            todo = [p for p in problems if p.task_id not in self._gt and "base_input" in p.data]
            if todo:
                self._gt.update(ground_truth(todo, executor=executor, cache_dir=self.cache_dir,
                                             workers=self.workers, progress=progress))

    def check_job(self, problem: Problem, solution: str, part: str) -> Job:
        """One EvalPlus check (``base`` or ``plus``) of one solution as an acesandbox job."""
        if problem.task_id not in self._gt:
            loaded = [p for p in self._loaded if p.data.get("dataset_hash") == problem.data.get("dataset_hash")]
            self.prepare(loaded if any(p.task_id == problem.task_id for p in loaded) else [problem])
        not_none = self.dataset_kind == "mbpp" and problem.entry_point in _judge.MBPP_OUTPUT_NOT_NONE_TASKS
        job_id = f"evalplus-{uuid.uuid4().hex}"
        _timing.expect(job_id)
        program = _compiled_alone(solution) + (DIGEST_SOURCE if self._digested(problem, part) else "") + \
            _CALL_WRAPPER.format(job_id=job_id, entry=problem.entry_point, not_none=not_none,
                                 slow=_timing.SLOW_FRACTION, mark=_timing.MARK)
        tests, limits = self._check_tests(problem, part, "__evalplus_call__")
        return Job(program, tests, mode="shared", stop_on_failure=True, limits=limits, job_id=job_id)

    def _check_tests(self, problem: Problem, part: str, fn: str) -> tuple[tuple[CallBatchTest, ...], Limits]:
        """The tests and limits of one check: the same for every solution of a task, so built once.

        Sharing one test value across jobs also lets acesandbox encode its calls once."""
        key = (str(problem.data.get("dataset_hash", "")), problem.task_id, part, fn)
        cached = self._tests_cache.get(key)
        if cached is not None:
            return cached
        gt = self.ground_truth_for(problem)
        expected = gt[part]
        inputs = problem.data[f"{part}_input"]
        # the digest of a large output is our overhead, not the program's: its limit grows by twice
        # the time the canonical output's digest took
        overhead = [2 * d for d in gt.get(f"{part}_digest_time") or [0.0] * len(expected)]
        official = [max(self.min_time_limit, self.gt_factor * t) for t in gt[f"{part}_time"]]
        per_call = [limit + extra for limit, extra in zip(official, overhead)]
        total = sum(official)
        timeout = (min(float(self.timeout_cap), total) if self.timeout_cap is not None else total) + 1.0 + sum(overhead)
        flags = _judge.PROFILES[self.profile]
        atols = _judge.incoming_atols(problem.data["atol"], expected, empty_is_floats=flags["empty_is_floats"])
        options = {"dataset": self.dataset_kind, "entry_point": problem.entry_point, "profile": self.profile,
                   **dict(self.options.get("judge_flags") or {})}
        options["wrapped"] = True
        calls = [(i, is_digest(e), limit, *a) for i, (e, limit, a) in enumerate(zip(expected, official, inputs))]
        tests = tuple(
            CallBatchTest(fn, calls[a:b], expected[a:b], atol=atols[a:b],
                          judge=JUDGE_NAME, judge_options=options, call_timeout_s=per_call[a:b] or None)
            for a, b in self._bounds(problem, part)
        )
        # timeout_s bounds each test of the check; when evalplus's cap binds, the check as
        # a whole gets that wall budget too (plus 1 s, as evalplus waits for its process).
        capped = self.timeout_cap is not None and total > float(self.timeout_cap)
        limits = Limits(timeout_s=timeout, job_timeout_s=timeout + 1.0 if capped else 3 * timeout + 10)
        self._tests_cache[key] = (tests, limits)
        self._limits_cache[key[:3]] = (official, timeout)
        return tests, limits

    def _digested(self, problem: Problem, part: str) -> bool:
        """Whether this check's expected outputs hold digests (ints too long for the wire)."""
        key = (str(problem.data.get("dataset_hash", "")), problem.task_id, part)
        found = self._digest_cache.get(key)
        if found is None:
            found = self._digest_cache[key] = has_digests(self.ground_truth_for(problem)[part])
        return found

    def _bounds(self, problem: Problem, part: str) -> list[tuple[int, int]]:
        """The calls of each test of a check, as ``(start, stop)`` ranges.

        Tests of 1, 2, 4, 8, ... calls: the job stops at the first test that fails (the
        host judges each test as it arrives and stops the sandbox mid-test), so a wrong
        solution costs about twice the calls up to its first wrong value, as EvalPlus's
        fast check; a test also closes once its expected outputs pass CHUNK_BYTES, and
        holds at most MAX_CALLS_PER_TEST calls.
        """
        key = (problem.task_id, part)
        bounds = self._bounds_cache.get(key)
        if bounds is None:
            expected = self.ground_truth_for(problem)[part]
            bounds, start, size, want = [], 0, 0, 1
            for i, value in enumerate(expected):
                size += _approx_bytes(value)
                if (i + 1 - start >= want or size > CHUNK_BYTES) and i + 1 < len(expected):
                    bounds.append((start, i + 1))
                    start, size, want = i + 1, 0, min(want * 2, MAX_CALLS_PER_TEST)
            bounds.append((start, len(expected)))
            self._bounds_cache[key] = bounds
        return bounds

    def jobs(self, problem: Problem, solution: str) -> Mapping[str, Job]:
        return {part: self.check_job(problem, solution, part) for part in self.checks}

    checks: ClassVar[tuple[str, ...]] = ("base", "plus")

    def verdicts(self, problem: Problem, reports: Mapping[str, Report]) -> SampleResult:
        status = {part: status_of(reports.get(part)) for part in self.checks}
        fail_tests = {
            part: _fail_tests(reports.get(part), problem.data.get(f"raw_{part}_input", []), status[part],
                              self._bounds(problem, part)) for part in self.checks
        }
        verdicts = {"base": status["base"]}
        if "plus" in self.parts:
            plus = status["plus"]
            if SANDBOX_ERROR in status.values():
                plus = SANDBOX_ERROR
            elif status["base"] != PASS and plus == PASS:
                plus = FAIL  # EvalPlus counts plus only when base passed too
            verdicts["plus"] = plus
        return SampleResult(problem.task_id, 0, "", verdicts, reports=dict(reports), fail_tests=fail_tests,
                            details={"status": status, "timing": self.margins(problem, reports)})

    def margins(self, problem: Problem, reports: Mapping[str, Report]) -> dict[str, dict[str, Any]]:
        """Each check's tightest call against its limit (:func:`benchmarks.evalplus.timing.margin`)."""
        timing = {}
        for part in self.checks:
            official, timeout = self._limits_cache.get((str(problem.data.get("dataset_hash", "")), problem.task_id, part),
                                                       ([], 0.0))
            timing[part] = _timing.margin(reports.get(part), official, self._bounds(problem, part), timeout)
        return timing

    def write_official(self, results: Sequence[SampleResult], out_dir: str, stem: str) -> list[str]:
        """``STEM_eval_results.json`` in EvalPlus's (2024+) shape; ``hash`` = the dataset's md5."""
        os.makedirs(out_dir, exist_ok=True)
        by_task: dict[str, list[SampleResult]] = defaultdict(list)
        for r in results:
            by_task[r.task_id].append(r)
        digest = str(self.options.get("dataset_hash", ""))
        evals: dict[str, list[dict[str, Any]]] = {}
        for task_id in sorted(by_task, key=task_number):
            rows = []
            for r in sorted(by_task[task_id], key=lambda r: r.index):
                raw = dict(r.details.get("status", {})) or dict(r.verdicts)
                rows.append({
                    "task_id": task_id, "solution": r.solution,
                    "base_status": raw.get("base"), "plus_status": raw.get("plus"),
                    "base_fail_tests": list(r.fail_tests.get("base", [])),
                    "plus_fail_tests": list(r.fail_tests.get("plus", [])),
                })
            evals[task_id] = rows
        path = os.path.join(out_dir, f"{stem}_eval_results.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"date": time.strftime("%Y-%m-%d %H:%M"), "hash": digest, "eval": evals}, f, default=_jsonable)
        return [path]


def _jsonable(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, complex):
        return str(value)
    return str(value)


class HumanEvalPlus(EvalPlusBase):
    """HumanEval+ (EvalPlus): base and plus inputs, differential testing against the canonical solution."""

    name = "humaneval+"
    parts = ("base", "plus")
    default_dataset = "v0.1.10"
    release_name = "HumanEvalPlus"
    dataset_kind = "humaneval"


class MbppPlus(EvalPlusBase):
    """MBPP+ (EvalPlus)."""

    name = "mbpp+"
    parts = ("base", "plus")
    default_dataset = "v0.2.0"
    release_name = "MbppPlus"
    dataset_kind = "mbpp"


