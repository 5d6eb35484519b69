"""``fake`` backend: scripted outcomes, no execution. For *consumers'* unit tests only.

Rewards, servers and pipelines built on acesandbox can be tested against this backend
without starting sandboxes. It never runs code, so it must never score real data::

    backend = FakeBackend(SandboxConfig(options={"script": lambda job: ["passed", "failed"]}))

``script(job)`` returns one status (string or Status) or Outcome per test, or raises a
SandboxError to simulate an infrastructure failure. Without a script every test passes.
"""

from __future__ import annotations

from typing import Callable, Sequence, Union

from .._result import Outcome, Report, Status
from .._spec import Job
from .base import Backend, Session

__all__ = ["FakeBackend"]

Script = Callable[[Job], Sequence[Union[str, Status, Outcome]]]
"""``script(job)``: one status (or Outcome) per test of the job."""


class _FakeSession(Session):
    isolation = "fake"

    def __init__(self, script: Script | None) -> None:
        self.script = script
        self.jobs_run = 0

    def run(self, job: Job, on_outcome: Callable[[int, Outcome], None] | None = None) -> Report:
        self.jobs_run += 1
        items = self.script(job) if self.script is not None else [Status.PASSED] * len(job.tests)
        outcomes = tuple(i if isinstance(i, Outcome) else Outcome(Status(i)) for i in items)
        if len(outcomes) != len(job.tests):
            raise ValueError(f"fake script returned {len(outcomes)} outcomes for {len(job.tests)} tests")
        return Report(outcomes=outcomes, job_id=job.job_id, backend="fake", isolation="fake", mode=job.mode, compare=job.compare)

    def close(self) -> None:
        pass


class FakeBackend(Backend):
    name = "fake"
    isolation = "fake"
    option_names = frozenset({"script"})

    def open_session(self, worker: int = 0) -> Session:
        return _FakeSession(self.config.options.get("script"))
