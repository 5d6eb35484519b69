"""A long-lived sandbox pool shared by reward callables and the reward server.

Starting sandboxes costs far more than running a test in a warm one, so rewards keep
one :class:`acesandbox.Executor` for their whole life, created on first use. Jobs are
fed to it by as many threads as it has sandboxes, so jobs from concurrent callers
(several reward functions, several HTTP requests) queue in one FIFO line and a
pending job can be cancelled without touching running sandboxes.

A runner pickles without its executor and threads (TRL sends reward functions to
worker processes); the copy starts its own on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from acesandbox import Job, Outcome, Report, SandboxConfig, Status

if TYPE_CHECKING:
    from acesandbox import Executor

__all__ = ["JobRunner", "sandbox_error_report"]


def sandbox_error_report(job: Job, message: str) -> Report:
    """A report saying the sandbox could not judge ``job`` (every test ``sandbox_error``)."""
    outcome = Outcome(Status.SANDBOX_ERROR, message=message)
    n = max(1, len(job.tests))
    return Report(outcomes=(outcome,) * n, job_id=job.job_id, warnings=(f"sandbox error: {message}",))


class JobRunner:
    """Runs jobs on one lazily started, long-lived executor on ``sandbox``; thread-safe.

    ``executor``: use this one instead of starting one (a fake backend's in unit tests,
    or one shared with other code); the runner then never closes it, and a pickled copy
    starts its own on ``sandbox``.
    """

    def __init__(self, sandbox: SandboxConfig | None = None, *, executor: Executor | None = None) -> None:
        self.sandbox = sandbox if sandbox is not None else SandboxConfig()
        self._given = executor
        self._executor: Executor | None = executor
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pending = 0

    # -------------------------------------------------------------- lifecycle
    def start(self) -> Executor:
        """Start the executor now (normally done on first use); returns it."""
        with self._lock:
            if self._executor is None:
                from acesandbox import Executor

                self._executor = Executor(self.sandbox)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._executor.workers, thread_name_prefix="rm_rl-job")
            return self._executor

    @property
    def started(self) -> bool:
        return self._pool is not None

    @property
    def workers(self) -> int:
        """Sandboxes running jobs at once (starts the executor if needed)."""
        return self.start().workers

    @property
    def isolation(self) -> str:
        """The backend's name (``namespace``, ``process``, ``fake``)."""
        return self.start().backend.name

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet finished."""
        return self._pending

    def close(self) -> None:
        """Cancel queued jobs, kill the sandboxes (unless the executor was given)."""
        with self._lock:
            pool, self._pool = self._pool, None
            executor = self._executor
            self._executor = self._given
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        if executor is not None and executor is not self._given:
            executor.close()

    def __enter__(self) -> JobRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_given=None, _executor=None, _pool=None, _lock=None, _pending=0)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ jobs
    def submit(self, job: Job) -> Future[Report]:
        """Queue ``job``; the future never raises: a failure is a ``sandbox_error`` report."""
        executor = self.start()
        pool = self._pool
        assert pool is not None
        with self._lock:
            self._pending += 1
        future = pool.submit(self._run, executor, job)
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future[Report]) -> None:
        with self._lock:
            self._pending -= 1

    @staticmethod
    def _run(executor: Executor, job: Job) -> Report:
        try:
            return executor.run(job)
        except Exception as exc:  # noqa: BLE001 - a harness failure, never the program's
            return sandbox_error_report(job, f"{type(exc).__name__}: {exc}")

    def run(self, jobs: Sequence[Job]) -> list[Report]:
        """Run ``jobs`` in parallel and return their reports in order."""
        futures = [self.submit(job) for job in jobs]
        return [f.result() for f in futures]
