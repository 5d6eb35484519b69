"""How close each EvalPlus verdict came to its time limits, so a reader sees which are within noise.

Limits are derived as evalplus derives them, on the machine that scores: each call gets
``max(min_time_limit, 4 x ground-truth time)``, the ground truth being the canonical
solution's own time, measured in the same sandboxes (:mod:`.ground_truth`). The call
wrapper of a check times each call (the program's call only: not our digest) and, for a
call that used more than :data:`SLOW_FRACTION` of its limit, sends its time out beside
the value; the judge, in the parent, keeps it under the job's id. :func:`margin` then
gives each check's tightest call, in the shape every family shares (:mod:`benchmarks.margins`):

- ``ratio``: time / limit of the tightest call (``None``: no call came near its limit, or
  one was stopped at its limit, ``timed_out``);
- ``within_noise``: True when a verdict would likely flip on a machine :data:`NOISE_FACTOR`
  times slower (a call used at least ``1 / NOISE_FACTOR`` of its limit and the verdict does
  not rest on a time-out); None when a call or the check was stopped at its limit (by how
  much it would have overrun is unknown: an endless loop and a call 1 % too slow look
  alike, as they do to evalplus); else False.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from acesandbox import Report, Status

from ..margins import NOISE_FACTOR, SLOW_FRACTION, SlowCalls
from ..margins import margin as _margin

__all__ = ["MARK", "MAX_OPEN_JOBS", "MAX_RECORDS_PER_JOB", "NOISE_FACTOR", "SLOW_FRACTION", "expect", "margin", "pop",
           "record"]

MARK = "<evalplus: timed call 5b0c9f>"
"""First item of the tuple a wrapper returns for a slow call: (MARK, job id, call, seconds, value)."""

MAX_OPEN_JOBS = 65536
"""Most jobs awaiting their verdict at once; beyond, the oldest (never judged) is forgotten."""

MAX_RECORDS_PER_JOB = 8
"""Slow calls kept per job (the tightest ones: :func:`margin` uses only the tightest)."""

_CALLS = SlowCalls(MAX_OPEN_JOBS, MAX_RECORDS_PER_JOB)
_TIMES = _CALLS.times
expect = _CALLS.expect
record = _CALLS.record
pop = _CALLS.pop


def margin(report: Report | None, limits_s: Sequence[float], bounds: Sequence[tuple[int, int]],
           check_timeout_s: float) -> dict[str, Any]:
    """The tightest call of one check and whether its verdict is within noise."""
    out = _CALLS.tightest(report.job_id if report is not None else None)
    if report is not None:
        for k, o in enumerate(report.outcomes):
            if o.status == Status.TIMEOUT:
                if o.call_index is not None and k < len(bounds):
                    stopped = bounds[k][0] + o.call_index
                    limit = limits_s[stopped] if stopped < len(limits_s) else None
                    out = _margin(None, limit, call=stopped, timed_out=True)
                else:
                    out = _margin(report.duration_s, check_timeout_s, timed_out=True)
                break
    return out
