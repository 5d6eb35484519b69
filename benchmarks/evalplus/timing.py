"""How close each EvalPlus verdict came to its time limits, so a reader sees which are within noise.

Limits are derived as evalplus derives them, on the machine that scores: each call gets
``max(min_time_limit, 4 x ground-truth time)``, the ground truth being the canonical
solution's own time, measured in the same sandboxes (:mod:`.ground_truth`). The call
wrapper of a check times each call (the program's call only: not our digest) and, for a
call that used more than :data:`SLOW_FRACTION` of its limit, sends its time out beside
the value; the judge, in the parent, keeps it under the job's id. :func:`margin` then
gives each check's tightest call:

- ``ratio``: time / limit of the tightest call (``None``: no call came near its limit, or
  one was stopped at its limit, ``timed_out``);
- ``within_noise``: True when a verdict would likely flip on a machine :data:`NOISE_FACTOR`
  times slower (a call used at least ``1 / NOISE_FACTOR`` of its limit and the verdict does
  not rest on a time-out); None when a call or the check was stopped at its limit (by how
  much it would have overrun is unknown: an endless loop and a call 1 % too slow look
  alike, as they do to evalplus); else False.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

from acesandbox import Report, Status

__all__ = ["MARK", "MAX_OPEN_JOBS", "MAX_RECORDS_PER_JOB", "NOISE_FACTOR", "SLOW_FRACTION", "expect", "margin", "pop",
           "record"]

MARK = "<evalplus: timed call 5b0c9f>"
"""First item of the tuple a wrapper returns for a slow call: (MARK, job id, call, seconds, value)."""

SLOW_FRACTION = 0.25
"""A call that used more than this share of its limit reports its time."""

NOISE_FACTOR = 1.5
"""Machines (or loads) this much apart in speed can turn a verdict near its limit."""

MAX_OPEN_JOBS = 65536
"""Most jobs awaiting their verdict at once; beyond, the oldest (never judged) is forgotten."""

MAX_RECORDS_PER_JOB = 8
"""Slow calls kept per job (the tightest ones: :func:`margin` uses only the tightest)."""

_TIMES: dict[str, list[tuple[int, float, float]]] = {}
_OPEN: dict[str, None] = {}  # jobs built and not yet popped, oldest first
_LOCK = threading.Lock()


def expect(job_id: str) -> None:
    """Accept slow-call records for this job until :func:`pop` (called when the job is built)."""
    with _LOCK:
        _OPEN[job_id] = None
        while len(_OPEN) > MAX_OPEN_JOBS:
            oldest = next(iter(_OPEN))
            del _OPEN[oldest]
            _TIMES.pop(oldest, None)


def record(job_id: object, call: int, spent_s: object, limit_s: float) -> bool:
    """Keep a slow call's time (called by the judge, in the parent); False, and nothing kept,
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
    with _LOCK:
        if job_id not in _OPEN:
            return False
        if not spent > SLOW_FRACTION * entry[2]:
            return True  # the wrapper's escape of a marker-shaped value: no time to keep
        kept = _TIMES.setdefault(job_id, [])
        kept.append(entry)
        if len(kept) > MAX_RECORDS_PER_JOB:
            kept.remove(min(kept, key=lambda s: s[1] / s[2] if s[2] > 0 else float("inf")))
    return True


def pop(job_id: str | None) -> list[tuple[int, float, float]]:
    """The slow calls recorded for one job (and forget them and the job)."""
    if job_id is None:
        return []
    with _LOCK:
        _OPEN.pop(job_id, None)
        return _TIMES.pop(job_id, [])


def margin(report: Report | None, limits_s: Sequence[float], bounds: Sequence[tuple[int, int]],
           check_timeout_s: float) -> dict[str, Any]:
    """The tightest call of one check and whether its verdict is within noise."""
    slow = pop(report.job_id if report is not None else None)
    out: dict[str, Any] = {"ratio": None, "call": None, "spent_s": None, "limit_s": None, "timed_out": False}
    if slow:
        call, spent, limit = max(slow, key=lambda s: s[1] / s[2])
        out.update(ratio=round(spent / limit, 4), call=call, spent_s=round(spent, 4), limit_s=round(limit, 4))
    if report is not None:
        for k, o in enumerate(report.outcomes):
            if o.status == Status.TIMEOUT:
                if o.call_index is not None and k < len(bounds):
                    stopped = bounds[k][0] + o.call_index
                    out.update(ratio=None, call=stopped, spent_s=None, timed_out=True,
                               limit_s=round(limits_s[stopped], 4) if stopped < len(limits_s) else None)
                else:
                    out.update(ratio=None, call=None, spent_s=round(report.duration_s, 4),
                               limit_s=round(check_timeout_s, 4), timed_out=True)
                break
    ratio = out["ratio"]
    out["within_noise"] = None if out["timed_out"] else bool(ratio is not None and ratio >= 1 / NOISE_FACTOR)
    return out
