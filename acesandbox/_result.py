"""Immutable result values: Status, Outcome and Report (all JSON round-trip)."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping

from . import _wire

__all__ = ["Outcome", "Report", "Status"]


class Status(str, enum.Enum):
    """What one test did. Only ``passed`` counts towards the pass rate.

    ``sandbox_error`` means the harness failed, not the program: rewards map it to
    None, never 0. ``skipped`` appears only when the caller asked to stop at the
    first non-passing test.
    """

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    CRASHED = "crashed"
    SANDBOX_ERROR = "sandbox_error"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Outcome:
    """The result of one test."""

    status: Status
    duration_s: float = 0.0
    cpu_s: float = 0.0
    message: str = ""
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False
    call_index: int | None = None
    """For a :class:`CallBatchTest`: the index of the first call that did not pass.

    A ``timeout`` with ``call_index`` set means that one call ran past its own
    ``call_timeout_s``; with ``None``, the whole test ran out of time."""
    values: tuple[Any, ...] | None = None
    """For a :class:`CallBatchTest` with ``returns=True``: the calls' values, in order."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data; ``values`` in the wire format (sets, tuples, bytes... survive)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["status"] = self.status.value
        if self.values is not None:
            d["values"] = _wire.encode(list(self.values))
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Outcome":
        d = dict(data)
        d["status"] = Status(d["status"])
        if d.get("values") is not None:
            d["values"] = tuple(_wire.decode(d["values"]))  # type: ignore[arg-type]
        return cls(**d)


@dataclass(frozen=True)
class Report:
    """The result of one job: one outcome per test, in order.

    ``isolation`` names the isolation actually used (``namespace``, ``process``, ...);
    ``compare`` says whether verdicts were judged outside the sandbox (``strict``) or by
    it (``compat``).
    """

    outcomes: tuple[Outcome, ...]
    job_id: str | None = None
    backend: str = ""
    isolation: str = ""
    mode: str = "isolated"
    compare: str = "strict"
    duration_s: float = 0.0
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def passed(self) -> int:
        return sum(1 for o in self.outcomes if o.status is Status.PASSED)

    @property
    def pass_rate(self) -> float:
        """passed / total (0.0 for a job with no tests)."""
        return self.passed / self.total if self.outcomes else 0.0

    @property
    def all_passed(self) -> bool:
        return bool(self.outcomes) and self.passed == self.total

    @property
    def sandbox_error(self) -> bool:
        """True when any test could not be judged because the sandbox failed."""
        return any(o.status is Status.SANDBOX_ERROR for o in self.outcomes)

    @property
    def statuses(self) -> tuple[Status, ...]:
        return tuple(o.status for o in self.outcomes)

    def with_job_id(self, job_id: str | None) -> "Report":
        return replace(self, job_id=job_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "backend": self.backend,
            "isolation": self.isolation,
            "mode": self.mode,
            "compare": self.compare,
            "duration_s": self.duration_s,
            "passed": self.passed,
            "total": self.total,
            "pass_rate": self.pass_rate,
            "warnings": list(self.warnings),
            "outcomes": [o.to_dict() for o in self.outcomes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Report":
        return cls(
            outcomes=tuple(Outcome.from_dict(o) for o in data["outcomes"]),
            job_id=data.get("job_id"),
            backend=data.get("backend", ""),
            isolation=data.get("isolation", ""),
            mode=data.get("mode", "isolated"),
            compare=data.get("compare", "strict"),
            duration_s=data.get("duration_s", 0.0),
            warnings=tuple(data.get("warnings", ())),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> "Report":
        return cls.from_dict(json.loads(text))
