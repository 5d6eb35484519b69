"""Fidelity against the official evaluators: rescore their runs, count agreement, list every difference.

Each benchmark package exposes ``verify_runs(data_root, executor, *, limit, progress)``
returning one :class:`RunAgreement` per official run found under ``data_root`` (the
shared data folder, always given by the caller: see :func:`require_data_dir`). A
disagreement carries an explanation when it was investigated (timing-sensitive task,
version change, ...); an empty one is *unexplained*, and makes ``acecoder bench
verify-official`` exit non-zero.
"""

from __future__ import annotations

import importlib
import os
import pathlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import DataDirError

__all__ = [
    "RECHECKS",
    "VERIFIERS",
    "Disagreement",
    "RunAgreement",
    "require_data_dir",
    "recheck",
    "summarise",
    "verify_all",
]

RECHECKS = 2
"""How many times an unexplained disagreement is rescored alone before it stays unexplained."""

VERIFIERS: dict[str, str] = {
    "evalplus": "benchmarks.evalplus",
    "bigcodebench": "benchmarks.bigcodebench",
    "livecodebench": "benchmarks.livecodebench",
}
"""Benchmark family -> module whose ``verify_runs`` rescores that family's official runs."""


@dataclass(frozen=True)
class Disagreement:
    """One sample where our verdict differs from the official one."""

    task_id: str
    official: str
    ours: str
    explanation: str = ""
    """Why it differs, when investigated; "" means unexplained."""


@dataclass(frozen=True)
class RunAgreement:
    """Agreement on one official run (one results file)."""

    benchmark: str
    run: str
    compared: int
    agreed: int
    excluded: int
    disagreements: tuple[Disagreement, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rate(self) -> float:
        return self.agreed / self.compared if self.compared else 1.0

    @property
    def unexplained(self) -> tuple[Disagreement, ...]:
        return tuple(d for d in self.disagreements if not d.explanation)


def require_data_dir(path: str | os.PathLike[str] | None) -> pathlib.Path:
    """``path`` as the shared data folder; :class:`DataDirError` when it is not given or not a folder.

    The library never guesses where the data lives: the command line takes ``--data-dir``
    (or ``$ACECODER_SHARED_DATA``), the tests pass theirs explicitly.
    """
    if path is None or str(path) == "":
        raise DataDirError("no shared data folder given")
    root = pathlib.Path(path).expanduser()
    if not root.is_dir():
        raise DataDirError(f"shared data folder {str(root)!r} is not a folder")
    return root


def verify_all(
    data_root: pathlib.Path,
    executor: Any,
    *,
    families: Sequence[str] | None = None,
    limit: int | None = None,
    limits: dict[str, int | None] | None = None,
    progress: bool = True,
) -> list[RunAgreement]:
    """Run every family's verifier (or the chosen ones) on ``data_root``; ``limits`` overrides ``limit`` per family."""
    root = require_data_dir(data_root)
    out: list[RunAgreement] = []
    for family in families or list(VERIFIERS):
        if family not in VERIFIERS:
            raise ValueError(f"unknown benchmark family {family!r}; choose from {sorted(VERIFIERS)}")
        module = importlib.import_module(VERIFIERS[family])
        n = (limits or {}).get(family, limit)
        out.extend(module.verify_runs(root, executor, limit=n, progress=progress))
    return out


def recheck(
    executor: Any,
    jobs: Sequence[Any],
    agrees: Callable[[int, Any], bool],
    *,
    times: int = RECHECKS,
) -> dict[int, str]:
    """Rescore disagreeing jobs one at a time, alone, up to ``times`` each.

    ``agrees(i, report)`` tells whether a rescoring of ``jobs[i]`` matches the official
    verdict; an item that is a mapping of jobs is rescored part by part, and ``agrees``
    gets the mapping of reports. Returns ``{i: explanation}`` for the jobs that agreed on
    some rescoring: their first verdict depended on the load beside them (a timing- or
    load-sensitive test); the disagreement stays listed and counted, with that
    explanation. Jobs that never agree are left out (still unexplained).
    """
    explained: dict[int, str] = {}
    for i, job in enumerate(jobs):
        for attempt in range(1, times + 1):
            if isinstance(job, Mapping):
                report: Any = {part: executor.run(one) for part, one in job.items()}
            else:
                report = executor.run(job)
            if agrees(i, report):
                explained[i] = (
                    f"load-sensitive: differed when scored beside other jobs, agreed when rescored alone "
                    f"(attempt {attempt} of {times})"
                )
                break
    return explained


def summarise(runs: Iterable[RunAgreement]) -> dict[str, Any]:
    """Totals over runs: compared, agreed, excluded, explained and unexplained differences."""
    runs = list(runs)
    compared = sum(r.compared for r in runs)
    agreed = sum(r.agreed for r in runs)
    unexplained = sum(len(r.unexplained) for r in runs)
    return {
        "runs": len(runs),
        "compared": compared,
        "agreed": agreed,
        "excluded": sum(r.excluded for r in runs),
        "explained": sum(len(r.disagreements) for r in runs) - unexplained,
        "unexplained": unexplained,
        "rate": agreed / compared if compared else 1.0,
    }
