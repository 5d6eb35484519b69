"""Fidelity: rescore the official BigCodeBench runs (:mod:`benchmarks.verify`) and explain every difference."""

from __future__ import annotations

import json
import pathlib
from collections import defaultdict
from typing import Any

from acesandbox import Report

from ..verdicts import FAIL
from ..verify import Disagreement, RunAgreement, recheck
from .data import problems_from_records, task_number
from .environment import env_nltk_data
from .known import known_differences
from .libs import is_host_python, missing_libraries
from .programs import task_status, test_methods
from .scorer import TIMEOUT_PER_TASK_S, BigCodeBench
from .tasks import VERSION_CHANGED

__all__ = ["DATASET_FILE", "SAMPLES_DIR", "verify_runs"]

DATASET_FILE = "bigcodebench/BigCodeBench-v0.1.0_hf.jsonl.gz"
SAMPLES_DIR = "bigcodebench_samples"
CHANGED_BY_V012 = frozenset(t for t, v in VERSION_CHANGED.items() if v.split(" -> ")[1] <= "v0.1.2")
"""The 7 tasks whose v0.1.0 tests differ from v0.1.2, the version the official runs were scored on."""
_VERSION_NOTE = "tasks changed between v0.1.0 (our file) and v0.1.2 (the official verdicts' version)"


def _official_runs(folder: pathlib.Path) -> list[tuple[str, pathlib.Path, dict[str, Any]]]:
    """``(stem, results path, pass@k record)`` of every official run in ``folder``."""
    runs = []
    for path in sorted(folder.glob("*_eval_results.json*")):
        stem = path.name.split("_eval_results.json")[0]
        meta_path = folder / f"{stem}_pass_at_k.json"
        meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        if "split" not in meta:
            name = stem.split("--bigcodebench-", 1)[-1]
            meta["subset"] = "hard" if name.startswith("hard-") else "full"
            meta["split"] = "instruct" if "instruct" in name.split("--")[0] else "complete"
        runs.append((stem, path, meta))
    return runs


def _read_json(path: pathlib.Path) -> Any:
    import gzip

    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
        return json.load(f)


def _last_line(message: str, width: int = 160) -> str:
    """The last non-empty line of a failure message, cut to ``width`` characters."""
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return (lines[-1] if lines else "")[:width]


def _executor_python(executor: Any) -> str | None:
    """The interpreter ``executor``'s sandboxes run programs with (None: the host's)."""
    config = getattr(executor, "config", None) or getattr(getattr(executor, "backend", None), "config", None)
    options = getattr(config, "options", None) or {}
    return getattr(config, "python", None) or options.get("python") or None


