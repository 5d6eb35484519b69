"""One verdict vocabulary for every benchmark, and its mapping from acesandbox's :class:`~acesandbox.Status`.

acesandbox reports what each *test* did (``Status.passed``, ``failed``, ``error`` ...);
a benchmark reports what the official evaluator would say of a *sample*. The values are
the official strings of EvalPlus and BigCodeBench (``"pass"``, ``"fail"``, ``"timeout"``),
so a :class:`Verdict` is written into their result files as is, plus ``"sandbox_error"``:
*we* could not judge the sample, and it is kept out of every denominator.

The default mapping (:meth:`Verdict.from_status`), used where the official evaluator
has no finer rule::

    Status.passed         -> Verdict.PASS
    Status.timeout        -> Verdict.TIMEOUT
    Status.sandbox_error  -> Verdict.SANDBOX_ERROR
    every other status    -> Verdict.FAIL       (failed, error, memory, crashed, skipped)

Benchmarks refine it where their evaluator does (documented in each module): EvalPlus
counts one call past its own limit as ``fail`` and a dead process as ``timeout``;
BigCodeBench counts a dead process or an out-of-memory kill as ``timeout``.
"""

from __future__ import annotations

import enum
from typing import Any

from acesandbox import Status

__all__ = ["FAIL", "PASS", "SANDBOX_ERROR", "TIMEOUT", "Verdict"]


class Verdict(str, enum.Enum):
    """A sample's verdict: a ``str``, equal to the official string (``Verdict.PASS == "pass"``)."""

    PASS = "pass"
    FAIL = "fail"
    TIMEOUT = "timeout"
    SANDBOX_ERROR = "sandbox_error"
    """The sandbox failed, not the program: left out of pass@k denominators, with a warning."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @classmethod
    def from_status(cls, status: Status | str) -> Verdict:
        """The default mapping from one acesandbox status (see the module docstring)."""
        return _FROM_STATUS.get(Status(status), cls.FAIL)

    @property
    def judged(self) -> bool:
        """False only for ``sandbox_error`` (we could not judge the sample)."""
        return self is not Verdict.SANDBOX_ERROR


_FROM_STATUS: dict[Any, Verdict] = {
    Status.PASSED: Verdict.PASS,
    Status.TIMEOUT: Verdict.TIMEOUT,
    Status.SANDBOX_ERROR: Verdict.SANDBOX_ERROR,
}

PASS, FAIL, TIMEOUT, SANDBOX_ERROR = Verdict.PASS, Verdict.FAIL, Verdict.TIMEOUT, Verdict.SANDBOX_ERROR
