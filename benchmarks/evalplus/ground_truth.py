"""EvalPlus ground truth: the canonical solutions' outputs and call times, computed in the sandbox and cached."""

from __future__ import annotations

import json
import os
import pathlib
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from acesandbox import CallBatchTest, Job, Limits, SandboxConfig, Status
from acesandbox._wire import MAX_INT_BITS
from acesandbox.judges import register_judge

from ..base import Problem
from ..errors import BenchmarkError
from . import judge as _judge
from .data import cache_root

__all__ = ["BIG_INT_BITS", "DIGEST_PREFIX", "DIGEST_SOURCE", "SANDBOX", "TOO_LARGE", "ground_truth",
           "has_digests"]

SANDBOX = SandboxConfig(memory_mb=4096)
"""The sandboxes EvalPlus programs run in (ground truth and checks): 4 GiB each."""

_GT_FORMAT = 2  # bump when the cached ground-truth layout changes (2: ints past the wire's bound as digests)
_GT_CHUNK = 25  # calls per ground-truth test

# ------------------------------------------------------------ ground truth

_CAPTURED: dict[str, list[Any]] = {}
_CAPTURE_LOCK = threading.Lock()


def _capture(value: Any, expected: Any, *, args: tuple, atol: float, options: Mapping[str, Any]) -> bool:
    """A judge that keeps the canonical solution's outputs (ground truth) instead of comparing."""
    with _CAPTURE_LOCK:
        _CAPTURED.setdefault(str(options["token"]), []).append(value)
    return True


register_judge("evalplus-ground-truth", _capture)

BIG_INT_BITS = MAX_INT_BITS
"""An int output longer than this cannot leave the sandbox (acesandbox's wire bound): inside the
sandbox it becomes a digest string (:data:`DIGEST_SOURCE`), for the canonical solution and
the solutions alike, so equal ints still compare equal (HumanEval/83's plus inputs)."""

DIGEST_PREFIX = "<evalplus: int digest, "

DIGEST_SOURCE = f"""

def __evalplus_digest__(out):
    if type(out) is int and out.bit_length() > {BIG_INT_BITS}:
        import hashlib as _hashlib
        data = out.to_bytes(out.bit_length() // 8 + 1, "little", signed=True)
        return "{DIGEST_PREFIX}%d bits, sha256 %s>" % (out.bit_length(), _hashlib.sha256(data).hexdigest())
    return out
"""
"""Sandbox code: an int past :data:`BIG_INT_BITS` as its digest, any other value as is."""


def has_digests(values: Sequence[Any]) -> bool:
    """Whether expected outputs hold digests: that check's outputs must be digested too."""
    return any(isinstance(v, str) and v.startswith(DIGEST_PREFIX) for v in values)


_GT_WRAPPER = """

def __evalplus_gt__(*args):
    import copy as _copy, time as _time
    args = _copy.deepcopy(args)
    start = _time.time()
    out = {entry}(*args)
    spent = _time.time() - start
    return (spent, (out is not None) if {not_none} else __evalplus_digest__(out))
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

    cache = cache_root(cache_dir)
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
        program = p.canonical_solution + _GT_WRAPPER.format(entry=p.entry_point, not_none=not_none) + DIGEST_SOURCE
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
            jobs.append(Job(program, tests, limits=Limits(timeout_s=120.0, job_timeout_s=1200.0),
                            mode="shared"))
            keys.append((p.task_id, part))
    own = executor is None
    if own:
        import dataclasses

        from acesandbox import Executor

        executor = Executor(dataclasses.replace(SANDBOX, workers=workers))
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


