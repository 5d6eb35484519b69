"""Streaming scoring: many programs against one test list per item, through one executor.

Filtering and sampling both score *units* (an item's programs against its tests) at a
scale where the executor must never idle: units are read lazily, their jobs stream
through ``Executor.imap`` with its bounded read-ahead, and a unit is handed back as soon
as its last job finishes, so the caller checkpoints it at once. A unit with any
``sandbox_error`` is rescored in a later round (the executor has already retried it
once on a fresh sandbox); if it still fails it comes back with ``reports=None``:
unscored, to be retried on restart, never scored 0.

:func:`run_scored_stage` is the loop filtering and sampling share around it: read the
input rows, reject malformed ones, skip finished ones, batch the rest into units,
score them, checkpoint each as it finishes and always write the summary. The sandbox's
warnings (the ``process`` backend's, forgeable tests') are logged once each and listed
with their counts in the summary's ``sandbox_warnings``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .checkpoint import StageStore, stage_progress
from .sandbox_warnings import WarningTally

log = logging.getLogger(__name__)

__all__ = [
    "ScoreStream",
    "StageRun",
    "Unit",
    "check_record",
    "run_scored_stage",
    "statuses_by_program",
    "stream_timing",
]


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


# ------------------------------------------------------------- scored stages


def check_record(data: dict[str, Any] | None, error: str | None) -> tuple[str, str] | None:
    """``(reason, detail)`` when an input row cannot be scored, else None."""
    if data is None:
        return "bad_row", error or ""
    if not isinstance(data.get("id"), (str, int)):
        return "no_id", "the row has no 'id'"
    if not isinstance(data.get("question"), str) or not data["question"].strip():
        return "no_question", "the row has no 'question' text"
    tests = data.get("tests", data.get("test_cases"))
    if not isinstance(tests, list) or not tests:
        return "no_tests", "the row has no 'tests' list"
    return None


@dataclass
class StageRun:
    """What one run of a scored stage carries: its checkpoint, counters, scorer and progress bar."""

    store: StageStore
    stream: ScoreStream
    counts: Counter[str] = field(default_factory=Counter)
    bar: Any = None
    warnings: WarningTally = field(default_factory=WarningTally)
    """The sandbox's warnings over this run's jobs (the summary's ``sandbox_warnings``)."""

    def tick(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def reject(self, ident: Any, reason: str, detail: str = "", *, retry: bool = False, **extra: Any) -> None:
        """Reject an item and count it under ``rejected:<reason>``."""
        self.store.reject(ident, reason, detail, retry=retry, **extra)
        self.counts[f"rejected:{reason}"] += 1


def run_scored_stage(
    name: str,
    config: Any,
    executor: Any,
    make_units: Callable[[StageRun, list[dict[str, Any]]], Iterator[Unit]],
    write: Callable[[StageRun, Unit, list[Any]], bool],
    summarize: Callable[[StageRun, float, bool], dict[str, Any]],
    close: Callable[[], None],
) -> dict[str, Any]:
    """Run a stage that scores units of ``config.input`` into ``config.output``; returns the summary.

    ``config`` is a stage config with ``execution``, ``sandbox_retries`` and
    ``batch_size``; ``executor`` (None: built from ``config.execution`` and closed here)
    runs the jobs. ``make_units`` turns a batch of valid, unfinished rows into units,
    ``write`` checkpoints a scored unit (False: it rejected it instead), ``summarize(run, elapsed_s, interrupted)``
    builds the summary and ``close`` releases the generators the stage built.
    """
    from .io import read_rows

    own_executor = executor is None
    ex = executor or config.execution.executor()
    t0 = time.monotonic()
    stream = ScoreStream(ex, config.execution.defaults(), retries=config.sandbox_retries)
    run = StageRun(StageStore(config.output, fresh=config.fresh), stream, bar=stage_progress(config, name, "q"))

    def units() -> Iterator[Unit]:
        batch: list[dict[str, Any]] = []
        taken: set[str] = set()  # ids queued by this run, as the store keys them
        for row in read_rows(config.input, limit=config.limit):
            run.counts["rows"] += 1
            problem = check_record(row.data, row.error)
            if problem is not None:
                has_id = row.data is not None and isinstance(row.data.get("id"), (str, int))
                ident = row.data["id"] if has_id and row.data is not None else f"row-{row.index + 1}"
                if not run.store.done(ident):
                    reason, detail = problem
                    run.reject(ident, reason, f"{row.where}: {detail}" if row.where else detail)  # names the line
                run.tick()
                continue
            assert row.data is not None
            if run.store.done(row.data["id"]):
                run.counts["skipped_done"] += 1
                run.tick()
                continue
            key = str(row.data["id"])
            if key in taken:
                # A second row with an id already queued: only the first is scored, so an uninterrupted
                # run and a resumed one (which skips the id as done) write the same records. Not written
                # to the rejects file: a final reject there would mark the first row done too.
                run.counts["skipped_duplicate_id"] += 1
                if run.counts["skipped_duplicate_id"] == 1:  # once; the summary's this_run counts them all
                    log.warning("%s: %s: id %r already given by an earlier row; row skipped (and any later such rows)",
                                name, row.where, key[:100])
                run.tick()
                continue
            taken.add(key)
            batch.append(row.data)
            if len(batch) >= config.batch_size:
                yield from make_units(run, batch)
                batch = []
        if batch:
            yield from make_units(run, batch)

    interrupted = True
    try:
        for unit, reports in run.stream.run(units()):
            run.tick()
            if reports is None:
                run.store.reject(
                    unit.key, "sandbox_error", "the sandbox failed on every retry; rerun to score it", retry=True
                )
                run.counts["unscored:sandbox_error"] += 1
                continue
            for text in run.warnings.add_reports(reports):
                log.warning("%s: sandbox warning: %s", name, text)
            if write(run, unit, reports):
                run.counts["written"] += 1
        interrupted = False
    finally:
        if run.bar is not None:
            run.bar.close()
        if own_executor:
            ex.close()
        close()
        summary = summarize(run, time.monotonic() - t0, interrupted)
        summary["sandbox_warnings"] = run.warnings.lines()
        run.store.finish(summary, complete=not interrupted)
    return summary


def stream_timing(stream: ScoreStream) -> dict[str, Any]:
    """The executor part of a stage summary."""
    return {"wait_s": round(stream.timing.wait_s, 3), "jobs": stream.timing.jobs, "rounds": stream.timing.rounds}
