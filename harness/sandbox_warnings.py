"""The sandbox's warnings as every consumer shows them: once per distinct text, with counts.

A report warns per test (``tests[3]: judged in the program's process: forgeable``) and per
job (the ``process`` backend: no isolation). An output that covers many jobs (a reward
response, a stage's rows and summary, a benchmark's results and report) lists each distinct
warning once, with the number of tests and jobs it applies to::

    judged in the program's process: forgeable (14 tests in 6 jobs)
    process backend: no filesystem, network or pid isolation (...) (40 jobs)

``sandbox error: ...`` and ``invalid job: ...`` texts are outcomes, counted elsewhere, and
left out.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["WarningCount", "WarningTally", "tally_warnings"]

_PER_TEST = re.compile(r"tests\[(\d+)\]: (.+)", re.DOTALL)
_OUTCOMES = ("sandbox error:", "invalid job:")


@dataclass(frozen=True)
class WarningCount:
    """One distinct warning and how many tests and jobs it was raised for."""

    text: str
    jobs: int
    tests: int = 0
    """Tests it named (``tests[i]: ...``); 0 for a warning about a whole job."""

    def __str__(self) -> str:
        jobs = f"{self.jobs} job" + ("s" if self.jobs != 1 else "")
        if not self.tests:
            return f"{self.text} ({jobs})"
        tests = f"{self.tests} test" + ("s" if self.tests != 1 else "")
        return f"{self.text} ({tests} in {jobs})"


class WarningTally:
    """Counts warnings over many reports (thread-safe); :meth:`add` says which texts are new,
    so a caller can log each distinct warning once."""

    def __init__(self, max_texts: int = 64) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, int] = {}
        self._tests: dict[str, int] = {}
        self.max_texts = max_texts
        """Distinct texts kept; later ones are dropped (a hostile text per job cannot grow it)."""

    def add(self, warnings: Sequence[str]) -> list[str]:
        """Count one job's warnings; returns the distinct texts seen for the first time."""
        tests: dict[str, int] = {}
        for warning in warnings:
            if warning.startswith(_OUTCOMES):
                continue
            match = _PER_TEST.fullmatch(warning)
            text = match.group(2) if match else warning
            tests[text] = tests.get(text, 0) + (1 if match else 0)
        new: list[str] = []
        with self._lock:
            for text, n in tests.items():
                if text not in self._jobs:
                    if len(self._jobs) >= self.max_texts:
                        continue
                    new.append(text)
                    self._jobs[text], self._tests[text] = 0, 0
                self._jobs[text] += 1
                self._tests[text] += n
        return new

    def add_reports(self, reports: Iterable[Any]) -> list[str]:
        """:meth:`add` for each report (None, a job that never ran, is skipped)."""
        new: list[str] = []
        for report in reports:
            if report is not None:
                new.extend(self.add(report.warnings))
        return new

    def counts(self) -> tuple[WarningCount, ...]:
        """Each distinct warning, in first-seen order."""
        with self._lock:
            return tuple(WarningCount(t, self._jobs[t], self._tests[t]) for t in self._jobs)

    def lines(self) -> list[str]:
        """:meth:`counts` as text, one line per distinct warning."""
        return [str(c) for c in self.counts()]

    def clear(self) -> None:
        with self._lock:
            self._jobs.clear()
            self._tests.clear()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


def tally_warnings(job_warnings: Iterable[Sequence[str]]) -> list[str]:
    """The distinct warnings of many jobs (each job's ``Report.warnings``), with counts."""
    tally = WarningTally()
    for warnings in job_warnings:
        tally.add(warnings)
    return tally.lines()
