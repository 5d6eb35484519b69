"""Streaming scoring: many programs against one test list per item, through one executor.

Filtering and sampling both score *units* (an item's programs against its tests) at a
scale where the executor must never idle: units are read lazily, their jobs stream
through ``Executor.imap`` with its bounded read-ahead, and a unit is handed back as soon
as its last job finishes, so the caller checkpoints it at once. A unit with any
``sandbox_error`` is rescored in a later round (the executor has already retried it
once on a fresh sandbox); if it still fails it comes back with ``reports=None``:
unscored, to be retried on restart, never scored 0.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ScoreStream", "Unit", "statuses_by_program"]


@dataclass
class Unit:
    """One item to score: ``programs`` (None: no code, not run) against the same ``tests``."""

    key: Any
    programs: Sequence[str | None]
    tests: Sequence[str]
    payload: Any = None


@dataclass
class _State:
    unit: Unit
    reports: list[Any]
    remaining: int


@dataclass
class Timing:
    """Main-thread seconds: waiting on the executor, and building jobs (pipeline work)."""

    wait_s: float = 0.0
    produce_s: float = 0.0
    jobs: int = 0
    rounds: int = 0
    unscored: int = 0
    extra: dict[str, float] = field(default_factory=dict)


def statuses_by_program(reports: Sequence[Any], n_tests: int) -> list[list[str]]:
    """Per program, the status of each test (``error`` for a program with no code)."""
    return [["error"] * n_tests if r is None else [o.status.value for o in r.outcomes] for r in reports]


class ScoreStream:
    """Scores units through ``executor`` (an ``acesandbox.Executor``) with batch ``defaults``."""

    def __init__(self, executor: Any, defaults: dict[str, Any], *, retries: int = 2) -> None:
        self.executor = executor
        self.defaults = defaults
        self.retries = retries
        self.timing = Timing()

    def run(self, units: Iterable[Unit]) -> Iterator[tuple[Unit, list[Any] | None]]:
        """Yield ``(unit, reports)`` as units finish (any order); ``None`` reports: unscored."""
        source: Iterable[Unit] = units
        for round_ in range(self.retries + 1):
            self.timing.rounds = round_ + 1
            failed: list[Unit] = []
            for unit, reports in self._round(source):
                if any(r is not None and r.sandbox_error for r in reports):
                    failed.append(unit)
                else:
                    yield unit, reports
            if not failed:
                return
            source = failed
        self.timing.unscored += len(failed)
        for unit in failed:
            yield unit, None

    def _round(self, units: Iterable[Unit]) -> Iterator[tuple[Unit, list[Any]]]:
        import acesandbox

        owner: dict[int, tuple[_State, int]] = {}
        ready: deque[_State] = deque()
        timing = self.timing
        defaults = self.defaults

        def jobs() -> Iterator[Any]:
            t = time.perf_counter()
            index = 0
            for unit in units:
                # Built once per unit and shared by its jobs (Job keeps test values as they are).
                tests = tuple(acesandbox.AssertTest(t) if isinstance(t, str) else t for t in unit.tests)
                state = _State(unit, [None] * len(unit.programs), 0)
                for i, program in enumerate(unit.programs):
                    if program is None:
                        continue
                    state.remaining += 1
                    owner[index] = (state, i)
                    index += 1
                    timing.produce_s += time.perf_counter() - t
                    yield acesandbox.Job(program=program, tests=tests, **defaults)
                    t = time.perf_counter()
                if state.remaining == 0:
                    ready.append(state)
            timing.produce_s += time.perf_counter() - t

        it = self.executor.imap(jobs(), ordered=False)
        try:
            while True:
                while ready:
                    s = ready.popleft()
                    yield s.unit, s.reports
                t = time.perf_counter()
                produced_before = timing.produce_s
                try:
                    index, report = next(it)
                except StopIteration:
                    timing.wait_s += time.perf_counter() - t - (timing.produce_s - produced_before)
                    break
                timing.wait_s += time.perf_counter() - t - (timing.produce_s - produced_before)
                timing.jobs += 1
                state, slot = owner.pop(index)
                state.reports[slot] = report
                state.remaining -= 1
                if state.remaining == 0:
                    yield state.unit, state.reports
        finally:
            it.close()
        while ready:
            s = ready.popleft()
            yield s.unit, s.reports