def verify_runs(
    data_root: pathlib.Path,
    executor: Any,
    *,
    limit: int | None = None,
    progress: bool = True,
    timeout_per_task_s: float = TIMEOUT_PER_TASK_S,
) -> list[RunAgreement]:
    """Rescore the official BigCodeBench runs under ``data_root`` and compare verdicts.

    Each run's recorded ``solution`` (already calibrated) runs against our v0.1.0 tests;
    the tasks changed up to v0.1.2 and tasks whose libraries the executor's interpreter
    lacks are excluded (counted, with a note). Disagreements are explained from
    :data:`KNOWN_DIFFERENCES_BY_ENV`: ``"pinned"`` when the executor runs another
    interpreter (``SandboxConfig(python=...)``, e.g. :mod:`benchmarks.bcb_env`), else ``"host"``;
    in a pinned venv holding the NLTK data the NLTK tasks are not explained (:func:`known_differences`).
    ``limit`` scores the first N tasks (by number) of
    each run. A (task, solution) pair shared by several runs is executed once.
    """
    data_root = pathlib.Path(data_root)
    folder = data_root / SAMPLES_DIR
    dataset = data_root / DATASET_FILE
    if not folder.is_dir() or not dataset.exists():
        return []
    from ..io import read_records

    python = _executor_python(executor)
    env = "host" if is_host_python(python) else "pinned"
    nltk = env_nltk_data(str(python)) if env == "pinned" else None
    known = known_differences(env, nltk_corpora=nltk is not None and nltk.present)
    bench = BigCodeBench(timeout_per_task_s=timeout_per_task_s, python=python)
    problems = {p.task_id: p for p in problems_from_records(read_records(dataset), where=str(dataset))}
    plan: list[tuple[str, dict[str, Any], list[tuple[str, str, str]], dict[str, str]]] = []
    unique: dict[tuple[str, str], int] = {}
    for stem, path, meta in _official_runs(folder):
        evals = _read_json(path)["eval"]
        task_ids = sorted(evals, key=task_number)[: limit if limit is not None else None]
        todo: list[tuple[str, str, str]] = []
        excluded: dict[str, str] = {}
        for task_id in task_ids:
            problem = problems.get(task_id)
            if task_id in CHANGED_BY_V012:
                excluded[task_id] = _VERSION_NOTE
                continue
            if problem is None:
                excluded[task_id] = "not in our dataset file"
                continue
            missing = missing_libraries(problem, python)
            if missing:
                excluded[task_id] = f"missing librar{'y' if len(missing) == 1 else 'ies'} here: {', '.join(missing)}"
                continue
            for sample in evals[task_id]:
                todo.append((task_id, sample["solution"], sample["status"]))
                unique.setdefault((task_id, sample["solution"]), len(unique))
        plan.append((stem, meta, todo, excluded))

    keys = list(unique)
    jobs = [bench.job(problems[t], solution) for t, solution in keys]
    statuses: dict[tuple[str, str], str] = {}
    details: dict[tuple[str, str], str] = {}

    def status_of(i: int, report: Report) -> str:
        status, why = task_status(report, test_methods(str(problems[keys[i][0]].data["test"])))
        if why and keys[i] not in details:
            name, message = next(iter(why.items()))
            details[keys[i]] = f"{name}: {_last_line(message)}"
        return status

    for i, report in executor.imap(jobs, ordered=False, progress=progress, total=len(jobs)):
        statuses[keys[i]] = status_of(i, report)

    # Unexplained differences are rescored alone before they count as unexplained.
    suspects = sorted({unique[(t, s)] for _, _, todo, _ in plan for t, s, official in todo
                       if statuses[(t, s)] != official and t not in known})
    officials = {unique[(t, s)]: official for _, _, todo, _ in plan for t, s, official in todo}
    rechecked = recheck(executor, [jobs[i] for i in suspects],
                        lambda j, report: status_of(suspects[j], report) == officials[suspects[j]])
    load_sensitive = {keys[suspects[j]]: why for j, why in rechecked.items()}

    out: list[RunAgreement] = []
    for stem, meta, todo, excluded in plan:
        disagreements = []
        for task_id, solution, official in todo:
            ours = statuses[(task_id, solution)]
            if ours != official:
                detail = details.get((task_id, solution), "") if ours == FAIL else ""
                why = known.get(task_id, "")
                if not why and officials[unique[(task_id, solution)]] == official:
                    why = load_sensitive.get((task_id, solution), "")
                disagreements.append(Disagreement(task_id, official, f"{ours} ({detail})" if detail else ours, why))
        notes = []
        reasons: dict[str, list[str]] = defaultdict(list)
        for task_id, reason in excluded.items():
            reasons[reason].append(task_id)
        for reason, ids in reasons.items():
            notes.append(f"excluded {len(ids)} ({reason}): {', '.join(ids)}")
        notes.append(f"{meta.get('split')}/{meta.get('subset')}, limit {timeout_per_task_s:g}+1 s per task, "
                     + ("the host's libraries" if env == "host" else f"libraries of {python}")
                     + (f"; {nltk.describe()}" if nltk is not None else ""))
        out.append(
            RunAgreement(
                benchmark="bigcodebench",
                run=stem,
                compared=len(todo),
                agreed=len(todo) - len(disagreements),
                excluded=len(excluded),
                disagreements=tuple(disagreements),
                notes=tuple(notes),
            )
        )
    return out
