"""How close a verdict came to its time limit, in one shape for every family.

Each family derives its limits as its official evaluator does (EvalPlus: per call,
``max(min_time_limit, 4 x ground-truth time)``; LiveCodeBench: lcb_runner's per-test
alarm, 6 s; BigCodeBench: the whole suite's ``max(240 s, ground-truth time) + 1``) and
reports, per verdict, one :func:`margin` dict under ``details["timing"][part]``:

- ``ratio``: time / limit of the tightest timed call (``None``: nothing came near its
  limit, or a call was stopped at its limit);
- ``call``, ``spent_s``, ``limit_s``: which call, its time and its limit;
- ``timed_out``: the verdict rests on a call (or the whole check) stopped at its limit;
- ``within_noise``: True when the verdict would likely flip on a machine :data:`NOISE_FACTOR`
  times slower (a call used at least ``1 / NOISE_FACTOR`` of its limit, no time-out); None
  when something was stopped at its limit (by how much it would have overrun is unknown);
  else False.

Calls are timed inside the sandbox by the program's call wrapper, which sends a call's
time out beside its value only when it used more than :data:`SLOW_FRACTION` of its limit;
the trusted judge, in the parent, hands it to a :class:`SlowCalls` store under the job's
id, and the verdict code takes it back with :meth:`SlowCalls.pop`.
"""

from __future__ import annotations

import math
import threading
from typing import Any

__all__ = ["NOISE_FACTOR", "SLOW_FRACTION", "SlowCalls", "annotate", "describe", "margin"]

NOISE_FACTOR = 1.5
"""Machines (or loads) this much apart in speed can turn a verdict near its limit."""

SLOW_FRACTION = 0.25
"""A call that used more than this share of its limit reports its time."""


def margin(spent_s: float | None, limit_s: float | None, *, call: int | None = None,
           timed_out: bool = False) -> dict[str, Any]:
    """The margin of one verdict: its tightest call's time against that call's limit."""
    ratio = None
    if not timed_out and spent_s is not None and limit_s:
        ratio = round(spent_s / limit_s, 4)
    return {
        "ratio": ratio,
        "call": call,
        "spent_s": None if spent_s is None else round(spent_s, 4),
        "limit_s": None if limit_s is None else round(limit_s, 4),
        "timed_out": bool(timed_out),
        "within_noise": None if timed_out else bool(ratio is not None and ratio >= 1 / NOISE_FACTOR),
    }


def describe(timing: dict[str, Any] | None) -> str:
    """One phrase for a report or an explanation: ``"0.93 of its 6 s limit (call 3), within noise"``."""
    if not timing:
        return "no timing recorded"
    check = f"{timing['check']}: " if timing.get("check") else ""  # which check of several (EvalPlus base/plus)
    where = f" (call {timing['call']})" if timing.get("call") is not None else ""
    limit = f"{timing['limit_s']:g} s limit" if timing.get("limit_s") is not None else "limit"
    if timing.get("timed_out"):
        return f"{check}stopped at its {limit}{where}"
    if timing.get("ratio") is None:
        return f"{check}every call under {SLOW_FRACTION:g} of its limit"
    noise = "within noise" if timing.get("within_noise") else "clear of noise"
    return f"{check}used {timing['ratio']:.2f} of its {limit}{where}, {noise}"


def annotate(ours: str, explanation: str, timing: dict[str, Any] | None) -> tuple[str, str]:
    """A verify-official difference with its margin: appended to the explanation when there is
    one (an empty explanation must stay empty: it means unexplained), else to our verdict."""
    if not timing:
        return ours, explanation
    if explanation:
        return ours, f"{explanation} (this rescoring: {describe(timing)})"
    return f"{ours} [time: {describe(timing)}]", explanation


class SlowCalls:
    """Slow calls' times by job id, for jobs in flight only, bounded in jobs and calls per job.

    A program can send any tuple it likes: a time is kept only under the id of a job built
    and not yet judged (:meth:`expect` .. :meth:`pop`), as a finite number."""

    def __init__(self, max_open_jobs: int = 65536, max_records_per_job: int = 8) -> None:
        self.max_open_jobs = max_open_jobs
        self.max_records_per_job = max_records_per_job
        self.times: dict[str, list[tuple[int, float, float]]] = {}
        self._open: dict[str, None] = {}  # jobs built and not yet popped, oldest first
        self._done: dict[str, dict[str, Any]] = {}  # margins given, for copies of one report (deduplicated samples)
        self._lock = threading.Lock()

    def expect(self, job_id: str) -> None:
        """Accept records for this job until :meth:`pop` (called when the job is built)."""
        with self._lock:
            self._open[job_id] = None
            while len(self._open) > self.max_open_jobs:
                oldest = next(iter(self._open))
                del self._open[oldest]
                self.times.pop(oldest, None)

    def record(self, job_id: object, call: int, spent_s: object, limit_s: float) -> bool:
        """Keep a slow call's time (called by a judge, in the parent); False, and nothing kept,
        when ``job_id`` (sent by the program) is not a job in flight or the time is not a number."""
        if type(job_id) is not str or type(spent_s) not in (int, float):
            return False
        try:
            spent = float(spent_s)  # type: ignore[arg-type]
        except OverflowError:
            return False
        if math.isnan(spent):
            return False
        entry = (int(call), spent, float(limit_s))
        with self._lock:
            if job_id not in self._open:
                return False
            if not spent > SLOW_FRACTION * entry[2]:
                return True  # the wrapper's escape of a marker-shaped value: no time to keep
            kept = self.times.setdefault(job_id, [])
            kept.append(entry)
            if len(kept) > self.max_records_per_job:
                kept.remove(min(kept, key=lambda s: s[1] / s[2] if s[2] > 0 else float("inf")))
        return True

    def pop(self, job_id: str | None) -> list[tuple[int, float, float]]:
        """The slow calls recorded for one job (and forget them and the job)."""
        if job_id is None:
            return []
        with self._lock:
            self._open.pop(job_id, None)
            return self.times.pop(job_id, [])

    def tightest(self, job_id: str | None) -> dict[str, Any]:
        """:func:`margin` of the job's tightest recorded call (pops the job; asked again for the
        same job, as for every copy of a deduplicated sample, gives the same answer)."""
        if job_id is None:
            return margin(None, None)
        with self._lock:
            done = self._done.get(job_id)
        if done is not None:
            return dict(done)
        slow = self.pop(job_id)
        out = margin(None, None)
        if slow:
            call, spent, limit = max(slow, key=lambda s: s[1] / s[2] if s[2] > 0 else float("inf"))
            out = margin(spent, limit, call=call)
        with self._lock:
            self._done[job_id] = out
            while len(self._done) > self.max_open_jobs:
                del self._done[next(iter(self._done))]
        return dict(out)
